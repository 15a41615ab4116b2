/**
 * `roar diff A [B]`: resolves the references to two jobs (or two artifacts and the jobs that wrote them), asks
 * git what lies between their commits, reads the small structured files that changed and assembles the
 * comparison document (core/diff.ts does the comparing).
 */

import { type DiffSide, diffJobs, type GitFacts, jobRef, jobsIdentical, NO_GIT_FACTS } from "../core/diff.ts";
import { relativeStepLabel } from "../core/refs.ts";
import { structuredFormat } from "../core/structured.ts";
import type { JobRow, JobWithIo } from "../core/types.ts";
import type { DiffArtifactJson, DiffJson, IoChangeJson } from "../schema/diff.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import type { RoarStore } from "../store/store.ts";
import { ContentFinder, contentDiff, type Version } from "./diff-content.ts";
import { type RefContext, type ResolvedRef, resolveRef } from "./resolve-ref.ts";

type ArtifactRef = Extract<ResolvedRef, { kind: "artifact" }>;

/** How argv and env values are shown (secrets redacted): applied before comparing, so no secret leaks as a change. */
export interface DiffRedactor {
  argv(argv: readonly string[]): string[];
  env(env: Readonly<Record<string, unknown>>): Record<string, unknown>;
}

function jobSide(store: RoarStore, row: JobRow, redactor: DiffRedactor | null): DiffSide {
  const found = store.jobWithIo(row.uid);
  if (!found) throw new RoarError(`Job not found: ${row.uid}`);
  let job = found;
  if (redactor) {
    // Redaction keeps an env table's values strings.
    const env = Object.entries(redactor.env(job.metadata.env ?? {})).map(([k, v]) => [k, String(v)]);
    job = { ...job, argv: redactor.argv(job.argv), metadata: { ...job.metadata, env: Object.fromEntries(env) } };
  }
  return { job, label: relativeStepLabel(job, store.sessionJobSummaries(job.sessionId)) };
}

/** The job before `job` in its step, for `roar diff @N` / `roar diff <uid>`. */
function previousJob(store: RoarStore, job: JobRow, label: string): JobRow {
  const earlier = store
    .sessionJobSummaries(job.sessionId)
    .filter((j) => j.step === job.step && j.kind === job.kind && j.seq < job.seq)
    .sort((a, b) => b.seq - a.seq)[0];
  const row = earlier ? store.job(earlier.uid) : undefined;
  if (!row) {
    throw new RoarError(
      `${label} has no earlier job to compare with`,
      1,
      "hint: 'roar diff A B' compares any two jobs or artifacts",
    );
  }
  return row;
}

/** The previous different content recorded as an output at the path an artifact was named by. */
function previousArtifact(store: RoarStore, ref: ArtifactRef, text: string): ArtifactRef {
  if (ref.path === null) {
    throw new UsageError(
      `roar diff needs two artifacts: '${text}' names one version`,
      "hint: give a path (its previous recorded version is compared) or two digests",
    );
  }
  const previous = store
    .linksAtPath(ref.path)
    .find((l) => l.role === "output" && l.blake3 !== null && l.blake3 !== ref.blake3);
  if (!previous?.blake3) throw new RoarError(`${ref.path}: no earlier version was recorded`);
  return { kind: "artifact", blake3: previous.blake3, path: ref.path };
}

function artifactSide(
  store: RoarStore,
  ref: ArtifactRef,
): { json: DiffArtifactJson; producer: JobRow | null; paths: string[] } {
  const artifact = store.artifact(ref.blake3);
  if (!artifact) throw new RoarError(`Artifact not found: ${ref.blake3}`);
  const links = store.artifactLinks(ref.blake3);
  const outputs = links.filter((l) => l.role === "output");
  // The latest job that wrote it, preferring one that wrote it at the path it was named by.
  const producerLink = outputs.filter((l) => ref.path === null || l.path === ref.path).at(-1) ?? outputs.at(-1);
  const path = ref.path ?? producerLink?.path ?? artifact.firstSeenPath;
  const paths = [path, ...links.map((l) => l.path), artifact.firstSeenPath].filter((p): p is string => !!p);
  return {
    json: { blake3: artifact.blake3, size: artifact.size, path, producer: producerLink?.job.uid ?? null },
    producer: producerLink?.job ?? null,
    paths,
  };
}

function git(root: string, args: string[]): string | null {
  const r = Bun.spawnSync(["git", ...args], {
    cwd: root,
    stdout: "pipe",
    stderr: "ignore",
    env: { ...process.env, GIT_OPTIONAL_LOCKS: "0" },
  });
  return r.exitCode === 0 ? r.stdout.toString() : null;
}

const MAX_COMMITS = 20;

/** The project's content store (see store/objects.ts), where `roar run` keeps small params and metrics files. */
function objectsDir(ctx: RefContext): string {
  return `${ctx.projectRoot}/.roar/objects`;
}

/** Files a stored `git diff --binary` patch touches. */
function patchFiles(bytes: Uint8Array | undefined): string[] {
  if (!bytes) return [];
  const text = new TextDecoder().decode(bytes);
  const files: string[] = [];
  for (const m of text.matchAll(/^diff --git "?a\/(.+?)"? "?b\/(.+?)"?$/gm)) files.push(m[2] as string);
  return files;
}

