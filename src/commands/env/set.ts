import { Command, Option } from "clipanion";
import { setTomlKey } from "../../config/edit.ts";
import { tomlString } from "../../config/values.ts";
import { editTomlFile } from "../../config/write.ts";
import { ConfiguredCommand } from "../base.ts";
import { checkEnvName } from "./shared.ts";

export class EnvSetCommand extends ConfiguredCommand {
  static override paths = [["env", "set"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Set a variable injected into every roar run / roar build",
    examples: [["Always run with a fixed seed", "$0 env set PYTHONHASHSEED 0"]],
  });

  name = Option.String({ name: "name" });
  value = Option.String({ name: "value" });

  override async execute(): Promise<number> {
    checkEnvName(this.name);
    const project = this.project();
    editTomlFile(project.configPath, (text) => setTomlKey(text, `env.${this.name}`, tomlString(this.value)));
    const shown = this.presenter("text", this.loadConfig(project)).env({ [this.name]: this.value });
    this.print(`Set ${this.name}=${shown[this.name] as string}`);
    return 0;
  }
}
