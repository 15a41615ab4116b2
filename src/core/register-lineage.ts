/**
 * What `roar register` sends: the upstream closure of the target's jobs plus the current build steps of their
 * sessions, re-runs de-duplicated (reference-behaviour §F.3). Pure: jobs in, jobs out.
 *
 * The closure follows, for every input digest, both producers a rebuild may choose (core/reproduce.ts): the
 * latest successful job that wrote it, and the latest recorded before the consumer — so a reproduce from the
 * registry finds the same steps a local one would. A put's remote copies produce nothing read locally.
 *
 * The session hash the registry knows a local session by is sha256 of the session's uid: stable for the session,
 * the same from any clone or directory (the original's sha256("<roar_dir>:<id>") changed with the path).
 */
import { createHash } from "node:crypto";
import { isRemoteUrl } from "./remote.ts";
import type { JobWithIo } from "./types.ts";

export function sessionHash(sessionUid: string): string {
  return createHash("sha256").update(sessionUid).digest("hex");
}

export interface LineageSource {
  /** Jobs that wrote this digest (any kind, any status). */
  producers(blake3: string): JobWithIo[];
  /** The build jobs of a session (any status). */
  sessionBuilds(sessionId: number): JobWithIo[];
}

export interface RegisteredLineage {
  /** In recording order. */
  jobs: JobWithIo[];
  /** Re-runs left out because a later job of identical inputs and outputs is sent. */
  collapsed: number;
}

function latest(jobs: readonly JobWithIo[]): JobWithIo | undefined {
  let best: JobWithIo | undefined;
  for (const j of jobs) if (!best || j.seq > best.seq) best = j;
  return best;
}

/** Wrote `blake3` to a local path (not only as a remote copy). */
function writesLocally(job: JobWithIo, blake3: string): boolean {
  return job.outputs.some((o) => o.blake3 === blake3 && !isRemoteUrl(o.path));
}

/** For each build step of the session, its latest successful job before `before` and its latest overall. */
function currentBuilds(builds: readonly JobWithIo[], before: number): JobWithIo[] {
  const out = new Map<string, JobWithIo>();
  const steps = new Set(builds.map((b) => b.step));
  for (const step of steps) {
    const ok = builds.filter((b) => b.step === step && b.status === "ok");
    for (const pick of [latest(ok.filter((b) => b.seq <= before)), latest(ok)]) if (pick) out.set(pick.uid, pick);
  }
  return [...out.values()];
}

/** Jobs of identical inputs and outputs (by digest) are one re-run of the other: the latest stands for both. */
function signature(job: JobWithIo): string | null {
  const ins = job.inputs.map((i) => i.blake3 ?? "").sort();
  const outs = job.outputs.map((o) => o.blake3 ?? "").sort();
  if (ins.length === 0 && outs.length === 0) return null;
  return `${job.kind}\0${ins.join(",")}\0${outs.join(",")}`;
}

export function registrationLineage(seeds: readonly JobWithIo[], source: LineageSource): RegisteredLineage {
  const chosen = new Map<string, JobWithIo>();
  const queue: JobWithIo[] = [];
  const add = (job: JobWithIo) => {
    if (chosen.has(job.uid)) return;
    chosen.set(job.uid, job);
    queue.push(job);
  };
  for (const s of seeds) add(s);
  const lastSeed = new Map<number, number>();
  for (const s of seeds) lastSeed.set(s.sessionId, Math.max(lastSeed.get(s.sessionId) ?? 0, s.seq));
  for (const [session, before] of lastSeed)
    for (const b of currentBuilds(source.sessionBuilds(session), before)) add(b);

  const producers = new Map<string, JobWithIo[]>();
  const producersOf = (blake3: string) => {
    let list = producers.get(blake3);
    if (!list) {
      list = source.producers(blake3).filter((p) => p.status === "ok" && writesLocally(p, blake3));
      producers.set(blake3, list);
    }
    return list;
  };
  while (queue.length > 0) {
    const job = queue.shift() as JobWithIo;
    for (const input of job.inputs) {
      if (!input.blake3) continue;
      if (job.outputs.some((o) => o.path === input.path && o.blake3 === input.blake3)) continue;
      const others = producersOf(input.blake3).filter((p) => p.uid !== job.uid);
      for (const pick of [latest(others.filter((p) => p.seq < job.seq)), latest(others)]) if (pick) add(pick);
    }
  }

  const bySignature = new Map<string, JobWithIo>();
  const kept: JobWithIo[] = [];
  for (const job of chosen.values()) {
    const sig = signature(job);
    if (sig === null) kept.push(job);
    else {
      const prev = bySignature.get(sig);
      if (!prev || prev.seq < job.seq) bySignature.set(sig, job);
    }
  }
  kept.push(...bySignature.values());
  kept.sort((a, b) => a.seq - b.seq);
  return { jobs: kept, collapsed: chosen.size - kept.length };
}
