/**
 * The request bodies of one registration (reference-behaviour §F.2/§F.3), redacted before anything leaves the
 * machine: every string of user data — the command, the metadata (argv, [env], paths, URLs), the git remote, link
 * paths, source URLs — goes through the one secret detector, and each value it changed is reported (where, and
 * which detector), so `--dry-run` and the prompt can say what will be redacted.
 *
 * A job's `metadata` (a JSON string) carries what a reproduce from the registry needs: argv, cwd, the project's
 * place in the repository, [env], kind, status, python/packages/runtime, git remote/branch/clean, the trace verdict.
 */

import { resolve } from "node:path";
import { IoFlags } from "../core/io-flags.ts";
import { DocumentRedactor, type Redaction } from "../core/redact.ts";
import { isRemoteUrl } from "../core/remote.ts";
import type { SecretDetector } from "../core/secrets.ts";
import { shellJoin } from "../core/shell-words.ts";
import { stepLabel } from "../core/step.ts";
import type { IoRecord, JobWithIo } from "../core/types.ts";

/** The metadata format roar register writes (`metadata.roar.format`); reproduce reads argv/cwd/env from it. */
export const METADATA_FORMAT = 1;

export interface SessionPayload {
  hash: string;
  git_repo: string | null;
  git_commit: string | null;
  git_branch: string | null;
}

export interface JobPayload {
  job_uid: string;
  command: string;
  timestamp: number;
  git_commit: string | null;
  git_branch: string | null;
  duration_seconds: number;
  exit_code: number | null;
  job_type: string;
  step_number: number;
  metadata: string;
}

export interface ArtifactPayload {
  hashes: { algorithm: string; digest: string }[];
  size: number | null;
  source_type: string | null;
  session_hash: string;
  source_url?: string;
}

export interface LinkPayload {
  hash: string;
  path: string;
  size: number | null;
}

export interface RedactionNote {
  /** Where: "@2 command", "@2 env OPENAI_API_KEY", "git remote", … */
  where: string;
  /** Detector ids (or `secret_env_name` / `secret_option_value` for redactions by name). */
  ids: string[];
}

export interface Registration {
  sessions: SessionPayload[];
  jobs: { session: string; label: string; payload: JobPayload }[];
  artifacts: ArtifactPayload[];
  links: { session: string; jobUid: string; role: "inputs" | "outputs"; items: LinkPayload[] }[];
  redactions: RedactionNote[];
}

/**
 * A remote as another machine can use it: a relative local path (`../origin.git`, which git resolves against the
 * repository) made absolute. URLs and `host:path` forms stay as they are.
 */
