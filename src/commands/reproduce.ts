import {
  appendFileSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  writeFileSync,
} from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { Command, Option } from "clipanion";
import type { LoadedConfig } from "../config/load.ts";
import { RoarError, UsageError } from "../core/errors.ts";
import { networkOf, networkSummary } from "../core/job-view.ts";
import { absolutePath, parentDir } from "../core/project-paths.ts";
import {
  expectedOutputs,
  PlanError,
  planReproduction,
  planRequirements,
  type ReproducePlan,
  type Requirements,
  type VerifiedArtifact,
} from "../core/reproduce.ts";
import { REDACTED } from "../core/secrets.ts";
import { selfCommand } from "../core/self.ts";
import { stepLabel } from "../core/step.ts";
import { close as closeHashPool, hashFile, hashFiles, isHashError } from "../hash/index.ts";
import { hashAsRecorded } from "../run/links.ts";
import { findGitRoot, type Project } from "../store/project.ts";
import { storePlanSource } from "../store/reproduce-queries.ts";
import { RoarStore } from "../store/store.ts";
import type { JobWithIo } from "../store/types.ts";
import { fsPath } from "../trace/paths.ts";
import type { Presenter } from "../ui/present.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { formatDuration } from "../ui/run-report.ts";
import { shellJoin } from "../ui/table.ts";
import { ConfiguredCommand } from "./base.ts";

/**
 * A recorded interpreter path belongs to the original machine's environment: `/home/u/venv/bin/python3` runs
 * as `python3` from the rebuild's own venv (first on PATH).
 */
function portableArgv(argv: string[]): string[] {
  const [first, ...rest] = argv;
  if (first && isAbsolute(first) && /\/python[0-9.]*$/.test(first)) return [basename(first), ...rest];
  return argv;
}

type Availability = "available" | "missing" | "differs";

interface Preview {
  target: { blake3: string; path: string | null };
  git: { repo: string | null; commit: string | null; patch: string | null };
  python: string | null;
  steps: {
    step: string;
    kind: string;
    uid: string;
    command: string[];
    cwd: string;
    /** Endpoints the step connected to or accepted from: a step that used the network is not self-contained. */
    network?: { op: "connect" | "accept"; address: string }[];
  }[];
  externalInputs: { path: string; blake3: string; size: number | null; availability: Availability }[];
  requirements: Requirements;
}

const SHOWN = 10;

