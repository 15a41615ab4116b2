/**
 * Registry test helpers: start the real `glaas-server` (a child process on a free loopback port), make SSH keys
 * with ssh-keygen, and sign requests exactly as the original client does — `ssh-keygen -Y sign -n glaas` over
 * `ts\nMETHOD\npath[\nsha256(body)]`, the armour stripped, base64 in the `Authorization: Signature` header.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hermeticEnv, REPO_ROOT, tempDir } from "./cli.ts";

export const GLAAS_BIN = join(REPO_ROOT, "bin/glaas-server");

export interface Registry {
  url: string;
  proc: ReturnType<typeof Bun.spawn>;
  stderr(): string;
  stop(): Promise<number>;
}

/** Reads a child's stderr until a line matches; keeps everything read for later inspection. */
export async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  pattern: RegExp,
  timeoutMs = 30_000,
): Promise<{ match: RegExpExecArray; text: () => string }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(text);
    if (m) {
      // Keep draining in the background so the child never blocks on a full pipe.
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += decoder.decode(value);
        }
      })().catch(() => {});
      return { match: m, text: () => text };
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got:\n${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`process ended before ${pattern}; output:\n${text}`);
    text += decoder.decode(value);
  }
}

/** Starts `glaas-server` with GLAAS_* settings; port 0 unless given. */
export async function startRegistry(env: Record<string, string> = {}): Promise<Registry> {
  const home = tempDir("glaas-home-");
  const proc = Bun.spawn([GLAAS_BIN], {
    cwd: home,
    env: hermeticEnv(home, { GLAAS_HOST: "127.0.0.1", GLAAS_PORT: "0", ...env }),
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const { match, text } = await waitForLine(proc.stderr as ReadableStream<Uint8Array>, /listening on (http:\/\/\S+)/);
  return {
    url: match[1] as string,
    proc,
    stderr: text,
    async stop() {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

export interface SshKey {
  type: string;
  privatePath: string;
  publicLine: string;
  publicPath: string;
  fingerprint: string;
}

/** A fresh key pair: `ed25519`, `ecdsa-256`, `ecdsa-384`, `ecdsa-521` or `rsa`. */
export function makeKey(kind: string, dir = tempDir("glaas-key-")): SshKey {
  const [type, bits] = kind.split("-") as [string, string | undefined];
  const path = join(dir, `id_${kind}`);
  const args = ["ssh-keygen", "-q", "-t", type, "-N", "", "-f", path, "-C", `test ${kind}`];
  if (bits) args.push("-b", bits);
  if (type === "rsa") args.push("-b", "2048");
  const r = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
  const publicLine = readFileSync(`${path}.pub`, "utf8").trim();
  const blob = Buffer.from(publicLine.split(/\s+/)[1] as string, "base64");
  const fingerprint = `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
  return { type, privatePath: path, publicLine, publicPath: `${path}.pub`, fingerprint };
}

/** `ssh-keygen -Y sign -n glaas` over the payload; the raw SSHSIG bytes. */
export function sshSign(key: SshKey, payload: Uint8Array | string, namespace = "glaas"): Uint8Array {
  const dir = tempDir("glaas-sig-");
  const file = join(dir, "payload");
  writeFileSync(file, payload);
  const r = Bun.spawnSync(["ssh-keygen", "-Y", "sign", "-f", key.privatePath, "-n", namespace, file], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`ssh-keygen -Y sign failed: ${r.stderr.toString()}`);
  const armoured = readFileSync(`${file}.sig`, "utf8");
  return new Uint8Array(
    Buffer.from(
      armoured
        .split("\n")
        .filter((l) => l && !l.startsWith("-----"))
        .join(""),
      "base64",
    ),
  );
}

export interface SignOptions {
  ts?: number;
  nonce?: string;
  /** Sign this payload text instead of the request's own (to forge mismatches). */
  payload?: string;
}

/** The original client's payload: ts, method, path with query, and the body's sha256 when there is a body. */
export function clientPayload(ts: number, method: string, path: string, body: string | null, nonce?: string): string {
  let p = `${ts}\n${method}\n${path}`;
  if (body) p += `\n${createHash("sha256").update(body).digest("hex")}`;
  if (nonce !== undefined) p += `\nnonce=${nonce}`;
  return p;
}

export function authHeader(
  key: SshKey,
  method: string,
  path: string,
  body: string | null,
  o: SignOptions = {},
): string {
  const ts = o.ts ?? Math.floor(Date.now() / 1000);
  const sig = sshSign(key, o.payload ?? clientPayload(ts, method, path, body, o.nonce));
  const nonce = o.nonce !== undefined ? ` nonce="${o.nonce}"` : "";
  return `Signature keyid="${key.fingerprint}" ts="${ts}" sig="${Buffer.from(sig).toString("base64")}"${nonce}`;
}

export interface ApiResult<T = unknown> {
  status: number;
  body: {
    success: boolean;
    data: T;
    detail?: string;
    error?: { code: string; message: string; field?: string; candidates?: string[] };
  };
  headers: Headers;
}

/** One request; `key` signs it, `auth` gives the header verbatim. */
export async function api<T = unknown>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; key?: SshKey; sign?: SignOptions; auth?: string; rawBody?: string } = {},
): Promise<ApiResult<T>> {
  const body = options.rawBody ?? (options.body === undefined ? null : JSON.stringify(options.body));
  const headers: Record<string, string> = {};
  if (body !== null) headers["content-type"] = "application/json";
  if (options.auth) headers.authorization = options.auth;
  else if (options.key) headers.authorization = authHeader(options.key, method, path, body, options.sign);
  const res = await fetch(`${base}${path}`, { method, headers, body: body ?? undefined });
  const text = await res.text();
  let parsed: ApiResult<T>["body"];
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} → ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A deterministic fake BLAKE3-looking digest (64 hex) for a label. */
export function digest(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}
