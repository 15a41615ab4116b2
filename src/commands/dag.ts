import { Command, Option } from "clipanion";
import { loadSessionDag } from "../core/dag-load.ts";
import { RoarStore } from "../store/store.ts";
import { dagJson, renderDagText } from "../ui/dag.ts";
import { formatJson } from "../ui/json.ts";
import { styler } from "../ui/style.ts";
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
      moved or copied in between. A step is stale (\`*\`) when its producer was re-run and now writes
      different content, and everything downstream of it is stale too. Files no later step reads are listed
      under the step that wrote them.

      \`--json\` prints \`{schemaVersion, sessionId, totalSteps, staleCount, isExpanded, nodes[{step, label,
      jobUid, command, argv, name, state (active|stale|superseded), isBuild, exitCode, status, startedAt, inputs,
      outputs, consumed, dependencies[], staleInputs[]}], artifacts[{path, blake3, size, state
      (active|stale|superseded|orphaned), producerStep, producerJobUid, consumerSteps[], isTerminal}]}\`.
    `,
    examples: [
      ["Compact view", "$0 dag"],
      ["Every run, re-runs included", "$0 dag --expanded"],
      ["Only what needs re-running", "$0 dag --stale-only"],
      ["Machine-readable", "$0 dag --json"],
    ],
  });

  expanded = Option.Boolean("--expanded", false, { description: "Show every run, superseded re-runs included" });
  showArtifacts = Option.Boolean("--show-artifacts", false, { description: "List intermediate artifacts too" });
  staleOnly = Option.Boolean("--stale-only", false, { description: "Show only stale steps and artifacts" });
  noColor = Option.Boolean("--no-color", false, { description: "Plain text output" });
  json = Option.Boolean("--json", false, { description: "Print JSON" });

  override async execute(): Promise<number> {
    const project = this.project();
    const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    const store = RoarStore.open(project, { create: false });
    try {
      const session = store.requireActiveSession();
      const dag = loadSessionDag(store, session.id);
      const view = { expanded: this.expanded, showArtifacts: this.showArtifacts, staleOnly: this.staleOnly, present };
      if (this.json) {
        this.context.stdout.write(formatJson(dagJson(dag, session.uid, view)));
        return 0;
      }
      const stdout = this.context.stdout as { isTTY?: boolean; columns?: number };
      const style = styler(this.noColor ? { isTTY: false } : stdout);
      this.context.stdout.write(renderDagText(dag, { ...view, width: terminalWidth(stdout), style }));
      return 0;
    } finally {
      store.close();
    }
  }
}
