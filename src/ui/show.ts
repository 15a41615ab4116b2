/**
 * The text of `roar show`: a job, an artifact, a session. Each takes the presented document (see ui/present.ts);
 * the JSON of `--json` is that document itself.
 */
import { killedProcesses, networkOf, networkSummary } from "../core/job-view.ts";
import { shellJoin } from "../core/shell-words.ts";
import type { SessionRow } from "../core/types.ts";
import { formatDuration, formatSize } from "../core/units.ts";
import type { ShowArtifactJson, ShowJobJson, ShowSessionJson } from "../schema/show.ts";
import { type IncompleteReason, incompleteTexts } from "./incomplete.ts";
import { packagesSummary, pythonSummary, venvSummary } from "./job-summary.ts";
import type { styler } from "./style.ts";
import { formatTime, table, truncate } from "./table.ts";

type Style = ReturnType<typeof styler>;

/** One session in a list (`#2  3f2a…  2024-05-01 12:00:00  (active)`). */
export function sessionLine(x: SessionRow): string {
  return `  #${x.id}  ${x.uid.slice(0, 12)}  ${formatTime(x.createdAt)}${x.active ? "  (active)" : ""}`;
}

/** An artifact; `firstSeenAt` in ms, as stored. */
export function renderArtifact(doc: ShowArtifactJson, firstSeenAt: number, all: boolean, s: Style): string {
  const limit = all ? Number.POSITIVE_INFINITY : 10;
  const out = [
    `${s.bold("Artifact:")}   ${doc.blake3}`,
    `${s.bold("Size:")}       ${formatSize(doc.size)} (${doc.size} bytes)`,
    `${s.bold("First seen:")} ${formatTime(firstSeenAt)}${doc.firstSeenPath ? ` at ${doc.firstSeenPath}` : ""}`,
  ];
  for (const [alg, digest] of Object.entries(doc.digests)) out.push(`${s.bold(`${alg}:`.padEnd(11))} ${digest}`);
  out.push("", s.bold(`Locations (${doc.locations.length}):`), ...doc.locations.map((p) => `  ${p}`));
  const linkLines = (list: ShowArtifactJson["producedBy"]) => {
    const lines = list
      .slice(0, limit)
      .map(
        (l) => `  ${l.label.padEnd(5)} ${l.jobUid.slice(0, 12)}  ${truncate(shellJoin(l.command), 60)}  (${l.path})`,
      );
    if (list.length > limit) lines.push(`  … and ${list.length - limit} more (--all)`);
    return lines;
  };
  if (doc.collection) {
    const members = doc.collection.members;
    out.push("", s.bold(`Directory ${doc.collection.name} (${members.length} files):`));
    out.push(...members.slice(0, limit).map((m) => `  ${m.path}  ${m.blake3.slice(0, 12)}`));
    if (members.length > limit) out.push(`  … and ${members.length - limit} more (--all)`);
  }
  out.push("", s.bold(`Produced by (${doc.producedBy.length}):`), ...linkLines(doc.producedBy));
  out.push("", s.bold(`Consumed by (${doc.consumedBy.length}):`), ...linkLines(doc.consumedBy));
  return out.join("\n");
}

/** A session (`session` as stored) and its jobs; with `listSessions`, every session too. */
export function renderSession(
  doc: ShowSessionJson,
  session: SessionRow,
  options: { listSessions: boolean; all: boolean },
  s: Style,
): string {
  const { jobs, sessions } = doc;
  const out = [
    `${s.bold("Session:")} ${session.uid}${session.active ? " (active)" : ""}  #${session.id}`,
    `${s.bold("Created:")} ${formatTime(session.createdAt)}`,
  ];
  if (doc.session.gitRepo) out.push(`${s.bold("Git:")}     ${doc.session.gitRepo}`);
  if (session.gitCommitStart) out.push(`${s.bold("Commit:")}  ${session.gitCommitStart}`);
  out.push(`${s.bold("Steps:")}   ${doc.totalSteps}`, "");
  if (jobs.length === 0) out.push("No jobs in this session.");
  else {
    const limit = options.all ? Number.POSITIVE_INFINITY : 100;
    const shown = jobs.slice(-limit);
    out.push(s.bold(`Jobs (${jobs.length}):`));
    const rows = [["STEP", "JOB", "STATUS", "COMMAND"]];
    for (const j of shown) {
      const status = j.status === "ok" ? "OK" : j.status === "interrupted" ? "INT" : "FAIL";
      rows.push([j.label, j.uid.slice(0, 12), status, truncate(shellJoin(j.command), 70)]);
    }
    out.push(...table(rows).map((l) => `  ${l}`));
    if (jobs.length > shown.length) out.push(`  … ${jobs.length - shown.length} earlier jobs not shown (--all)`);
  }
  if (options.listSessions) {
    out.push("", s.bold(`Sessions (${sessions.length}):`));
    const rows = [["#", "UID", "CREATED", "JOBS", ""]];
    for (const x of sessions) {
      rows.push([
        String(x.id),
        x.uid.slice(0, 12),
        formatTime(Date.parse(x.createdAt)),
        String(x.jobs),
        x.active ? "active" : "",
      ]);
    }
    out.push(...table(rows).map((l) => `  ${l}`));
  }
  return out.join("\n");
}

