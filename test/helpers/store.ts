/** A fresh store in a temp project, and jobs to put in it, for the store's unit tests. */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { NewJob } from "../../src/core/types.ts";
import { projectAt } from "../../src/store/project.ts";
import { RoarStore } from "../../src/store/store.ts";
import { tempDir } from "./cli.ts";

export function openTempStore(): { store: RoarStore; dbPath: string } {
  const root = tempDir();
  mkdirSync(join(root, ".roar"));
  const project = projectAt(root);
  return { store: RoarStore.open(project, { create: true }), dbPath: project.dbPath };
}

/** A finished run job of step 1 named by `tag` (`python3 <tag>.py`), with no files unless given. */
export function testJob(sessionId: number, tag: string, fields: Partial<NewJob> = {}): NewJob {
  return {
    sessionId,
    step: 1,
    stepIdentity: `id-${tag}`,
    kind: "run",
    name: null,
    argv: ["python3", `${tag}.py`],
    cwd: "",
    startedAt: Date.now(),
    durationMs: 1,
    traceMs: 1,
    postMs: 1,
    exitCode: 0,
    signal: null,
    status: "ok",
    git: {},
    trace: {},
    metadata: {},
    inputs: [],
    outputs: [],
    ...fields,
  };
}
