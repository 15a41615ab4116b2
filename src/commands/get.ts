import { Command, Option } from "clipanion";
import { publicUrl } from "../core/remote.ts";
import { close as closeHashPool, normalizeAlgorithms } from "../hash/index.ts";
import { UsageError } from "../shared/errors.ts";
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

  static override outputOptions = { json: "Print the result as JSON" };
  source = Option.String({ name: "SOURCE" });
  dest = Option.String({ required: false, name: "DEST" });
  output = Option.String("-o,--output", { description: "Destination (instead of DEST)" });
  message = Option.String("-m,--message", { description: "A note recorded with the download" });
  hash = Option.String("--hash", { description: "Expected BLAKE3 of the file (64 hex); a mismatch writes nothing" });
  tag = Option.Boolean("--tag", false, { description: "Tag the current commit roar/<commit>" });
  force = Option.Boolean("--force", false, { description: "Overwrite destinations that hold other content" });
  dryRun = Option.Boolean("--dry-run", false, { description: "Show what would be downloaded" });

  override async execute(): Promise<number> {
    const project = this.project();
    const loaded = this.loadConfig(project);
    try {
      if (this.dest !== undefined && this.output !== undefined) throw new UsageError("give DEST or --output, not both");
      const expectHash = this.hash?.toLowerCase() ?? null;
      if (expectHash !== null && !/^[0-9a-f]{64}$/.test(expectHash))
        throw new UsageError("--hash takes a BLAKE3 digest: 64 hexadecimal characters");
      // Loaded here, not at start-up: the AWS SDK is large and `roar --help` lists every command.
      const { getArtifacts } = await import("../transfer/get-job.ts");
      const doc = await getArtifacts({
        project,
        source: this.source,
        dest: this.dest ?? this.output,
        cwd: this.context.cwd,
        env: this.context.env,
        expectHash,
        force: this.force,
        dryRun: this.dryRun,
        tag: this.tag,
        message: this.message ?? null,
        algorithms: normalizeAlgorithms(loaded.config.hash.get),
        argv: this.recordedArgv(),
        progress: (bytes, files) => this.outputPolicy.progress("get", bytes, files),
      });
      const shown = this.presenter(this.json ? "json" : "text", loaded).doc(doc);
      if (this.json) this.printJson(shown);
      else this.print(renderGet(shown, this.style));
      return 0;
    } catch (error) {
      // Errors quote URLs: redacted like everything else roar prints.
      throw presentedError(error, this.presenter("json", loaded));
    } finally {
      closeHashPool();
    }
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
}