/** A job; `supersededBy`: the later run of its step, when this one is not current. */
export function renderJob(doc: ShowJobJson, supersededBy: string | null, all: boolean, s: Style): string {
  const limit = all ? Number.POSITIVE_INFINITY : 15;
  const field = (k: string, v: string) => `${s.bold(`${k}:`.padEnd(11))} ${v}`;
  const status =
    doc.status === "ok"
      ? s.green("OK")
      : doc.status === "interrupted"
        ? s.yellow(`Interrupted (${doc.signal !== null ? `signal ${doc.signal}` : `exit ${doc.exitCode}`})`)
        : s.red(doc.signal !== null ? `Failed (signal ${doc.signal})` : `Failed (exit ${doc.exitCode})`);
  const out = [
    field("Job", doc.uid),
    field(
      "Step",
      `${doc.label}${doc.current ? "" : s.grey(` (superseded by ${supersededBy?.slice(0, 12) ?? "a later run"})`)}`,
    ),
  ];
  if (doc.name) out.push(field("Name", doc.name));
  out.push(
    field("Kind", doc.kind),
    field("Command", shellJoin(doc.command)),
    field("Cwd", doc.cwd === "" ? "." : doc.cwd),
    field("Started", formatTime(Date.parse(doc.startedAt))),
    field("Duration", formatDuration(doc.durationMs)),
    field("Status", status),
    field("Session", `${doc.session.uid.slice(0, 12)}${doc.session.active ? " (active)" : ""}`),
  );
  const transfer = doc.transfer as { source?: string; destination?: string; message?: string | null } | undefined;
  if (transfer?.source) out.push(field("From", transfer.source));
  if (transfer?.destination) out.push(field("To", transfer.destination));
  if (transfer?.message) out.push(field("Message", transfer.message));
  const git = doc.git as { commit?: string; branch?: string; clean?: boolean; remoteUrl?: string };
  if (git.commit) {
    out.push(field("Git", `${git.branch ?? "?"} @ ${git.commit.slice(0, 12)}${git.clean === false ? " (dirty)" : ""}`));
    if (git.remoteUrl) out.push(field("Remote", git.remoteUrl));
  }
  const trace = doc.trace as { backend?: string; complete?: boolean; reasons?: (IncompleteReason | string)[] };
  if (trace.backend) {
    // The document is presented already: its details are escaped.
    const reasons = trace.reasons?.length ? `: ${incompleteTexts(trace.reasons, (t) => t).join("; ")}` : "";
    out.push(
      field("Trace", `${trace.backend}, ${trace.complete === false ? s.yellow(`incomplete${reasons}`) : "complete"}`),
    );
  }
  const network = networkOf(doc.trace);
  if (network.length > 0) out.push(field("Network", `${networkSummary(network)} ${s.yellow("(not self-contained)")}`));
  const killed = killedProcesses(doc.trace);
  if (killed.length > 0) {
    const list = killed.map((p) => `pid ${p.pid}${p.exe ? ` ${p.exe}` : ""}: signal ${p.signal}`).join(", ");
    out.push(field("Killed", s.yellow(list)));
  }
  const python = pythonSummary(doc.python);
  if (python) out.push(field("Python", python), field("Venv", venvSummary(doc.python) ?? "none"));
  const packages = packagesSummary(doc.packages);
  if (packages) out.push(field("Packages", all ? packages : `${packages}${s.dim("  (--all lists them)")}`));
  const ioBlock = (title: string, list: ShowJobJson["inputs"] | ShowJobJson["outputs"]) => {
    out.push("", s.bold(`${title} (${list.length}):`));
    for (const io of list.slice(0, limit)) {
      const link = "symlink" in io && io.symlink ? io : null;
      out.push(link ? `  ${io.path} -> ${link.linkTarget ?? "?"}` : `  ${io.path}`);
      if (io.blake3 === null) out.push(s.dim("    deleted"));
      else if (link) out.push(s.dim(`    symbolic link  blake3 ${io.blake3.slice(0, 12)}… (of the target text)`));
      else {
        const extra = Object.entries(io.digests ?? {})
          .map(([a, d]) => `  ${a} ${d.slice(0, 12)}…`)
          .join("");
        out.push(s.dim(`    ${formatSize(io.size)}  blake3 ${io.blake3.slice(0, 12)}…${extra}`));
      }
      if ("writerKilled" in io && io.writerKilled)
        out.push(s.yellow("    written by a process that was killed or crashed: it may be incomplete"));
    }
    if (list.length > limit) out.push(`  … and ${list.length - limit} more (--all)`);
  };
  ioBlock("Inputs", doc.inputs);
  ioBlock("Outputs", doc.outputs);
  // The summary above names the first few; --all lists every package.
  const lists = all ? (doc.packages as Record<string, Record<string, string> | undefined>) : {};
  for (const [manager, list] of Object.entries(lists ?? {})) {
    if (!list || typeof list !== "object") continue;
    const entries = Object.entries(list);
    if (entries.length === 0) continue;
    out.push("", s.bold(`Packages (${manager}, ${entries.length}):`));
    for (const [name, version] of entries.slice(0, limit)) out.push(`  ${name}==${String(version)}`);
    if (entries.length > limit) out.push(`  … and ${entries.length - limit} more (--all)`);
  }
  const runtime = doc.runtime as Record<string, unknown>;
  const simple = Object.entries(runtime ?? {}).filter(([, v]) => v !== null && typeof v !== "object");
  if (simple.length > 0) {
    out.push("", s.bold("Runtime:"));
    for (const [k, v] of simple) out.push(`  ${k}: ${String(v)}`);
  }
  const env = Object.entries((doc.env ?? {}) as Record<string, unknown>);
  if (env.length > 0) {
    out.push("", s.bold(`Environment (${env.length}):`));
    for (const [k, v] of env.slice(0, limit)) out.push(`  ${k}=${truncate(String(v), 60)}`);
  }
  return out.join("\n");
}
