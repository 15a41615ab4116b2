import { Command, Option } from "clipanion";
import { setTomlKey } from "../../config/edit.ts";
import { CONFIG_KEY_MAP } from "../../config/schema.ts";
import { parseConfigValue, tomlValue } from "../../config/values.ts";
import { editTomlFile } from "../../config/write.ts";
import { RoarCommand } from "../base.ts";

export class TracerSetDefaultCommand extends RoarCommand {
  static override paths = [["tracer", "set-default"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Set the default tracer backend (auto, hybrid, ptrace, preload)",
  });

  backend = Option.String({ name: "backend" });

  override async execute(): Promise<number> {
    const def = CONFIG_KEY_MAP.get("tracer.default");
    if (!def) throw new Error("tracer.default missing from the schema");
    const value = parseConfigValue(def, this.backend, "tracer");
    const project = this.project();
    editTomlFile(project.configPath, (text) => setTomlKey(text, "tracer.default", tomlValue(value)));
    this.print(`Default tracer set to: ${value}`);
    this.note(`Saved to ${project.configPath}`);
    return 0;
  }
}
