import { existsSync, readdirSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { Command, Option } from "clipanion";
import { PlanError, planReproduction, type ReproducePlan } from "../core/reproduce.ts";
import { resolveRef } from "../core/show-ref.ts";
import { close as closeHashPool } from "../hash/index.ts";
import { type LocatedInput, locateInputs, type RepoView } from "../run/reproduce/inputs.ts";
import { buildPreview, type Preview } from "../run/reproduce/preview.ts";
import { rebuild } from "../run/reproduce/rebuild.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { storePlanSource } from "../store/reproduce-queries.ts";
import { RoarStore } from "../store/store.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { renderPreview, renderReport } from "../ui/reproduce.ts";
import { ConfiguredCommand } from "./base.ts";

export class ReproduceCommand extends ConfiguredCommand {
  static override paths = [["reproduce"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "Rebuild an artifact from its recorded lineage in an isolated checkout, and verify it",
    details: `
      Without \`--run\`, prints the plan and changes nothing: the recorded steps upstream of the artifact (each
      digest from its latest successful producer) with the build steps of its session, build steps first, then
      run steps in dependency order; the external inputs and where their bytes come from (git at the commit of the
      steps that read them, the working tree, another recorded path, .roar/objects); and the requirements. With
      \`--run\`, clones the recorded repository into a new directory (\`./reproduce/<repo>-<commit>/\` or
      \`--dest\`), creates a virtual environment with the recorded Python packages, then runs each step through
      roar at its own commit and recorded uncommitted diff, with its external inputs in place, and compares every
      reproduced output with its recorded digest. Exits 0 only when the target is identical (or with
      \`--allow-differences\`).
    `,
    examples: [
      ["Preview the plan", "$0 reproduce 3fa2c1d9"],
      ["Rebuild without questions", "$0 reproduce 3fa2c1d9 --run -y"],
    ],
  });

  target = Option.String({ name: "hash-prefix|path" });
  run = Option.Boolean("--run", false, { description: "Actually rebuild (default: preview only)" });
  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask for confirmation" });
  dest = Option.String("--dest", { description: "Directory for the rebuild (must be new or empty)" });
  json = Option.Boolean("--json", false, { description: "Print the plan (or the verification report) as JSON" });
  listRequirements = Option.Boolean("--list-requirements", false, { description: "Show every requirement" });
  pipAnyVersion = Option.Boolean("--pip-any-version", false, {
    description: "If pinned pip installs fail, retry without versions",
  });
  packageSync = Option.Boolean("--package-sync", false, { description: "Install the recorded Debian packages (apt)" });
  allowDifferences = Option.Boolean("--allow-differences", false, {
    description: "Exit 0 even when the target differs",
  });

  override async execute(): Promise<number> {
    const project = this.project();
    const store = RoarStore.open(project);
    try {
      const blake3 = await this.resolveTarget(store, project);
      let plan: ReproducePlan;
      try {
        plan = planReproduction(blake3, storePlanSource(store));
      } catch (error) {
        if (error instanceof PlanError) throw new RoarError(error.message);
        throw error;
      }
      const config = this.loadConfig(project);
      const gitRoot = findGitRoot(project.root) ?? null;
      const repo: RepoView | null = gitRoot
        ? { gitRoot, prefix: project.root === gitRoot ? "" : `${relative(gitRoot, project.root)}/` }
        : null;
      const inputs = await locateInputs(plan, project, store, repo);
      const preview = buildPreview(plan, inputs, gitRoot);
      if (!this.run) {
        // What is printed is redacted; the rebuild below uses the real remote and argv.
        const shown = this.presenter(this.json ? "json" : "text", config).doc(preview);
        if (this.json) this.printJson({ plan: shown });
        else
          this.print(
            renderPreview(shown, this.style, { listAll: this.listRequirements, targetArg: this.target }).join("\n"),
          );
        return 0;
      }
      const text = this.presenter("text", config);
      const { commit, repo: remote } = preview.git;
      if (!remote || !commit)
        throw new RoarError("Cannot reproduce: no git repository and commit were recorded for this artifact");
      const dest = this.destination(remote, commit, project);
      this.refuseUnavailable(inputs, preview, (t) => text.text(t));
      if (!this.yes) {
        if (!isInteractive()) throw new RoarError("reproduce --run needs confirmation: re-run with -y");
        if (!(await confirm(`Rebuild ${plan.steps.length} step(s) into ${dest}?`, true))) return 1;
      }
      const baseEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.context.env)) if (v !== undefined) baseEnv[k] = v;
      const report = await rebuild({
        plan,
        inputs,
        repo: remote,
        commit,
        dest,
        projectDir: join(dest, repo?.prefix ?? ""),
        localRepo: gitRoot ?? project.root,
        requirements: preview.requirements,
        baseEnv,
        projectEnv: config.config.env,
        blob: (digest) => store.blob(digest),
        pipAnyVersion: this.pipAnyVersion,
        packageSync: this.packageSync,
        confirmPackages: async (q) => this.yes || (isInteractive() && (await confirm(q, false))),
        note: (m) => this.note(m),
        shown: text,
      });
      if (this.json) this.printJson(this.presenter("json", config).doc(report));
      else this.print(renderReport({ ...report, artifacts: text.doc(report.artifacts) }, this.style).join("\n"));
      return report.target.state === "identical" || this.allowDifferences ? 0 : 1;
    } finally {
      store.close();
      closeHashPool();
    }
  }

  /** A digest prefix (8+ hex) or a tracked file (resolved like `roar show`). */
  private async resolveTarget(store: RoarStore, project: Project): Promise<string> {
    const arg = this.target;
    const asPath = resolve(this.context.cwd, arg);
    if (!arg.includes("/") && !existsSync(asPath)) {
      if (!/^[0-9a-fA-F]+$/.test(arg)) throw new UsageError(`'${arg}' is neither a file nor a hash prefix`);
      if (arg.length < 8) throw new UsageError("Hash prefix must be at least 8 characters for uniqueness");
    }
    const ref = await resolveRef(store, arg, { cwd: this.context.cwd, projectRoot: project.root, accept: "artifact" });
    if (ref.kind !== "artifact") throw new RoarError(`${arg} is not an artifact`);
    return ref.blake3;
  }

  /** --dest, or ./reproduce/<repo>-<commit>/ under the project root (roar's dirty check ignores it there). */
  private destination(remote: string, commit: string, project: Project): string {
    const repoName = basename(remote).replace(/\.git$/, "") || "repo";
    const dest = this.dest
      ? resolve(this.context.cwd, this.dest)
      : join(project.root, "reproduce", `${repoName}-${commit.slice(0, 8)}`);
    if (existsSync(dest) && readdirSync(dest).length > 0) {
      throw new RoarError(`${dest} is not empty; choose another --dest or remove it`);
    }
    return dest;
  }

  /** Stops before anything runs when an external input's bytes are nowhere to be found. */
  private refuseUnavailable(inputs: readonly LocatedInput[], preview: Preview, show: (t: string) => string): void {
    const missing = inputs.filter((e) => e.availability !== "available");
    if (missing.length === 0) return;
    const commits = new Set(preview.steps.map((s) => s.commit?.slice(0, 8)).filter(Boolean));
    const lines = missing.map(
      (e) =>
        `  ${show(e.path)} (blake3 ${e.blake3.slice(0, 12)}…): ${e.availability === "missing" ? "not found" : "content differs"} here; not in git at ${[...commits].join(", ") || "the recorded commit"}, and no copy in the working tree, at another recorded path or in .roar/objects`,
    );
    throw new RoarError(`external input${missing.length > 1 ? "s" : ""} not available:\n${lines.join("\n")}`);
  }
}
