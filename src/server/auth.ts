/**
 * Request signatures (reference-behaviour §F.1): `Authorization: Signature keyid="SHA256:…" ts="…" sig="…"`, an
 * SSHSIG in namespace `glaas` over
 *
 *     <ts>\n<METHOD>\n<path with query>[\n<sha256 hex of the body>][\nnonce=<nonce>]
 *
 * The body line is there when the request has a non-empty body; the nonce line when the header carries the
 * optional `nonce="…"` parameter (this server's addition: the original's payload has no nonce, so two identical
 * writes in one second would sign identically). A signature is accepted within ±5 minutes of the server's clock,
 * and a write's signature only once. No Authorization header means the `anonymous` user.
 */
import { createHash } from "node:crypto";
import { signedPayload } from "../auth/sshsig.ts";
import type { SqlDatabase } from "./db/sql.ts";
import { type Actor, anonymousActor, RegistryError } from "./registry/errors.ts";
import { findKey, storedPublicKey } from "./registry/keys.ts";
import { SshFormatError, type SshPublicKey, verifySshSig } from "./sshsig.ts";

export const NAMESPACE = "glaas";
export const DEFAULT_WINDOW_SECONDS = 300;

export interface SignatureHeader {
  keyid: string;
  ts: string;
  sig: string;
  nonce?: string;
}

const unauthorized = (message: string) => new RegistryError(401, "unauthorized", message);

/** Parses `Signature k="v" k="v"…`; null for another scheme. */
export function parseSignatureHeader(value: string): SignatureHeader | null {
  const m = /^Signature\s+(.*)$/is.exec(value.trim());
  if (!m) return null;
  const fields: Record<string, string> = {};
  const re = /\s*([A-Za-z]+)="([^"]*)"\s*,?/gy;
  const rest = m[1] as string;
  let match: RegExpExecArray | null = re.exec(rest);
  let end = 0;
  while (match) {
    fields[(match[1] as string).toLowerCase()] = match[2] as string;
    end = re.lastIndex;
    match = re.exec(rest);
  }
  if (rest.slice(end).trim() !== "" || !fields.keyid || !fields.ts || !fields.sig)
    throw unauthorized('malformed Authorization header: expected Signature keyid="SHA256:…" ts="…" sig="…"');
  return { keyid: fields.keyid, ts: fields.ts, sig: fields.sig, ...(fields.nonce ? { nonce: fields.nonce } : {}) };
}

/** The bytes a client signs for a request. */
export function signaturePayload(
  ts: string,
  method: string,
  pathWithQuery: string,
  body: Uint8Array | null,
  nonce?: string,
): Uint8Array {
  return new TextEncoder().encode(signedPayload(ts, method, pathWithQuery, body, nonce));
}

export interface AuthOptions {
  windowSeconds?: number;
  /** Seconds since the epoch (tests move the clock). */
  now?: () => number;
}

export class Authenticator {
  private readonly windowSeconds: number;
  private readonly now: () => number;
  /** Keys by fingerprint; a key is never removed while the server runs, a miss is asked again. */
  private readonly keys = new Map<string, { user: string; key: SshPublicKey }>();
  /** Signatures of writes already accepted, with the time after which their timestamp is refused anyway. */
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(
    private readonly db: SqlDatabase,
    options: AuthOptions = {},
  ) {
    this.windowSeconds = options.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
    this.now = options.now ?? (() => Date.now() / 1000);
  }

  private async key(fingerprint: string): Promise<{ user: string; key: SshPublicKey } | null> {
    const cached = this.keys.get(fingerprint);
    if (cached) return cached;
    const stored = await findKey(this.db, fingerprint);
    if (!stored) return null;
    let key: SshPublicKey;
    try {
      key = storedPublicKey(stored);
    } catch (error) {
      if (error instanceof SshFormatError) return null;
      throw error;
    }
    const entry = { user: stored.user, key };
    this.keys.set(fingerprint, entry);
    return entry;
  }

  /** Who signed the request (or anonymous); throws 401 with the reason when a signature is present but bad. */
  async authenticate(
    method: string,
    pathWithQuery: string,
    header: string | null,
    body: Uint8Array | null,
  ): Promise<Actor> {
    if (header === null || header.trim() === "") return anonymousActor;
    const parsed = parseSignatureHeader(header);
    if (!parsed) {
      const scheme = header.trim().split(/\s+/)[0] ?? "";
      throw unauthorized(
        `unsupported Authorization scheme '${scheme.slice(0, 32)}': sign requests with an SSH key (Signature …)`,
      );
    }
    if (!/^\d{1,12}$/.test(parsed.ts))
      throw unauthorized(`signature timestamp '${parsed.ts.slice(0, 32)}' is not a number of seconds`);
    const skew = Number(parsed.ts) - this.now();
    if (Math.abs(skew) > this.windowSeconds)
      throw unauthorized(
        `signature timestamp is ${Math.round(Math.abs(skew))} s ${skew < 0 ? "old" : "in the future"} (allowed ±${this.windowSeconds} s); check the client's clock`,
      );
    const found = await this.key(parsed.keyid);
    if (!found)
      throw unauthorized(
        `unknown key ${parsed.keyid.slice(0, 80)}; register it with POST /api/v1/keys or 'roar server add-key'`,
      );
    const sigBytes = new Uint8Array(Buffer.from(parsed.sig, "base64"));
    const payload = signaturePayload(parsed.ts, method, pathWithQuery, body, parsed.nonce);
    const problem = verifySshSig(sigBytes, payload, NAMESPACE, found.key);
    if (problem)
      throw unauthorized(
        problem === "signature does not match the request"
          ? "signature does not match the request (method, path, body or nonce changed, or signed by another key)"
          : problem,
      );
    if (method !== "GET" && method !== "HEAD") this.refuseReplay(parsed.sig, Number(parsed.ts));
    return { user: found.user, authenticated: true, fingerprint: parsed.keyid };
  }

  /**
   * A write is accepted once per signature: within the window a copy of it would otherwise repeat the write.
   * (GETs may repeat: the original client signs two identical GETs in one second identically.)
   */
  private refuseReplay(sig: string, ts: number): void {
    const t = this.now();
    if (t - this.lastSweep > 60 || this.seen.size > 1_000_000) {
      for (const [s, until] of this.seen) if (until < t) this.seen.delete(s);
      this.lastSweep = t;
    }
    const digest = createHash("sha256").update(sig).digest("base64");
    if ((this.seen.get(digest) ?? 0) >= t)
      throw unauthorized("replayed request: this signature was already used (sign each write anew, or add a nonce)");
    this.seen.set(digest, ts + this.windowSeconds + 1);
  }
}
