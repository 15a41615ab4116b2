/**
 * SSHSIG (OpenSSH's PROTOCOL.sshsig): the signature format of `ssh-keygen -Y sign`, made in-process, and the
 * registry's `Authorization: Signature keyid="SHA256:…" ts="…" [nonce="…"] sig="…"` header built on it
 * (namespace `glaas`, payload `ts\nMETHOD\npath[\nsha256(body)]`, plus `\nnonce=<nonce>` when a nonce is given).
 */
import { createHash, randomBytes } from "node:crypto";
import { fingerprint, type SshSigningKey } from "./ssh-key.ts";
import { SshWriter } from "./ssh-wire.ts";

export const SSHSIG_NAMESPACE = "glaas";
const MAGIC = "SSHSIG";

/** The raw SSHSIG blob over `message` (sha512 message hash, as ssh-keygen uses). */
export async function sshsig(
  key: SshSigningKey,
  message: Uint8Array,
  namespace = SSHSIG_NAMESPACE,
): Promise<Uint8Array> {
  const hash = createHash("sha512").update(message).digest();
  const signed = new SshWriter().raw(MAGIC).string(namespace).string("").string("sha512").string(hash).bytes();
  const signature = await key.sign(signed);
  return new SshWriter()
    .raw(MAGIC)
    .uint32(1)
    .string(key.blob)
    .string(namespace)
    .string("")
    .string("sha512")
    .string(signature)
    .bytes();
}

/** The armored form `ssh-keygen -Y sign` writes (for checking with `ssh-keygen -Y verify`). */
export function armor(sig: Uint8Array): string {
  const b64 = Buffer.from(sig).toString("base64");
  const lines = b64.match(/.{1,70}/g) ?? [];
  return `-----BEGIN SSH SIGNATURE-----\n${lines.join("\n")}\n-----END SSH SIGNATURE-----\n`;
}

/**
 * What a request signature covers (client and server share this one definition): `ts\nMETHOD\npath`, then
 * `\nsha256hex(body)` when there is a body, then `\nnonce=<nonce>` when the header carries a nonce.
 */
export function signedPayload(
  ts: number | string,
  method: string,
  path: string,
  body?: Uint8Array | string | null,
  nonce?: string,
): string {
  let payload = `${ts}\n${method.toUpperCase()}\n${path}`;
  if (body && body.length > 0) payload += `\n${createHash("sha256").update(body).digest("hex")}`;
  if (nonce !== undefined) payload += `\nnonce=${nonce}`;
  return payload;
}

/**
 * The Authorization header for one request. Every request with a body gets a fresh nonce, so no two writes ever
 * sign alike (the server refuses a replayed write signature).
 */
export async function authorizationHeader(
  key: SshSigningKey,
  method: string,
  path: string,
  body?: Uint8Array | string,
  now = Date.now(),
): Promise<string> {
  const ts = Math.floor(now / 1000);
  const nonce = body !== undefined && body.length > 0 ? randomBytes(12).toString("hex") : undefined;
  const sig = await sshsig(key, new TextEncoder().encode(signedPayload(ts, method, path, body, nonce)));
  const parts = [`keyid="${fingerprint(key.blob)}"`, `ts="${ts}"`];
  if (nonce) parts.push(`nonce="${nonce}"`);
  parts.push(`sig="${Buffer.from(sig).toString("base64")}"`);
  return `Signature ${parts.join(" ")}`;
}
