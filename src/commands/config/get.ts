import { Command, Option } from "clipanion";
import { getConfigValue } from "../../config/load.ts";
import { CONFIG_KEY_MAP, CONFIG_KEYS } from "../../config/schema.ts";
import { formatConfigValue } from "../../config/values.ts";
import { closest } from "../../core/suggest.ts";
import { RoarError } from "../../shared/errors.ts";
import { ConfiguredCommand } from "../base.ts";

export class ConfigGetCommand extends ConfiguredCommand {
  static override paths = [["config", "get"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Print the value of one setting",
    examples: [["Print the GLaaS URL", "$0 config get glaas.url"]],
  });

  static override outputOptions = { json: "Print JSON" };
  key = Option.String({ name: "key" });

  override async execute(): Promise<number> {
    const loaded = this.loadConfig();
    const raw = getConfigValue(loaded.config, this.key);
    const isTablePrefix = CONFIG_KEYS.some((k) => k.key.startsWith(`${this.key}.`)) || this.key === "env";
    if (raw === undefined || (!CONFIG_KEY_MAP.has(this.key) && !isTablePrefix)) {
      const guess = closest(
        this.key,
        CONFIG_KEYS.map((k) => k.key),
      );
      throw new RoarError(`unknown config key '${this.key}'${guess ? ` — did you mean '${guess}'?` : ""}`);
    }
    const source = loaded.sources.get(this.key);
    // Shown like any output: secrets (secrets.values, the [env] table's secret values) as <redacted>.
    const slot = this.key === "env" ? "env" : "value";
    const value = this.presenter(this.json ? "json" : "text", loaded).doc({ [slot]: raw })[slot];
    if (this.json) {
      this.printJson({ key: this.key, value, source: source?.source ?? null, origin: source?.origin ?? null });
      return 0;
    }
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      this.print(`${this.key}: ${JSON.stringify(value)}`);
    } else {
      this.print(`${this.key}: ${formatConfigValue(value)}`);
    }
    return 0;
  }
}
