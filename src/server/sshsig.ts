/**
 * OpenSSH public keys and SSHSIG signatures (what `ssh-keygen -Y sign` writes, PROTOCOL.sshsig), verified with
 * node:crypto: ssh-ed25519, ecdsa-sha2-nistp256/384/521 and ssh-rsa keys signing with rsa-sha2-256/512. The SHA-1
 * `ssh-rsa` signature algorithm and security-key (sk-*) keys are refused.
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { fingerprint } from "../auth/ssh-key.ts";
import { SshWireError as SshFormatError, SshReader, SshWriter } from "../auth/ssh-wire.ts";

/** Malformed keys and signatures: the wire reader's error, so a truncated blob is refused like any other. */
export { SshFormatError };

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");

const CURVES: Record<string, { crv: string; size: number; hash: string }> = {
  nistp256: { crv: "P-256", size: 32, hash: "sha256" },
  nistp384: { crv: "P-384", size: 48, hash: "sha384" },
  nistp521: { crv: "P-521", size: 66, hash: "sha512" },
};

export interface SshPublicKey {
  /** `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`… */
  type: string;
  /** The wire-format key blob (what the fingerprint hashes). */
  blob: Uint8Array;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  key: KeyObject;
  comment: string;
}

/** `SHA256:<base64 without padding>` (the client's fingerprint: one definition for both sides). */
export const fingerprintOf = fingerprint;

/** Decodes a key blob into a node:crypto public key. */
export function keyFromBlob(blob: Uint8Array): { type: string; key: KeyObject } {
  const r = new SshReader(blob);
  const type = r.text();
  if (type === "ssh-ed25519") {
    const x = r.string();
    if (x.length !== 32) throw new SshFormatError("bad ed25519 key length");
    return { type, key: createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(x) }, format: "jwk" }) };
  }
  if (type.startsWith("ecdsa-sha2-")) {
    const curveName = r.text();
    const curve = CURVES[curveName];
    if (!curve || type !== `ecdsa-sha2-${curveName}`) throw new SshFormatError(`unsupported curve ${curveName}`);
    const point = r.string();
    if (point.length !== 1 + 2 * curve.size || point[0] !== 4) throw new SshFormatError("bad ecdsa point");
    const x = b64url(point.subarray(1, 1 + curve.size));
    const y = b64url(point.subarray(1 + curve.size));
    return { type, key: createPublicKey({ key: { kty: "EC", crv: curve.crv, x, y }, format: "jwk" }) };
  }
  if (type === "ssh-rsa") {
    const e = r.mpint();
    const n = r.mpint();
    if (n.length * 8 < 2048 - 8) throw new SshFormatError("RSA keys shorter than 2048 bits are not accepted");
    return { type, key: createPublicKey({ key: { kty: "RSA", n: b64url(n), e: b64url(e) }, format: "jwk" }) };
  }
  throw new SshFormatError(`unsupported key type ${type}`);
}

/** Parses one `authorized_keys`-style line: `<type> <base64 blob> [comment]`. */
export function parsePublicKey(line: string): SshPublicKey {
  const parts = line.trim().split(/\s+/);
  const [typeWord, data] = parts;
  if (!typeWord || !data) throw new SshFormatError("expected '<type> <base64> [comment]'");
  const blob = new Uint8Array(Buffer.from(data, "base64"));
  if (blob.length === 0 || Buffer.from(blob).toString("base64").replace(/=+$/, "") !== data.replace(/=+$/, ""))
    throw new SshFormatError("the key is not valid base64");
  let decoded: { type: string; key: KeyObject };
  try {
    decoded = keyFromBlob(blob);
  } catch (error) {
    if (error instanceof SshFormatError) throw error;
    throw new SshFormatError(`unreadable key (${error instanceof Error ? error.message : String(error)})`);
  }
  if (decoded.type !== typeWord) throw new SshFormatError(`the key says ${typeWord} but holds ${decoded.type}`);
  return {
    type: decoded.type,
    blob,
    fingerprint: fingerprintOf(blob),
    key: decoded.key,
    comment: parts.slice(2).join(" "),
  };
}

