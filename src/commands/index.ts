import type { CommandClass } from "clipanion";
import type { RoarContext } from "./base.ts";
import { ConfigGetCommand } from "./config/get.ts";
import { ConfigListCommand } from "./config/list.ts";
import { ConfigSetCommand } from "./config/set.ts";
import { EnvGetCommand } from "./env/get.ts";
import { EnvListCommand } from "./env/list.ts";
import { EnvSetCommand } from "./env/set.ts";
import { EnvUnsetCommand } from "./env/unset.ts";
import { InitCommand } from "./init.ts";

/** Every roar command, in help order within its category. */
export const commandClasses: CommandClass<RoarContext>[] = [
  InitCommand,
  ConfigListCommand,
  ConfigGetCommand,
  ConfigSetCommand,
  EnvSetCommand,
  EnvGetCommand,
  EnvListCommand,
  EnvUnsetCommand,
];
