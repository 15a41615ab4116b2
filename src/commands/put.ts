import { Command, Option } from "clipanion";
import { RoarError, UsageError } from "../core/errors.ts";
import { objectUrl } from "../core/remote.ts";
import { stepLabel } from "../core/step.ts";
import { close as closeHashPool, hashFiles, isHashError, normalizeAlgorithms } from "../hash/index.ts";
import type { PutJson } from "../schema/transfer.ts";
import { findGitRoot } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import type { IoRecord, NewCollection } from "../store/types.ts";
import { bucketStoreFor } from "../transfer/get.ts";
import { blockingChanges, changeLines } from "../transfer/git-gate.ts";
import { objectKeys, parsePutDestination, resolvePutSources, runUploads, type Upload } from "../transfer/put.ts";
import { collectionOf, gitState, recordTransfer, remoteOutput, tagCommit } from "../transfer/record.ts";
import { JSON_SCHEMA_VERSION } from "../ui/json.ts";
import { progressBar } from "../ui/progress.ts";
import { presentedError, renderPut } from "../ui/transfer-report.ts";
import { ConfiguredCommand } from "./base.ts";

export class PutCommand extends ConfiguredCommand {
  static override paths = [["put"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Upload artifacts to S3 or GCS with their lineage (recorded as a step)",
    details: `
      The last argument is the destination (\`s3://bucket/prefix/\` or \`gs://bucket/prefix/\`); the sources are files,
      directories (every file under them, keyed by its path inside the directory), \`@N\` (the outputs of step N,
      keyed by their path in the project), or nothing (every output of the session's steps). A destination ending in
      \`/\` is a prefix; one file to a destination without it is uploaded to exactly that key. Uploads stream
      (multipart above 8 MiB) with the file's BLAKE3 (and \`hash.put\` digests) as object metadata; an object already
      holding the same bytes is not sent again. The working tree must be clean (outputs of roar jobs excepted).
      Recorded as a \`put\` job: inputs are the local files, outputs the remote objects, and each directory also as a
      whole (its composite digest). Tags the commit \`roar/<commit>\` unless \`--no-tag\`.
    `,
    examples: [
      ["A model", '$0 put model.pt s3://bucket/models/ -m "Final model"'],
      ["A directory", '$0 put ./checkpoints/ gs://bucket/run-42/ -m "All checkpoints"'],
      ["The outputs of step 2", '$0 put @2 s3://bucket/outputs/ -m "Step 2 outputs"'],
    ],
  });

  args = Option.Rest({ required: 1, name: "SOURCES… DEST" });
  message = Option.String("-m,--message", { description: "What this upload is (required)" });
  dryRun = Option.Boolean("--dry-run", false, { description: "Show what would be uploaded" });
  noTag = Option.Boolean("--no-tag", false, { description: "Do not tag the commit" });
  json = Option.Boolean("--json", false, { description: "Print the result as JSON" });

  override async execute(): Promise<number> {
    const project = this.project();
    const loaded = this.loadConfig(project);
    const redact = this.presenter("json", loaded);
    try {
      return await this.put(project, loaded);
    } catch (error) {
      throw presentedError(error, redact);
    } finally {
      closeHashPool();
    }
  }

