import type { Cli } from "clipanion";
import type { RoarContext } from "../commands/base.ts";
import { styles } from "./style.ts";

/** Help sections, in the order the reference README introduces the commands. */
const SECTIONS = ["Start Here", "Sessions", "Inspect Local Lineage", "Share and Publish", "Setup and Admin"];

export function renderHelp(cli: Cli<RoarContext>, version: string, colored: boolean): string {
  const s = styles(colored);
  const groups = new Map<string, { path: string; description: string }[]>();
  for (const def of cli.definitions({ colored: false })) {
    const category = (def.category ?? "Other").trim();
    const list = groups.get(category) ?? [];
    list.push({ path: def.path.replace(/^roar /, ""), description: (def.description ?? "").trim() });
    groups.set(category, list);
  }
  const order = [...SECTIONS, ...[...groups.keys()].filter((k) => !SECTIONS.includes(k))];
  const width = Math.max(...[...groups.values()].flat().map((c) => c.path.length), 10);
  const lines = [
    `${s.bold("roar")} ${version} — Run Observation & Artifact Registration`,
    "",
    "Records the provenance of your pipeline by watching the commands you run.",
    "",
    `${s.bold("Usage:")} roar <command> [options]`,
  ];
  for (const section of order) {
    const list = groups.get(section);
    if (!list || list.length === 0) continue;
    lines.push("", s.bold(`${section}:`));
    for (const c of list) lines.push(`  ${c.path.padEnd(width)}  ${c.description}`);
  }
  lines.push(
    "",
    "Global options: --no-color, --version, --help",
    "Run 'roar <command> --help' for the options of one command.",
    "",
  );
  return lines.join("\n");
}
