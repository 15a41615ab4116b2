/**
 * The reproduction plan of an artifact: the job that produced it and, transitively, the producers of its inputs
 * (failed jobs excluded), plus the build steps of its session that were current when it was made; build steps
 * first wherever their dependencies allow, then run steps in dependency order; and the external inputs (digests
 * no recorded job produced). Pure: data in, plan out.
 *
 * Which job produces a digest: the latest successful one of all that wrote it, so a step re-run since (with the
 * same bytes) replaces its superseded run instead of both being replayed. When that cannot be replayed in a
 * consistent order (a cycle between re-runs, or a job that would overwrite a file another planned job still
 * needs), the plan follows the recording instead: for each input the latest successful producer recorded before
 * its consumer, in recording order.
 */
import { IoFlags } from "./io-flags.ts";
import type { IoRecord, JobWithIo } from "./types.ts";

export interface PlanSource {
  /** Jobs that wrote this digest, any session, any status. */
  producers(blake3: string): JobWithIo[];
  /** The build jobs of a session, any status. */
  sessionBuilds(sessionId: number): JobWithIo[];
}

export interface ExternalInput {
  blake3: string;
  path: string;
  size: number | null;
  /** Uids of the planned jobs that read it. */
  consumers: string[];
}

export interface ReproducePlan {
  target: { blake3: string; path: string | null };
  /** In execution order. */
  steps: JobWithIo[];
  externalInputs: ExternalInput[];
}

export class PlanError extends Error {}

function latestSuccessful(jobs: readonly JobWithIo[]): JobWithIo | undefined {
  let best: JobWithIo | undefined;
  for (const j of jobs) if (j.status === "ok" && (!best || j.seq > best.seq)) best = j;
  return best;
}

/** For each build step of the root's session, its latest successful job recorded before the root. */
function currentBuilds(root: JobWithIo, source: PlanSource): JobWithIo[] {
  const byStep = new Map<number, JobWithIo>();
  for (const job of source.sessionBuilds(root.sessionId)) {
    if (job.status !== "ok" || job.seq > root.seq) continue;
    const prev = byStep.get(job.step);
    if (!prev || prev.seq < job.seq) byStep.set(job.step, job);
  }
  return [...byStep.values()];
}

type Pick = (blake3: string, consumer: JobWithIo) => JobWithIo | undefined;

interface Resolution {
  chosen: Map<string, JobWithIo>;
  /** Consumer uid → the uids of the planned jobs it needs first. */
  needs: Map<string, Set<string>>;
  external: Map<string, ExternalInput>;
}

/** From the seeds upstream: the producer `pick` chooses for each input, or an external input. */
function resolve(seeds: readonly JobWithIo[], pick: Pick): Resolution {
  const chosen = new Map<string, JobWithIo>();
  const needs = new Map<string, Set<string>>();
  const external = new Map<string, ExternalInput>();
  const queue = [...seeds];
  for (const s of seeds) chosen.set(s.uid, s);
  while (queue.length > 0) {
    const job = queue.shift() as JobWithIo;
    const mine = new Set<string>();
    needs.set(job.uid, mine);
    for (const input of job.inputs) {
      if (!input.blake3) continue;
      // A job that wrote the file it read (in-place edit) does not depend on itself.
      if (job.outputs.some((o) => o.path === input.path && o.blake3 === input.blake3)) continue;
      const producer = pick(input.blake3, job);
      if (producer) {
        mine.add(producer.uid);
        if (!chosen.has(producer.uid)) {
          chosen.set(producer.uid, producer);
          queue.push(producer);
        }
        continue;
      }
      const ext = external.get(input.blake3) ?? {
        blake3: input.blake3,
        path: input.path,
        size: input.size,
        consumers: [],
      };
      if (!ext.consumers.includes(job.uid)) ext.consumers.push(job.uid);
      external.set(input.blake3, ext);
    }
  }
  return { chosen, needs, external };
}

