import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { packageReadPaths, usedPythonPackages } from "../../src/capture/python.ts";
import type { TraceEvent } from "../../src/schema/events.ts";
import { tempDir } from "../helpers/cli.ts";

function dist(site: string, name: string, version: string, files: string[]): void {
  const info = join(site, `${name}-${version}.dist-info`);
  mkdirSync(info, { recursive: true });
  writeFileSync(join(info, "METADATA"), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
  writeFileSync(join(info, "RECORD"), files.map((f) => `${f},,`).join("\n"));
  for (const f of files) {
    mkdirSync(join(site, f, ".."), { recursive: true });
    writeFileSync(join(site, f), "");
  }
}

test("namespace packages map each file read to its own distribution", () => {
  const site = join(tempDir(), "lib/python3.11/site-packages");
  dist(site, "nsp-a", "1.0", ["nsp/a/__init__.py"]);
  dist(site, "nsp-b", "2.0", ["nsp/b/__init__.py"]);
  const used = usedPythonPackages([join(site, "nsp/a/__init__.py"), join(site, "nsp/b/__init__.py")]);
  expect(used.pip).toEqual({ "nsp-a": "1.0", "nsp-b": "2.0" });
});

test("start-up reads are skipped until the script opens, however its path is spelt", () => {
  let seq = 0;
  const ev = (e: Record<string, unknown>) => ({ pid: 7, seq: ++seq, ts: seq, ...e }) as TraceEvent;
  const open = (path: string) => ev({ kind: "open", path, flags: 0, fd: 3, stat: null });
  const events: TraceEvent[] = [
    ev({ kind: "proc_start", ppid: 1, exe: "/v/bin/python3", argv: ["python3", "../use.py"], cwd: "/repo/sub" }),
    open("/v/site-packages/_distutils_hack/__init__.py"),
    open("/repo/use.py"),
    open("/v/site-packages/numpy/__init__.py"),
  ];
  expect(packageReadPaths(events)).toEqual(["/v/site-packages/numpy/__init__.py"]);
  // A script never seen opened: everything the process read counts.
  const unmatched = events.filter((e) => !(e.kind === "open" && e.path === "/repo/use.py"));
  expect(packageReadPaths(unmatched).sort()).toEqual([
    "/v/site-packages/_distutils_hack/__init__.py",
    "/v/site-packages/numpy/__init__.py",
  ]);
});
