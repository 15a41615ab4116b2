/**
 * `gs://` with an OAuth access token instead of an HMAC key: requests carry `Authorization: Bearer`, no SigV4
 * headers, and object metadata travels as `x-goog-meta-*` both ways. Against a small Bun.serve stand-in for GCS's
 * XML API on loopback (PUT/HEAD/GET of one bucket, token checked), started by the test.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { commitAll, roar, roarJson, tempRepo } from "../helpers/cli.ts";
import { b3sum } from "../helpers/reference.ts";

const TOKEN = "ya29.test-token-0123456789abcdef";
const objects = new Map<string, { bytes: Uint8Array; meta: Record<string, string> }>();
const seen: { method: string; authorization: string | null; amzHeaders: string[] }[] = [];
let server: ReturnType<typeof Bun.serve>;

beforeAll(() => {
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({
        method: req.method,
        authorization: req.headers.get("authorization"),
        amzHeaders: [...req.headers.keys()].filter((k) => k.startsWith("x-amz-")),
      });
      if (req.headers.get("authorization") !== `Bearer ${TOKEN}`) return new Response("", { status: 401 });
      const key = url.pathname;
      if (req.method === "PUT") {
        const meta: Record<string, string> = {};
        for (const [k, v] of req.headers) if (k.startsWith("x-goog-meta-")) meta[k] = v;
        objects.set(key, { bytes: new Uint8Array(await req.arrayBuffer()), meta });
        return new Response("", { status: 200, headers: { etag: '"1"' } });
      }
      const found = objects.get(key);
      if (!found) return new Response("", { status: 404 });
      const headers = { ...found.meta, etag: '"1"', "content-length": String(found.bytes.length) };
      if (req.method === "HEAD") return new Response(null, { status: 200, headers });
      return new Response(found.bytes, { status: 200, headers });
    },
  });
});
afterAll(() => server.stop(true));

test("gs:// with GOOGLE_OAUTH_ACCESS_TOKEN sends a bearer token and x-goog-meta-* metadata", async () => {
  const dir = tempRepo();
  expect((await roar(["init", "-y"], { cwd: dir })).code).toBe(0);
  writeFileSync(join(dir, "w.bin"), crypto.getRandomValues(new Uint8Array(4096)));
  commitAll(dir, "data");
  const env = { GCS_ENDPOINT_URL: `http://127.0.0.1:${server.port}`, GOOGLE_OAUTH_ACCESS_TOKEN: TOKEN };
  const put = await roar(["put", "w.bin", "gs://tok-bucket/m/", "-m", "token"], { cwd: dir, env });
  expect(put.code).toBe(0);
  const blake3 = b3sum(join(dir, "w.bin"));
  expect(objects.get("/tok-bucket/m/w.bin")?.meta["x-goog-meta-blake3"]).toBe(blake3);
  const got = await roarJson<{ files: { blake3: string }[] }>(
    ["get", "gs://tok-bucket/m/w.bin", "back.bin", "--json"],
    {
      cwd: dir,
      env,
    },
  );
  expect(got.files[0]?.blake3).toBe(blake3);
  expect(b3sum(join(dir, "back.bin"))).toBe(blake3);
  expect(seen.length).toBeGreaterThan(2);
  for (const s of seen) {
    expect(s.authorization).toBe(`Bearer ${TOKEN}`);
    expect(s.amzHeaders).toEqual([]);
  }
  for (const text of [put.stdout, put.stderr]) expect(text).not.toContain(TOKEN);
}, 60_000);
