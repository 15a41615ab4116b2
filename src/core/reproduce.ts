/**
 * The reproduction plan of an artifact: the minimal upstream subgraph that produced it (failed jobs
 * excluded; for each digest the latest successful producer), build steps first, then run steps in
 * topological order, plus the external inputs (digests no recorded job produced). Pure: data in, plan out.
 */
import { IoFlags } from "../store/schema.ts";
import type { IoRecord, JobWithIo } from "../store/types.ts";

export interface PlanSource {
  /** Jobs that wrote this digest, any session, any status. */
  producers(blake3: string): JobWithIo[];
}

export interface ExternalInput {
  blake3: string;
  path: string;
  size: number | null;
  consumers: string[];
}

export interface ReproducePlan {
  target: { blake3: string; path: string | null };
  /** In execution order: builds first, then runs, each group topologically sorted. */
  steps: JobWithIo[];
  externalInputs: ExternalInput[];
}

export class PlanError extends Error {}

function latestSuccessful(jobs: JobWithIo[]): JobWithIo | undefined {
  return jobs.filter((j) => j.status === "ok").sort((a, b) => b.seq - a.seq)[0];
}

export function planReproduction(targetBlake3: string, source: PlanSource): ReproducePlan {
  const root = latestSuccessful(source.producers(targetBlake3));
  if (!root)
    throw new PlanError(`no successful recorded job produced ${targetBlake3.slice(0, 12)}; nothing to reproduce`);
  const targetPath = root.outputs.find((o) => o.blake3 === targetBlake3)?.path ?? null;

  const chosen = new Map<string, JobWithIo>();
  const producerOf = new Map<string, JobWithIo | null>();
  const external = new Map<string, ExternalInput>();
  const queue: JobWithIo[] = [root];
  chosen.set(root.uid, root);
  while (queue.length > 0) {
    const job = queue.shift() as JobWithIo;
    for (const input of job.inputs) {
      if (!input.blake3) continue;
      // A job that wrote the file it read (in-place edit) does not depend on itself.
      if (job.outputs.some((o) => o.path === input.path && o.blake3 === input.blake3)) continue;
      let producer = producerOf.get(input.blake3);
      if (producer === undefined) {
        producer = latestSuccessful(source.producers(input.blake3).filter((p) => p.seq < job.seq)) ?? null;
        producerOf.set(input.blake3, producer);
      }
      if (producer) {
        if (!chosen.has(producer.uid)) {
          chosen.set(producer.uid, producer);
          queue.push(producer);
        }
      } else {
        const ext = external.get(input.blake3) ?? {
          blake3: input.blake3,
          path: input.path,
          size: input.size,
          consumers: [],
        };
        ext.consumers.push(job.uid);
        external.set(input.blake3, ext);
      }
    }
  }
  // Recording order is a valid topological order: a producer always finished before its consumers started.
  const ordered = [...chosen.values()].sort((a, b) => a.seq - b.seq);
  const steps = [...ordered.filter((j) => j.kind === "build"), ...ordered.filter((j) => j.kind !== "build")];
  return { target: { blake3: targetBlake3, path: targetPath }, steps, externalInputs: [...external.values()] };
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
    const packages = (s.metadata.packages ?? {}) as { pip?: Record<string, string>; dpkg?: Record<string, string> };
    Object.assign(pip, packages.pip ?? {});
    Object.assign(dpkg, packages.dpkg ?? {});
    const py = s.metadata.python as { version?: string | null } | null | undefined;
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
 * Every output the plan's jobs recorded, to compare with what the reproduction wrote at the same path; `link`:
 * a symbolic link the job made, compared as a link (by its target text).
 */
export function expectedOutputs(plan: ReproducePlan): { path: string; blake3: string; link: boolean }[] {
  const byPath = new Map<string, { blake3: string; link: boolean }>();
  for (const step of plan.steps)
    for (const o of step.outputs as IoRecord[])
      if (o.blake3) byPath.set(o.path, { blake3: o.blake3, link: (o.flags & IoFlags.SYMLINK) !== 0 });
  return [...byPath].map(([path, e]) => ({ path, ...e }));
}
