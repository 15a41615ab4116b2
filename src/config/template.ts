import { CONFIG_KEYS } from "./schema.ts";
import { tomlValue } from "./values.ts";

/** The commented config.toml written by `roar init`: every key, its description and its default. */
export function configTemplate(): string {
  const lines = [
    "# roar configuration for this project (.roar/config.toml).",
    "# Every key is listed with its default, commented out. Uncomment and edit, or use `roar config set`.",
    "# Layers, lowest first: defaults < $XDG_CONFIG_HOME/roar/config.toml < this file < ROAR_<SECTION>__<KEY> env vars.",
  ];
  let table = "";
  for (const def of CONFIG_KEYS) {
    if (def.kind === "tables") {
      // An array of tables gets a commented example, not a `key = []` line under a repeated table header.
      lines.push("", `# ${def.description}, e.g.:`, `# [[${def.key}]]`, `# id = "internal_ticket"`);
      lines.push(`# pattern = "TCK-[0-9]{6}"`, `# description = "Ticket numbers of our tracker"`);
      continue;
    }
    const t = def.key.slice(0, def.key.lastIndexOf("."));
    if (t !== table) {
      lines.push("", `[${t}]`);
      table = t;
    }
    lines.push(`# ${def.description}`);
    lines.push(`# ${def.key.slice(t.length + 1)} = ${tomlValue(def.default)}`);
  }
  lines.push(
    "",
    "# Environment variables injected into every `roar run` / `roar build` (managed by `roar env`).",
    "[env]",
    "",
  );
  return lines.join("\n");
}
