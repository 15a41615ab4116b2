/**
 * `roar get https://…` against a real Bun.serve HTTPS server on loopback (self-signed certificate trusted through
 * NODE_EXTRA_CA_CERTS): temp file + rename, --hash, dropped connections (resumed by range, or no file left),
 * credentials kept out of output and the store.
 */

import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GetJson } from "../../src/schema/transfer.ts";
import { commitAll, hermeticEnv, ROAR_BIN, roar, roarJson, tempRepo } from "../helpers/cli.ts";
import { type HttpsTestServer, startHttpsServer } from "../helpers/https-server.ts";
import { b3sum } from "../helpers/reference.ts";

let server: HttpsTestServer;
const env = () => ({ NODE_EXTRA_CA_CERTS: server.caFile });

/** Deterministic bytes that are not all alike (a dropped body must not look complete by accident). */
function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function repo(): Promise<string> {
  const dir = tempRepo();
  expect((await roar(["init", "-y"], { cwd: dir })).code).toBe(0);
  commitAll(dir, "roar init");
  return dir;
}

/** Files in `dir` (hidden ones too): a temporary `.name.roar-….part` left behind would show here. */
function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

beforeAll(() => {
  server = startHttpsServer();
});
afterAll(() => server.stop());

describe("roar get https://", () => {
  test("downloads through a temp file, records a get job, and a re-get of the same bytes is a no-op", async () => {
    const bytes = pattern(300_000, 1);
    server.files.set("/data/weights.bin", { bytes });
    const dir = await repo();
    const url = `${server.origin}/data/weights.bin`;
    const first = await roarJson<GetJson>(["get", url, "models/", "--json", "-m", "weights"], { cwd: dir, env: env() });
    expect(first.files).toEqual([
      { url, path: "models/weights.bin", blake3: first.files[0]?.blake3 ?? "", size: 300_000, state: "downloaded" },
    ]);
    const expected = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    expect(new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, "models/weights.bin"))).digest("hex")).toBe(
      expected,
    );
    expect(first.files[0]?.blake3).toBe(b3sum(join(dir, "models/weights.bin")));
    expect(entries(join(dir, "models"))).toEqual(["weights.bin"]);
    expect(first.job?.label).toBe("@1");

    const show = await roarJson<{
      kind: string;
      inputs: unknown[];
      outputs: { path: string; blake3: string }[];
      transfer: Record<string, unknown>;
    }>(["show", "@1", "--json"], { cwd: dir });
    expect(show.kind).toBe("get");
    expect(show.transfer).toMatchObject({ source: url, message: "weights" });
    expect(show.inputs).toEqual([]);
    expect(show.outputs.map((o) => [o.path, o.blake3])).toEqual([["models/weights.bin", first.files[0]?.blake3 ?? ""]]);

    const again = await roar(["get", url, "models/"], { cwd: dir, env: env() });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Already up to date: 1 file");
    expect(again.stdout).toContain("Nothing recorded");
    const log = await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: dir });
    expect(log.jobs).toHaveLength(1);
    // Undoing the get removes the file it created.
    const pop = await roarJson<{ deleted: string[] }>(["pop", "-y", "--json"], { cwd: dir });
    expect(pop.deleted).toEqual(["models/weights.bin"]);
    expect(existsSync(join(dir, "models/weights.bin"))).toBe(false);
  }, 60_000);

  test("--hash mismatch writes nothing and exits non-zero; the right hash lands the file", async () => {
    const bytes = pattern(50_000, 2);
    server.files.set("/h.bin", { bytes });
    const dir = await repo();
    const wrong = "0".repeat(64);
    const r = await roar(["get", `${server.origin}/h.bin`, "out/h.bin", "--hash", wrong], { cwd: dir, env: env() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("Hash mismatch");
    expect(existsSync(join(dir, "out"))).toBe(false);
    const bad = await roar(["get", `${server.origin}/h.bin`, "--hash", "abc"], { cwd: dir, env: env() });
    expect(bad.code).toBe(2);

    writeFileSync(join(dir, "ref.bin"), bytes);
    const right = b3sum(join(dir, "ref.bin"));
    const ok = await roar(["get", `${server.origin}/h.bin`, "out/h.bin", "--hash", right], { cwd: dir, env: env() });
    expect(ok.code).toBe(0);
    expect(b3sum(join(dir, "out/h.bin"))).toBe(right);
  }, 60_000);

  test("a connection dropped mid-download resumes with a Range request", async () => {
    const bytes = pattern(1_000_000, 3);
    server.files.set("/resume.bin", { bytes, dropAfter: { bytes: 400_000, times: 1 } });
    const dir = await repo();
    const before = server.requests.length;
    const doc = await roarJson<GetJson>(["get", `${server.origin}/resume.bin`, "--json"], { cwd: dir, env: env() });
    const mine = server.requests.slice(before).filter((q) => q.path === "/resume.bin");
    expect(mine.length).toBe(2);
    expect(mine[0]?.range).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(mine[1]?.range ?? "")?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(400_000);
    writeFileSync(join(dir, "ref.bin"), bytes);
    expect(b3sum(join(dir, "resume.bin"))).toBe(b3sum(join(dir, "ref.bin")));
    expect(doc.files[0]?.blake3).toBe(b3sum(join(dir, "ref.bin")));
    expect(entries(dir).filter((n) => n.includes("roar-"))).toEqual([]);
  }, 60_000);

  test("a server that keeps dropping the connection leaves no partial file and a non-zero exit", async () => {
    const bytes = pattern(500_000, 4);
    server.files.set("/flaky.bin", { bytes, ranges: false, dropAfter: { bytes: 100_000, times: 1000 } });
    const dir = await repo();
    const r = await roar(["get", `${server.origin}/flaky.bin`, "dl/"], { cwd: dir, env: env() });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("connection lost after");
    expect(existsSync(join(dir, "dl"))).toBe(false);
    expect(entries(dir).filter((n) => n.includes("flaky"))).toEqual([]);
    const log = await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: dir });
    expect(log.jobs).toHaveLength(0);
  }, 60_000);

  test("credentials in the URL reach the server but never the output or the store", async () => {
    const bytes = pattern(10_000, 5);
    const password = "hunter2-very-secret";
    const token = "tok_4c1e7f00d2b94a1b";
    server.files.set("/private.bin", {
      bytes,
      authorization: `Basic ${Buffer.from(`alice:${password}`).toString("base64")}`,
    });
    const dir = await repo();
    const origin = server.origin.replace("https://", `https://alice:${password}@`);
    const url = `${origin}/private.bin?version=3&X-Amz-Signature=${token}&access_token=${token}`;
    const r = await roar(["get", url, "private.bin", "-m", "private"], { cwd: dir, env: env() });
    expect(r.code).toBe(0);
    const last = server.requests[server.requests.length - 1];
    expect(last?.authorization).toContain("Basic ");
    expect(last?.search).toContain(token);
    const outputs = [r.stdout, r.stderr];
    for (const args of [["show", "@1"], ["show", "@1", "--json"], ["log"], ["dag", "--json"]]) {
      const q = await roar(args, { cwd: dir });
      outputs.push(q.stdout, q.stderr);
    }
    for (const text of outputs) {
      expect(text).not.toContain(password);
      expect(text).not.toContain(token);
    }
    expect(outputs.join("\n")).toContain(`${server.origin}/private.bin?version=3`);
    const db = new Database(join(dir, ".roar/roar.db"), { readonly: true });
    const dump = JSON.stringify([
      db.query("SELECT argv, metadata FROM jobs").all(),
      db.query("SELECT path FROM output_set_rows").all(),
      db.query("SELECT path FROM input_set_rows").all(),
      db.query("SELECT first_seen_path FROM artifacts").all(),
    ]);
    db.close();
    expect(dump).not.toContain(password);
    expect(dump).not.toContain(token);
    expect(dump).toContain("private.bin");
  }, 60_000);

  test("Ctrl-C during a download removes the temporary file and the directories it made", async () => {
    server.files.set("/stall.bin", { bytes: pattern(2_000_000, 6), stallAfter: 300_000 });
    const dir = await repo();
    const proc = Bun.spawn([ROAR_BIN, "get", `${server.origin}/stall.bin`, "deep/er/"], {
      cwd: dir,
      env: hermeticEnv(join(dir, ".test-home"), env()),
      stdout: "pipe",
      stderr: "pipe",
    });
    // Wait until the temporary file has received the first bytes.
    const target = join(dir, "deep/er");
    for (let i = 0; i < 200; i++) {
      const part = entries(target).find((n) => n.endsWith(".part"));
      if (part && statSync(join(target, part)).size > 0) break;
      await Bun.sleep(50);
    }
    expect(entries(target).some((n) => n.endsWith(".part"))).toBe(true);
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    expect(existsSync(join(dir, "deep"))).toBe(false);
    const log = await roarJson<{ jobs: unknown[] }>(["log", "--json"], { cwd: dir });
    expect(log.jobs).toHaveLength(0);
  }, 60_000);

  test("a progress bar is drawn on a terminal only", async () => {
    server.files.set("/bar.bin", { bytes: pattern(200_000, 7) });
    const dir = await repo();
    const command = `${ROAR_BIN} get ${server.origin}/bar.bin on-tty.bin`;
    // Asynchronously: this process serves the download.
    const tty = Bun.spawn(["script", "-qec", command, "/dev/null"], {
      cwd: dir,
      env: hermeticEnv(join(dir, ".test-home"), env()),
      stdout: "pipe",
      stdin: "ignore",
    });
    const screen = await new Response(tty.stdout).text();
    expect({ code: await tty.exited, screen }).toMatchObject({ code: 0 });
    // The size of an HTTPS download is unknown up front: bytes and rate, no bar.
    expect(screen).toMatch(/\r\x1b\[Kget [0-9.]+ [KM]?B .*\/s\r\x1b\[KDownloaded 1 file/);
    const piped = await roar(["get", `${server.origin}/bar.bin`, "piped.bin"], { cwd: dir, env: env() });
    expect(piped.stderr).toBe("");
    expect(piped.stdout).not.toContain("\x1b");
  }, 60_000);

  test.skipIf(process.getuid?.() !== 0)(
    "a full disk: one line, nothing left behind, not retried",
    async () => {
      server.files.set("/large.bin", { bytes: pattern(3_000_000, 8) });
      const dir = await repo();
      const small = join(dir, "small");
      mkdirSync(small);
      const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small], { stderr: "pipe" });
      if (mount.exitCode !== 0) throw new Error(`mount tmpfs: ${mount.stderr.toString()}`);
      try {
        const before = server.requests.length;
        const r = await roar(["get", `${server.origin}/large.bin`, "small/"], { cwd: dir, env: env() });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^roar: cannot write .*: disk full\n$/);
        expect(entries(small)).toEqual([]);
        expect(server.requests.length - before).toBe(1);
      } finally {
        Bun.spawnSync(["umount", small]);
      }
    },
    60_000,
  );

  test("errors name the URL without its credentials; plain http is refused", async () => {
    const dir = await repo();
    const secret = "s3cr3t-pass-word";
    const r = await roar(["get", `${server.origin.replace("https://", `https://bob:${secret}@`)}/missing.bin`], {
      cwd: dir,
      env: env(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("HTTP 404");
    expect(r.stderr).not.toContain(secret);
    const http = await roar(["get", "http://127.0.0.1:1/x"], { cwd: dir, env: env() });
    expect(http.code).toBe(2);
    expect(http.stderr).toContain("https://");
  }, 60_000);
});