/** Dependency order, build steps first among the jobs free to go, then recording order; null on a cycle. */
function dependencyOrder(r: Resolution): JobWithIo[] | null {
  const rank = (j: JobWithIo) => (j.kind === "build" ? 0 : 1);
  const before = (a: JobWithIo, b: JobWithIo) => rank(a) - rank(b) || a.seq - b.seq;
  const pending = new Map<string, Set<string>>();
  for (const [uid, deps] of r.needs) pending.set(uid, new Set([...deps].filter((d) => d !== uid)));
  const order: JobWithIo[] = [];
  while (pending.size > 0) {
    const ready = [...pending]
      .filter(([, deps]) => deps.size === 0)
      .map(([uid]) => r.chosen.get(uid) as JobWithIo)
      .sort(before);
    const next = ready[0];
    if (!next) return null;
    order.push(next);
    pending.delete(next.uid);
    for (const deps of pending.values()) deps.delete(next.uid);
  }
  return order;
}

/** Replaying `order` gives every job the planned content it read (no later job overwrote it first). */
function replaysConsistently(order: readonly JobWithIo[], external: ReadonlyMap<string, ExternalInput>): boolean {
  const onDisk = new Map<string, string | null>();
  for (const job of order) {
    for (const input of job.inputs) {
      if (!input.blake3 || external.has(input.blake3)) continue;
      const there = onDisk.get(input.path);
      if (there !== undefined && there !== input.blake3) return false;
    }
    for (const o of job.outputs) onDisk.set(o.path, o.blake3);
  }
  return true;
}

export function planReproduction(targetBlake3: string, source: PlanSource): ReproducePlan {
  const root = latestSuccessful(source.producers(targetBlake3));
  if (!root)
    throw new PlanError(`no successful recorded job produced ${targetBlake3.slice(0, 12)}; nothing to reproduce`);
  const targetPath = root.outputs.find((o) => o.blake3 === targetBlake3)?.path ?? null;
  const target = { blake3: targetBlake3, path: targetPath };
  const seeds = [root, ...currentBuilds(root, source).filter((b) => b.uid !== root.uid)];

  const latest = new Map<string, JobWithIo | undefined>();
  const byLatest = resolve(seeds, (blake3, consumer) => {
    if (!latest.has(blake3)) latest.set(blake3, latestSuccessful(source.producers(blake3)));
    const found = latest.get(blake3);
    if (found?.uid !== consumer.uid) return found;
    return latestSuccessful(source.producers(blake3).filter((p) => p.uid !== consumer.uid));
  });
  const ordered = dependencyOrder(byLatest);
  if (ordered && replaysConsistently(ordered, byLatest.external)) {
    return { target, steps: ordered, externalInputs: [...byLatest.external.values()] };
  }
  // The recording's own order: a producer always finished before its consumers started.
  const asRecorded = resolve(seeds, (blake3, consumer) =>
    latestSuccessful(source.producers(blake3).filter((p) => p.seq < consumer.seq)),
  );
  const bySeq = [...asRecorded.chosen.values()].sort((a, b) => a.seq - b.seq);
  const steps = [...bySeq.filter((j) => j.kind === "build"), ...bySeq.filter((j) => j.kind !== "build")];
  return { target, steps, externalInputs: [...asRecorded.external.values()] };
}

export interface Requirements {
  pip: Record<string, string>;
  dpkg: Record<string, string>;
  python: string | null;
}

export function planRequirements(steps: JobWithIo[]): Requirements {
  const pip: Record<string, string> = {};
  const dpkg: Record<string, string> = {};
  let python: string | null = null;
  for (const s of steps) {
    const packages = s.metadata.packages ?? {};
    Object.assign(pip, packages.pip ?? {});
    Object.assign(dpkg, packages.dpkg ?? {});
    const py = s.metadata.python;
    if (!python && py?.version) python = py.version;
  }
  return { pip, dpkg, python };
}

export type VerifyState = "identical" | "differs" | "missing";

export interface VerifiedArtifact {
  path: string;
  recorded: string;
  reproduced: string | null;
  state: VerifyState;
  isTarget: boolean;
}

/**
 * Every output the plan's jobs recorded (the last one at each path), to compare with what the rebuild wrote;
 * `link`: a symbolic link the job made, compared as a link (by its target text).
 */
export function expectedOutputs(plan: ReproducePlan): { path: string; blake3: string; link: boolean }[] {
  const byPath = new Map<string, { blake3: string; link: boolean }>();
  for (const step of plan.steps)
    for (const o of step.outputs as IoRecord[]) {
      if (o.blake3) byPath.set(o.path, { blake3: o.blake3, link: (o.flags & IoFlags.SYMLINK) !== 0 });
      else byPath.delete(o.path);
    }
  return [...byPath].map(([path, e]) => ({ path, ...e }));
}
