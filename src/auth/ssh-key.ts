/**
 * SSH keys for signing registry requests, in-process (no `ssh-keygen` needed): OpenSSH private keys
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted) and PEM keys (PKCS#1, SEC1, PKCS#8) for ed25519, ECDSA
 * (nistp256/384/521) and RSA; public keys in the `authorized_keys` one-line form; SHA256 fingerprints as
 * `ssh-keygen -l` prints them. An encrypted private key is signed through ssh-agent (see agent.ts).
 */
import { createHash, createPrivateKey, type KeyObject, sign, type webcrypto } from "node:crypto";
import { SshReader, SshWriter } from "./ssh-wire.ts";

export type SshKeyType =
  | "ssh-ed25519"
  | "ecdsa-sha2-nistp256"
  | "ecdsa-sha2-nistp384"
  | "ecdsa-sha2-nistp521"
  | "ssh-rsa";

export interface SshPublicKey {
  type: SshKeyType;
  /** The key in SSH wire format (what fingerprints and signatures name). */
  blob: Uint8Array;
  comment: string;
}

export interface SshSigningKey extends SshPublicKey {
  /** An SSH signature blob (`string format, string signature`) over `data`. */
  sign(data: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

/** Thrown for a key roar cannot use itself: the message says what to do. */
export class SshKeyError extends Error {}

const CURVES: Record<string, { crv: string; name: string; hash: string }> = {
  "ecdsa-sha2-nistp256": { crv: "P-256", name: "nistp256", hash: "sha256" },
  "ecdsa-sha2-nistp384": { crv: "P-384", name: "nistp384", hash: "sha384" },
  "ecdsa-sha2-nistp521": { crv: "P-521", name: "nistp521", hash: "sha512" },
};
const CURVE_BY_JWK: Record<string, SshKeyType> = {
  "P-256": "ecdsa-sha2-nistp256",
  "P-384": "ecdsa-sha2-nistp384",
  "P-521": "ecdsa-sha2-nistp521",
};

const b64url = (b: Uint8Array) => Buffer.from(b).toString("base64url");
const fromB64url = (s: string | undefined) => new Uint8Array(Buffer.from(s ?? "", "base64url"));

/** `SHA256:<base64 without padding>` of the key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The `authorized_keys` line of a key. */
export function publicKeyLine(key: SshPublicKey): string {
  return `${key.type} ${Buffer.from(key.blob).toString("base64")}${key.comment ? ` ${key.comment}` : ""}`;
}

/** Parses an `authorized_keys`-style line (`type base64 [comment]`). */
export function parsePublicKey(line: string): SshPublicKey {
  const [type, data, ...comment] = line.trim().split(/\s+/);
  if (!type || !data) throw new SshKeyError("not an SSH public key (expected 'type base64 [comment]')");
  const blob = new Uint8Array(Buffer.from(data, "base64"));
  const inner = new SshReader(blob).text();
  if (inner !== type) throw new SshKeyError(`the key says it is ${inner}, the line says ${type}`);
  if (type !== "ssh-ed25519" && type !== "ssh-rsa" && !(type in CURVES))
    throw new SshKeyError(`unsupported key type ${type} (ed25519, ecdsa or rsa)`);
  return { type: type as SshKeyType, blob, comment: comment.join(" ") };
}

/** The SSH public blob of a private KeyObject (from its JWK). */
function blobOf(key: KeyObject): { type: SshKeyType; blob: Uint8Array } {
  const jwk = key.export({ format: "jwk" });
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") {
    return { type: "ssh-ed25519", blob: new SshWriter().string("ssh-ed25519").string(fromB64url(jwk.x)).bytes() };
  }
  if (jwk.kty === "EC" && jwk.crv && CURVE_BY_JWK[jwk.crv]) {
    const type = CURVE_BY_JWK[jwk.crv] as SshKeyType;
    const q = Uint8Array.of(4, ...fromB64url(jwk.x), ...fromB64url(jwk.y));
    const name = (CURVES[type] as { name: string }).name;
    return { type, blob: new SshWriter().string(type).string(name).string(q).bytes() };
  }
  if (jwk.kty === "RSA") {
    return {
      type: "ssh-rsa",
      blob: new SshWriter().string("ssh-rsa").mpint(fromB64url(jwk.e)).mpint(fromB64url(jwk.n)).bytes(),
    };
  }
  throw new SshKeyError(
    `unsupported private key (${jwk.kty}${jwk.crv ? ` ${jwk.crv}` : ""}): use ed25519, ecdsa or rsa`,
  );
}

/** A signing key around a node KeyObject. */
function signer(key: KeyObject, comment: string): SshSigningKey {
  const { type, blob } = blobOf(key);
  return {
    type,
    blob,
    comment,
    sign(data: Uint8Array): Uint8Array {
      if (type === "ssh-ed25519") {
        return new SshWriter()
          .string(type)
          .string(sign(null, data, key))
          .bytes();
      }
      if (type === "ssh-rsa") {
        // rsa-sha2-512, as ssh-keygen -Y sign uses for RSA keys
        return new SshWriter()
          .string("rsa-sha2-512")
          .string(sign("sha512", data, key))
          .bytes();
      }
      const curve = CURVES[type] as { hash: string };
      const rs = sign(curve.hash, data, { key, dsaEncoding: "ieee-p1363" });
      const half = rs.length / 2;
      const inner = new SshWriter().mpint(rs.subarray(0, half)).mpint(rs.subarray(half)).bytes();
      return new SshWriter().string(type).string(inner).bytes();
    },
  };
}

function unarmor(text: string, label: string): Uint8Array {
  const body = text
    .replace(new RegExp(`-----BEGIN ${label}-----`), "")
    .replace(new RegExp(`-----END ${label}-----[\\s\\S]*`), "")
    .replace(/\s+/g, "");
  return new Uint8Array(Buffer.from(body, "base64"));
}

/** The unencrypted key pair inside an `openssh-key-v1` container, as a KeyObject and its comment. */
function openSshPrivateKey(bytes: Uint8Array): { key: KeyObject; comment: string } | { encrypted: SshPublicKey } {
  const magic = new TextEncoder().encode("openssh-key-v1\0");
  if (!magic.every((b, i) => bytes[i] === b)) throw new SshKeyError("not an OpenSSH private key");
  const r = new SshReader(bytes.subarray(magic.length));
  const cipher = r.text();
  r.text(); // kdf name
  r.string(); // kdf options
  if (r.uint32() !== 1) throw new SshKeyError("OpenSSH key files with several keys are not supported");
  const publicBlob = r.string();
  if (cipher !== "none") {
    const type = new SshReader(publicBlob).text() as SshKeyType;
    return { encrypted: { type, blob: publicBlob, comment: "" } };
  }
  const p = new SshReader(r.string());
  const check1 = p.uint32();
  const check2 = p.uint32();
  if (check1 !== check2) throw new SshKeyError("corrupt OpenSSH private key (check bytes differ)");
  const type = p.text();
  let jwk: webcrypto.JsonWebKey;
  if (type === "ssh-ed25519") {
    const pub = p.string();
    const priv = p.string(); // seed (32) + public (32)
    jwk = { kty: "OKP", crv: "Ed25519", x: b64url(pub), d: b64url(priv.subarray(0, 32)) };
  } else if (type in CURVES) {
    const curve = CURVES[type] as { crv: string };
    p.text(); // curve name
    const q = p.string();
    const d = p.mpint();
    const size = (q.length - 1) / 2;
    const pad = (b: Uint8Array) => Uint8Array.of(...new Uint8Array(Math.max(0, size - b.length)), ...b);
    jwk = {
      kty: "EC",
      crv: curve.crv,
      x: b64url(q.subarray(1, 1 + size)),
      y: b64url(q.subarray(1 + size)),
      d: b64url(pad(d)),
    };
  } else if (type === "ssh-rsa") {
    const n = p.mpint();
    const e = p.mpint();
    const d = p.mpint();
    const iqmp = p.mpint();
    const pr = p.mpint();
    const q = p.mpint();
    const big = (b: Uint8Array) => BigInt(`0x${Buffer.from(b).toString("hex") || "0"}`);
    const bytesOf = (v: bigint) => {
      let hex = v.toString(16);
      if (hex.length % 2) hex = `0${hex}`;
      return new Uint8Array(Buffer.from(hex, "hex"));
    };
    const dv = big(d);
    jwk = {
      kty: "RSA",
      n: b64url(n),
      e: b64url(e),
      d: b64url(d),
      p: b64url(pr),
      q: b64url(q),
      dp: b64url(bytesOf(dv % (big(pr) - 1n))),
      dq: b64url(bytesOf(dv % (big(q) - 1n))),
      qi: b64url(iqmp),
    };
  } else {
    throw new SshKeyError(`unsupported key type ${type} (ed25519, ecdsa or rsa)`);
  }
  const comment = p.text();
  return { key: createPrivateKey({ key: jwk, format: "jwk" }), comment };
}

/**
 * A private key file's signing key; for an encrypted key, its public half only (`encrypted: true`), which an
 * agent holding the key can sign for.
 */
export function loadPrivateKey(text: string): { key: SshSigningKey } | { encrypted: SshPublicKey } {
  if (text.includes("-----BEGIN OPENSSH PRIVATE KEY-----")) {
    const parsed = openSshPrivateKey(unarmor(text, "OPENSSH PRIVATE KEY"));
    if ("encrypted" in parsed) return parsed;
    return { key: signer(parsed.key, parsed.comment) };
  }
  if (/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
    if (text.includes("ENCRYPTED") || text.includes("Proc-Type: 4,ENCRYPTED"))
      throw new SshKeyError("the private key is encrypted (a PEM key): use an OpenSSH key with ssh-agent");
    try {
      return { key: signer(createPrivateKey(text), "") };
    } catch (error) {
      throw new SshKeyError(`cannot read the private key: ${(error as Error).message}`);
    }
  }
  throw new SshKeyError("not an SSH private key (expected an OpenSSH or PEM private key)");
}
