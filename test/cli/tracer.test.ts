import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roar, roarJson, tempRepo } from "../helpers/cli.ts";

interface Status {
  schemaVersion: number;
  default: string;
  auto: string | null;
  backends: { name: string; usable: boolean; reason: string; library: string | null }[];
}

test("roar tracer status --json reports all three backends usable here, and auto picks hybrid", async () => {
  const repo = tempRepo();
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.schemaVersion).toBe(1);
  expect(status.default).toBe("auto");
  const byName = Object.fromEntries(status.backends.map((b) => [b.name, b]));
  expect(byName.ptrace?.usable).toBe(true);
  expect(byName.preload?.usable).toBe(true);
  expect(byName.preload?.library).toMatch(/libroar_preload\.so$/);
  expect(byName.hybrid?.usable).toBe(true);
  expect(byName.hybrid?.library).toMatch(/libroar_ptrace\.so$/);
  expect(status.auto).toBe("hybrid");
});

test("roar tracer status (text) lists hybrid and says auto picks it", async () => {
  const repo = tempRepo();
  const out = await roar(["tracer", "status"], { cwd: repo });
  expect(out.code).toBe(0);
  expect(out.stdout).toContain("picks hybrid");
  expect(out.stdout).toMatch(/hybrid\s+usable/);
});

test("roar tracer set-default validates and writes tracer.default", async () => {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  const bad = await roar(["tracer", "set-default", "ebpf"], { cwd: repo });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("auto, hybrid, ptrace, preload");
  const ok = await roar(["tracer", "set-default", "preload"], { cwd: repo });
  expect(ok.code).toBe(0);
  expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toContain('default = "preload"');
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.default).toBe("preload");
});
