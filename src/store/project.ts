import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";

/** Where a roar project lives: the directory holding `.roar/`. */
export interface Project {
  root: string;
  roarDir: string;
  dbPath: string;
  configPath: string;
}

export function projectAt(root: string): Project {
  const roarDir = join(root, ".roar");
  return { root, roarDir, dbPath: join(roarDir, "roar.db"), configPath: join(roarDir, "config.toml") };
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Walks up from `cwd` to the git top level (the first directory holding `.git`), or to `/` outside git, and
 * returns the first directory that holds `.roar/`. No git process is spawned: this runs on every command.
 */
export function findProject(cwd: string): Project | undefined {
  let dir = cwd;
  for (;;) {
    if (isDir(join(dir, ".roar"))) return projectAt(dir);
    if (existsSync(join(dir, ".git"))) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The git top level containing `cwd`, found the same way (no spawn); undefined outside git. */
export function findGitRoot(cwd: string): string | undefined {
  let dir = cwd;
  for (;;) {
    if (existsSync(join(dir, ".git"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
