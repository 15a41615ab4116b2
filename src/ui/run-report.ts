/** The report printed on stderr after `roar run` / `roar build`. */

import { IoFlags } from "../core/io-flags.ts";
import { networkOf, networkSummary } from "../core/job-view.ts";
import { stepLabel } from "../core/step.ts";
import type { IoRecord, NewJob } from "../core/types.ts";
import { formatDuration } from "../core/units.ts";
import { incompleteTexts } from "./incomplete.ts";
import type { Presenter } from "./present.ts";
import type { Styler } from "./style.ts";

export function formatBytes(n: number | null): string {
  if (n === null) return "-";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

const SHOWN = 5;

function ioLines(title: string, list: IoRecord[], s: Styler, present: Presenter): string[] {
  const lines = [`${s.bold(title)} (${list.length})`];
  for (const io of list.slice(0, SHOWN)) {
    const digest = io.blake3 ? io.blake3.slice(0, 12) : s.red("deleted");
    const name = present.text(io.path);
    if (io.linkTarget !== undefined)
      lines.push(`  ${name} -> ${present.text(io.linkTarget)}  ${s.dim("symbolic link")}`);
    else lines.push(`  ${name}  ${s.dim(`${formatBytes(io.size)}  ${digest}`)}`);
  }
  if (list.length > SHOWN) lines.push(s.dim(`  … and ${list.length - SHOWN} more`));
  return lines;
}

/** `s`: the styling of the stream the report goes to (stderr). */
export function runReport(job: NewJob, uid: string, postMs: number, present: Presenter, s: Styler): string {
  const { trace, git } = job;
  const packages = job.metadata.packages ?? {};
  const outcome =
    job.status === "ok"
      ? s.green("ok")
      : job.status === "interrupted"
        ? s.yellow(`interrupted (${job.signal !== null ? `killed by signal ${job.signal}` : `exit ${job.exitCode}`})`)
        : s.red(job.signal !== null ? `killed by signal ${job.signal}` : `exit ${job.exitCode}`);
  const lines = [
    `${s.bold(`roar: ${stepLabel(job.step, job.kind)}`)} ${outcome} · job ${uid.slice(0, 12)} · ${formatDuration(job.durationMs)} (trace ${formatDuration(job.traceMs ?? 0)} + roar ${formatDuration(postMs)})`,
    ...ioLines("Inputs", job.inputs, s, present),
    ...ioLines("Outputs", job.outputs, s, present),
  ];
  const verdict = trace.complete
    ? s.green("complete")
    : s.yellow(
        `incomplete: ${incompleteTexts(trace.reasons ?? [], (t) => present.text(t))
          .slice(0, 3)
          .join(", ")}`,
      );
  lines.push(`trace: ${trace.backend} · ${verdict}`);
  const network = networkOf(job.trace);
  if (network.length > 0)
    lines.push(`network: ${present.text(networkSummary(network))} ${s.yellow("(not self-contained)")}`);
  const killedOutputs = job.outputs.filter((o) => (o.flags & IoFlags.WRITER_KILLED) !== 0).length;
  if (killedOutputs > 0)
    lines.push(s.yellow(`${killedOutputs} output(s) written by a process that was killed or crashed`));
  if (git.commit) {
    lines.push(
      `git: ${git.branch ?? "?"} @ ${git.commit.slice(0, 8)} ${git.clean ? "clean" : s.yellow("dirty (patch stored)")}`,
    );
  }
  lines.push(
    `packages: ${Object.keys(packages.pip ?? {}).length} pip, ${Object.keys(packages.dpkg ?? {}).length} dpkg`,
  );
  return `${lines.join("\n")}\n`;
}
