import { Command, Option } from "clipanion";
import { close as closeHashPool, normalizeAlgorithms } from "../hash/index.ts";
import { UsageError } from "../shared/errors.ts";
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

  static override outputOptions = { json: "Print the result as JSON" };
  args = Option.Rest({ required: 1, name: "SOURCES… DEST" });
  message = Option.String("-m,--message", { description: "What this upload is (required)" });
  dryRun = Option.Boolean("--dry-run", false, { description: "Show what would be uploaded" });
  noTag = Option.Boolean("--no-tag", false, { description: "Do not tag the commit" });

  override async execute(): Promise<number> {
    const project = this.project();
    const loaded = this.loadConfig(project);
    try {
      if (!this.message) throw new UsageError("-m/--message is required: say what this upload is");
      // Loaded here, not at start-up: the AWS SDK is large and `roar --help` lists every command.
      const { putArtifacts } = await import("../transfer/put-job.ts");
      const doc = await putArtifacts({
        project,
        sources: this.args.slice(0, -1),
        dest: this.args[this.args.length - 1] as string,
        message: this.message,
        dryRun: this.dryRun,
        noTag: this.noTag,
        cwd: this.context.cwd,
        env: this.context.env,
        algorithms: normalizeAlgorithms(loaded.config.hash.put),
        progress: (bytes, files) => this.outputPolicy.progress("put", bytes, files),
      });
      const present = this.presenter(this.json ? "json" : "text", loaded);
      const shown = present.doc(doc);
      if (this.json) this.printJson(shown);
      else this.print(renderPut(shown, this.style));
      if (!this.dryRun && doc.job && loaded.config.glaas.url)
        this.note(`To publish this upload's lineage to the registry: roar register ${doc.job.label}`);
      return 0;
    } catch (error) {
      // Errors quote URLs and paths: redacted like everything else roar prints.
      throw presentedError(error, this.presenter("json", loaded));
    } finally {
      closeHashPool();
    }
  }
}
