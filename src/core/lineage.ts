/**
 * Upstream lineage of one artifact: the job that produced its content, the artifacts that job consumed, their
 * producers, and so on, by BLAKE3 digest (paths are attributes, so renames and copies keep the lineage).
 * The producer of a digest consumed by job J is the latest job recorded before J that wrote it, preferring J's
 * own session.
 */
import type { DagIo, DagJob } from "./dag.ts";
import { isRemoteUrl } from "./remote.ts";
import { stepLabel } from "./step.ts";

export interface LineageJob extends DagJob {
  sessionId: number;
}

/** What lineage needs from the store (a few indexed queries per job visited). */
export interface LineageLookup {
  /** Jobs that wrote this digest, oldest first, with the path each wrote it at. */
  producersOf(blake3: string): { job: LineageJob; path: string }[];
  ioOf(uid: string): { inputs: readonly DagIo[]; outputs: readonly DagIo[] };
}

export interface LineageJobEntry {
  uid: string;
  step: number;
  label: string;
  sessionId: number;
  kind: string;
  name: string | null;
  command: string[];
  startedAt: number;
  durationMs: number;
  exitCode: number | null;
  status: string;
  /** 1 = produced the artifact itself. */
  depth: number;
  inputs: { path: string; blake3: string; producerUid: string | null }[];
  /** Outputs on the path to the artifact. */
  outputs: { path: string; blake3: string }[];
}

export interface LineageArtifactEntry {
  path: string;
  blake3: string;
  size: number | null;
  producerUid: string | null;
  depth: number;
}

export interface Lineage {
  artifact: { path: string | null; blake3: string; size: number | null };
  producerUid: string | null;
  jobs: LineageJobEntry[];
  artifacts: LineageArtifactEntry[];
  /** True when some producer was not followed because of the depth limit. */
  truncated: boolean;
}

function pickProducer(
  list: { job: LineageJob; path: string }[],
  before: number,
  preferSession: number | undefined,
  remotePath: string | null = null,
): { job: LineageJob; path: string } | undefined {
  let any: { job: LineageJob; path: string } | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const p = list[i] as { job: LineageJob; path: string };
    if (p.job.seq >= before) continue;
    // A put "produced" its remote copies: it is the producer of the remote location asked for, and of nothing
    // read locally.
    if (remotePath !== null ? p.path !== remotePath : isRemoteUrl(p.path)) continue;
    if (preferSession === undefined || p.job.sessionId === preferSession) return p;
    any ??= p;
  }
  return any;
}

export function traceLineage(
  lookup: LineageLookup,
  target: { blake3: string; path: string | null; size: number | null },
  options: { depth?: number; preferSession?: number } = {},
): Lineage {
  const maxDepth = options.depth ?? 10;
  const producers = new Map<string, { job: LineageJob; path: string }[]>();
  const producersOf = (b: string) => {
    let list = producers.get(b);
    if (!list) {
      list = lookup.producersOf(b);
      producers.set(b, list);
    }
    return list;
  };
  const remote = target.path !== null && isRemoteUrl(target.path) ? target.path : null;
  const root =
    (remote !== null
      ? pickProducer(producersOf(target.blake3), Number.POSITIVE_INFINITY, options.preferSession, remote)
      : undefined) ?? pickProducer(producersOf(target.blake3), Number.POSITIVE_INFINITY, options.preferSession);
  const lineage: Lineage = {
    artifact: { path: target.path ?? root?.path ?? null, blake3: target.blake3, size: target.size },
    producerUid: root?.job.uid ?? null,
    jobs: [],
    artifacts: [],
    truncated: false,
  };
  if (!root) return lineage;
  if (maxDepth < 1) {
    lineage.truncated = true;
    return lineage;
  }
  const onPath = new Set<string>([target.blake3]);
  const visited = new Map<string, LineageJobEntry>();
  const outputsOf = new Map<string, readonly DagIo[]>();
  const seenArtifacts = new Set<string>();
  const queue: { job: LineageJob; depth: number }[] = [{ job: root.job, depth: 1 }];
  visited.set(root.job.uid, entryFor(root.job, 1));
  while (queue.length > 0) {
    const { job, depth } = queue.shift() as { job: LineageJob; depth: number };
    const entry = visited.get(job.uid) as LineageJobEntry;
    const io = lookup.ioOf(job.uid);
    outputsOf.set(job.uid, io.outputs);
    for (const input of io.inputs) {
      if (!input.blake3) continue;
      onPath.add(input.blake3);
      const producer = pickProducer(producersOf(input.blake3), job.seq, job.sessionId);
      entry.inputs.push({ path: input.path, blake3: input.blake3, producerUid: producer?.job.uid ?? null });
      const key = `${input.blake3}\0${input.path}`;
      if (!seenArtifacts.has(key)) {
        seenArtifacts.add(key);
        lineage.artifacts.push({
          path: input.path,
          blake3: input.blake3,
          size: input.size,
          producerUid: producer?.job.uid ?? null,
          depth,
        });
      }
      if (!producer || visited.has(producer.job.uid)) continue;
      if (depth >= maxDepth) {
        lineage.truncated = true;
        continue;
      }
      visited.set(producer.job.uid, entryFor(producer.job, depth + 1));
      queue.push({ job: producer.job, depth: depth + 1 });
    }
  }
  for (const entry of visited.values()) {
    for (const o of outputsOf.get(entry.uid) ?? []) {
      if (o.blake3 && onPath.has(o.blake3)) entry.outputs.push({ path: o.path, blake3: o.blake3 });
    }
    lineage.jobs.push(entry);
  }
  lineage.jobs.sort((a, b) => a.depth - b.depth || a.step - b.step);
  return lineage;
}

function entryFor(job: LineageJob, depth: number): LineageJobEntry {
  return {
    uid: job.uid,
    step: job.step,
    label: stepLabel(job.step, job.kind),
    sessionId: job.sessionId,
    kind: job.kind,
    name: job.name,
    command: job.argv,
    startedAt: job.startedAt,
    durationMs: job.durationMs,
    exitCode: job.exitCode,
    status: job.status,
    depth,
    inputs: [],
    outputs: [],
  };
}
