import { Command, Option } from "clipanion";
import { setTomlKey } from "../../config/edit.ts";
import { userConfigPath } from "../../config/load.ts";
import { CONFIG_KEY_MAP, CONFIG_KEYS } from "../../config/schema.ts";
import { formatConfigValue, parseConfigValue, tomlValue } from "../../config/values.ts";
import { editTomlFile } from "../../config/write.ts";
import { closest } from "../../core/suggest.ts";
import { RoarError } from "../../shared/errors.ts";
import { ConfiguredCommand } from "../base.ts";

export class ConfigSetCommand extends ConfiguredCommand {
  static override paths = [["config", "set"]];
  static override usage = Command.Usage({
    category: "Setup and Admin",
    description: "Set one setting (validated; comments and other keys in the file are kept)",
    details: `
      Writes to the project's \`.roar/config.toml\`, or with \`--user\` to \`$XDG_CONFIG_HOME/roar/config.toml\`.
      Booleans accept true/false/yes/no/on/off/1/0; lists are comma-separated.
    `,
    examples: [
      ["Point roar at a local GLaaS server", "$0 config set glaas.url http://localhost:8000"],
      ["Compute SHA-256 too for every run", "$0 config set hash.run sha256"],
    ],
  });

  user = Option.Boolean("--user", false, { description: "Write the user-level config file instead" });
  key = Option.String({ name: "key" });
  value = Option.String({ name: "value" });

  override async execute(): Promise<number> {
    const def = CONFIG_KEY_MAP.get(this.key);
    if (!def) {
      if (this.key.startsWith("env.")) throw new RoarError("environment variables are managed with 'roar env set'");
      const guess = closest(
        this.key,
        CONFIG_KEYS.map((k) => k.key),
      );
      throw new RoarError(
        `unknown config key '${this.key}'${guess ? ` — did you mean '${guess}'?` : ""} (see 'roar config list')`,
      );
    }
    if (def.kind === "tables") {
      throw new RoarError(
        `${def.key} is an array of tables: add [[${def.key}]] entries to the config file (see 'roar config list')`,
      );
    }
    const value = parseConfigValue(def, this.value);
    const file = this.user ? userConfigPath(this.context.env) : this.project().configPath;
    editTomlFile(file, (text) => setTomlKey(text, def.key, tomlValue(value)));
    this.print(`Set ${def.key} = ${formatConfigValue(value)}`);
    this.note(`Saved to ${file}`);
    if (def.notYetUsed) this.note(`warning: ${def.key} is accepted but not used by this roar yet (${def.notYetUsed})`);
    return 0;
  }
}
