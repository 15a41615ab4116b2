import { Command, Option } from "clipanion";
import { ConfiguredCommand } from "../base.ts";
import { checkEnvName, notSet } from "./shared.ts";

export class EnvGetCommand extends ConfiguredCommand {
  static override paths = [["env", "get"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Print the value of a roar-managed variable",
  });

  name = Option.String({ name: "name" });

  override async execute(): Promise<number> {
    checkEnvName(this.name);
    const value = this.loadConfig(this.project()).config.env[this.name];
    if (value === undefined) throw notSet(this.name);
    this.print(value);
    return 0;
  }
}
