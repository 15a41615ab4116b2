/**
 * Request signatures checked against the real implementation: keys made and requests signed by ssh-keygen
 * (`-Y sign -n glaas`, as the original client does) for ed25519, ECDSA P-256/384/521 and RSA; forged, tampered,
 * expired and replayed signatures refused with 401; unsigned requests never change a signed-in user's records;
 * rate and size limits.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createPrivateKey, sign } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { signedData } from "../../src/server/sshsig.ts";
import { roar, tempDir } from "../helpers/cli.ts";
import {
  api,
  authHeader,
  clientPayload,
  digest,
  makeKey,
  type Registry,
  type SshKey,
  sshSign,
  startRegistry,
} from "../helpers/glaas.ts";
import { A, registerPipeline } from "./pipeline.ts";

const T = 120_000;
let reg: Registry;
let alice: SshKey;
const aliceKeys: Record<string, SshKey> = {};
let bob: SshKey;
let dbUrl: string;

beforeAll(async () => {
  const dir = tempDir("glaas-auth-");
  dbUrl = `sqlite:${join(dir, "registry.db")}`;
  alice = makeKey("ed25519");
  for (const kind of ["ecdsa-256", "ecdsa-384", "ecdsa-521", "rsa"]) aliceKeys[kind] = makeKey(kind);
  bob = makeKey("ecdsa-256");
  // The admin command enrols alice before the server (or its database) exists.
  const enrol = await roar(["server", "add-key", "alice", alice.publicPath, "--db", dbUrl], { cwd: dir });
  expect(enrol.stderr).toBe("");
  expect(enrol.code).toBe(0);
  reg = await startRegistry({ GLAAS_DATABASE_URL: dbUrl });
}, T);

afterAll(async () => {
  await reg?.stop();
});

const whoami = (key?: SshKey, auth?: string) =>
  api<{ user: string; authenticated: boolean; fingerprint: string | null }>(reg.url, "GET", "/api/v1/auth/whoami", {
    key,
    auth,
  });

describe("keys and signatures", () => {
  test(
    "alice's other keys are added by a request signed with her first key; sign-up makes bob",
    async () => {
      const unsigned = await api(reg.url, "POST", "/api/v1/keys", {
        body: { user: "alice", public_key: aliceKeys.rsa?.publicLine },
      });
      expect(unsigned.status).toBe(403);
      for (const key of Object.values(aliceKeys)) {
        const r = await api<{ fingerprint: string; created_key: boolean }>(reg.url, "POST", "/api/v1/keys", {
          key: alice,
          body: { user: "alice", public_key: key.publicLine },
        });
        expect(r.status).toBe(201);
        expect(r.body.data.fingerprint).toBe(key.fingerprint);
      }
      const signup = await api<{ created_user: boolean }>(reg.url, "POST", "/api/v1/keys", {
        body: { user: "bob", public_key: bob.publicLine },
      });
      expect(signup.status).toBe(201);
      expect(signup.body.data.created_user).toBe(true);
      const stolen = await api(reg.url, "POST", "/api/v1/keys", {
        body: { user: "mallory", public_key: bob.publicLine },
      });
      expect(stolen.status).toBe(409);
      expect(
        (
          await api(reg.url, "POST", "/api/v1/keys", {
            body: { user: "anonymous", public_key: makeKey("ed25519").publicLine },
          })
        ).status,
      ).toBe(400);
    },
    T,
  );

  test("every key type signs for alice (ssh-keygen signatures: ed25519, nistp256/384/521, rsa-sha2-512)", async () => {
    for (const key of [alice, ...Object.values(aliceKeys)]) {
      const r = await whoami(key);
      expect({ type: key.type, status: r.status, user: r.body.data?.user }).toEqual({
        type: key.type,
        status: 200,
        user: "alice",
      });
      expect(r.body.data.fingerprint).toBe(key.fingerprint);
    }
    expect((await whoami(bob)).body.data.user).toBe("bob");
    expect(await whoami().then((r) => r.body.data)).toEqual({
      user: "anonymous",
      authenticated: false,
      fingerprint: null,
    });
  });

  test("an rsa-sha2-256 SSHSIG (which ssh-keygen verifies) is accepted too", async () => {
    const rsa = aliceKeys.rsa as SshKey;
    // A PEM copy of the private key so node:crypto can sign with SHA-256.
    const pemPath = `${rsa.privatePath}.pem-copy`;
    writeFileSync(pemPath, readFileSync(rsa.privatePath), { mode: 0o600 });
    const conv = Bun.spawnSync(["ssh-keygen", "-p", "-m", "PEM", "-N", "", "-P", "", "-f", pemPath], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(conv.exitCode).toBe(0);
    const ts = Math.floor(Date.now() / 1000);
    const message = clientPayload(ts, "GET", "/api/v1/auth/whoami", null);
    const blob = Buffer.from(rsa.publicLine.split(" ")[1] as string, "base64");
    const raw = sign(
      "sha256",
      signedData("glaas", "sha512", new TextEncoder().encode(message)),
      createPrivateKey(readFileSync(pemPath)),
    );
    const str = (b: Uint8Array | string) => {
      const bytes = typeof b === "string" ? Buffer.from(b) : Buffer.from(b);
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      return Buffer.concat([len, bytes]);
    };
    const sigBlob = Buffer.concat([
      Buffer.from("SSHSIG"),
      Buffer.from([0, 0, 0, 1]),
      str(blob),
      str("glaas"),
      str(""),
      str("sha512"),
      str(Buffer.concat([str("rsa-sha2-256"), str(raw)])),
    ]);
    // The real implementation accepts it…
    const dir = tempDir("glaas-verify-");
    writeFileSync(join(dir, "allowed"), `alice ${rsa.publicLine}\n`);
    writeFileSync(join(dir, "msg"), message);
    const armour = `-----BEGIN SSH SIGNATURE-----\n${sigBlob.toString("base64").replace(/.{70}/g, "$&\n")}\n-----END SSH SIGNATURE-----\n`;
    writeFileSync(join(dir, "msg.sig"), armour);
    const verify = Bun.spawnSync(
      [
        "ssh-keygen",
        "-Y",
        "verify",
        "-f",
        join(dir, "allowed"),
        "-I",
        "alice",
        "-n",
        "glaas",
        "-s",
        join(dir, "msg.sig"),
      ],
      { stdin: Buffer.from(message), stdout: "pipe", stderr: "pipe" },
    );
    expect(verify.stdout.toString() + verify.stderr.toString()).toContain("Good");
    // …and so does the server.
    const auth = `Signature keyid="${rsa.fingerprint}" ts="${ts}" sig="${sigBlob.toString("base64")}"`;
    const r = await whoami(undefined, auth);
    expect(r.status).toBe(200);
    expect(r.body.data.user).toBe("alice");
  });

  test(
    "401 with one clear message: expired, future, tampered body or path, unknown key, other key, namespace, garbage",
    async () => {
      const body = JSON.stringify({ hash: digest("s-401"), git_repo: "r", git_commit: "c", git_branch: "b" });
      const now = Math.floor(Date.now() / 1000);
      const send = (auth: string, path = "/api/v1/sessions", text = body) =>
        api(reg.url, "POST", path, { auth, rawBody: text });
      const cases: [string, string, string][] = [
        ["expired", authHeader(alice, "POST", "/api/v1/sessions", body, { ts: now - 600 }), "old"],
        ["future", authHeader(alice, "POST", "/api/v1/sessions", body, { ts: now + 600 }), "in the future"],
        [
          "tampered body",
          authHeader(alice, "POST", "/api/v1/sessions", body.replace('"r"', '"evil"')),
          "does not match",
        ],
        ["tampered path", authHeader(alice, "POST", "/api/v1/artifacts", body), "does not match"],
        ["tampered method", authHeader(alice, "PUT", "/api/v1/sessions", body), "does not match"],
        ["unknown key", authHeader(makeKey("ed25519"), "POST", "/api/v1/sessions", body), "unknown key"],
        [
          "another key under alice's keyid",
          authHeader(bob, "POST", "/api/v1/sessions", body).replace(bob.fingerprint, alice.fingerprint),
          "another key",
        ],
        [
          "wrong namespace",
          `Signature keyid="${alice.fingerprint}" ts="${now}" sig="${Buffer.from(sshSign(alice, clientPayload(now, "POST", "/api/v1/sessions", body), "git")).toString("base64")}"`,
          "namespace",
        ],
        ["garbage signature", `Signature keyid="${alice.fingerprint}" ts="${now}" sig="AAAA"`, "malformed signature"],
        ["malformed header", `Signature keyid="${alice.fingerprint}" ts=${now}`, "malformed Authorization"],
        ["bearer token", "Bearer abc.def", "unsupported Authorization scheme"],
      ];
      for (const [name, auth, words] of cases) {
        const r = await send(auth);
        expect({ name, status: r.status }).toEqual({ name, status: 401 });
        expect({ name, detail: r.body.detail?.includes(words) }).toEqual({ name, detail: true });
        expect(r.body.detail?.includes("\n")).toBe(false);
        expect(r.headers.get("www-authenticate")).toContain("Signature");
      }
      expect((await api(reg.url, "GET", `/api/v1/sessions/${digest("s-401")}`)).status).toBe(404);
    },
    T,
  );

  test("a write's signature works once; identical GETs may repeat; a nonce makes identical writes distinct", async () => {
    const body = JSON.stringify({
      artifacts: [{ hashes: [{ algorithm: "blake3", digest: digest("replay") }], size: 3 }],
    });
    const auth = authHeader(alice, "POST", "/api/v1/artifacts/batch", body);
    const first = await api(reg.url, "POST", "/api/v1/artifacts/batch", { auth, rawBody: body });
    expect(first.status).toBe(200);
    const replay = await api(reg.url, "POST", "/api/v1/artifacts/batch", { auth, rawBody: body });
    expect(replay.status).toBe(401);
    expect(replay.body.detail).toContain("replayed");

    const getAuth = authHeader(alice, "GET", "/api/v1/auth/whoami", null);
    for (let i = 0; i < 3; i++) expect((await whoami(undefined, getAuth)).body.data.user).toBe("alice");

    const ts = Math.floor(Date.now() / 1000);
    for (const nonce of ["n-1", "n-2"]) {
      const r = await api(reg.url, "POST", "/api/v1/artifacts/batch", {
        key: alice,
        rawBody: body,
        sign: { ts, nonce },
      });
      expect(r.status).toBe(200);
    }
    const swapped = authHeader(alice, "POST", "/api/v1/artifacts/batch", body, { ts, nonce: "n-3" }).replace(
      'nonce="n-3"',
      'nonce="n-4"',
    );
    const bad = await api(reg.url, "POST", "/api/v1/artifacts/batch", { auth: swapped, rawBody: body });
    expect(bad.status).toBe(401);
    expect(bad.body.detail).toContain("does not match");
  });
});

describe("ownership", () => {
  const aliceSession = digest("session:alice");

  test(
    "anonymous and other users can neither change nor delete what alice registered",
    async () => {
      await registerPipeline(reg.url, alice, aliceSession);
      const before = await api<{ user: string; jobs: { command: string }[] }>(
        reg.url,
        "GET",
        `/api/v1/sessions/${aliceSession}`,
      );
      expect(before.body.data.user).toBe("alice");
      const attempts: [string, string, unknown, SshKey | undefined][] = [
        ["POST", "/api/v1/sessions", { hash: aliceSession, git_repo: "https://evil.example/x.git" }, undefined],
        ["POST", `/api/v1/sessions/${aliceSession}/jobs`, { job_uid: "a0000002", command: "rm -rf /" }, undefined],
        [
          "POST",
          `/api/v1/sessions/${aliceSession}/jobs/a0000002/outputs`,
          { artifacts: [{ hash: digest("evil"), path: "evil" }] },
          undefined,
        ],
        ["DELETE", `/api/v1/sessions/${aliceSession}`, undefined, undefined],
        ["POST", `/api/v1/sessions/${aliceSession}/jobs`, { job_uid: "a0000002", command: "bob was here" }, bob],
        ["DELETE", `/api/v1/sessions/${aliceSession}`, undefined, bob],
      ];
      for (const [method, path, body, key] of attempts) {
        const r = await api(reg.url, method, path, { body, key });
        expect({ method, path, status: r.status }).toEqual({ method, path, status: 403 });
        expect(r.body.detail).toContain("registered by alice");
      }
      const after = await api<{ git_repo: string; jobs: { command: string; outputs: unknown[] }[] }>(
        reg.url,
        "GET",
        `/api/v1/sessions/${aliceSession}`,
      );
      expect(after.body.data).toEqual(before.body.data as never);
      // Re-registering alice's artifact anonymously with another size counts as existing and changes nothing.
      const lie = await api<{ created: number; existing: number }>(reg.url, "POST", "/api/v1/artifacts/batch", {
        body: { artifacts: [{ hashes: [{ algorithm: "blake3", digest: A.model }], size: 1 }] },
      });
      expect(lie.body.data).toEqual({ created: 0, existing: 1 });
      const model = await api<{ size: number; user: string }>(reg.url, "GET", `/api/v1/artifacts/${A.model}`);
      expect(model.body.data.size).toBe(200_000);
      expect(model.body.data.user).toBe("alice");
    },
    T,
  );

  test("alice takes over anonymous records; then anonymous cannot change them", async () => {
    const anon = digest("session:anon");
    const wrong = digest("anon-artifact");
    await api(reg.url, "POST", "/api/v1/sessions", { body: { hash: anon, git_repo: "r" } });
    await api(reg.url, "POST", "/api/v1/artifacts", {
      body: { hashes: [{ algorithm: "blake3", digest: wrong }], size: 1 },
    });
    expect(
      (await api(reg.url, "POST", "/api/v1/sessions", { key: alice, body: { hash: anon, git_repo: "r2" } })).status,
    ).toBe(200);
    await api(reg.url, "POST", "/api/v1/artifacts", {
      key: alice,
      body: { hashes: [{ algorithm: "blake3", digest: wrong }], size: 42 },
    });
    const s = await api<{ user: string; git_repo: string }>(reg.url, "GET", `/api/v1/sessions/${anon}`);
    expect(s.body.data).toMatchObject({ user: "alice", git_repo: "r2" });
    expect(
      (await api<{ size: number; user: string }>(reg.url, "GET", `/api/v1/artifacts/${wrong}`)).body.data,
    ).toMatchObject({ size: 42, user: "alice" });
    expect((await api(reg.url, "POST", "/api/v1/sessions", { body: { hash: anon, git_repo: "r3" } })).status).toBe(403);
  });
});

describe("limits", () => {
  test(
    "the default rate limit never slows a 10k-artifact registration (10 batches, 1,000 link requests)",
    async () => {
      const session = digest("session:10k");
      await api(reg.url, "POST", "/api/v1/sessions", { body: { hash: session, git_repo: "r" } });
      const jobs = Array.from({ length: 100 }, (_, i) => ({
        job_uid: `k${String(i).padStart(7, "0")}`,
        command: `python shard.py ${i}`,
      }));
      expect((await api(reg.url, "POST", `/api/v1/sessions/${session}/jobs/batch`, { body: { jobs } })).status).toBe(
        201,
      );
      const hashes = Array.from({ length: 10_000 }, (_, i) => digest(`10k:${i}`));
      const statuses: number[] = [];
      for (let b = 0; b < 10; b++) {
        const artifacts = hashes
          .slice(b * 1000, (b + 1) * 1000)
          .map((h) => ({ hashes: [{ algorithm: "blake3", digest: h }], size: 10 }));
        statuses.push((await api(reg.url, "POST", "/api/v1/artifacts/batch", { body: { artifacts } })).status);
      }
      const linkRequests = jobs.flatMap((j, ji) =>
        Array.from({ length: 10 }, (_, c) => ({
          uid: j.job_uid,
          items: hashes.slice(ji * 100 + c * 10, ji * 100 + c * 10 + 10),
        })),
      );
      for (let i = 0; i < linkRequests.length; i += 8) {
        const wave = linkRequests.slice(i, i + 8).map((l) =>
          api(reg.url, "POST", `/api/v1/sessions/${session}/jobs/${l.uid}/outputs`, {
            body: { artifacts: l.items.map((h, k) => ({ hash: h, path: `out/${l.uid}/${k}.bin` })) },
          }),
        );
        statuses.push(...(await Promise.all(wave)).map((r) => r.status));
      }
      expect(statuses.filter((s) => s === 429)).toEqual([]);
      expect(new Set(statuses)).toEqual(new Set([200]));
      const last = await api<{ produced_by: { job_uid: string; path: string }[] }>(
        reg.url,
        "GET",
        `/api/v1/artifacts/${hashes[9_999]}`,
      );
      expect(last.body.data.produced_by).toEqual([
        expect.objectContaining({ job_uid: "k0000099", path: "out/k0000099/9.bin" }),
      ]);
    },
    T,
  );

  test(
    "a low limit answers 429 with Retry-After; a small body limit answers 413",
    async () => {
      const limited = await startRegistry({
        GLAAS_DATABASE_URL: `sqlite:${join(tempDir("glaas-rl-"), "r.db")}`,
        GLAAS_RATE_LIMIT: "1",
        GLAAS_MAX_BODY_BYTES: "4096",
      });
      try {
        const results = [];
        for (let i = 0; i < 60; i++) results.push(await api(limited.url, "GET", "/api/v1/health"));
        const refused = results.filter((r) => r.status === 429);
        expect(refused.length).toBeGreaterThan(0);
        expect(Number(refused[0]?.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(refused[0]?.body.success).toBe(false);
        const big = await fetch(`${limited.url}/api/v1/artifacts/batch`, { method: "POST", body: "x".repeat(10_000) });
        expect([413, 429]).toContain(big.status);
      } finally {
        await limited.stop();
      }
      const roomy = await startRegistry({
        GLAAS_DATABASE_URL: `sqlite:${join(tempDir("glaas-rl-"), "r.db")}`,
        GLAAS_MAX_BODY_BYTES: "4096",
      });
      try {
        const big = await api(roomy.url, "POST", "/api/v1/artifacts/batch", {
          rawBody: JSON.stringify({ artifacts: [], pad: "x".repeat(10_000) }),
        });
        expect(big.status).toBe(413);
        expect(big.body.detail).toContain("larger than 4096 bytes");
      } finally {
        await roomy.stop();
      }
    },
    T,
  );
});
