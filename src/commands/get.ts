import { Command, Option } from "clipanion";
import { UsageError } from "../core/errors.ts";
import { storedPath } from "../core/project-paths.ts";
import { publicUrl } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import { close as closeHashPool, normalizeAlgorithms } from "../hash/index.ts";
import type { GetJson } from "../schema/transfer.ts";
import { findGitRoot } from "../store/project.ts";
import { IoFlags } from "../store/schema.ts";
import { RoarStore } from "../store/store.ts";
import type { IoRecord } from "../store/types.ts";
import { type GotFile, planGet, runGet } from "../transfer/get.ts";
import { blockingChanges } from "../transfer/git-gate.ts";
import { Landing } from "../transfer/landing.ts";
import { collectionOf, gitState, recordTransfer, tagCommit } from "../transfer/record.ts";
import { JSON_SCHEMA_VERSION } from "../ui/json.ts";
import { progressBar } from "../ui/progress.ts";
import { presentedError, renderGet } from "../ui/transfer-report.ts";
import { ConfiguredCommand } from "./base.ts";

export class GetCommand extends ConfiguredCommand {
  static override paths = [["get"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Download artifacts from S3, GCS or HTTPS (recorded as a source step)",
    details: `
      SOURCE is \`s3://bucket/key\`, \`gs://bucket/key\` or \`https://…\`; a trailing \`/\` on a bucket URL downloads
      every object under that prefix into DEST (a directory, default \`.\`). One file lands in DEST, or in DEST/<name>
      when DEST is a directory or ends in \`/\`. Every file is written to a temporary file beside its destination,
      hashed, verified (\`--hash\`, and the BLAKE3 \`roar put\` stored with the object) and only then renamed into
      place; a failure leaves nothing behind. A destination that already holds the same bytes is left alone; one
      with other content needs \`--force\`. The download is recorded as a \`get\` job whose outputs are the files (a
      source node of the DAG). Credentials: see README (AWS chain for s3://, GCS HMAC key or token for gs://).
    `,
    examples: [
      ["One object into a directory", "$0 get s3://bucket/models/model.pt ./local/"],
      ["Everything under a prefix", "$0 get s3://bucket/checkpoints/ ./checkpoints/"],
      ["A verified HTTPS download", "$0 get https://example.com/weights.pt --hash <blake3>"],
    ],
  });

  source = Option.String({ name: "SOURCE" });
  dest = Option.String({ required: false, name: "DEST" });
  output = Option.String("-o,--output", { description: "Destination (instead of DEST)" });
  message = Option.String("-m,--message", { description: "A note recorded with the download" });
  hash = Option.String("--hash", { description: "Expected BLAKE3 of the file (64 hex); a mismatch writes nothing" });
  tag = Option.Boolean("--tag", false, { description: "Tag the current commit roar/<commit>" });
  force = Option.Boolean("--force", false, { description: "Overwrite destinations that hold other content" });
  dryRun = Option.Boolean("--dry-run", false, { description: "Show what would be downloaded" });
  json = Option.Boolean("--json", false, { description: "Print the result as JSON" });

  override async execute(): Promise<number> {
    const project = this.project();
    const loaded = this.loadConfig(project);
    const redact = this.presenter("json", loaded);
    try {
      return await this.get(project, loaded);
    } catch (error) {
      throw presentedError(error, redact);
    } finally {
      closeHashPool();
    }
  }

