import { Command, Option } from "clipanion";
import type { Dag } from "../core/dag.ts";
import { stepOutputs } from "../core/dag-artifacts.ts";
import { storedPath } from "../core/project-paths.ts";
import { parseStepRef } from "../core/refs.ts";
import { rerunPlan } from "../core/rerun-plan.ts";
import { shellJoin } from "../core/shell-words.ts";
import { stepList } from "../core/staleness.ts";
import { close as closeHashPool } from "../hash/index.ts";
import { loadFreshDag } from "../run/freshness.ts";
import { resolveRef } from "../run/resolve-ref.ts";
import { resolveStepRefInStore } from "../run/step-refs.ts";
import type { RerunPlanJson } from "../schema/rerun.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { roarProcessEnv } from "../shared/jit-options.ts";
import { userPath } from "../shared/paths.ts";
import { selfCommand } from "../shared/self.ts";
import type { Project } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import type { Presenter } from "../ui/present.ts";
import { staleReasonsJson } from "../ui/stale.ts";
import { RoarCommand } from "./base.ts";

export class RerunCommand extends RoarCommand {
  static override paths = [["rerun"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Bring the pipeline up to date: re-run every stale step, in dependency order",
    details: `
      Re-runs each stale step of the session (see \`roar status\`: its producer was re-run and wrote other
      bytes, a file it read changed, or a tracked file it read changed in git) with its recorded command, working
      directory and \`[env]\` values, upstream steps first — each one as \`roar run @N\` would, recorded as a new
      job of that step. Before each step roar looks again: a step whose inputs came out identical is no longer
      stale and is skipped. Stops at the first step that fails and exits with its status.

      A target limits the re-run to what it needs: \`@N\` (that step and its stale upstream steps) or an artifact
      (a path or digest of what a step wrote). \`--dry-run\` prints the plan and why each step is stale, and runs
      nothing (\`--json\`: \`{schemaVersion, target, steps[{step, label, command, cwd, reasons[]}]}\`). Like \`roar run\`, it
      refuses uncommitted changes unless \`--allow-dirty\`.
    `,
    examples: [
      ["What would run, and why", "$0 rerun --dry-run"],
      ["Bring everything up to date", "$0 rerun"],
      ["Only what metrics.json needs", "$0 rerun metrics.json"],
    ],
  });

  static override outputOptions = {
    json: "With --dry-run: print the plan as JSON",
    quiet: "Do not print each step's run report",
  };
  target = Option.String({ name: "@N|artifact", required: false });
  dryRun = Option.Boolean("--dry-run", false, { description: "Print the plan; run nothing" });
  allowDirty = Option.Boolean("--allow-dirty", false, {
    description: "Run with uncommitted changes; each job stores the diff against HEAD (as roar run --allow-dirty)",
  });

  override async execute(): Promise<number> {
    if (this.json && !this.dryRun) throw new UsageError("--json prints the plan: use it with --dry-run");
    const project = this.project();
    const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    let plan: number[];
    let dag: Dag;
    let targetStep: number | undefined;
    {
      const store = RoarStore.open(project, { create: false, write: !this.dryRun });
      try {
        const session = store.requireActiveSession();
        dag = await loadFreshDag(store, project, session.id);
        targetStep = this.target === undefined ? undefined : await this.targetStep(store, project, dag);
        plan = rerunPlan(dag, targetStep);
      } finally {
        store.close();
        closeHashPool();
      }
    }
    if (this.dryRun) return this.printPlan(dag, plan, targetStep, present);
    if (plan.length === 0) {
      this.note(`roar: ${targetStep === undefined ? "the pipeline" : this.target} is up to date; nothing to re-run`);
      return 0;
    }
    this.note(`roar: re-running ${plan.length} stale step${plan.length === 1 ? "" : "s"}: ${stepList(dag, plan)}`);
    let ran = 0;
    for (const [i, step] of plan.entries()) {
      const label = dag.current.get(step)?.label ?? `@${step}`;
      // Re-running a step upstream may have brought this one up to date (its inputs came out identical).
      if (i > 0 && !(await this.stillStale(project, step))) {
        this.note(`roar: ${label} is up to date now (its inputs came out identical); skipped`);
        continue;
      }
      const args = [
        "run",
        // The steps' reports go to the same stderr: no colour there either.
        ...(this.outputPolicy.noColor ? ["--no-color"] : []),
        "-y",
        "--recorded-env",
        ...(this.quiet ? ["-q"] : []),
        ...(this.allowDirty ? ["--allow-dirty"] : []),
        label,
      ];
      const child = Bun.spawn([...selfCommand(), ...args], {
        cwd: this.context.cwd,
        env: roarProcessEnv(this.context.env),
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      });
      // A terminal's Ctrl-C reaches the step's roar run too (same process group): wait for it to record the
      // interrupted job, then stop with its status.
      const ignore = () => {};
      process.on("SIGINT", ignore);
      const code = await child.exited;
      process.off("SIGINT", ignore);
      if (code !== 0) {
        const rest = plan.slice(i + 1);
        throw new RoarError(
          `rerun stopped: ${label} ${code === 125 ? "could not be run" : "failed"} (exit ${code})${rest.length > 0 ? `; not run: ${stepList(dag, rest)}` : ""}`,
          code,
        );
      }
      ran++;
    }
    this.note(`roar: ${ran} step${ran === 1 ? "" : "s"} re-run; see 'roar status'`);
    return 0;
  }