  private async put(
    project: ReturnType<ConfiguredCommand["project"]>,
    loaded: ReturnType<ConfiguredCommand["loadConfig"]>,
  ): Promise<number> {
    if (!this.message) throw new UsageError("-m/--message is required: say what this upload is");
    const present = this.presenter(this.json ? "json" : "text", loaded);
    const destText = this.args[this.args.length - 1] as string;
    const sourceTexts = this.args.slice(0, -1);
    const target = parsePutDestination(destText);
    const store = RoarStore.open(project, { write: !this.dryRun, create: false });
    try {
      const session = this.dryRun ? store.requireActiveSession() : store.ensureActiveSession();
      const git = gitState(findGitRoot(project.root));
      if (git && !this.dryRun) {
        const blocking = blockingChanges(git, store, project.root);
        if (blocking.length > 0)
          throw new RoarError(
            `Cannot put with uncommitted changes:\n${changeLines(blocking)}`,
            1,
            "Commit them first (git add -A && git commit): the upload is recorded with its commit.",
          );
      }
      const sources = resolvePutSources(sourceTexts, {
        store,
        sessionId: session.id,
        cwd: this.context.cwd,
        projectRoot: project.root,
      });
      const keys = objectKeys(sources.files, target);
      const algorithms = normalizeAlgorithms(loaded.config.hash.put);
      const hashed = await hashFiles(
        sources.files.map((f) => f.abs),
        // Read, not memory-mapped: transfers keep their memory bounded whatever the file sizes.
        { algorithms, cache: store.hashCache(), mmap: false },
      );
      const uploads: Upload[] = sources.files.map((file, i) => {
        const h = hashed.get(file.abs);
        if (!h || isHashError(h)) throw new RoarError(`cannot read ${file.stored}: ${h?.error ?? "no result"}`);
        if (file.recorded && file.recorded.blake3 !== h.blake3)
          throw new RoarError(
            `${file.stored} changed since ${file.recorded.label} wrote it (blake3 ${h.blake3.slice(0, 12)}…, recorded ${file.recorded.blake3.slice(0, 12)}…)`,
            1,
            `hint: re-run ${file.recorded.label}, or put the file by its path`,
          );
        const key = keys[i] as string;
        return {
          file,
          key,
          url: objectUrl(target.dest.scheme, target.dest.bucket, key),
          blake3: h.blake3,
          size: h.size,
          digests: { ...h.digests } as Record<string, string>,
        };
      });
      const doc: PutJson = {
        schemaVersion: JSON_SCHEMA_VERSION,
        destination: target.shown,
        dryRun: this.dryRun,
        job: null,
        session: session.uid,
        files: uploads.map((u) => ({
          path: u.file.stored,
          url: u.url,
          blake3: u.blake3,
          size: u.size,
          state: "planned",
        })),
        collections: [],
        tag: null,
      };
      if (this.dryRun) return this.report(present.doc(doc));

      const started = Date.now();
      const bucket = await bucketStoreFor(target.dest, this.context.env);
      const total = uploads.reduce((sum, u) => sum + u.size, 0);
      const unchanged = await runUploads(
        bucket,
        uploads,
        progressBar(this.context.stderr, "put", total, uploads.length),
      );
      doc.files = doc.files.map((f, i) => ({
        ...f,
        state: unchanged.has(keys[i] as string) ? "unchanged" : "uploaded",
      }));

      const outputs: IoRecord[] = uploads.map((u) => remoteOutput(u.url, u.blake3, u.size, u.digests));
      const inputs = new Map<string, IoRecord>();
      for (const u of uploads)
        inputs.set(u.file.stored, {
          path: u.file.stored,
          blake3: u.blake3,
          size: u.size,
          flags: 0,
          digests: u.digests,
        });
      const collections: NewCollection[] = [];
      for (const [index, dir] of sources.dirs.entries()) {
        const members = uploads.filter((u) => u.file.dir === index);
        const prefixUrl = objectUrl(
          target.dest.scheme,
          target.dest.bucket,
          members[0]?.key.slice(0, -members[0].file.relative.length) ?? "",
        );
        const collection = await collectionOf(
          prefixUrl,
          members.map((u) => ({ path: u.file.relative, blake3: u.blake3, size: u.size })),
          { source: dir },
        );
        collections.push(collection);
        outputs.push(remoteOutput(prefixUrl, collection.blake3, collection.size, {}, true));
        doc.collections.push({ path: dir, url: prefixUrl, blake3: collection.blake3, files: members.length });
      }
      const job = recordTransfer(
        store,
        {
          kind: "put",
          sessionId: session.id,
          argv: ["roar", "put", ...sourceTexts, target.shown, "-m", this.message, ...(this.noTag ? ["--no-tag"] : [])],
          cwd: this.context.cwd,
          projectRoot: project.root,
          git,
          clean: true,
          startedAt: started,
          durationMs: Date.now() - started,
          inputs: [...inputs.values()],
          outputs,
          transfer: {
            destination: target.shown,
            message: this.message,
            files: uploads.map((u) => ({ path: u.file.stored, url: u.url, blake3: u.blake3 })),
          },
        },
        collections,
      );
      doc.job = { uid: job.uid, step: job.step, label: stepLabel(job.step, "put") };
      if (!this.noTag) doc.tag = tagCommit(git);
      const code = this.report(present.doc(doc));
      if (loaded.config.glaas.url)
        this.note(
          `note: lineage registration with GLaaS (${present.text(loaded.config.glaas.url)}) is not available yet; the upload and its lineage are recorded locally`,
        );
      return code;
    } finally {
      store.close();
    }
  }

  private report(doc: PutJson): number {
    if (this.json) this.printJson(doc);
    else this.print(renderPut(doc, this.style));
    return 0;
  }
}