/** The OpenSSH line for a key blob (what is stored and shown). */
export function publicKeyLine(key: SshPublicKey): string {
  return `${key.type} ${Buffer.from(key.blob).toString("base64")}`;
}

export interface SshSignature {
  publicKey: Uint8Array;
  namespace: string;
  hashAlgorithm: string;
  signatureAlgorithm: string;
  signature: Uint8Array;
}

/** Decodes a raw (unarmoured) SSHSIG blob. */
export function parseSshSig(bytes: Uint8Array): SshSignature {
  const r = new SshReader(bytes);
  if (new TextDecoder().decode(r.bytes(6)) !== "SSHSIG") throw new SshFormatError("not an SSHSIG signature");
  const version = r.uint32();
  if (version !== 1) throw new SshFormatError(`unsupported SSHSIG version ${version}`);
  const publicKey = r.string();
  const namespace = r.text();
  r.string(); // reserved
  const hashAlgorithm = r.text();
  const sig = new SshReader(r.string());
  if (!r.done) throw new SshFormatError("trailing bytes after the signature");
  const signatureAlgorithm = sig.text();
  const signature = sig.string();
  return { publicKey, namespace, hashAlgorithm, signatureAlgorithm, signature };
}

/** What SSHSIG signs: the magic, namespace, reserved, hash algorithm and H(message). */
export function signedData(namespace: string, hashAlgorithm: string, message: Uint8Array): Uint8Array {
  const digest = new Uint8Array(createHash(hashAlgorithm).update(message).digest());
  return new SshWriter().raw("SSHSIG").string(namespace).string("").string(hashAlgorithm).string(digest).bytes();
}

/** ECDSA's (r, s) as mpints → the fixed-width r‖s that node:crypto's ieee-p1363 encoding expects. */
function ecdsaP1363(signature: Uint8Array, size: number): Uint8Array {
  const r = new SshReader(signature);
  const parts = [r.mpint(), r.mpint()];
  const out = new Uint8Array(2 * size);
  parts.forEach((p, i) => {
    if (p.length > size) throw new SshFormatError("bad ecdsa signature");
    out.set(p, (i + 1) * size - p.length);
  });
  return out;
}

/**
 * Checks an SSHSIG over `message` made by `key` in `namespace`. Returns null when it verifies, otherwise why not
 * (one short phrase).
 */
export function verifySshSig(
  sigBytes: Uint8Array,
  message: Uint8Array,
  namespace: string,
  key: { blob: Uint8Array; type: string; key: KeyObject },
): string | null {
  let sig: SshSignature;
  try {
    sig = parseSshSig(sigBytes);
  } catch (error) {
    return error instanceof SshFormatError ? `malformed signature (${error.message})` : "malformed signature";
  }
  if (sig.namespace !== namespace) return `signature namespace is '${sig.namespace}', expected '${namespace}'`;
  if (!Buffer.from(sig.publicKey).equals(Buffer.from(key.blob))) return "signature was made by another key";
  if (sig.hashAlgorithm !== "sha256" && sig.hashAlgorithm !== "sha512")
    return `unsupported hash algorithm ${sig.hashAlgorithm}`;
  const data = signedData(namespace, sig.hashAlgorithm, message);
  try {
    let ok = false;
    if (key.type === "ssh-ed25519") {
      ok = sig.signatureAlgorithm === "ssh-ed25519" && verify(null, data, key.key, sig.signature);
    } else if (key.type.startsWith("ecdsa-sha2-")) {
      const curve = CURVES[key.type.slice("ecdsa-sha2-".length)] as { size: number; hash: string };
      ok =
        sig.signatureAlgorithm === key.type &&
        verify(curve.hash, data, { key: key.key, dsaEncoding: "ieee-p1363" }, ecdsaP1363(sig.signature, curve.size));
    } else if (key.type === "ssh-rsa") {
      const hash = { "rsa-sha2-256": "sha256", "rsa-sha2-512": "sha512" }[sig.signatureAlgorithm];
      if (!hash) return `signature algorithm ${sig.signatureAlgorithm} is not accepted (use rsa-sha2-256/512)`;
      ok = verify(hash, data, key.key, sig.signature);
    }
    return ok ? null : "signature does not match the request";
  } catch {
    return "signature does not match the request";
  }
}
