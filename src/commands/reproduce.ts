import { existsSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { Command, Option } from "clipanion";
import type { LoadedConfig } from "../config/load.ts";
import { close as closeHashPool } from "../hash/index.ts";
import { clientFor, identity, registryUrl } from "../registry/connect.ts";
import { fetchRegistryPlan } from "../registry/plan-source.ts";
import { type LocatedInput, locateInputs } from "../run/reproduce/inputs.ts";
import { localOrigin, type PlanOrigin, registryOrigin } from "../run/reproduce/origin.ts";
import { buildPreview, type Preview } from "../run/reproduce/preview.ts";
import { cloneRepository, rebuild } from "../run/reproduce/rebuild.ts";
import { resolveRef } from "../run/resolve-ref.ts";
import { NotInitializedError, RoarError, UsageError } from "../shared/errors.ts";
import { findGitRoot, findProject, type Project } from "../store/project.ts";
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

  static override outputOptions = { json: "Print the plan (or the verification report) as JSON" };
  target = Option.String({ name: "hash-prefix|path" });
  run = Option.Boolean("--run", false, { description: "Actually rebuild (default: preview only)" });
  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask for confirmation" });
  dest = Option.String("--dest", { description: "Directory for the rebuild (must be new or empty)" });
  listRequirements = Option.Boolean("--list-requirements", false, { description: "Show every requirement" });
  pipAnyVersion = Option.Boolean("--pip-any-version", false, {
    description: "If pinned pip installs fail, retry without versions",
  });
  packageSync = Option.Boolean("--package-sync", false, { description: "Install the recorded Debian packages (apt)" });
  allowDifferences = Option.Boolean("--allow-differences", false, {
    description: "Exit 0 even when the target differs",
  });

  override async execute(): Promise<number> {
    const project = findProject(this.context.cwd);
    const config = this.loadConfig(project);
    const store = project ? RoarStore.open(project) : null;
    try {
      const from = await this.planOrigin(project, store, config);
      const { plan } = from;
      let inputs = await locateInputs(plan, from.bytes, from.repo, from.origin !== "local");
      let preview = buildPreview(plan, inputs, from.repoFallback, { origin: from.origin, notes: from.notes });
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
      const dest = this.destination(remote, commit, from.root);
      for (const n of from.notes) this.note(`note: ${text.text(n)}`);
      let cloned = false;
      if (from.repo === null && from.origin !== "local") {
        // No clone here holds the recorded commits: clone first (once agreed), then find the tracked inputs in it.
        if (!(await this.confirmRebuild(plan.steps.length, dest))) return 1;
        cloneRepository({
          repo: remote,
          commit,
          dest,
          localRepo: from.localRepo,
          note: (m) => this.note(m),
          shown: text,
        });
        cloned = true;
        inputs = await locateInputs(plan, from.bytes, { gitRoot: dest, prefix: from.projectPrefix });
        preview = buildPreview(plan, inputs, from.repoFallback, { origin: from.origin, notes: from.notes });
        this.refuseUnavailable(inputs, preview, (t) => text.text(t));
      } else {
        this.refuseUnavailable(inputs, preview, (t) => text.text(t));
        if (!(await this.confirmRebuild(plan.steps.length, dest))) return 1;
      }
      const baseEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.context.env)) if (v !== undefined) baseEnv[k] = v;
      const report = await rebuild({
        plan,
        inputs,
        repo: remote,
        commit,
        dest,
        cloned,
        projectDir: join(dest, from.projectPrefix),
        localRepo: from.localRepo,
        requirements: preview.requirements,
        baseEnv,
        projectEnv: config.config.env,
        blob: (digest) => from.bytes.blob(digest),
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
      store?.close();
      closeHashPool();
    }
  }

  /**
   * This project's history when it knows the target; otherwise, for a digest prefix, the registry
   * (glaas.url): its lineage of the artifact, replayed the same way.
   */
  private async planOrigin(
    project: Project | undefined,
    store: RoarStore | null,
    config: LoadedConfig,
  ): Promise<PlanOrigin> {
    const arg = this.target;
    const hex = /^[0-9a-fA-F]+$/.test(arg) && !existsSync(resolve(this.context.cwd, arg));
    if (hex && arg.length < 8) throw new UsageError("Hash prefix must be at least 8 characters for uniqueness");
    const gitRoot = findGitRoot(project?.root ?? this.context.cwd) ?? null;
    if (project && store && !(hex && store.artifactsByPrefix(arg.toLowerCase()).length === 0)) {
      return localOrigin(project, store, gitRoot, await this.resolveTarget(store, project));
    }
    if (!hex) throw new NotInitializedError(); // a path names something in a project's history
    const url = registryUrl(config, this.context.env);
    const where = project ? "in this project's history" : "here (no roar project)";
    if (!url)
      throw new RoarError(
        `Artifact not found: ${arg} (not ${where}, and no registry is configured: glaas.url is empty)`,
      );
    const who = await identity(config, this.context.env, false);
    const client = clientFor(url, who, { anonymousFallback: true, notice: (m) => this.note(m) });
    const found = await fetchRegistryPlan(client, arg.toLowerCase());
    if (!found)
      throw new RoarError(
        `Artifact not found: ${arg} (not ${where}, nor in the registry at ${url})`,
        1,
        "hint: if it was registered, check your access with 'roar auth test'",
      );
    this.note(`roar: ${arg} is not ${where}; using its lineage from the registry at ${url}`);
    return registryOrigin(url, found, this.context.cwd, gitRoot, project && store ? { project, store } : null);
  }

  private async confirmRebuild(steps: number, dest: string): Promise<boolean> {
    if (this.yes) return true;
    if (!isInteractive()) throw new RoarError("reproduce --run needs confirmation: re-run with -y");
    return confirm(`Rebuild ${steps} step(s) into ${dest}?`, true);
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
  private destination(remote: string, commit: string, root: string): string {
    const repoName = basename(remote.replace(/\/+$/, "")).replace(/\.git$/, "") || "repo";
    const dest = this.dest
      ? resolve(this.context.cwd, this.dest)
      : join(root, "reproduce", `${repoName}-${commit.slice(0, 8)}`);
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