/** How the two jobs' commits relate, the commits between them and the files that differ. */
function gitFacts(store: RoarStore, root: string, a: JobWithIo, b: JobWithIo): GitFacts {
  const ca = a.git.commit;
  const cb = b.git.commit;
  const facts: GitFacts = { ...NO_GIT_FACTS, patchFiles: new Map() };
  for (const j of [a, b]) {
    const patch = j.git.patch;
    if (patch && !facts.patchFiles.has(patch)) facts.patchFiles.set(patch, patchFiles(store.blob(patch)));
  }
  if (!ca || !cb || ca === cb) return facts;
  const ahead = git(root, ["rev-list", "--count", `${ca}..${cb}`]);
  const behind = git(root, ["rev-list", "--count", `${cb}..${ca}`]);
  if (ahead === null || behind === null) return facts;
  const [nAhead, nBehind] = [Number(ahead.trim()), Number(behind.trim())];
  facts.relation = nBehind === 0 ? "ahead" : nAhead === 0 ? "behind" : "diverged";
  const range = facts.relation === "behind" ? `${cb}..${ca}` : `${ca}..${cb}`;
  facts.commitsTotal = facts.relation === "behind" ? nBehind : nAhead;
  const log = git(root, ["log", `--max-count=${MAX_COMMITS}`, "--format=%H%x09%s", range]) ?? "";
  facts.commits = log
    .split("\n")
    .filter((l) => l.includes("\t"))
    .map((l) => ({ commit: l.slice(0, l.indexOf("\t")), subject: l.slice(l.indexOf("\t") + 1) }));
  const names = git(root, ["diff", "--name-status", "--no-renames", "-z", ca, cb]) ?? "";
  const parts = names.split("\0");
  for (let i = 0; i + 1 < parts.length; i += 2)
    facts.files.push({ status: parts[i] as string, path: parts[i + 1] as string });
  return facts;
}

/** Adds the key-by-key content diff to every changed input/output that is a small structured file. */
async function addContent(
  finder: ContentFinder,
  changes: IoChangeJson[],
  pathsOf: (blake3: string) => string[],
): Promise<void> {
  for (const c of changes) {
    const format = structuredFormat(c.path);
    if (c.change !== "changed" || !format || !c.from?.blake3 || !c.to?.blake3) continue;
    const version = (d: { blake3: string | null; size: number | null }): Version => ({
      blake3: d.blake3 as string,
      size: d.size,
      paths: [c.path, ...pathsOf(d.blake3 as string)],
    });
    c.content = await contentDiff(finder, format, version(c.from), version(c.to));
  }
}

function commitsOf(...jobs: (JobWithIo | null)[]): string[] {
  const commits = jobs.map((j) => j?.git.commit).filter((c): c is string => !!c);
  return [...new Set([...commits, "HEAD"])];
}

export async function loadDiff(
  store: RoarStore,
  texts: readonly string[],
  ctx: RefContext,
  redact: DiffRedactor | null = null,
): Promise<Omit<DiffJson, "schemaVersion">> {
  if (texts.length < 1 || texts.length > 2) throw new UsageError("roar diff takes one or two references");
  const first = await resolveRef(store, texts[0] as string, ctx);
  let pair: [ResolvedRef, ResolvedRef];
  if (texts.length === 2) pair = [first, await resolveRef(store, texts[1] as string, ctx)];
  else if (first.kind === "job") {
    pair = [{ kind: "job", job: previousJob(store, first.job, texts[0] as string) }, first];
  } else pair = [previousArtifact(store, first, texts[0] as string), first];
  const [x, y] = pair;
  const pathsOf = (blake3: string) => [...new Set(store.artifactLinks(blake3).map((l) => l.path))];

  if (x.kind === "job" && y.kind === "job") {
    const a = jobSide(store, x.job, redact);
    const b = jobSide(store, y.job, redact);
    const changes = diffJobs(a, b, gitFacts(store, ctx.projectRoot, a.job, b.job));
    const finder = new ContentFinder(ctx.projectRoot, commitsOf(a.job, b.job), objectsDir(ctx));
    await addContent(finder, changes.inputs, pathsOf);
    await addContent(finder, changes.outputs, pathsOf);
    return {
      type: "diff",
      kind: "jobs",
      identical: jobsIdentical(changes),
      from: jobRef(a),
      to: jobRef(b),
      artifacts: null,
      changes,
    };
  }
  if (x.kind !== "artifact" || y.kind !== "artifact") {
    throw new UsageError(
      "cannot compare a job with an artifact",
      "hint: give two jobs (@N, @N~K, uid) or two artifacts (path, digest)",
    );
  }
  const sa = artifactSide(store, x);
  const sb = artifactSide(store, y);
  const a = sa.producer ? jobSide(store, sa.producer, redact) : null;
  const b = sb.producer ? jobSide(store, sb.producer, redact) : null;
  const changes = a && b ? diffJobs(a, b, gitFacts(store, ctx.projectRoot, a.job, b.job)) : null;
  const finder = new ContentFinder(ctx.projectRoot, commitsOf(a?.job ?? null, b?.job ?? null), objectsDir(ctx));
  if (changes) {
    await addContent(finder, changes.inputs, pathsOf);
    await addContent(finder, changes.outputs, pathsOf);
  }
  const format = structuredFormat(sb.json.path ?? "") ?? structuredFormat(sa.json.path ?? "");
  const content =
    format && sa.json.blake3 !== sb.json.blake3
      ? await contentDiff(
          finder,
          format,
          { blake3: sa.json.blake3, size: sa.json.size, paths: sa.paths },
          { blake3: sb.json.blake3, size: sb.json.size, paths: sb.paths },
        )
      : null;
  return {
    type: "diff",
    kind: "artifacts",
    identical: sa.json.blake3 === sb.json.blake3,
    from: a ? jobRef(a) : null,
    to: b ? jobRef(b) : null,
    artifacts: { from: sa.json, to: sb.json, content },
    changes,
  };
}
