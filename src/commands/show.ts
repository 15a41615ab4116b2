import { Command, Option } from "clipanion";
import { jobJson, killedProcesses, networkOf, networkSummary } from "../core/job-view.ts";
import { shellJoin } from "../core/shell-words.ts";
import { stepLabel } from "../core/step.ts";
import type { JobRow, SessionRow } from "../core/types.ts";
import { formatDuration, formatSize } from "../core/units.ts";
import { resolveRef } from "../run/resolve-ref.ts";
import type { ShowArtifactJson, ShowJobJson, ShowSessionJson } from "../schema/show.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import { packagesSummary, pythonSummary, venvSummary } from "../ui/job-summary.ts";
import type { Presenter } from "../ui/present.ts";
import { formatTime, isoTime, table, truncate } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

export class ShowCommand extends RoarCommand {
  static override paths = [["show"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "Show a job, an artifact or a session",
    details: `
      REF is \`@N\` / \`@BN\` (the latest job of that step in the session), a job uid or unique prefix, an artifact
      BLAKE3 digest or unique prefix (8+ hex characters), or a file path (hashed now and looked up by content; a
      file that no longer exists is looked up by the path roar recorded). Without REF: the current session.
      \`--session [ID]\` shows another session (by uid prefix or number; \`roar show --session\` lists them all);
      old sessions stay queryable after \`roar reset\`. An unknown or ambiguous REF is an error that lists the
      candidates.

      \`roar show @N --json\` / \`roar show <job> --json\` prints \`{schemaVersion, type: "job", uid, step, label, kind,
      name, command (argv), cwd, exitCode, signal, status, startedAt, durationMs, stepIdentity, session, current,
      git, inputs[{path, blake3, size, digests?, flags, changedDuringRun, readWrite}], outputs[{path, blake3, size,
      digests?, flags, deleted?}], packages, runtime, env, trace{backend, complete, reasons[]}}\`.
    `,
    examples: [
      ["The latest run of step 2", "$0 show @2"],
      ["A job by uid prefix, as JSON", "$0 show 3f2a --json"],
      ["What roar knows about a file", "$0 show models/model.pt"],
      ["An earlier session", "$0 show --session 1"],
    ],
  });

  static override outputOptions = { json: "Print JSON" };
  ref = Option.String({ required: false, name: "REF" });
  session = Option.String("--session", {
    tolerateBoolean: true,
    description: "Show a session (ID: uid prefix or number)",
  });
  all = Option.Boolean("--all", false, { description: "Do not truncate lists" });
  private present!: Presenter;

  override async execute(): Promise<number> {
    const project = this.project();
    this.present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    const store = RoarStore.open(project, { create: false });
    try {
      let session: SessionRow | undefined;
      let ref = this.ref;
      if (this.session !== undefined) {
        // `--session ID` (tolerateBoolean leaves ID as the positional), `--session=ID`, or bare `--session`.
        const id = typeof this.session === "string" ? this.session : ref;
        if (typeof this.session !== "string") ref = undefined;
        session = id === undefined ? store.activeSession() : findSession(store, id);
        if (ref === undefined) return this.showSession(store, session, true);
      }
      if (ref === undefined) return this.showSession(store, store.activeSession(), false);
      const resolved = await resolveRef(store, ref, {
        cwd: this.context.cwd,
        projectRoot: project.root,
        sessionId: session?.id,
      });
      if (resolved.kind === "job") return this.showJob(store, resolved.job);
      if (resolved.fromRecord)
        this.note(
          `note: ${this.present.text(resolved.path ?? "")} is not on disk; showing the content last recorded there`,
        );
      return this.showArtifact(store, resolved.blake3);
    } finally {
      store.close();
    }
  }

  private showJob(store: RoarStore, row: JobRow): number {
    const job = store.jobWithIo(row.uid);
    if (!job) throw new RoarError(`Job not found: ${row.uid}`);
    const session = store.sessionById(job.sessionId);
    const latest = store.latestJobOfStep(job.sessionId, job.step);
    const current = latest?.uid === job.uid;
    const doc = this.present.doc(jobJson(job, session, current));
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    this.print(renderJob(doc, latest && !current ? latest.uid : null, this.all, this.style));
    return 0;
  }

