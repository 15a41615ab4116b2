import { Command, Option } from "clipanion";
import { type Lineage, type LineageJobEntry, traceLineage } from "../core/lineage.ts";
import { shellJoin } from "../core/shell-words.ts";
import { formatSize } from "../core/units.ts";
import { storeLineageLookup } from "../run/lineage-load.ts";
import { resolveRef } from "../run/resolve-ref.ts";
import type { LineageJson } from "../schema/lineage.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import type { Styler } from "../ui/style.ts";
import { isoTime, terminalWidth, truncate } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

export class LineageCommand extends RoarCommand {
  static override paths = [["lineage"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "Show the upstream jobs and artifacts of an artifact",
    details: `
      ARTIFACT is a path (hashed now and looked up by content; a file no longer on disk is looked up by the path
      roar recorded) or a BLAKE3 digest prefix (8+ hex characters). Lineage follows content: the job that wrote
      these bytes, the artifacts it read, the jobs that wrote those, and so on up to \`--depth\` jobs (default 10).
      \`--json\` prints \`{schemaVersion, artifact{path, blake3, size}, producerUid, depth, truncated, jobs[{uid,
      step, label, sessionId, kind, name, command, startedAt, durationMs, exitCode, status, depth, inputs[{path,
      blake3, producerUid}], outputs[{path, blake3}]}], artifacts[{path, blake3, size, producerUid, depth}]}\`.
    `,
    examples: [
      ["Where did this model come from?", "$0 lineage models/model.pt"],
      ["As JSON, three levels up", "$0 lineage 1a2b3c4d --depth 3 --json"],
    ],
  });

  static override outputOptions = { json: "Print JSON" };
  target = Option.String({ name: "ARTIFACT" });
  depth = Option.String("-d,--depth", "10", { description: "How many jobs upstream to follow (default 10)" });
  output = Option.String("-o,--output", { description: "Output format: text or json (same as --json)", hidden: true });

  override async execute(): Promise<number> {
    const depth = Number(this.depth);
    if (!Number.isInteger(depth) || depth < 0)
      throw new RoarError(`--depth expects a whole number, got '${this.depth}'`, 2);
    const project = this.project();
    const store = RoarStore.open(project, { create: false });
    try {
      const ref = await resolveRef(store, this.target, {
        cwd: this.context.cwd,
        projectRoot: project.root,
        accept: "artifact",
      });
      if (ref.kind !== "artifact") throw new RoarError(`${this.target} is not an artifact`);
      const artifact = store.artifact(ref.blake3);
      const lineage = traceLineage(
        storeLineageLookup(store),
        { blake3: ref.blake3, path: ref.path ?? artifact?.firstSeenPath ?? null, size: artifact?.size ?? null },
        { depth, preferSession: store.activeSession()?.id },
      );
      const json = this.json || this.output === "json";
      const shown = this.presenter(json ? "json" : "text", this.queryConfig(project)).doc(lineage);
      if (json) {
        this.printJson(lineageJson(shown, depth));
        return 0;
      }
      const width = terminalWidth(this.context.stdout as { isTTY?: boolean; columns?: number });
      this.print(renderLineage(shown, width, this.style));
      return 0;
    } finally {
      store.close();
    }
  }
}

function lineageJson(l: Lineage, depth: number): LineageJson {
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    artifact: l.artifact,
    producerUid: l.producerUid,
    depth,
    truncated: l.truncated,
    jobs: l.jobs.map((j) => ({ ...j, startedAt: isoTime(j.startedAt) })),
    artifacts: l.artifacts,
  };
}

function renderLineage(l: Lineage, width: number, s: Styler): string {
  const jobs = new Map(l.jobs.map((j) => [j.uid, j]));
  const lines = [
    `${s.bold(l.artifact.path ?? l.artifact.blake3.slice(0, 16))}  ${s.dim(`blake3 ${l.artifact.blake3.slice(0, 12)}…${l.artifact.size !== null ? `, ${formatSize(l.artifact.size)}` : ""}`)}`,
  ];
  if (!l.producerUid) {
    lines.push(s.dim("└── no recorded job produced this content (a source artifact)"));
    return lines.join("\n");
  }
  const printed = new Set<string>();
  const jobLine = (j: LineageJobEntry, used: number) => {
    const text = truncate(j.name ?? shellJoin(j.command), Math.max(10, width - used - j.label.length - 16));
    return `${s.bold(s.green(j.label))} ${text}  ${s.dim(`[${j.uid.slice(0, 8)}]`)}`;
  };
  const walk = (uid: string, prefix: string, last: boolean) => {
    const j = jobs.get(uid);
    const head = `${prefix}${last ? "└── " : "├── "}`;
    if (!j) {
      lines.push(`${head}${s.dim(`job ${uid.slice(0, 8)} (beyond --depth)`)}`);
      return;
    }
    if (printed.has(uid)) {
      lines.push(`${head}${jobLine(j, Bun.stringWidth(head))} ${s.dim("(see above)")}`);
      return;
    }
    printed.add(uid);
    lines.push(head + jobLine(j, Bun.stringWidth(head)));
    const inner = prefix + (last ? "    " : "│   ");
    j.inputs.forEach((input, i) => {
      const isLast = i === j.inputs.length - 1;
      const h = `${inner}${isLast ? "└── " : "├── "}`;
      const source = input.producerUid ? "" : s.dim(" (source)");
      lines.push(`${h}${input.path} ${s.dim(input.blake3.slice(0, 12))}${source}`);
      if (input.producerUid) walk(input.producerUid, inner + (isLast ? "    " : "│   "), true);
    });
  };
  walk(l.producerUid, "", true);
  if (l.truncated) lines.push("", s.dim("(more upstream jobs beyond --depth)"));
  return lines.join("\n");
}
