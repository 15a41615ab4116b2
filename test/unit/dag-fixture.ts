/** Builds real stores in temp dirs, recording jobs the way `roar run` does (step by identity, else max+1). */
import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { stepIdentity } from "../../src/core/step.ts";
import type { IoRecord, JobKind, JobStatus } from "../../src/core/types.ts";
import { projectAt } from "../../src/store/project.ts";
import { RoarStore } from "../../src/store/store.ts";
import { tempDir } from "../helpers/cli.ts";

/** A deterministic fake BLAKE3 digest for a content label. */
export function digest(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}

export interface FakeJob {
  argv: string[];
  kind?: JobKind;
  /** path → content label (digest(label) is recorded); null = deleted. */
  inputs?: Record<string, string>;
  outputs?: Record<string, string | null>;
  exitCode?: number;
  status?: JobStatus;
  name?: string;
  metadata?: Record<string, unknown>;
}

export interface Fixture {
  root: string;
  store: RoarStore;
  sessionId: number;
  job(j: FakeJob): string;
  close(): void;
}

let clock = Date.UTC(2025, 0, 1);

export function fixture(): Fixture {
  const root = tempDir("roar-dag-");
  const project = projectAt(root);
  mkdirSync(project.roarDir, { recursive: true });
  const store = RoarStore.open(project, { create: true });
  const session = store.ensureActiveSession();
  const f: Fixture = {
    root,
    store,
    sessionId: session.id,
    job(j) {
      const kind = j.kind ?? "run";
      const sid = store.activeSession()?.id ?? session.id;
      const identity = stepIdentity(kind, j.argv);
      const io = (m: Record<string, string | null> | undefined): IoRecord[] =>
        Object.entries(m ?? {}).map(([path, label]) => ({
          path,
          blake3: label === null ? null : digest(label),
          size: label === null ? null : label.length,
          flags: label === null ? 1 : 0,
        }));
      clock += 60_000;
      return store.insertJob({
        sessionId: sid,
        stepIdentity: identity,
        kind,
        name: j.name ?? null,
        argv: j.argv,
        cwd: "",
        startedAt: clock,
        durationMs: 1500,
        traceMs: 1400,
        postMs: 100,
        exitCode: j.exitCode ?? 0,
        signal: null,
        status: j.status ?? (j.exitCode ? "failed" : "ok"),
        git: { commit: "0123456789abcdef0123456789abcdef01234567", branch: "main", remoteUrl: null, clean: true },
        trace: { backend: "ptrace", complete: true, reasons: [] },
        metadata: j.metadata ?? { packages: { pip: { numpy: "2.0.0" } }, runtime: { os: "linux" }, env: {} },
        inputs: io(j.inputs),
        outputs: io(j.outputs),
      }).uid;
    },
    close() {
      store.close();
    },
  };
  return f;
}
