import type { CommandClass } from "clipanion";
import type { RoarContext } from "./base.ts";

/** Every roar command, in help order within its category. */
export const commandClasses: CommandClass<RoarContext>[] = [];
