import { Command, Option } from "clipanion";
import { loadDiff } from "../run/diff-load.ts";
import { RoarStore } from "../store/store.ts";
import { renderDiffText } from "../ui/diff.ts";
import { RoarCommand } from "./base.ts";

export class DiffCommand extends RoarCommand {
  static override paths = [["diff"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "Compare two jobs or two artifacts",
    details: `
      A and B are jobs (\`@N\`, \`@BN\`, \`@N~K\` = the K-th job before step N's current one, a job uid or prefix) or
      artifacts (a path, or a BLAKE3 digest prefix of 8+ hex characters). With one reference, a job is compared
      with the job before it in its step (\`roar diff @3\` = \`roar diff @3~1 @3\`) and a path with the previous
      content recorded there.

      For jobs: argv and option changes, git commits between the two and the stored uncommitted diffs, inputs and
      outputs by digest, packages, Python, \`[env]\` variables, runtime and trace facts. Changed inputs/outputs
      that are small (1 MiB) JSON, YAML, TOML or CSV files are compared key by key, when both versions can still
      be found (in the working tree or in git, verified by BLAKE3). For artifacts: their content, and the jobs
      that produced them.

      \`--json\` prints \`{schemaVersion, type: "diff", kind (jobs|artifacts), identical, from, to, artifacts,
      changes{command, cwd, status, exitCode, durationMs, git, inputs[], outputs[], packages[], python[], env[],
      runtime[], trace[]}}\`.
    `,
    examples: [
      ["What changed since the previous run of step 3", "$0 diff @3"],
      ["Two runs of a step", "$0 diff @3~2 @3"],
      ["Two metrics files and the runs that wrote them", "$0 diff runs/a/metrics.json runs/b/metrics.json"],
      ["Machine-readable", "$0 diff @2 @4 --json"],
    ],
  });

  static override outputOptions = { json: "Print JSON" };
  from = Option.String({ required: true, name: "A" });
  to = Option.String({ required: false, name: "B" });
  all = Option.Boolean("--all", false, { description: "Do not truncate lists" });

  override async execute(): Promise<number> {
    const project = this.project();
    const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    const store = RoarStore.open(project, { create: false });
    try {
      const refs = this.to === undefined ? [this.from] : [this.from, this.to];
      const loaded = await loadDiff(store, refs, { cwd: this.context.cwd, projectRoot: project.root }, present);
      const doc = present.doc(loaded);
      if (this.json) this.printJson(doc);
      else this.context.stdout.write(renderDiffText(doc, { style: this.style, all: this.all }));
      return 0;
    } finally {
      store.close();
    }
  }
}
