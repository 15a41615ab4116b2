/**
 * Client-side fixtures for the registration tests: a project whose git remote is a local bare repository, a small
 * Python pipeline recorded under the real `roar run`, and a registry with an enrolled user.
 */
import { join } from "node:path";
import { autoChoice } from "../../src/trace/select.ts";
import { commitAll, git, roar, tempDir, tempRepo } from "../helpers/cli.ts";
import { makeKey, type Registry, type SshKey, startRegistry } from "../helpers/glaas.ts";

export const tracerAvailable = autoChoice() !== null;

export const SCRIPTS: Record<string, string> = {
  "preprocess.py": `import sys
rows = open(sys.argv[1]).read().split()
open(sys.argv[2], "w").write("\\n".join(str(int(r) * 2) for r in rows))
`,
  "train.py": `import sys
xs = [int(x) for x in open(sys.argv[1]).read().split()]
open(sys.argv[2], "w").write("model:%d" % sum(xs))
`,
  "evaluate.py": `import sys
open(sys.argv[3], "w").write("score:" + open(sys.argv[1]).read() + "/" + open(sys.argv[2]).read())
`,
};

/** A clone with a local bare repository as origin, roar initialised, scripts and data committed and pushed. */
export async function projectWithOrigin(files: Record<string, string> = {}): Promise<{ repo: string; bare: string }> {
  const bare = join(tempDir("roar-bare-"), "origin.git");
  Bun.spawnSync(["git", "init", "-q", "--bare", "-b", "main", bare]);
  const repo = tempRepo({ ...SCRIPTS, "data.txt": "1 2 3 4\n", ...files });
  git(repo, "remote", "add", "origin", bare);
  const init = await roar(["init", "-y"], { cwd: repo });
  if (init.code !== 0) throw new Error(`roar init failed: ${init.stderr}`);
  commitAll(repo, "pipeline");
  git(repo, "push", "-q", "origin", "main");
  return { repo, bare };
}

export async function run(repo: string, argv: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await roar(["run", "-q", ...argv], { cwd: repo, env });
  if (r.code !== 0) throw new Error(`roar run ${argv.join(" ")} failed: ${r.stderr}`);
}

/** preprocess → train → evaluate; returns the final artifact's path. */
export async function threeSteps(repo: string): Promise<string> {
  await run(repo, ["python3", "preprocess.py", "data.txt", "features.txt"]);
  await run(repo, ["python3", "train.py", "features.txt", "model.txt"]);
  await run(repo, ["python3", "evaluate.py", "model.txt", "data.txt", "score.txt"]);
  return join(repo, "score.txt");
}

export interface EnrolledRegistry {
  reg: Registry;
  db: string;
  alice: SshKey;
  /** The environment a client needs: the registry URL, alice's key. */
  asAlice: Record<string, string>;
  /** The registry URL only (no key anywhere: requests go anonymous). */
  anonymous: Record<string, string>;
}

/** `roar server add-key alice`, then the server on that database. */
export async function enrolledRegistry(db: string, env: Record<string, string> = {}): Promise<EnrolledRegistry> {
  const alice = makeKey("ed25519");
  const added = await roar(["server", "add-key", "alice", alice.publicPath, "--db", db], { cwd: tempDir() });
  if (added.code !== 0) throw new Error(`add-key failed: ${added.stderr}`);
  const reg = await startRegistry({ GLAAS_DATABASE_URL: db, ...env });
  return {
    reg,
    db,
    alice,
    asAlice: { GLAAS_URL: reg.url, ROAR_SSH_KEY: alice.privatePath },
    anonymous: { GLAAS_URL: reg.url },
  };
}
