import { relative } from "node:path";
import { Command, Option } from "clipanion";
import { readGitState } from "../capture/git.ts";
import type { LoadedConfig } from "../config/load.ts";
import { registrationLineage, sessionHash } from "../core/register-lineage.ts";
import { isRemoteUrl } from "../core/remote.ts";
import { secretDetector } from "../core/secrets.ts";
import type { JobWithIo } from "../core/types.ts";
import { close as closeHashPool } from "../hash/index.ts";
import { clientFor, identity, registryUrl, webUrl } from "../registry/connect.ts";
import { buildRegistration, linkCount } from "../registry/payload.ts";
import { sendRegistration } from "../registry/send.ts";
import { pushTags, tagCommits, unpublishedCommits } from "../registry/tags.ts";
import { type RegisterTarget, resolveRegisterTarget } from "../registry/targets.ts";
import { blockingChanges, changeLines } from "../run/dirty-tree.ts";
import { RoarError } from "../shared/errors.ts";
import { currentStepJobs, storeLineageSource } from "../store/job-sources.ts";
import { findGitRoot } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { type RegisterDoc, renderRegister } from "../ui/register.ts";
import { ConfiguredCommand } from "./base.ts";

export class RegisterCommand extends ConfiguredCommand {
  static override paths = [["register"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Publish the lineage of an artifact, a job, a step or a session to the registry (GLaaS)",
    details: `
      TARGET is a path or a tracked remote location (\`s3://…\`), an artifact digest or unique prefix, a job uid or
      unique prefix, \`@N\`/\`@BN\`, a session hash or unique prefix, or nothing (the current session). A bare hex
      target is a job uid first, then an artifact, then a session. What is sent: the upstream closure of the target
      (the jobs that produced its inputs, transitively) and the current build steps of its session, re-runs of
      identical inputs and outputs collapsed to the latest. Every command, metadata, path, URL and [env] value
      passes the secret detector (\`registration.omit.*\`) first; when it finds secrets, roar asks before sending
      (default No; \`-y\` skips the question, and is needed off a terminal). With \`registration.tagging.enabled\` a
      tree with uncommitted changes is refused and the commits are tagged \`roar/<commit>\`, pushed to origin with
      \`registration.tagging.push\`. Requests are signed with your SSH key (see \`roar auth\`); without one they go
      as \`anonymous\`. Registering again changes nothing. The session hash is sha256 of the local session's uid.
    `,
    examples: [
      ["Register a model's lineage", "$0 register model.pt"],
      ["Preview, with what would be redacted", "$0 register --dry-run @3"],
      ["The whole current session, without questions", "$0 register -y"],
    ],
  });

  static override outputOptions = { json: "Print the result as JSON" };
  target = Option.String({ required: false, name: "target" });
  dryRun = Option.Boolean("--dry-run", false, { description: "Show what would be registered and redacted" });
  yes = Option.Boolean("-y,--yes", false, { description: "Register even when secrets will be redacted" });

