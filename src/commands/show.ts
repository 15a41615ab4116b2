/** `roar show`: a job, an artifact or a session (documents in run/show-views.ts, text in ui/show.ts). */
import { Command, Option } from "clipanion";
import { jobJson } from "../core/job-view.ts";
import type { JobRow, SessionRow } from "../core/types.ts";
import { resolveRef } from "../run/resolve-ref.ts";
import { artifactView, findSession, sessionView } from "../run/show-views.ts";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import type { Presenter } from "../ui/present.ts";
import { renderArtifact, renderJob, renderSession, sessionLine } from "../ui/show.ts";
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
        session = id === undefined ? store.activeSession() : findSession(store, id, sessionLine);
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
    const { artifact, view } = artifactView(store, blake3);
    const doc = this.present.doc(view);
    if (this.json) this.printJson(doc);
    else this.print(renderArtifact(doc, artifact.firstSeenAt, this.all, this.style));
    return 0;
  }

  private showSession(store: RoarStore, session: SessionRow | undefined, listSessions: boolean): number {
    if (!session) throw new RoarError("No active session.", 1, "hint: 'roar reset' starts one");
    const doc = this.present.doc(sessionView(store, session));
    if (this.json) this.printJson(doc);
    else this.print(renderSession(doc, session, { listSessions, all: this.all }, this.style));
    return 0;
  }
}
