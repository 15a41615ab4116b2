/**
 * The whole of `roar get` after its options are parsed: plan, download (Ctrl-C cleans up), record the `get` job
 * (unless the same bytes were already recorded at every destination), tag. Returns the `--json` document.
 */

import { IoFlags } from "../core/io-flags.ts";
import { storedPath } from "../core/project-paths.ts";
import { stepLabel } from "../core/step.ts";
import type { IoRecord } from "../core/types.ts";
import type { ExtraAlgorithm } from "../hash/index.ts";
import { blockingChanges } from "../run/dirty-tree.ts";
import type { GetJson } from "../schema/transfer.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { UsageError } from "../shared/errors.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import type { Progress } from "../ui/progress.ts";
import { type GotFile, planGet, runGet } from "./get.ts";
import { Landing } from "./landing.ts";
import { collectionOf, gitState, recordTransfer, tagCommit } from "./record.ts";

export interface GetRequest {
  project: Project;
  source: string;
  dest: string | undefined;
  cwd: string;
  env: Record<string, string | undefined>;
  expectHash: string | null;
  force: boolean;
  dryRun: boolean;
  tag: boolean;
  message: string | null;
  /** hash.get */
  algorithms: readonly ExtraAlgorithm[];
  /** The command line to record (URL without credentials). */
  argv: string[];
  /** The progress display for the transfer's bytes and files (the command draws a bar on a terminal). */
  progress: (totalBytes: number | null, totalFiles: number) => Progress;
}

function outputRecord(g: GotFile, path: string): IoRecord {
  const existed = g.prevBlake3 !== null || g.state !== "downloaded";
  return {
    path,
    blake3: g.blake3,
    size: g.size,
    flags: existed ? IoFlags.EXISTED : IoFlags.CREATED,
    digests: g.digests,
    ...(existed ? { prevBlake3: g.prevBlake3 } : {}),
  };
}

export async function getArtifacts(req: GetRequest): Promise<GetJson> {
  const { project } = req;
  const plan = await planGet(req.source, req.dest, req.cwd, req.env);
  if (req.expectHash !== null && plan.files.length !== 1)
    throw new UsageError("--hash verifies one file; it cannot be used with a prefix download");
  const stored = (abs: string) => storedPath(abs, project.root);
  const doc: GetJson = {
    schemaVersion: JSON_SCHEMA_VERSION,
    source: plan.source,
    dryRun: req.dryRun,
    job: null,
    files: plan.files.map((f) => ({ url: f.url, path: stored(f.dest), blake3: null, size: f.size, state: "planned" })),
    collection: null,
    tag: null,
  };
  if (req.dryRun) return doc;

  const store = RoarStore.open(project, { write: true });
  const landing = new Landing();
  const onSignal = () => {
    landing.abort();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const session = store.ensureActiveSession();
    const started = Date.now();
    const total = plan.files.every((f) => f.size !== null)
      ? plan.files.reduce((sum, f) => sum + (f.size ?? 0), 0)
      : null;
    const progress: Progress = req.progress(total, plan.files.length);
    const got = await runGet(plan, {
      expectHash: req.expectHash,
      force: req.force,
      algorithms: req.algorithms,
      cache: store.hashCache(),
      progress,
      landing,
    });
    doc.files = got.map((g) => ({ url: g.url, path: stored(g.dest), blake3: g.blake3, size: g.size, state: g.state }));
    const collection = plan.destDir
      ? await collectionOf(
          stored(plan.destDir),
          got.map((g) => ({ path: g.relative ?? "", blake3: g.blake3, size: g.size })),
          { source: plan.source },
        )
      : null;
    if (collection) doc.collection = { path: collection.name, url: null, blake3: collection.blake3, files: got.length };
    // Identical bytes already recorded at every destination: nothing happened, nothing to record.
    const alreadyRecorded = got.every(
      (g) =>
        g.state === "unchanged" &&
        store.linksAtPath(stored(g.dest)).find((l) => l.role === "output")?.blake3 === g.blake3,
    );
    const git = gitState(findGitRoot(project.root));
    if (!alreadyRecorded) {
      const job = recordTransfer(
        store,
        {
          kind: "get",
          sessionId: session.id,
          argv: req.argv,
          cwd: req.cwd,
          projectRoot: project.root,
          git,
          clean: git ? (await blockingChanges(git, store, project.root)).length === 0 : true,
          startedAt: started,
          durationMs: Date.now() - started,
          inputs: [],
          outputs: got.map((g) => outputRecord(g, stored(g.dest))),
          transfer: {
            source: plan.source,
            message: req.message,
            files: got.map((g) => ({ url: g.url, path: stored(g.dest), blake3: g.blake3, state: g.state })),
            ...(collection ? { collection: collection.blake3 } : {}),
          },
        },
        collection ? [collection] : [],
      );
      doc.job = { uid: job.uid, step: job.step, label: stepLabel(job.step, "get") };
    }
    if (req.tag) doc.tag = tagCommit(git);
    return doc;
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    store.close();
  }
}
