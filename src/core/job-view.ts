/** The public `show` documents, built from store rows (pure data shaping, no output). */
import type { ShowJobJson } from "../schema/show.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { IoFlags } from "./io-flags.ts";
import { stepLabel } from "./step.ts";
import type { IoRecord, JobWithIo, SessionRow } from "./types.ts";

/** Metadata keys the job document shows under names of its own; every other key is passed through as it is. */
const SHOWN_METADATA = new Set(["packages", "runtime", "env", "python", "hashing", "transfer"]);

/** What an input and an output of the job document share. */
function ioJson(x: IoRecord) {
  return {
    path: x.path,
    blake3: x.blake3,
    size: x.size,
    ...(x.digests && Object.keys(x.digests).length > 0 ? { digests: x.digests } : {}),
    flags: x.flags,
  };
}

export function jobJson(job: JobWithIo, session: SessionRow | undefined, current: boolean): ShowJobJson {
  const meta = job.metadata;
  const doc: ShowJobJson = {
    schemaVersion: JSON_SCHEMA_VERSION,
    type: "job",
    uid: job.uid,
    step: job.step,
    label: stepLabel(job.step, job.kind),
    kind: job.kind,
    name: job.name,
    command: job.argv,
    cwd: job.cwd,
    exitCode: job.exitCode,
    signal: job.signal,
    status: job.status,
    startedAt: new Date(job.startedAt).toISOString(),
    durationMs: job.durationMs,
    stepIdentity: job.stepIdentity,
    session: { id: job.sessionId, uid: session?.uid ?? "", active: session?.active ?? false },
    current,
    git: job.git,
    inputs: job.inputs.map((i) => ({
      ...ioJson(i),
      changedDuringRun: (i.flags & IoFlags.CHANGED_DURING_RUN) !== 0,
      readWrite: (i.flags & IoFlags.READ_WRITE) !== 0,
    })),
    outputs: job.outputs.map((o) => ({
      ...ioJson(o),
      ...(o.blake3 === null || (o.flags & IoFlags.DELETED) !== 0 ? { deleted: true } : {}),
      ...((o.flags & IoFlags.SYMLINK) !== 0 ? { symlink: true, linkTarget: o.linkTarget ?? null } : {}),
      ...((o.flags & IoFlags.WRITER_KILLED) !== 0 ? { writerKilled: true } : {}),
    })),
    packages: meta.packages ?? {},
    runtime: meta.runtime ?? {},
    env: meta.env ?? {},
    python: meta.python ?? null,
    hashing: meta.hashing ?? null,
    trace: job.trace,
    ...(meta.transfer ? { transfer: meta.transfer } : {}),
  };
  // Additive: keys a newer roar (or another recorder) wrote stay visible, never replacing the document's own.
  const extra = Object.entries(meta).filter(([key]) => !SHOWN_METADATA.has(key) && !(key in doc));
  return extra.length > 0 ? { ...doc, ...Object.fromEntries(extra) } : doc;
}

/** The network endpoints a job's trace recorded: a job that used the network is not self-contained. */
export function networkOf(trace: Record<string, unknown>): { op: "connect" | "accept"; address: string }[] {
  const list = trace.network;
  return Array.isArray(list) ? (list as { op: "connect" | "accept"; address: string }[]) : [];
}

/** "connected to 1.2.3.4:443, accepted from 5.6.7.8:80" */
export function networkSummary(endpoints: readonly { op: "connect" | "accept"; address: string }[]): string {
  const part = (op: "connect" | "accept", words: string) => {
    const list = endpoints.filter((e) => e.op === op).map((e) => e.address);
    return list.length > 0 ? `${words} ${list.join(", ")}` : null;
  };
  return [part("connect", "connected to"), part("accept", "accepted from")].filter((x) => x !== null).join("; ");
}

/** Processes of a job that ended by a signal (killed or crashed), from its trace. */
export function killedProcesses(trace: Record<string, unknown>): { pid: number; exe: string | null; signal: number }[] {
  const list = Array.isArray(trace.processList) ? (trace.processList as Record<string, unknown>[]) : [];
  return list
    .filter((p) => typeof p.signal === "number")
    .map((p) => ({ pid: p.pid as number, exe: (p.exe as string | null) ?? null, signal: p.signal as number }));
}
