/**
 * The command registry, by first word. Commands are imported only when their word is typed (all of them for
 * help and for suggestions): start-up time is part of every roar invocation.
 */
import type { CommandClass } from "clipanion";
import type { RoarContext } from "./base.ts";

type Loader = () => Promise<CommandClass<RoarContext>[]>;

/** In help order: Start Here, Sessions, Inspect, Setup and Admin. */
export const commandLoaders: [word: string, load: Loader][] = [
  ["init", async () => [(await import("./init.ts")).InitCommand]],
  ["run", async () => [(await import("./run.ts")).RunCommand]],
  ["build", async () => [(await import("./build.ts")).BuildCommand]],
  ["status", async () => [(await import("./status.ts")).StatusCommand]],
  ["rerun", async () => [(await import("./rerun.ts")).RerunCommand]],
  ["dag", async () => [(await import("./dag.ts")).DagCommand]],
  ["pop", async () => [(await import("./pop.ts")).PopCommand]],
  ["reset", async () => [(await import("./reset.ts")).ResetCommand]],
  ["log", async () => [(await import("./log.ts")).LogCommand]],
  ["show", async () => [(await import("./show.ts")).ShowCommand]],
  ["lineage", async () => [(await import("./lineage.ts")).LineageCommand]],
  ["diff", async () => [(await import("./diff.ts")).DiffCommand]],
  ["reproduce", async () => [(await import("./reproduce.ts")).ReproduceCommand]],
  ["register", async () => [(await import("./register.ts")).RegisterCommand]],
  ["put", async () => [(await import("./put.ts")).PutCommand]],
  ["get", async () => [(await import("./get.ts")).GetCommand]],
  [
    "server",
    async () => {
      const m = await import("./server.ts");
      return [m.ServerCommand, m.ServerAddKeyCommand];
    },
  ],
  [
    "config",
    async () => [
      (await import("./config/list.ts")).ConfigListCommand,
      (await import("./config/get.ts")).ConfigGetCommand,
      (await import("./config/set.ts")).ConfigSetCommand,
    ],
  ],
  [
    "env",
    async () => [
      (await import("./env/set.ts")).EnvSetCommand,
      (await import("./env/get.ts")).EnvGetCommand,
      (await import("./env/list.ts")).EnvListCommand,
      (await import("./env/unset.ts")).EnvUnsetCommand,
    ],
  ],
  [
    "auth",
    async () => [
      (await import("./auth/register.ts")).AuthRegisterCommand,
      (await import("./auth/test.ts")).AuthTestCommand,
      (await import("./auth/status.ts")).AuthStatusCommand,
    ],
  ],
  [
    "tracer",
    async () => [
      (await import("./tracer/status.ts")).TracerStatusCommand,
      (await import("./tracer/set-default.ts")).TracerSetDefaultCommand,
    ],
  ],
];

export const commandWords: string[] = commandLoaders.map(([word]) => word);

/** The command classes needed to parse `argv`: one group when its first word is known, else all. */
export async function loadCommands(firstWord: string | undefined): Promise<CommandClass<RoarContext>[]> {
  const match = commandLoaders.find(([word]) => word === firstWord);
  const groups = match ? [match] : commandLoaders;
  return (await Promise.all(groups.map(([, load]) => load()))).flat();
}
