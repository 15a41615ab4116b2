import { Command } from "clipanion";
import { getConfigValue } from "../../config/load.ts";
import { CONFIG_KEYS } from "../../config/schema.ts";
import { formatConfigValue } from "../../config/values.ts";
import { ConfiguredCommand } from "../base.ts";

export class ConfigListCommand extends ConfiguredCommand {
  static override paths = [["config", "list"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "List every setting with its value, default and origin",
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const loaded = this.loadConfig();
    const present = this.presenter(this.json ? "json" : "text", loaded);
    const rows = CONFIG_KEYS.map((def) => {
      const source = loaded.sources.get(def.key) ?? { source: "default", origin: "default" };
      return {
        key: def.key,
        value: getConfigValue(loaded.config, def.key),
        default: def.default,
        source: source.source,
        origin: source.origin,
        description: def.description,
        ...(def.allowed ? { allowed: def.allowed } : {}),
        ...(def.notYetUsed ? { notYetUsed: def.notYetUsed } : {}),
      };
    }).map((row) => ({ ...row, value: present.doc({ value: row.value }).value }));
    if (this.json) {
      this.printJson({ files: { user: loaded.userFile, project: loaded.projectFile }, keys: rows });
      return 0;
    }
    const s = this.style;
    const width = Math.max(...rows.map((r) => r.key.length));
    for (const r of rows) {
      const value = formatConfigValue(r.value);
      const origin = r.source === "default" ? s.dim("(default)") : s.cyan(`(${r.source}: ${r.origin})`);
      this.print(`${s.bold(r.key.padEnd(width))}  ${value} ${origin}`);
      const extra = r.source === "default" ? "" : ` [default: ${formatConfigValue(r.default)}]`;
      const unused = r.notYetUsed ? s.yellow(` [not used yet: ${r.notYetUsed}]`) : "";
      this.print(`${" ".repeat(width)}  ${s.dim(`${r.description}${extra}`)}${unused}`);
    }
    return 0;
  }
}
