import { Command, Option } from "clipanion";
import { removeTomlKey } from "../../config/edit.ts";
import { editTomlFile } from "../../config/write.ts";
import { ConfiguredCommand } from "../base.ts";
import { checkEnvName, notSet } from "./shared.ts";

export class EnvUnsetCommand extends ConfiguredCommand {
  static override paths = [["env", "unset"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Remove a roar-managed variable",
  });

  name = Option.String({ name: "name" });

  override async execute(): Promise<number> {
    checkEnvName(this.name);
    const project = this.project();
    if (this.loadConfig(project).config.env[this.name] === undefined) throw notSet(this.name);
    editTomlFile(project.configPath, (text) => removeTomlKey(text, `env.${this.name}`));
    this.print(`Unset ${this.name}`);
    return 0;
  }
}