export function portableRemote(remote: string, gitRoot: string | null): string {
  if (!gitRoot || /^[a-z][a-z0-9+.-]*:\/\//i.test(remote) || remote.startsWith("/")) return remote;
  if (/^[^/]+:/.test(remote)) return remote; // scp-like host:path
  return resolve(gitRoot, remote);
}

export interface RegistrationContext {
  /** Session hash of each local session id. */
  sessionHashOf: (sessionId: number) => string;
  /** The repository state now (what the session payload carries). */
  git: { remote: string | null; commit: string | null; branch: string | null } | null;
  /** The project's directory in the repository ('' at its root), so a clone finds its paths. */
  projectDir: string;
  /** The repository's top level (relative remotes are resolved against it). */
  gitRoot: string | null;
  detector: SecretDetector;
}

/** The redacting presenter and the notes it leaves, for one place at a time. */
class Redactor {
  readonly notes: RedactionNote[] = [];
  private where = "";
  readonly present: DocumentRedactor;

  constructor(private readonly detector: SecretDetector) {
    this.present = new DocumentRedactor(detector, (r) => this.noted(r));
  }

  at<T>(where: string, f: (p: DocumentRedactor) => T): T {
    this.where = where;
    return f(this.present);
  }

  private noted(r: Redaction): void {
    if (r.kind === "text") this.add(this.place(r.key), this.detector.ids(r.before as string), "secret_text");
    else if (r.kind === "argv")
      this.add(this.place(r.key), this.detector.ids((r.before as string[]).join(" ")), "secret_option_value");
    else {
      const after = this.detector.redactEnv(r.before as Record<string, unknown>);
      for (const [name, value] of Object.entries(r.before as Record<string, unknown>)) {
        if (after[name] === value) continue;
        const ids = typeof value === "string" ? this.detector.ids(value) : [];
        this.add(`${this.where} env ${name}`, ids, "secret_env_name");
      }
    }
  }

  private place(key: string | undefined): string {
    return key && !/^\d+$/.test(key) ? `${this.where} (${key})` : this.where;
  }

  private add(where: string, ids: string[], fallback: string): void {
    const list = ids.length > 0 ? ids : [fallback];
    const same = this.notes.find((n) => n.where === where);
    if (same) same.ids = [...new Set([...same.ids, ...list])];
    else this.notes.push({ where, ids: list });
  }
}

function sourceOf(url: string): { source_type: string; source_url: string } {
  return { source_type: (/^([a-z0-9]+):\/\//i.exec(url)?.[1] ?? "https").toLowerCase(), source_url: url };
}

/** Downloaded files' URLs, by digest (a get job's transfer metadata). */
function downloadUrls(job: JobWithIo): Map<string, string> {
  const out = new Map<string, string>();
  if (job.kind !== "get") return out;
  const files = job.metadata.transfer?.files;
  if (!Array.isArray(files)) return out;
  for (const f of files as { url?: unknown; blake3?: unknown }[])
    if (typeof f.url === "string" && typeof f.blake3 === "string") out.set(f.blake3, f.url);
  return out;
}

function metadataDoc(job: JobWithIo, projectDir: string, gitRoot: string | null): Record<string, unknown> {
  const { git, trace, metadata: m } = job;
  return {
    roar: { format: METADATA_FORMAT },
    kind: job.kind,
    status: job.status,
    name: job.name,
    argv: job.argv,
    cwd: job.cwd,
    project_dir: projectDir,
    signal: job.signal,
    env: m.env ?? {},
    python: m.python ?? null,
    packages: m.packages ?? {},
    runtime: m.runtime ?? {},
    git: {
      remote: git.remoteUrl ? portableRemote(git.remoteUrl, gitRoot) : null,
      branch: git.branch ?? null,
      clean: git.clean ?? null,
      // The diff of an --allow-dirty job stays local: a reproduce from the registry cannot apply it.
      uncommitted_diff: git.patch !== undefined,
    },
    trace: {
      backend: trace.backend ?? null,
      complete: trace.complete ?? null,
      reasons: [...new Set((trace.reasons ?? []).map((r) => r.reason).filter((r) => typeof r === "string"))],
    },
    ...(m.transfer ? { transfer: m.transfer } : {}),
  };
}

export function buildRegistration(jobs: readonly JobWithIo[], ctx: RegistrationContext): Registration {
  const r = new Redactor(ctx.detector);
  const git = ctx.git;
  const sessionRepo = git?.remote
    ? r.at("git remote", (p) => p.text(portableRemote(git.remote as string, ctx.gitRoot)))
    : null;
  const branch = git?.branch ? r.at("git branch", (p) => p.text(git.branch as string)) : null;
  const sessions = new Map<string, SessionPayload>();
  const out: Registration = { sessions: [], jobs: [], artifacts: [], links: [], redactions: r.notes };
  const artifacts = new Map<string, ArtifactPayload>();

  for (const job of jobs) {
    const session = ctx.sessionHashOf(job.sessionId);
    if (!sessions.has(session))
      sessions.set(session, {
        hash: session,
        git_repo: sessionRepo,
        git_commit: git?.commit ?? null,
        git_branch: branch,
      });
    const label = stepLabel(job.step, job.kind);
    const jobGit = job.git;
    const command = r.at(`${label} command`, (p) => shellJoin(p.argv(job.argv)));
    const metadata = r.at(`${label} metadata`, (p) => p.doc(metadataDoc(job, ctx.projectDir, ctx.gitRoot)));
    out.jobs.push({
      session,
      label,
      payload: {
        job_uid: job.uid,
        command,
        timestamp: job.startedAt / 1000,
        git_commit: jobGit.commit ?? null,
        git_branch: jobGit.branch ? r.at(`${label} git branch`, (p) => p.text(jobGit.branch as string)) : null,
        duration_seconds: job.durationMs / 1000,
        exit_code: job.exitCode,
        job_type: job.kind,
        step_number: job.step,
        metadata: JSON.stringify(metadata),
      },
    });
    const downloaded = downloadUrls(job);
    for (const [role, list] of [
      ["inputs", job.inputs],
      ["outputs", job.outputs],
    ] as const) {
      const items: LinkPayload[] = [];
      for (const io of list as IoRecord[]) {
        if (!io.blake3) continue; // a deleted file: no content to link
        const path = r.at(`${label} ${role === "inputs" ? "input" : "output"} path`, (p) => p.text(io.path));
        items.push({ hash: io.blake3, path, size: io.size });
        const remote = (io.flags & IoFlags.REMOTE) !== 0 || isRemoteUrl(io.path) ? path : downloaded.get(io.blake3);
        const known = artifacts.get(io.blake3);
        if (!known) {
          const hashes = [{ algorithm: "blake3", digest: io.blake3 }];
          for (const [algorithm, digest] of Object.entries(io.digests ?? {})) hashes.push({ algorithm, digest });
          artifacts.set(io.blake3, {
            hashes,
            size: io.size,
            source_type: null,
            session_hash: session,
            ...(remote ? sourceOf(r.at(`${label} source URL`, (p) => p.text(remote))) : {}),
          });
        } else if (remote && !known.source_url)
          Object.assign(known, sourceOf(r.at(`${label} source URL`, (p) => p.text(remote))));
      }
      if (items.length > 0) out.links.push({ session, jobUid: job.uid, role, items });
    }
  }
  out.sessions = [...sessions.values()];
  out.artifacts = [...artifacts.values()];
  return out;
}

/** How many links (input and output items) a registration sends. */
export function linkCount(reg: Registration): number {
  return reg.links.reduce((n, l) => n + l.items.length, 0);
}
