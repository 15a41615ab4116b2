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

test("roar tracer status --json reports both backends usable here, and auto picks ptrace", async () => {
  const repo = tempRepo();
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.schemaVersion).toBe(1);
  expect(status.default).toBe("auto");
  const byName = Object.fromEntries(status.backends.map((b) => [b.name, b]));
  expect(byName.ptrace?.usable).toBe(true);
  expect(byName.preload?.usable).toBe(true);
  expect(byName.preload?.library).toMatch(/libroar_preload\.so$/);
  expect(status.auto).toBe("ptrace");
});

test("roar tracer set-default validates and writes tracer.default", async () => {
  const repo = tempRepo();
  await roar(["init", "-y"], { cwd: repo });
  const bad = await roar(["tracer", "set-default", "ebpf"], { cwd: repo });
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("auto, ptrace, preload");
  const ok = await roar(["tracer", "set-default", "preload"], { cwd: repo });
  expect(ok.code).toBe(0);
  expect(readFileSync(join(repo, ".roar/config.toml"), "utf8")).toContain('default = "preload"');
  const status = await roarJson<Status>(["tracer", "status", "--json"], { cwd: repo });
  expect(status.default).toBe("preload");
});
