import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { commitAll, roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";

describe("roar init", () => {
  test("creates .roar with a database, a commented config listing every key, and an active session", async () => {
    const repo = tempRepo();
    const r = await roar(["init", "-y"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Initialized roar in");
    expect(existsSync(join(repo, ".roar/roar.db"))).toBe(true);
    const config = readFileSync(join(repo, ".roar/config.toml"), "utf8");
    // Every key is present, commented out, so the file parses to empty tables only.
    const leaves = (t: object): unknown[] =>
      Object.values(t).flatMap((v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? leaves(v) : [v]));
    expect(leaves(parse(config))).toEqual([]);
    const list = await roarJson<{ keys: { key: string }[] }>(["config", "list", "--json"], { cwd: repo });
    for (const { key } of list.keys) expect(config).toContain(`# ${key.slice(key.lastIndexOf(".") + 1)} = `);
    expect(readFileSync(join(repo, ".gitignore"), "utf8").split("\n")).toContain(".roar/");
  });

  test("again: refuses without --force; --force keeps the config, the database and its history", async () => {
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    commitAll(repo, "ignore .roar");
    await roar(["config", "set", "output.quiet", "true"], { cwd: repo });
    expect((await roar(["run", "sh", "-c", "echo a > a.txt"], { cwd: repo })).code).toBe(0);
    const before = readFileSync(join(repo, ".roar/config.toml"), "utf8");
    const dbBefore = readFileSync(join(repo, ".roar/roar.db"));

    const r = await roar(["init", "-y"], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("already initialized");
    expect(r.stderr).toContain("--force");
    expect(readFileSync(join(repo, ".roar/roar.db"))).toEqual(dbBefore);

    // From a subdirectory too: no nested .roar/ appears.
    mkdirSync(join(repo, "sub"));
    const nested = await roar(["init", "-n"], { cwd: join(repo, "sub") });
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain(`already initialized in ${repo}`);
    expect(existsSync(join(repo, "sub/.roar"))).toBe(false);

    const forced = await roar(["init", "--force", "-y"], { cwd: repo });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("kept, with its history");
    expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toBe(before);
    expect(readFileSync(join(repo, ".gitignore"), "utf8").match(/^\.roar\/$/gm)?.length).toBe(1);
    const log = await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: repo });
    expect(log.jobs).toHaveLength(1);

    // --force restores a missing config without touching the database.
    rmSync(join(repo, ".roar/config.toml"));
    expect((await roar(["init", "--force", "-n"], { cwd: repo })).code).toBe(0);
    expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toContain("# quiet = ");
    expect((await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: repo })).jobs).toHaveLength(1);
  });

  test("gitignore: -n never touches it, no TTY leaves it alone, an exact existing line is kept", async () => {
    const a = tempRepo();
    const original = readFileSync(join(a, ".gitignore"), "utf8");
    expect((await roar(["init", "-n"], { cwd: a })).code).toBe(0);
    expect(readFileSync(join(a, ".gitignore"), "utf8")).toBe(original);

    const b = tempRepo();
    const r = await roar(["init"], { cwd: b });
    expect(r.stdout).toContain("not a terminal");
    expect(readFileSync(join(b, ".gitignore"), "utf8")).toBe(original);

    const c = tempRepo({ ".gitignore": "foo.roar.bak\n/.roar/\n" });
    await roar(["init", "-y"], { cwd: c });
    expect(readFileSync(join(c, ".gitignore"), "utf8")).toBe("foo.roar.bak\n/.roar/\n");

    // A substring such as "foo.roar.bak" does not count as excluding .roar/.
    const d = tempRepo({ ".gitignore": "foo.roar.bak" });
    await roar(["init", "-y"], { cwd: d });
    expect(readFileSync(join(d, ".gitignore"), "utf8")).toBe("foo.roar.bak\n.roar/\n");
  });

  test("creates .gitignore when the repository has none", async () => {
    const repo = tempRepo();
    rmSync(join(repo, ".gitignore"));
    await roar(["init", "-y"], { cwd: repo });
    expect(readFileSync(join(repo, ".gitignore"), "utf8")).toBe(".roar/\n");
  });

  test("works outside a git repository with a warning", async () => {
    const dir = tempDir();
    const r = await roar(["init"], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("not inside a git repository");
    expect(existsSync(join(dir, ".roar/roar.db"))).toBe(true);
  });

  test("other commands find .roar from a subdirectory, and stop at the git top level", async () => {
    const repo = tempRepo();
    await roar(["init", "-y"], { cwd: repo });
    mkdirSync(join(repo, "src/deep"), { recursive: true });
    const r = await roar(["env", "set", "A", "1"], { cwd: join(repo, "src/deep") });
    expect(r.code).toBe(0);
    expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toContain('A = "1"');

    // A nested repository without .roar must not use the outer project's .roar.
    const outer = tempDir();
    await roar(["init"], { cwd: outer });
    const inner = join(outer, "inner");
    mkdirSync(inner);
    Bun.spawnSync(["git", "init", "-q"], { cwd: inner });
    const nested = await roar(["env", "list"], { cwd: inner });
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain("roar is not initialized here — run 'roar init'");
  });

  test("not initialised: one line on stderr, exit 1, stdout empty", async () => {
    const repo = tempRepo();
    for (const args of [
      ["env", "list"],
      ["env", "set", "A", "1"],
      ["config", "set", "output.quiet", "true"],
    ]) {
      const r = await roar(args, { cwd: repo });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim()).toBe("roar: roar is not initialized here — run 'roar init'");
    }
    expect(existsSync(join(repo, ".roar"))).toBe(false);
  });

  test("a corrupt, foreign or newer roar.db is refused without being overwritten", async () => {
    const repo = tempRepo();
    await roar(["init"], { cwd: repo });
    const db = join(repo, ".roar/roar.db");

    writeFileSync(db, "this is not a database at all, just text");
    let r = await roar(["init", "--force"], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(".roar/roar.db");
    expect(r.stderr).toContain("not an SQLite database");
    expect(r.stderr).not.toContain("roar init");
    expect(readFileSync(db, "utf8")).toBe("this is not a database at all, just text");

    const { Database } = await import("bun:sqlite");
    rmSync(db);
    const foreign = new Database(db);
    foreign.exec("CREATE TABLE people (name TEXT)");
    foreign.close();
    r = await roar(["init", "--force"], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("not roar's");

    rmSync(db);
    expect((await roar(["init", "--force"], { cwd: repo })).code).toBe(0); // a missing database is created again
    const newer = new Database(db);
    newer.exec("PRAGMA user_version = 999");
    newer.close();
    r = await roar(["init", "--force"], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("newer roar");
    expect(r.stderr).toContain(".roar/roar.db");
  });
});