  private showArtifact(store: RoarStore, blake3: string): number {
    const artifact = store.artifact(blake3);
    if (!artifact) throw new RoarError(`Artifact not found: ${blake3}`);
    const links = store.artifactLinks(blake3);
    const link = (l: (typeof links)[number]) => ({
      jobUid: l.job.uid,
      step: l.job.step,
      label: stepLabel(l.job.step, l.job.kind),
      sessionId: l.job.sessionId,
      path: l.path,
      command: l.job.argv,
    });
    const doc: ShowArtifactJson = this.present.doc({
      schemaVersion: JSON_SCHEMA_VERSION,
      type: "artifact",
      blake3: artifact.blake3,
      size: artifact.size,
      digests: artifact.digests,
      firstSeenAt: isoTime(artifact.firstSeenAt),
      firstSeenPath: artifact.firstSeenPath,
      locations: [...new Set(links.map((l) => l.path))],
      producedBy: links.filter((l) => l.role === "output").map(link),
      consumedBy: links.filter((l) => l.role === "input").map(link),
      ...this.collectionOf(store, blake3),
    });
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    const s = this.style;
    const limit = this.all ? Number.POSITIVE_INFINITY : 10;
    const out = [
      `${s.bold("Artifact:")}   ${doc.blake3}`,
      `${s.bold("Size:")}       ${formatSize(doc.size)} (${doc.size} bytes)`,
      `${s.bold("First seen:")} ${formatTime(artifact.firstSeenAt)}${doc.firstSeenPath ? ` at ${doc.firstSeenPath}` : ""}`,
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
    this.print(out.join("\n"));
    return 0;
  }

  /** The directory a composite digest stands for, when it is one. */
  private collectionOf(store: RoarStore, blake3: string): Pick<ShowArtifactJson, "collection"> {
    // The first place this directory was recorded (an upload's prefix, or a download's directory).
    const found = store.collectionsByDigest(blake3).at(-1);
    return found ? { collection: { name: found.name, kind: found.kind, members: found.members } } : {};
  }

  private showSession(store: RoarStore, session: SessionRow | undefined, listSessions: boolean): number {
    if (!session) throw new RoarError("No active session.", 1, "hint: 'roar reset' starts one");
    const jobs = store.sessionJobSummaries(session.id);
    const counts = store.sessionJobCounts();
    const sessions = store.sessions().map((x) => ({
      id: x.id,
      uid: x.uid,
      createdAt: isoTime(x.createdAt),
      active: x.active,
      jobs: counts.get(x.id) ?? 0,
    }));
    const doc: ShowSessionJson = this.present.doc({
      schemaVersion: JSON_SCHEMA_VERSION,
      type: "session",
      session: {
        id: session.id,
        uid: session.uid,
        createdAt: isoTime(session.createdAt),
        active: session.active,
        gitRepo: session.gitRepo,
        gitCommitStart: session.gitCommitStart,
      },
      totalSteps: new Set(jobs.map((j) => j.step)).size,
      jobs: jobs.map((j) => ({
        uid: j.uid,
        step: j.step,
        label: stepLabel(j.step, j.kind),
        kind: j.kind,
        status: j.status,
        exitCode: j.exitCode,
        startedAt: isoTime(j.startedAt),
        command: j.argv,
      })),
      sessions,
    });
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    const s = this.style;
    const out = [
      `${s.bold("Session:")} ${session.uid}${session.active ? " (active)" : ""}  #${session.id}`,
      `${s.bold("Created:")} ${formatTime(session.createdAt)}`,
    ];
    if (doc.session.gitRepo) out.push(`${s.bold("Git:")}     ${doc.session.gitRepo}`);
    if (session.gitCommitStart) out.push(`${s.bold("Commit:")}  ${session.gitCommitStart}`);
    out.push(`${s.bold("Steps:")}   ${doc.totalSteps}`, "");
    if (jobs.length === 0) out.push("No jobs in this session.");
    else {
      const limit = this.all ? Number.POSITIVE_INFINITY : 100;
      const shown = doc.jobs.slice(-limit);
      out.push(s.bold(`Jobs (${jobs.length}):`));
      const rows = [["STEP", "JOB", "STATUS", "COMMAND"]];
      for (const j of shown) {
        const status = j.status === "ok" ? "OK" : j.status === "interrupted" ? "INT" : "FAIL";
        rows.push([j.label, j.uid.slice(0, 12), status, truncate(shellJoin(j.command), 70)]);
      }
      out.push(...table(rows).map((l) => `  ${l}`));
      if (jobs.length > shown.length) out.push(`  … ${jobs.length - shown.length} earlier jobs not shown (--all)`);
    }
    if (listSessions) {
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
    this.print(out.join("\n"));
    return 0;
  }
}

function findSession(store: RoarStore, id: string): SessionRow {
  if (/^\d+$/.test(id)) {
    const byNumber = store.sessionById(Number(id));
    if (byNumber) return byNumber;
  }
  const matches = store.sessionsByUidPrefix(id.toLowerCase());
  if (matches.length === 1) return matches[0] as SessionRow;
  const all = store.sessions();
  const list = all.map(
    (x) => `  #${x.id}  ${x.uid.slice(0, 12)}  ${formatTime(x.createdAt)}${x.active ? "  (active)" : ""}`,
  );
  if (matches.length === 0) throw new RoarError(`No session matches '${id}'`, 1, `sessions:\n${list.join("\n")}`);
  throw new RoarError(
    `ambiguous session '${id}': ${matches.length} matches`,
    1,
    `candidates:\n${matches.map((x) => `  #${x.id}  ${x.uid}`).join("\n")}`,
  );
}

type Style = ReturnType<typeof import("../ui/style.ts").styler>;

function renderJob(doc: ShowJobJson, supersededBy: string | null, all: boolean, s: Style): string {
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
  const trace = doc.trace as { backend?: string; complete?: boolean; reasons?: string[] };
  if (trace.backend) {
    const reasons = trace.reasons?.length ? `: ${trace.reasons.join("; ")}` : "";
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
