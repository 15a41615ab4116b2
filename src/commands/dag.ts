import { Command, Option } from "clipanion";
import { loadFreshDag } from "../run/freshness.ts";
import { UsageError } from "../shared/errors.ts";
import { userPath } from "../shared/paths.ts";
import { RoarStore } from "../store/store.ts";
import { dagJson, renderDagText } from "../ui/dag.ts";
import { formatOfPath, PICTURE_FORMATS, type PictureFormat, renderDagPicture } from "../ui/dag-formats.ts";
import { dagPicture } from "../ui/dag-picture.ts";
import { writeFileAtomic } from "../ui/output-file.ts";
import { terminalWidth } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

export class DagCommand extends RoarCommand {
  static override paths = [["dag"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Show the pipeline of the current session as a DAG",
    details: `
      Steps are drawn as a tree from the steps that consume nothing another step produced. Each line shows the
      step (\`@N\`, or \`@BN\` for a build step), its name or command, and its input/output counts. Edges follow
      content: a step depends on the step whose job wrote the bytes (BLAKE3) it read, wherever the file was
      moved or copied in between. A step is stale (\`*\`) when its producer was re-run and now has different
      content there, when a file it read changed on disk, or when a tracked file it read changed in git since its
      commit; everything downstream of it is stale too. The reasons are listed under the tree. Files no later
      step reads are listed under the step that wrote them.

      \`--json\` prints \`{schemaVersion, sessionId, totalSteps, staleCount, isExpanded, nodes[{step, label,
      jobUid, command, argv, name, state (active|stale|superseded), isBuild, exitCode, status, startedAt, inputs,
      outputs, consumed, dependencies[], staleInputs[], staleReasons[{cause, message, path, …}]}], artifacts[{path, blake3, size, state
      (active|stale|superseded|orphaned), producerStep, producerJobUid, consumerSteps[], isTerminal}]}\`.

      \`--format dot|mermaid|svg\` draws the same selection as a picture: a node per step (\`@N\` and its command;
      build steps boxed differently, stale steps red and marked \`*\`), the terminal artifacts (every artifact with
      \`--show-artifacts\`), edges by content labelled with the paths read. The SVG is laid out by roar itself (no
      Graphviz needed). \`-o FILE\` writes it to FILE atomically (the format follows a .svg/.dot/.gv/.mmd
      extension when \`--format\` is not given); otherwise it goes to stdout.
    `,
    examples: [
      ["Compact view", "$0 dag"],
      ["Every run, re-runs included", "$0 dag --expanded"],
      ["Only what needs re-running", "$0 dag --stale-only"],
      ["Machine-readable", "$0 dag --json"],
      ["A picture of the pipeline", "$0 dag --format svg -o pipeline.svg"],
      ["For a Markdown page", "$0 dag --format mermaid"],
    ],
  });

  static override outputOptions = { json: "Print JSON" };
  expanded = Option.Boolean("--expanded", false, { description: "Show every run, superseded re-runs included" });
  showArtifacts = Option.Boolean("--show-artifacts", false, { description: "List intermediate artifacts too" });
  staleOnly = Option.Boolean("--stale-only", false, { description: "Show only stale steps and artifacts" });
  format = Option.String("--format", { description: "Draw the DAG: dot, mermaid or svg" });
  output = Option.String("-o,--output", { description: "Write the drawing to FILE (atomically)" });

  override async execute(): Promise<number> {
    const project = this.project();
    const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    const store = RoarStore.open(project, { create: false });
    try {
      const session = store.requireActiveSession();
      const dag = await loadFreshDag(store, project, session.id);
      const view = { expanded: this.expanded, showArtifacts: this.showArtifacts, staleOnly: this.staleOnly, present };
      const format = this.pictureFormat();
      if (format) {
        const document = renderDagPicture(dagPicture(dag, view), format);
        if (this.output === undefined) this.context.stdout.write(document);
        else writeFileAtomic(userPath(this.output, this.context.cwd), document);
        return 0;
      }
      if (this.json) {
        this.printJson(dagJson(dag, session.uid, view));
        return 0;
      }
      const { stdout, stdoutStyle } = this.outputPolicy;
      stdout.write(renderDagText(dag, { ...view, width: terminalWidth(stdout), style: stdoutStyle }));
      return 0;
    } finally {
      store.close();
    }
  }

  /** --format, or the format -o's extension names; null for the text/JSON views. */
  private pictureFormat(): PictureFormat | null {
    const given = this.format?.toLowerCase();
    if (given !== undefined && !(PICTURE_FORMATS as readonly string[]).includes(given)) {
      throw new UsageError(`unknown format '${this.format}': use dot, mermaid or svg`);
    }
    const format = (given as PictureFormat | undefined) ?? (this.output ? formatOfPath(this.output) : null);
    if (this.output !== undefined && !format) {
      throw new UsageError(`cannot tell the format of '${this.output}': add --format dot, mermaid or svg`);
    }
    if (format && this.json) throw new UsageError("--json and --format cannot be combined");
    return format;
  }
}
