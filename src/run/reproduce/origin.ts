/**
 * Where a reproduction's plan comes from — this project's history, or the registry for an artifact the store does
 * not know — and what this machine offers for it: the bytes of external inputs, the repository view to check
 * tracked inputs against, where the project sits in the repository. Everything after this (locating inputs, the
 * preview, the rebuild and its verification) is the same for both.
 */
import { join, relative } from "node:path";
import { PlanError, planReproduction, type ReproducePlan } from "../../core/reproduce.ts";
import type { RegistryPlan } from "../../registry/plan-source.ts";
import { RoarError } from "../../shared/errors.ts";
import { storePlanSource } from "../../store/job-sources.ts";
import type { Project } from "../../store/project.ts";
import type { RoarStore } from "../../store/store.ts";
import { type LocalBytes, type RepoView, storeBytes, workingTreeBytes } from "./inputs.ts";

export interface PlanOrigin {
  /** "local", or the registry's URL. */
  origin: string;
  plan: ReproducePlan;
  bytes: LocalBytes;
  /** The repository tracked inputs are checked in (null: none here holds the recorded commits). */
  repo: RepoView | null;
  /** The project's directory in the repository, '' or ending in '/'. */
  projectPrefix: string;
  /** Where relative remotes resolve and commits missing from the remote are fetched from. */
  localRepo: string;
  /** The repository to clone when the jobs recorded no remote. */
  repoFallback: string | null;
  /** The directory the default destination (./reproduce/…) goes under. */
  root: string;
  notes: string[];
}

function plan(blake3: string, source: Parameters<typeof planReproduction>[1]): ReproducePlan {
  try {
    return planReproduction(blake3, source);
  } catch (error) {
    if (error instanceof PlanError) throw new RoarError(error.message);
    throw error;
  }
}

export function localOrigin(project: Project, store: RoarStore, gitRoot: string | null, blake3: string): PlanOrigin {
  const prefix = gitRoot && project.root !== gitRoot ? `${relative(gitRoot, project.root)}/` : "";
  return {
    origin: "local",
    plan: plan(blake3, storePlanSource(store)),
    bytes: storeBytes(project, store),
    repo: gitRoot ? { gitRoot, prefix } : null,
    projectPrefix: prefix,
    localRepo: gitRoot ?? project.root,
    repoFallback: gitRoot,
    root: project.root,
    notes: [],
  };
}

/** Whether the repository at `gitRoot` has every commit. */
export function hasCommits(gitRoot: string, commits: readonly string[]): boolean {
  return commits.every(
    (c) => Bun.spawnSync(["git", "cat-file", "-e", `${c}^{commit}`], { cwd: gitRoot, stderr: "ignore" }).exitCode === 0,
  );
}

export function registryOrigin(
  registryUrl: string,
  reg: RegistryPlan,
  cwd: string,
  gitRoot: string | null,
  local: { project: Project; store: RoarStore } | null,
): PlanOrigin {
  const p = plan(reg.blake3, reg.source);
  const prefix = reg.projectDir ? `${reg.projectDir.replace(/\/+$/, "")}/` : "";
  const root = local?.project.root ?? (gitRoot ? join(gitRoot, prefix) : cwd).replace(/\/+$/, "");
  const commits = [...new Set(p.steps.map((s) => s.git.commit).filter((c) => !!c))];
  const usable = gitRoot !== null && hasCommits(gitRoot, commits as string[]);
  const notes = p.steps.flatMap((s) => reg.notes.get(s.uid) ?? []);
  return {
    origin: registryUrl,
    plan: p,
    bytes: local ? storeBytes(local.project, local.store) : workingTreeBytes(root),
    repo: usable ? { gitRoot: gitRoot as string, prefix } : null,
    projectPrefix: prefix,
    localRepo: gitRoot ?? cwd,
    repoFallback: reg.gitRepo,
    root,
    notes,
  };
}
