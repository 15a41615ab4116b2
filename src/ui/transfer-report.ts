/** What `roar get` and `roar put` print, from their (already presented) JSON documents. */

import type { GetJson, PutJson } from "../schema/transfer.ts";
import { RoarError } from "../shared/errors.ts";
import type { Presenter } from "./present.ts";
import type { Styler } from "./style.ts";

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

export function renderGet(doc: GetJson, s: Styler): string {
  if (doc.dryRun) {
    return [
      "Dry run - would download:",
      ...doc.files.map((f) => `  ${f.url} -> ${f.path}`),
      `Total: ${plural(doc.files.length, "file")}`,
    ].join("\n");
  }
  const fetched = doc.files.filter((f) => f.state !== "unchanged").length;
  const same = doc.files.length - fetched;
  const lines: string[] = [];
  if (fetched === 0) lines.push(`Already up to date: ${plural(same, "file")} from ${doc.source} hold the same bytes`);
  else lines.push(`Downloaded ${plural(fetched, "file")} from ${doc.source}${same > 0 ? ` (${same} unchanged)` : ""}`);
  for (const f of doc.files) {
    const note =
      f.state === "unchanged" ? s.dim(" (unchanged)") : f.state === "replaced" ? s.yellow(" (replaced)") : "";
    lines.push(`  ${f.url} -> ${f.path}${note}`);
  }
  if (doc.collection)
    lines.push(
      `Directory ${doc.collection.path}: composite ${doc.collection.blake3} (${plural(doc.collection.files, "file")})`,
    );
  if (doc.job) lines.push(`Job created: step ${doc.job.label} (${doc.job.uid.slice(0, 12)})`);
  else lines.push(s.dim("Nothing recorded: these bytes were already recorded at these paths."));
  if (doc.tag) lines.push(`Git tag: ${doc.tag}`);
  return lines.join("\n");
}

export function renderPut(doc: PutJson, s: Styler): string {
  if (doc.dryRun) {
    return [
      `Dry run: would upload ${plural(doc.files.length, "file")} to ${doc.destination}`,
      ...doc.files.map((f) => `  ${f.path} -> ${f.url}`),
    ].join("\n");
  }
  const same = doc.files.filter((f) => f.state === "unchanged").length;
  const lines = [
    `Published ${plural(doc.files.length, "file")} to ${doc.destination}${same > 0 ? ` (${same} already there)` : ""}`,
    `Session:  ${doc.session.slice(0, 12)}...`,
  ];
  if (doc.job) lines.push(`Job step: ${doc.job.label}`, `Job UID:  ${doc.job.uid}`);
  if (doc.tag) lines.push(`Git tag:  ${doc.tag}`);
  lines.push("", "Uploaded files:");
  for (const f of doc.files)
    lines.push(`  ${f.path} -> ${f.url}${f.state === "unchanged" ? s.dim(" (unchanged)") : ""}`);
  if (doc.collections.length > 0) {
    lines.push("", `Directories (${doc.collections.length}):`);
    for (const c of doc.collections)
      lines.push(`  ${c.path} -> ${c.url ?? ""} composite ${c.blake3} (${plural(c.files, "file")})`);
  }
  return lines.join("\n");
}

/** A failure's message and hint with secrets redacted and control characters escaped (errors quote URLs). */
export function presentedError(error: unknown, present: Presenter): unknown {
  if (!(error instanceof RoarError)) {
    if (!(error instanceof Error)) return error;
    const copy = new RoarError(`internal error: ${present.text(error.message)}`, 1);
    copy.cause = error;
    return copy;
  }
  const copy = new RoarError(present.text(error.message), error.exitCode, error.hint && present.text(error.hint));
  copy.cause = error.cause;
  return copy;
}
