/**
 * In-process SSHSIG signing checked against OpenSSH itself: keys made by `ssh-keygen` (ed25519, ECDSA P-256/384/521,
 * RSA; OpenSSH and PEM files), signatures verified by `ssh-keygen -Y verify`, fingerprints equal to
 * `ssh-keygen -l`, an encrypted key signed through a real ssh-agent and refused clearly without one.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentSigner } from "../../src/auth/agent.ts";
import { signingKey } from "../../src/auth/identity.ts";
import { fingerprint, loadPrivateKey, parsePublicKey, type SshSigningKey } from "../../src/auth/ssh-key.ts";
import { armor, authorizationHeader, signedPayload, sshsig } from "../../src/auth/sshsig.ts";
import { tempDir } from "../helpers/cli.ts";

const haveSshKeygen = Bun.which("ssh-keygen") !== null;
const dir = haveSshKeygen ? tempDir("roar-sshsig-") : "";

function sh(argv: string[], env: Record<string, string> = {}): string {
  const r = Bun.spawnSync(argv, { env: { ...process.env, ...env }, stdin: "ignore" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

function makeKey(name: string, args: string[], passphrase = ""): string {
  const path = join(dir, name);
  sh(["ssh-keygen", "-q", "-N", passphrase, "-C", `${name}@roar.test`, "-f", path, ...args]);
  return path;
}

/** `ssh-keygen -Y verify` of `sig` over `message` by the key at `pubPath`. */
function opensshVerifies(pubPath: string, message: string, sig: Uint8Array): boolean {
  const allowed = join(dir, "allowed_signers");
  writeFileSync(allowed, `someone@roar.test ${readFileSync(pubPath, "utf8")}`);
  const sigPath = join(dir, "message.sig");
  writeFileSync(sigPath, armor(sig));
  const r = Bun.spawnSync(
    ["ssh-keygen", "-Y", "verify", "-f", allowed, "-I", "someone@roar.test", "-n", "glaas", "-s", sigPath],
    { stdin: new TextEncoder().encode(message) },
  );
  return r.exitCode === 0;
}

const KEYS: [string, string[]][] = [
  ["ed25519", ["-t", "ed25519"]],
  ["ecdsa256", ["-t", "ecdsa", "-b", "256"]],
  ["ecdsa384", ["-t", "ecdsa", "-b", "384"]],
  ["ecdsa521", ["-t", "ecdsa", "-b", "521"]],
  ["rsa", ["-t", "rsa", "-b", "2048"]],
  ["rsa-pem", ["-t", "rsa", "-b", "2048", "-m", "PEM"]],
  ["ecdsa-pem", ["-t", "ecdsa", "-b", "256", "-m", "PEM"]],
];

describe.skipIf(!haveSshKeygen)("SSHSIG signing, verified by OpenSSH", () => {
  for (const [name, args] of KEYS) {
    test(`${name}: signature verifies with ssh-keygen -Y verify; fingerprint = ssh-keygen -l`, async () => {
      const path = makeKey(name, args);
      const loaded = loadPrivateKey(readFileSync(path, "utf8"));
      if (!("key" in loaded)) throw new Error("expected an unencrypted key");
      const key = loaded.key;
      const pub = parsePublicKey(readFileSync(`${path}.pub`, "utf8"));
      expect(Buffer.from(key.blob).equals(Buffer.from(pub.blob))).toBe(true);
      const printed = sh(["ssh-keygen", "-l", "-E", "sha256", "-f", `${path}.pub`]).split(" ")[1];
      expect(fingerprint(key.blob)).toBe(printed as string);
      const message = signedPayload(1_790_000_000, "post", "/api/v1/sessions", '{"hash":"abc"}', "n0nce");
      expect(opensshVerifies(`${path}.pub`, message, await sshsig(key, new TextEncoder().encode(message)))).toBe(true);
      // a changed message does not verify
      expect(opensshVerifies(`${path}.pub`, `${message}x`, await sshsig(key, new TextEncoder().encode(message)))).toBe(
        false,
      );
    });
  }

  test("the Authorization header: keyid, ts, a fresh nonce for each write, and a signature over the payload", async () => {
    const path = makeKey("hdr", ["-t", "ed25519"]);
    const loaded = loadPrivateKey(readFileSync(path, "utf8"));
    if (!("key" in loaded)) throw new Error("expected an unencrypted key");
    const now = Date.UTC(2026, 11, 6, 12, 0, 0);
    const body = '{"jobs":[]}';
    const a = await authorizationHeader(loaded.key, "POST", "/api/v1/sessions/x/jobs/batch", body, now);
    const b = await authorizationHeader(loaded.key, "POST", "/api/v1/sessions/x/jobs/batch", body, now);
    const field = (h: string, k: string) => new RegExp(`${k}="([^"]*)"`).exec(h)?.[1] ?? "";
    expect(a.startsWith("Signature ")).toBe(true);
    expect(field(a, "keyid")).toBe(fingerprint(loaded.key.blob));
    expect(field(a, "ts")).toBe(String(now / 1000));
    expect(field(a, "nonce")).toMatch(/^[0-9a-f]{24}$/);
    expect(field(a, "nonce")).not.toBe(field(b, "nonce"));
    const payload = signedPayload(now / 1000, "POST", "/api/v1/sessions/x/jobs/batch", body, field(a, "nonce"));
    expect(opensshVerifies(`${path}.pub`, payload, new Uint8Array(Buffer.from(field(a, "sig"), "base64")))).toBe(true);
    // a GET has no body and no nonce
    const get = await authorizationHeader(loaded.key, "GET", "/api/v1/health", undefined, now);
    expect(get).not.toContain("nonce=");
  });

  describe("an encrypted key", () => {
    const agents: number[] = [];
    afterAll(() => {
      for (const pid of agents) process.kill(pid, "SIGTERM");
    });

    test("signs through ssh-agent; without an agent the error says what to do", async () => {
      const path = makeKey("locked", ["-t", "ed25519"], "correct horse");
      expect("encrypted" in loadPrivateKey(readFileSync(path, "utf8"))).toBe(true);
      await expect(signingKey({ path, source: "ROAR_SSH_KEY" }, {})).rejects.toThrow(
        /is encrypted and no ssh-agent is running: run 'ssh-add /,
      );
      const sock = join(dir, "agent.sock");
      const out = sh(["ssh-agent", "-a", sock, "-s"]);
      agents.push(Number(/SSH_AGENT_PID=(\d+)/.exec(out)?.[1]));
      const askpass = join(dir, "askpass.sh");
      writeFileSync(askpass, "#!/bin/sh\necho 'correct horse'\n");
      chmodSync(askpass, 0o755);
      sh(["ssh-add", path], { SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: "force", DISPLAY: ":0" });
      const key: SshSigningKey = await signingKey({ path, source: "ROAR_SSH_KEY" }, { SSH_AUTH_SOCK: sock });
      const message = signedPayload(1_790_000_000, "GET", "/api/v1/sessions?limit=1");
      expect(opensshVerifies(`${path}.pub`, message, await sshsig(key, new TextEncoder().encode(message)))).toBe(true);
      // an agent that does not hold the key is no signer for it
      const other = parsePublicKey(readFileSync(`${makeKey("other", ["-t", "ed25519"])}.pub`, "utf8"));
      expect(await agentSigner(sock, other)).toBeNull();
    });
  });
});
