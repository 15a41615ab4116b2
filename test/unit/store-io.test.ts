import { expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { NewJob } from "../../src/core/types.ts";
import { projectAt } from "../../src/store/project.ts";
import { RoarStore } from "../../src/store/store.ts";
import { tempDir } from "../helpers/cli.ts";

function job(sessionId: number, step: number, tag: string): NewJob {
  const digest = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
  return {
    sessionId,
    step,
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
    inputs: [{ path: `in-${tag}`, blake3: digest(`in-${tag}`), size: 1, flags: 0 }],
    outputs: [{ path: `out-${tag}`, blake3: digest(`out-${tag}`), size: 2, flags: 0 }],
  };
}

function sorted(map: Map<string, { inputs: { path: string }[]; outputs: { path: string }[] }>) {
  return [...map]
    .map(([uid, io]) => [uid, io.inputs.map((i) => i.path).sort(), io.outputs.map((o) => o.path).sort()])
    .sort();
}

test("session I/O is the same whether read by a scan (big session) or by index (small one)", () => {
  const root = tempDir();
  mkdirSync(join(root, ".roar"));
  const store = RoarStore.open(projectAt(root), { create: true });
  const small = store.startSession().id;
  store.insertJob(job(small, 1, "a"));
  const big = store.startSession().id;
  for (let i = 0; i < 5; i++) store.insertJob(job(big, i + 1, `b${i}`));
  for (const session of [small, big]) {
    const fast = store.sessionIoUnordered(session);
    expect(sorted(fast)).toEqual(sorted(store.sessionIo(session)));
    expect(fast.size).toBe(session === small ? 1 : 5);
  }
  store.close();
});