  private async get(
    project: ReturnType<ConfiguredCommand["project"]>,
    loaded: ReturnType<ConfiguredCommand["loadConfig"]>,
  ): Promise<number> {
    const present = this.presenter(this.json ? "json" : "text", loaded);
    if (this.dest !== undefined && this.output !== undefined) throw new UsageError("give DEST or --output, not both");
    const expectHash = this.hash?.toLowerCase() ?? null;
    if (expectHash !== null && !/^[0-9a-f]{64}$/.test(expectHash))
      throw new UsageError("--hash takes a BLAKE3 digest: 64 hexadecimal characters");
    const env = this.context.env;
    const destText = this.dest ?? this.output;
    const plan = await planGet(this.source, destText, this.context.cwd, env);
    if (expectHash !== null && plan.files.length !== 1)
      throw new UsageError("--hash verifies one file; it cannot be used with a prefix download");
    const stored = (abs: string) => storedPath(abs, project.root);
    const doc: GetJson = {
      schemaVersion: JSON_SCHEMA_VERSION,
      source: plan.source,
      dryRun: this.dryRun,
      job: null,
      files: plan.files.map((f) => ({
        url: f.url,
        path: stored(f.dest),
        blake3: null,
        size: f.size,
        state: "planned",
      })),
      collection: null,
      tag: null,
    };
    if (this.dryRun) return this.report(present.doc(doc));

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
      const got = await runGet(plan, {
        expectHash,
        force: this.force,
        algorithms: normalizeAlgorithms(loaded.config.hash.get),
        cache: store.hashCache(),
        progress: progressBar(this.context.stderr, "get", total, plan.files.length),
        landing,
      });
      doc.files = got.map((g) => ({
        url: g.url,
        path: stored(g.dest),
        blake3: g.blake3,
        size: g.size,
        state: g.state,
      }));
      const collection = plan.destDir
        ? await collectionOf(
            stored(plan.destDir),
            got.map((g) => ({ path: g.relative ?? "", blake3: g.blake3, size: g.size })),
            { source: plan.source },
          )
        : null;
      if (collection)
        doc.collection = { path: collection.name, url: null, blake3: collection.blake3, files: got.length };
      // Identical bytes already recorded at every destination: nothing happened, nothing to record.
      const recorded = got.every(
        (g) =>
          g.state === "unchanged" &&
          store.linksAtPath(stored(g.dest)).find((l) => l.role === "output")?.blake3 === g.blake3,
      );
      const gitRoot = findGitRoot(project.root);
      const git = gitState(gitRoot);
      if (!recorded) {
        const job = recordTransfer(
          store,
          {
            kind: "get",
            sessionId: session.id,
            argv: this.recordedArgv(),
            cwd: this.context.cwd,
            projectRoot: project.root,
            git,
            clean: git ? blockingChanges(git, store, project.root).length === 0 : true,
            startedAt: started,
            durationMs: Date.now() - started,
            inputs: [],
            outputs: got.map((g) => this.outputRecord(g, stored(g.dest))),
            transfer: {
              source: plan.source,
              message: this.message ?? null,
              files: got.map((g) => ({ url: g.url, path: stored(g.dest), blake3: g.blake3, state: g.state })),
              ...(collection ? { collection: collection.blake3 } : {}),
            },
          },
          collection ? [collection] : [],
        );
        doc.job = { uid: job.uid, step: job.step, label: stepLabel(job.step, "get") };
      }
      if (this.tag) doc.tag = tagCommit(git);
      return this.report(present.doc(doc));
    } finally {
      process.removeListener("SIGINT", onSignal);
      process.removeListener("SIGTERM", onSignal);
      store.close();
    }
  }

  private outputRecord(g: GotFile, path: string): IoRecord {
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

  /** The command line as stored: the URL without credentials. */
  private recordedArgv(): string[] {
    const argv = ["roar", "get", publicUrl(this.source)];
    if (this.dest !== undefined) argv.push(this.dest);
    if (this.output !== undefined) argv.push("--output", this.output);
    if (this.hash !== undefined) argv.push("--hash", this.hash);
    if (this.force) argv.push("--force");
    if (this.tag) argv.push("--tag");
    if (this.message !== undefined) argv.push("-m", this.message);
    return argv;
  }

  private report(doc: GetJson): number {
    if (this.json) this.printJson(doc);
    else this.print(renderGet(doc, this.style));
    return 0;
  }
}
