/**
 * What a `roar show` / `roar lineage` reference names: `@N`/`@BN`, a job uid or unique prefix, an artifact digest
 * or unique prefix (≥ 8 hex), or a file path (hashed now and looked up by content).
 */
import { existsSync, statSync } from "node:fs";
import { storedPath } from "../core/project-paths.ts";
import { isRemoteUrl, publicUrl } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import type { JobRow } from "../core/types.ts";
import { RoarError } from "../shared/errors.ts";
import { fsPath, userPath } from "../shared/paths.ts";
import type { RoarStore } from "../store/store.ts";
import { resolveStepRefInStore } from "./step-refs.ts";

export type ResolvedRef =
  | { kind: "job"; job: JobRow }
  | {
      kind: "artifact";
      blake3: string;
      /** The path it was named by (stored form), when the reference was a path. */
      path: string | null;
      /** Set when the file is gone and the digest comes from the latest record at that path. */
      fromRecord?: boolean;
    };

const HEX = /^[0-9a-fA-F]+$/;
export const MIN_ARTIFACT_PREFIX = 8;
export const MIN_JOB_PREFIX = 4;

function isFile(path: string): boolean {
  try {
    return statSync(fsPath(path)).isFile();
  } catch {
    return false;
  }
}

/** BLAKE3 of a file on disk (through the hash cache). */
export async function hashPath(store: RoarStore, absolute: string): Promise<{ blake3: string; size: number }> {
  // Loaded on demand: most references never need hashing, and the hash pool is costly to start.
  const { hashFile, isHashError } = await import("../hash/index.ts");
  const r = await hashFile(absolute, { cache: store.hashCache() });
  if (isHashError(r)) throw new RoarError(`cannot hash ${absolute}: ${r.error}`);
  return { blake3: r.blake3, size: r.size };
}

export interface RefContext {
  cwd: string;
  projectRoot: string;
  /** Session for `@N` (default: the active one). */
  sessionId?: number;
  /** Which kinds to accept (lineage wants artifacts only). */
  accept?: "any" | "artifact";
}

export async function resolveRef(store: RoarStore, text: string, ctx: RefContext): Promise<ResolvedRef> {
  const accept = ctx.accept ?? "any";
  if (text.startsWith("@") && accept === "any") {
    return { kind: "job", job: resolveStepRefInStore(store, text, ctx.sessionId) };
  }
  if (isRemoteUrl(text)) return resolveRemote(store, publicUrl(text));
  const absolute = userPath(text, ctx.cwd);
  const pathLike = text.includes("/") || text.startsWith(".") || text.startsWith("~") || isFile(absolute);
  if (!pathLike && HEX.test(text)) return resolveHex(store, text.toLowerCase(), accept);
  const stored = storedPath(absolute, ctx.projectRoot);
  if (isFile(absolute)) {
    const { blake3 } = await hashPath(store, absolute);
    if (store.artifact(blake3)) return { kind: "artifact", blake3, path: stored };
    const recorded = store.linksAtPath(stored).find((l) => l.blake3 !== null);
    throw new RoarError(
      `${text} is not a tracked artifact: its current content (blake3 ${blake3.slice(0, 12)}…) was never recorded`,
      1,
      recorded
        ? `hint: the file changed since roar recorded it; 'roar show ${recorded.blake3?.slice(0, 12)}' shows the recorded version`
        : undefined,
    );
  }
  if (existsSync(fsPath(absolute))) throw new RoarError(`${text} is not a regular file`);
  const recorded = store.linksAtPath(stored).find((l) => l.blake3 !== null);
  if (recorded?.blake3) return { kind: "artifact", blake3: recorded.blake3, path: stored, fromRecord: true };
  throw new RoarError(
    `Not found: ${text}`,
    1,
    "hint: use @N or @BN, a job uid, an artifact digest (8+ hex characters) or a path of a tracked file",
  );
}

/** A remote location `roar put` uploaded (an object, or a directory's prefix) or `roar get` downloaded. */
function resolveRemote(store: RoarStore, url: string): ResolvedRef {
  for (const candidate of url.endsWith("/") ? [url] : [url, `${url}/`]) {
    const uploaded = store.linksAtPath(candidate).find((l) => l.blake3 !== null && l.role === "output");
    if (uploaded?.blake3) return { kind: "artifact", blake3: uploaded.blake3, path: candidate };
  }
  const downloaded = store.downloadsOf(url)[0];
  if (downloaded) return { kind: "artifact", blake3: downloaded.blake3, path: url };
  throw new RoarError(
    `Not tracked: ${url}`,
    1,
    "hint: remote locations are tracked once 'roar put' or 'roar get' moved them",
  );
}

async function resolveHex(store: RoarStore, hex: string, accept: "any" | "artifact"): Promise<ResolvedRef> {
  const jobs = accept === "any" && hex.length >= MIN_JOB_PREFIX ? store.jobsByUidPrefix(hex) : [];
  const artifacts = hex.length >= MIN_ARTIFACT_PREFIX ? store.artifactsByPrefix(hex) : [];
  const exactJob = jobs.find((j) => j.uid === hex);
  if (exactJob) return { kind: "job", job: exactJob };
  const exactArtifact = artifacts.find((a) => a.blake3 === hex);
  if (exactArtifact) return { kind: "artifact", blake3: exactArtifact.blake3, path: null };
  const total = jobs.length + artifacts.length;
  if (total === 1) {
    const job = jobs[0];
    if (job) return { kind: "job", job };
    return { kind: "artifact", blake3: (artifacts[0] as { blake3: string }).blake3, path: null };
  }
  if (total === 0) {
    const what = accept === "any" ? "job or artifact" : "artifact";
    const short =
      hex.length < MIN_ARTIFACT_PREFIX
        ? ` (artifact prefixes need ${MIN_ARTIFACT_PREFIX}+ characters${accept === "any" && hex.length < MIN_JOB_PREFIX ? `, job prefixes ${MIN_JOB_PREFIX}+` : ""})`
        : "";
    throw new RoarError(`Not found: no ${what} matches '${hex}'${short}`);
  }
  const lines = [
    ...jobs
      .slice(0, 10)
      .map((j) => `  job      ${j.uid.slice(0, 16)}  ${stepLabel(j.step, j.kind)}  ${j.argv.join(" ")}`),
    ...artifacts.slice(0, 10).map((a) => `  artifact ${a.blake3.slice(0, 16)}  ${a.firstSeenPath ?? ""}`),
  ];
  if (total > lines.length) lines.push(`  … and ${total - lines.length} more`);
  throw new RoarError(
    `ambiguous reference '${hex}': ${total} matches — use a longer prefix`,
    1,
    `candidates:\n${lines.join("\n")}`,
  );
}