  /** The step a target names: `@N`/`@BN`, or the current step that has the artifact (by path, else by digest). */
  private async targetStep(store: RoarStore, project: Project, dag: Dag): Promise<number> {
    const text = this.target as string;
    if (text.startsWith("@")) {
      if (parseStepRef(text).back) throw new UsageError(`rerun takes a step (@N or @BN), not an earlier job: ${text}`);
      return resolveStepRefInStore(store, text, store.requireActiveSession().id).step;
    }
    const holder = (match: (path: string, blake3: string) => boolean): number | undefined => {
      let best: { step: number; seq: number } | undefined;
      for (const node of dag.current.values()) {
        for (const { io, writerSeq } of stepOutputs(node)) {
          if (io.blake3 && match(io.path, io.blake3) && (!best || best.seq < writerSeq))
            best = { step: node.step, seq: writerSeq };
        }
      }
      return best?.step;
    };
    // A path a step wrote needs no hashing (the file may be modified or gone).
    const byPath = holder((path) => path === storedPath(userPath(text, this.context.cwd), project.root));
    if (byPath !== undefined) return byPath;
    const ref = await resolveRef(store, text, { cwd: this.context.cwd, projectRoot: project.root, accept: "artifact" });
    const blake3 = ref.kind === "artifact" ? ref.blake3 : "";
    const byDigest = holder((_, digest) => digest === blake3);
    if (byDigest === undefined) throw new RoarError(`${text} is not an output of a current step of this session`);
    return byDigest;
  }

  private async stillStale(project: Project, step: number): Promise<boolean> {
    const store = RoarStore.open(project, { create: false });
    try {
      const dag = await loadFreshDag(store, project, store.requireActiveSession().id);
      return dag.stale.has(step);
    } finally {
      store.close();
      closeHashPool();
    }
  }

  private printPlan(dag: Dag, plan: number[], targetStep: number | undefined, present: Presenter): number {
    const doc: RerunPlanJson = {
      schemaVersion: JSON_SCHEMA_VERSION,
      target: this.target === undefined ? null : present.text(this.target),
      steps: plan.map((step) => {
        const node = dag.current.get(step);
        return {
          step,
          label: node?.label ?? `@${step}`,
          command: present.argv(node?.job.argv ?? []),
          cwd: present.text(node?.job.cwd ?? ""),
          reasons: staleReasonsJson(node?.reasons ?? [], dag, (t) => present.text(t)),
        };
      }),
    };
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    const s = this.style;
    if (plan.length === 0) {
      this.print(`${targetStep === undefined ? "The pipeline" : doc.target} is up to date; nothing to re-run.`);
      return 0;
    }
    this.print(s.bold(`Would re-run ${plan.length} step${plan.length === 1 ? "" : "s"}, in this order:`));
    for (const step of doc.steps) {
      this.print(`  ${s.bold(step.label)} ${shellJoin(step.command)}${step.cwd ? s.dim(`  (cwd: ${step.cwd})`) : ""}`);
      for (const r of step.reasons) this.print(s.dim(`       ${r.message}`));
    }
    this.print("");
    this.print(s.dim("A step whose inputs come out identical after its upstream re-runs is skipped then."));
    return 0;
  }
}