export class ReproduceCommand extends ConfiguredCommand {
  static override paths = [["reproduce"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "Rebuild an artifact from its recorded lineage in an isolated checkout, and verify it",
    details: `
      Without \`--run\`, prints the plan and changes nothing: the minimal set of recorded steps upstream of the
      artifact (build steps first, then run steps in dependency order), the external inputs and whether they are
      available here, and the requirements. With \`--run\`, clones the recorded commit into a new directory
      (\`./reproduce/<repo>-<commit>/\` or \`--dest\`), applies the recorded uncommitted diff if any, creates a
      virtual environment with the recorded Python packages, places the external inputs, runs each step through
      roar, and compares every reproduced output with its recorded digest. Exits 0 only when the target is
      identical (or with \`--allow-differences\`).
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
  /** How tool output quoted in errors is shown (git may echo the remote URL with its credentials). */
  private shown: Presenter | undefined;

  override async execute(): Promise<number> {
    const project = this.project();
    const store = RoarStore.open(project);
    try {
      const blake3 = await this.resolveTarget(store);
      let plan: ReproducePlan;
      try {
        plan = planReproduction(blake3, storePlanSource(store));
      } catch (error) {
        if (error instanceof PlanError) throw new RoarError(error.message);
        throw error;
      }
      const config = this.loadConfig(project);
      const preview = await this.preview(plan, project);
      if (!this.run) {
        // What is printed is redacted; the rebuild below uses the real remote and argv.
        const shown = this.presenter(this.json ? "json" : "text", config).doc(preview);
        if (this.json) this.printJson({ plan: shown });
        else this.printPreview(shown);
        return 0;
      }
      return await this.reproduce(plan, preview, project, config);
    } finally {
      store.close();
      closeHashPool();
    }
  }

  private async resolveTarget(store: RoarStore): Promise<string> {
    const arg = this.target;
    const asPath = resolve(this.context.cwd, arg);
    if (arg.includes("/") || existsSync(asPath)) {
      if (!existsSync(asPath)) throw new RoarError(`no such file: ${arg}`);
      const h = await hashFile(asPath);
      if (isHashError(h)) throw new RoarError(`cannot read ${arg}: ${h.error}`);
      if (!store.artifact(h.blake3)) {
        throw new RoarError(
          `${arg} is not a tracked artifact (blake3 ${h.blake3.slice(0, 12)}…); run 'roar run' to track it first`,
        );
      }
      return h.blake3;
    }
    if (!/^[0-9a-fA-F]+$/.test(arg)) throw new UsageError(`'${arg}' is neither a file nor a hash prefix`);
    if (arg.length < 8) throw new UsageError("Hash prefix must be at least 8 characters for uniqueness");
    const matches = store.artifactsByPrefix(arg);
    if (matches.length === 0) throw new RoarError(`Artifact not found: ${arg}`);
    if (matches.length > 1) {
      const list = matches.slice(0, 10).map((a) => `  ${a.blake3}  ${a.firstSeenPath ?? ""}`);
      throw new RoarError(`'${arg}' matches ${matches.length} artifacts; give more characters:\n${list.join("\n")}`);
    }
    return (matches[0] as { blake3: string }).blake3;
  }

  private rootJob(plan: ReproducePlan): JobWithIo {
    const root = plan.steps.find((s) => s.outputs.some((o) => o.blake3 === plan.target.blake3));
    return root ?? (plan.steps[plan.steps.length - 1] as JobWithIo);
  }

  private async preview(plan: ReproducePlan, project: Project): Promise<Preview> {
    const root = this.rootJob(plan);
    const git = root.git as { remoteUrl?: string | null; commit?: string | null; patch?: string };
    // absolutePath/fsPath keep names that are not UTF-8 exact (node:path would not).
    const localPaths = plan.externalInputs.map((e) => absolutePath(e.path, project.root));
    const hashed = await hashFiles(localPaths.filter((p) => existsSync(fsPath(p))));
    const externalInputs = plan.externalInputs.map((e, i) => {
      const h = hashed.get(localPaths[i] as string);
      const availability: Availability =
        !h || isHashError(h) ? "missing" : h.blake3 === e.blake3 ? "available" : "differs";
      return { path: e.path, blake3: e.blake3, size: e.size, availability };
    });
    return {
      target: plan.target,
      git: {
        repo: git.remoteUrl ?? findGitRoot(project.root) ?? null,
        commit: git.commit ?? null,
        patch: git.patch ?? null,
      },
      python: planRequirements(plan.steps).python,
      steps: plan.steps.map((s) => {
        const network = networkOf(s.trace);
        return {
          step: stepLabel(s.step, s.kind),
          kind: s.kind,
          uid: s.uid,
          command: s.argv,
          cwd: s.cwd,
          ...(network.length > 0 ? { network } : {}),
        };
      }),
      externalInputs,
      requirements: planRequirements(plan.steps),
    };
  }

  private printPreview(p: Preview): void {
    const s = this.style;
    const list = (title: string, entries: string[]) => {
      this.print(`${s.bold(title)} (${entries.length})`);
      const shown = this.listRequirements ? entries : entries.slice(0, SHOWN);
      for (const e of shown) this.print(`  ${e}`);
      if (shown.length < entries.length)
        this.print(s.dim(`  … and ${entries.length - shown.length} more (--list-requirements)`));
    };
    this.print(`Artifact:   ${p.target.blake3}${p.target.path ? `  (${p.target.path})` : ""}`);
    this.print(`Git repo:   ${p.git.repo ?? "(none recorded)"}`);
    this.print(
      `Git commit: ${p.git.commit ?? "(none)"}${p.git.patch ? ` + recorded uncommitted diff ${p.git.patch.slice(0, 12)}` : ""}`,
    );
    this.print(`Python:     ${p.python ?? "(not used)"}`);
    this.print("");
    this.print(s.bold(`Steps (${p.steps.length}):`));
    for (const step of p.steps) {
      this.print(`  ${step.step.padEnd(5)} ${shellJoin(step.command)}${step.cwd ? s.dim(`  (cwd: ${step.cwd})`) : ""}`);
      if (step.network)
        this.print(s.yellow(`        used the network (${networkSummary(step.network)}): not self-contained`));
    }
    this.print("");
    this.print(s.bold(`External inputs (${p.externalInputs.length}):`));
    for (const e of p.externalInputs) {
      const state =
        e.availability === "available"
          ? s.green("available here")
          : s.red(e.availability === "missing" ? "missing here" : "differs here");
      this.print(`  ${e.path}  ${e.blake3.slice(0, 12)}  ${state}`);
    }
    this.print("");
    list(
      "Pip packages",
      Object.entries(p.requirements.pip).map(([n, v]) => `${n}==${v}`),
    );
    list(
      "Debian packages",
      Object.entries(p.requirements.dpkg).map(([n, v]) => `${n}=${v}`),
    );
    this.print("");
    this.print("To rebuild it in a fresh checkout and verify the result:");
    this.print(`  roar reproduce ${this.target} --run`);
  }

  private async reproduce(
    plan: ReproducePlan,
    preview: Preview,
    project: Project,
    loaded: LoadedConfig,
  ): Promise<number> {
    const text = this.presenter("text", loaded);
    this.shown = text;
    const repo = preview.git.repo;
    const commit = preview.git.commit;
    if (!repo || !commit)
      throw new RoarError("Cannot reproduce: no git repository and commit were recorded for this artifact");
    const repoName = basename(repo).replace(/\.git$/, "") || "repo";
    // Default under the project root (roar's dirty check ignores untracked reproduce/ there).
    const dest = this.dest
      ? resolve(this.context.cwd, this.dest)
      : join(project.root, "reproduce", `${repoName}-${commit.slice(0, 8)}`);
    // The roar project may sit in a subdirectory of the repository: the same place in the clone.
    const gitRoot = findGitRoot(project.root) ?? project.root;
    const projectDir = join(dest, relative(gitRoot, project.root));
    if (existsSync(dest) && readdirSync(dest).length > 0) {
      throw new RoarError(`${dest} is not empty; choose another --dest or remove it`);
    }
    const missing = preview.externalInputs.filter((e) => e.availability !== "available");
    if (missing.length > 0) {
      const lines = missing.map(
        (e) =>
          `  ${text.text(e.path)} (blake3 ${e.blake3.slice(0, 12)}…): ${e.availability === "missing" ? "not found" : "content differs"} here; last seen at ${text.text(e.path)}`,
      );
      throw new RoarError(`external input${missing.length > 1 ? "s" : ""} not available:\n${lines.join("\n")}`);
    }
    if (!this.yes) {
      if (!isInteractive()) throw new RoarError("reproduce --run needs confirmation: re-run with -y");
      if (!(await confirm(`Rebuild ${plan.steps.length} step(s) into ${dest}?`, true))) return 1;
    }
    const started = performance.now();
    this.note(`roar: cloning ${text.text(repo)} @ ${commit.slice(0, 8)} into ${dest}`);
    mkdirSync(dirname(dest), { recursive: true });
    this.sh(["git", "clone", "--quiet", "--no-checkout", repo, dest], this.context.cwd, "git clone");
    appendFileSync(join(dest, ".git/info/exclude"), "\n.roar/\n.roar-venv/\n.roar-logs/\n");
    const checkout = new CheckoutState(
      dest,
      project,
      gitRoot,
      (argv, what) => this.sh(argv, dest, what),
      (m) => this.note(m),
    );
    checkout.moveTo(firstCommit(plan) ?? commit, firstPatch(plan));
    this.warnEnvironment(plan);

    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.context.env)) if (v !== undefined) env[k] = v;
    if (preview.python || Object.keys(preview.requirements.pip).length > 0) {
      const venv = join(dest, ".roar-venv");
      this.createVenv(venv, preview.python, preview.requirements, env);
      env.VIRTUAL_ENV = venv;
      env.PATH = `${join(venv, "bin")}:${env.PATH ?? ""}`;
      delete env.PYTHONHOME;
    }
    if (this.packageSync) await this.syncDebianPackages(preview.requirements.dpkg);

    for (const e of plan.externalInputs) {
      if (isAbsolute(e.path)) continue; // used in place: its digest was checked above
      const target = absolutePath(e.path, projectDir);
      mkdirSync(fsPath(parentDir(target)), { recursive: true });
      copyFileSync(fsPath(absolutePath(e.path, project.root)), fsPath(target));
    }
    const roar = selfCommand();
    mkdirSync(projectDir, { recursive: true });
    this.sh([...roar, "init", "-n"], projectDir, "roar init", env);
    const { config } = loaded;
    const logs = join(dest, ".roar-logs");
    mkdirSync(logs, { recursive: true });
    for (const [i, step] of plan.steps.entries()) {
      const stepEnv = { ...env };
      for (const [k, v] of Object.entries((step.metadata.env ?? {}) as Record<string, string>)) {
        if (v !== REDACTED) stepEnv[k] = v;
        else if (config.env[k] !== undefined) stepEnv[k] = config.env[k] as string;
        else
          this.note(
            `warning: ${k} was recorded redacted and is not set in this project's [env]; the step runs without it`,
          );
      }
      // Each step runs on the code it was recorded with (its commit and uncommitted diff).
      const stepGit = step.git as { commit?: string | null; patch?: string };
      checkout.moveTo(stepGit.commit ?? commit, stepGit.patch ?? null);
      const label = `[step ${i + 1}/${plan.steps.length}] ${stepLabel(step.step, step.kind)} ${shellJoin(text.argv(step.argv))}`;
      this.note(`${label} …`);
      const log = join(logs, `step-${i + 1}.log`);
      const fd = openSync(log, "w");
      const t0 = performance.now();
      const proc = Bun.spawnSync(
        [...roar, step.kind === "build" ? "build" : "run", "--allow-dirty", "-y", ...portableArgv(step.argv)],
        {
          cwd: isAbsolute(step.cwd) ? step.cwd : join(projectDir, step.cwd),
          env: stepEnv,
          stdin: "ignore",
          stdout: fd,
          stderr: fd,
        },
      );
      closeSync(fd);
      const took = formatDuration(performance.now() - t0);
      if (proc.exitCode !== 0) {
        throw new RoarError(`${label} failed with exit ${proc.exitCode} after ${took}; log: ${log}`);
      }
      this.note(`${label} ok (${took})`);
    }

    const expected = expectedOutputs(plan);
    const inClone = (path: string) => absolutePath(path, projectDir);
    const reproduced = await hashAsRecorded(expected.map((e) => ({ path: inClone(e.path), link: e.link })));
    const artifacts: VerifiedArtifact[] = expected.map((e) => {
      const h = reproduced.get(inClone(e.path));
      const digest = h && !isHashError(h) ? h.blake3 : null;
      return {
        path: e.path,
        recorded: e.blake3,
        reproduced: digest,
        state: digest === null ? "missing" : digest === e.blake3 ? "identical" : "differs",
        isTarget: e.blake3 === plan.target.blake3,
      };
    });
    const target = artifacts.find((a) => a.isTarget) ?? artifacts.find((a) => a.path === plan.target.path);
    const count = (state: string) => artifacts.filter((a) => a.state === state).length;
    const summary = `${count("identical")} identical, ${count("differs")} differ, ${count("missing")} missing — target ${target?.state ?? "missing"}`;
    if (this.json) {
      this.printJson(
        this.presenter("json", loaded).doc({
          dest,
          target: { blake3: plan.target.blake3, path: plan.target.path, state: target?.state ?? "missing" },
          artifacts,
          summary,
        }),
      );
    } else {
      const s = this.style;
      this.print(`Reproduced in ${dest} (${formatDuration(performance.now() - started)})`);
      for (const a of text.doc(artifacts)) {
        const state =
          a.state === "identical" ? s.green(a.state) : a.state === "differs" ? s.red(a.state) : s.yellow(a.state);
        this.print(`  ${state.padEnd(9)} ${a.path}${a.isTarget ? s.bold(" (target)") : ""}`);
        if (a.state !== "identical")
          this.print(`            recorded ${a.recorded}\n            got      ${a.reproduced ?? "(no file)"}`);
      }
      this.print(summary);
    }
    return target?.state === "identical" || this.allowDifferences ? 0 : 1;
  }

  private sh(argv: string[], cwd: string, what: string, env?: Record<string, string>): void {
    const r = Bun.spawnSync(argv, { cwd, env, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) {
      const tail = r.stderr.toString().trim().split("\n").slice(-3).join(" / ");
      const err = this.shown ? this.shown.text(tail) : tail;
      throw new RoarError(`${what} failed: ${err || `exit ${r.exitCode}`}`);
    }
  }

  private findPython(version: string | null): { exe: string; exact: boolean } {
    if (!version) return { exe: "python3", exact: false };
    const [major, minor] = version.split(".");
    for (const candidate of [`python${major}.${minor}`, `python${major}`, "python3"]) {
      const r = Bun.spawnSync([candidate, "-c", "import platform; print(platform.python_version())"], {
        stdout: "pipe",
        stderr: "ignore",
      });
      if (r.exitCode !== 0) continue;
      const found = r.stdout.toString().trim();
      if (found === version) return { exe: candidate, exact: true };
      if (found.startsWith(`${major}.${minor}.`)) return { exe: candidate, exact: false };
    }
    return { exe: "python3", exact: false };
  }

  private createVenv(venv: string, version: string | null, req: Requirements, env: Record<string, string>): void {
    const { exe, exact } = this.findPython(version);
    if (version && !exact) {
      this.note(
        `warning: Python ${version} was recorded but is not available here; using ${exe} instead — results may differ`,
      );
    }
    this.sh([exe, "-m", "venv", venv], this.context.cwd, "python -m venv", env);
    const pins = Object.entries(req.pip).map(([n, v]) => `${n}==${v}`);
    if (pins.length === 0) return;
    this.note(`roar: installing ${pins.length} pip package(s) into ${venv}`);
    const pip = [join(venv, "bin/python"), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"];
    const r = Bun.spawnSync([...pip, ...pins], { env, stdout: "pipe", stderr: "pipe" });
    if (r.exitCode === 0) return;
    if (!this.pipAnyVersion) {
      throw new RoarError(
        `pip could not install the pinned packages: ${r.stderr.toString().trim().split("\n").slice(-1)[0] ?? ""}`,
        1,
        "Re-run with --pip-any-version to accept other versions.",
      );
    }
    this.note("warning: pinned versions failed; installing any available versions (--pip-any-version)");
    this.sh([...pip, ...Object.keys(req.pip)], this.context.cwd, "pip install (any version)", env);
  }

  private async syncDebianPackages(dpkg: Record<string, string>): Promise<void> {
    const pins = Object.entries(dpkg).map(([n, v]) => `${n}=${v}`);
    if (pins.length === 0) return;
    if (process.getuid?.() !== 0) {
      this.note(`roar: --package-sync needs root; run yourself: sudo apt-get install -y ${pins.join(" ")}`);
      return;
    }
    if (!this.yes && !(isInteractive() && (await confirm(`apt-get install ${pins.length} Debian package(s)?`, false))))
      return;
    const r = Bun.spawnSync(["apt-get", "install", "-y", "--allow-downgrades", ...pins], {
      stdout: "inherit",
      stderr: "inherit",
    });
    if (r.exitCode !== 0) this.note("warning: apt-get could not install every recorded package version");
  }

  private warnEnvironment(plan: ReproducePlan): void {
    const runtime = (plan.steps[0]?.metadata.runtime ?? {}) as {
      os?: { system?: string; machine?: string };
      gpu?: unknown[];
    };
    if (runtime.os?.system && runtime.os.system !== platform())
      this.note(`warning: recorded on ${runtime.os.system}, reproducing on ${platform()}`);
    if (runtime.os?.machine && runtime.os.machine !== arch())
      this.note(`warning: recorded on ${runtime.os.machine}, reproducing on ${arch()}`);
    if ((runtime.gpu?.length ?? 0) > 0 && !existsSync("/dev/nvidia0"))
      this.note("warning: the recording used a GPU; none is visible here");
  }
}

function firstCommit(plan: ReproducePlan): string | null {
  return ((plan.steps[0]?.git ?? {}) as { commit?: string | null }).commit ?? null;
}

function firstPatch(plan: ReproducePlan): string | null {
  return ((plan.steps[0]?.git ?? {}) as { patch?: string }).patch ?? null;
}

/**
 * The clone's code state: a commit plus, optionally, a recorded uncommitted diff. Moving to another state
 * takes the previous diff back out first; untracked files (outputs of earlier steps, placed inputs) stay.
 */
class CheckoutState {
  private commit: string | null = null;
  private patchFile: string | null = null;
  private patch: string | null = null;

  constructor(
    private readonly dest: string,
    private readonly project: Project,
    private readonly localRepo: string,
    private readonly sh: (argv: string[], what: string) => void,
    private readonly note: (message: string) => void,
  ) {}

  /** A commit recorded locally but never pushed is fetched from the user's repository (read-only). */
  private ensureCommit(commit: string): void {
    const has = Bun.spawnSync(["git", "cat-file", "-e", `${commit}^{commit}`], { cwd: this.dest }).exitCode === 0;
    if (has) return;
    this.note(`roar: commit ${commit.slice(0, 12)} is not on the recorded remote; fetching it from ${this.localRepo}`);
    this.sh(["git", "fetch", "--quiet", this.localRepo, commit], `git fetch ${commit.slice(0, 12)}`);
  }

  moveTo(commit: string, patch: string | null): void {
    if (commit === this.commit && patch === this.patch) return;
    if (this.patchFile) this.sh(["git", "apply", "-R", "--binary", this.patchFile], "git apply -R (previous diff)");
    this.ensureCommit(commit);
    this.sh(["git", "checkout", "--quiet", "--force", "--detach", commit], `git checkout ${commit.slice(0, 12)}`);
    this.commit = commit;
    this.patch = patch;
    this.patchFile = null;
    if (!patch) return;
    const store = RoarStore.open(this.project);
    const bytes = store.blob(patch);
    store.close();
    if (!bytes) throw new RoarError(`the recorded diff ${patch.slice(0, 12)} is missing from the database`);
    const file = join(tmpdir(), `roar-patch-${patch.slice(0, 16)}.diff`);
    writeFileSync(file, bytes);
    this.sh(["git", "apply", "--binary", "--whitespace=nowarn", file], "git apply (recorded diff)");
    this.patchFile = file;
  }
}
