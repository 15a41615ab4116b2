import { describe, expect, test } from "bun:test";
import packageJson from "../../package.json" with { type: "json" };
import { roar, tempDir } from "../helpers/cli.ts";

describe("the CLI shell", () => {
  test("--version prints the version", async () => {
    const r = await roar(["--version"], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`roar, version ${packageJson.version}`);
  });

  test("--help groups commands by section", async () => {
    const r = await roar(["--help"], { cwd: tempDir() });
    expect(r.code).toBe(0);
    const start = r.stdout.indexOf("Start Here:");
    const setup = r.stdout.indexOf("Setup and Admin:");
    expect(start).toBeGreaterThan(0);
    expect(setup).toBeGreaterThan(start);
    expect(r.stdout.slice(start, setup)).toContain("init");
    expect(r.stdout.slice(setup)).toContain("config set");
    expect(r.stdout).not.toContain("\x1b[");
  });

  test("bare roar prints help and exits 0; a command's --help shows its usage", async () => {
    expect((await roar([], { cwd: tempDir() })).stdout).toContain("Usage: roar <command>");
    const r = await roar(["config", "set", "--help"], { cwd: tempDir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("roar config set");
  });

  test("an unknown command gets one line on stderr with the closest command, exit 1", async () => {
    const r = await roar(["int"], { cwd: tempDir() });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("unknown command 'int'");
    expect(r.stderr).toContain("did you mean 'roar init'");
  });

  test("usage errors go to stderr with exit code 2", async () => {
    const r = await roar(["config", "set", "output.quiet"], { cwd: tempDir() });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("no colour when piped; FORCE_COLOR colours a pipe, but NO_COLOR and --no-color win over it", async () => {
    const dir = tempDir();
    const piped = await roar(["--help"], { cwd: dir });
    expect(piped.stdout).not.toContain("\x1b[");
    const forced = await roar(["--help"], { cwd: dir, env: { FORCE_COLOR: "1" } });
    expect(forced.stdout).toContain("\x1b[");
    const noColor = await roar(["--help"], { cwd: dir, env: { FORCE_COLOR: "1", NO_COLOR: "1" } });
    expect(noColor.stdout).not.toContain("\x1b[");
    const flag = await roar(["--no-color", "--help"], { cwd: dir, env: { FORCE_COLOR: "1" } });
    expect(flag.stdout).not.toContain("\x1b[");
  });

  test("the user's .env and bunfig.toml in the working directory do not affect roar", async () => {
    const dir = tempDir();
    await Bun.write(`${dir}/.env`, "ROAR_OUTPUT__QUIET=not-a-bool\n");
    await Bun.write(`${dir}/bunfig.toml`, 'preload = ["./boom.ts"]\n');
    await Bun.write(`${dir}/boom.ts`, 'throw new Error("user bunfig was loaded");\n');
    const r = await roar(["config", "get", "output.quiet"], { cwd: dir });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("output.quiet: false");
  });
});
