import type { CommandClass } from "clipanion";
import type { RoarContext } from "./base.ts";
import { BuildCommand } from "./build.ts";
import { ConfigGetCommand } from "./config/get.ts";
import { ConfigListCommand } from "./config/list.ts";
import { ConfigSetCommand } from "./config/set.ts";
import { EnvGetCommand } from "./env/get.ts";
import { EnvListCommand } from "./env/list.ts";
import { EnvSetCommand } from "./env/set.ts";
import { EnvUnsetCommand } from "./env/unset.ts";
import { InitCommand } from "./init.ts";
import { ReproduceCommand } from "./reproduce.ts";
import { RunCommand } from "./run.ts";
import { TracerSetDefaultCommand } from "./tracer/set-default.ts";
import { TracerStatusCommand } from "./tracer/status.ts";

/** Every roar command, in help order within its category. */
export const commandClasses: CommandClass<RoarContext>[] = [
  InitCommand,
  RunCommand,
  BuildCommand,
  ReproduceCommand,
  ConfigListCommand,
  ConfigGetCommand,
  ConfigSetCommand,
  EnvSetCommand,
  EnvGetCommand,
  EnvListCommand,
  EnvUnsetCommand,
  TracerStatusCommand,
  TracerSetDefaultCommand,
];