  override async execute(): Promise<number> {
    const project = this.project();
    const loaded = this.loadConfig(project);
    const env = this.context.env;
    const store = RoarStore.open(project);
    try {
      const target = await resolveRegisterTarget(store, this.target, {
        cwd: this.context.cwd,
        projectRoot: project.root,
      });
      const source = storeLineageSource(store);
      const seeds = this.seeds(store, source, target);
      const lineage = registrationLineage(seeds, source);
      if (lineage.jobs.length === 0) throw new RoarError(`nothing to register: ${target.label} has no jobs`);
      const gitRoot = findGitRoot(project.root);
      const git = gitRoot ? readGitState(gitRoot) : null;
      const tagging = loaded.config.registration.tagging;
      let blockedBy: string | null = null;
      if (git && tagging.enabled) {
        const blocking = await blockingChanges(git, store, project.root);
        if (blocking.length > 0) {
          if (!this.dryRun)
            throw new RoarError(
              "Cannot register with uncommitted changes. Commit your changes first.",
              1,
              `${changeLines(blocking)}\n(registration.tagging.enabled tags the commits it registers; set it to false to register anyway)`,
            );
          blockedBy = `${blocking.length} uncommitted change(s) (registration.tagging.enabled)`;
        }
      }
      const sessionUids = new Map(store.sessions().map((s) => [s.id, s.uid]));
      const registration = buildRegistration(lineage.jobs, {
        sessionHashOf: (id) => sessionHash(sessionUids.get(id) ?? String(id)),
        git: git ? { remote: git.remoteUrl, commit: git.commit, branch: git.branch } : null,
        projectDir: gitRoot && gitRoot !== project.root ? relative(gitRoot, project.root) : "",
        gitRoot: gitRoot ?? null,
        detector: secretDetector(loaded.config, env),
      });
      const apiUrl = registryUrl(loaded, env);
      const web = webUrl(loaded, apiUrl);
      const who = await identity(loaded, env, false);
      const targetSession = this.targetSession(target, lineage.jobs, sessionUids);
      const blake3 = target.kind === "artifact" ? target.blake3 : null;
      const secretTypes = [...new Set(registration.redactions.flatMap((r) => r.ids))];
      const doc: RegisterDoc = {
        schemaVersion: 1,
        dryRun: this.dryRun,
        target: { kind: target.kind, label: target.label, blake3 },
        registry: apiUrl,
        key: who.fingerprint,
        user: null,
        anonymous: who.key === null,
        sessions: registration.sessions.map((s) => ({ hash: s.hash, url: null })),
        jobs: registration.jobs.map((j) => ({ uid: j.payload.job_uid, label: j.label, command: j.payload.command })),
        counts: {
          sessions: registration.sessions.length,
          jobs: registration.jobs.length,
          artifacts: registration.artifacts.length,
          links: linkCount(registration),
          collapsed: lineage.collapsed,
        },
        redactions: registration.redactions,
        secretTypes,
        blockedBy,
        tags: [],
        pushed: null,
        urls: {
          session: web && targetSession ? `${web}/dag/${targetSession}` : null,
          artifact: web && blake3 ? `${web}/artifact/${blake3}` : null,
        },
        reproduce: blake3 ? `roar reproduce ${blake3}` : null,
      };
      if (this.dryRun) return this.show(doc, loaded);
      if (secretTypes.length > 0 && !this.yes && !(await this.confirmRedaction(secretTypes))) {
        this.note("Registration aborted.");
        return 1;
      }
      if (who.key === null)
        this.note(`note: ${who.anonymousReason}; registering as anonymous (see 'roar auth register')`);
      const client = clientFor(apiUrl, who, { anonymousFallback: true, notice: (m) => this.note(m) });
      const sent = await sendRegistration(client, registration);
      doc.user = sent.user;
      doc.anonymous = sent.anonymous;
      doc.sessions = sent.sessions.map((s) => ({ hash: s.hash, url: s.url }));
      if (git && gitRoot && tagging.enabled) {
        const commits = [git.commit, ...lineage.jobs.map((j) => j.git.commit)];
        const known = commits.filter((c): c is string => typeof c === "string" && c !== "");
        const tagged = tagCommits(gitRoot, known);
        doc.tags = tagged.tags;
        if (tagging.push) {
          const problem = pushTags(gitRoot, tagged.tags);
          doc.pushed = problem === null;
          if (problem) this.note(`warning: could not push the roar/<commit> tags to origin: ${problem}`);
        } else this.warnUnpublished(gitRoot, known);
      }
      this.show(doc, loaded);
      return doc.pushed === false ? 1 : 0;
    } finally {
      store.close();
      closeHashPool();
    }
  }

  private seeds(store: RoarStore, source: ReturnType<typeof storeLineageSource>, target: RegisterTarget): JobWithIo[] {
    const load = (uid: string) => source.job(uid) as JobWithIo;
    if (target.kind === "session") return currentStepJobs(store, target.session).map(load);
    if (target.kind === "job") return [load(target.job.uid)];
    const producers = source.producers(target.blake3).filter((p) => p.status === "ok");
    const remote = target.path !== null && isRemoteUrl(target.path) ? target.path : null;
    const byPath = remote ? producers.filter((p) => p.outputs.some((o) => o.path === remote)) : [];
    const local = producers.filter((p) => p.outputs.some((o) => o.blake3 === target.blake3 && !isRemoteUrl(o.path)));
    const pick = [byPath, local, producers].find((l) => l.length > 0)?.sort((a, b) => b.seq - a.seq)[0];
    if (!pick)
      throw new RoarError(
        `${target.label} was not produced by any recorded job (an input from outside): it has no lineage to register`,
        1,
        "hint: register the job that reads it (roar register @N)",
      );
    return [pick];
  }

  /** The session the links point at: the target's own (the session of the job that made the target). */
  private targetSession(target: RegisterTarget, jobs: readonly JobWithIo[], uids: Map<number, string>): string | null {
    if (target.kind === "session") return sessionHash(target.session.uid);
    const id =
      target.kind === "job"
        ? target.job.sessionId
        : jobs.filter((j) => j.outputs.some((o) => o.blake3 === target.blake3)).at(-1)?.sessionId;
    const uid = id === undefined ? undefined : uids.get(id);
    return uid ? sessionHash(uid) : null;
  }

  private async confirmRedaction(types: string[]): Promise<boolean> {
    const what = `${types.length} potential secret type(s) that will be redacted: ${types.join(", ")}`;
    if (!isInteractive())
      throw new RoarError(
        `detected ${what}; refusing to register without confirmation (not a terminal)`,
        1,
        "hint: 'roar register --dry-run' shows where; pass -y to register with them redacted",
      );
    this.note(`Detected ${what}`);
    return confirm("Continue with registration? (secrets will be redacted)", false);
  }

  private warnUnpublished(gitRoot: string, commits: string[]): void {
    const missing = unpublishedCommits(gitRoot, commits);
    if (missing.length === 0) return;
    this.note(
      `warning: ${missing.length} registered commit(s) are on no branch of origin (${missing.map((c) => c.slice(0, 8)).join(", ")}): a reproduce from the registry cannot fetch them; push them, or set registration.tagging.push = true`,
    );
  }

  private show(doc: RegisterDoc, loaded: LoadedConfig): number {
    const shown = this.presenter(this.json ? "json" : "text", loaded).doc(doc);
    if (this.json) this.printJson(shown);
    else this.print(renderRegister(shown, this.style).join("\n"));
    return 0;
  }
}
