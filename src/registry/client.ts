/**
 * The registry client (reference-behaviour §F.1): JSON over fetch with timeouts, the `{success, data}` envelope
 * unwrapped, errors normalised to `HTTP <code>: <detail>` as the original client words them, every request signed
 * when a key can sign (a fresh nonce per write), and — for registration only — one fall-back to anonymous when
 * the server refuses the signature (401). Batch requests stay under the server's item and body limits; a server
 * configured with a smaller body limit (413) gets the batch in halves.
 */

import type { SshSigningKey } from "../auth/ssh-key.ts";
import { authorizationHeader } from "../auth/sshsig.ts";
import { RoarError } from "../shared/errors.ts";
import { MAX_BATCH } from "./limits.ts";

export const API = "/api/v1";
const TIMEOUT_MS = 30_000;
const HEALTH_TIMEOUT_MS = 10_000;
/** Bytes per batch body: well under the server's default 32 MiB, so a batch is never refused for its size. */
const BATCH_BYTES = 8 * 1024 * 1024;
const MAX_RETRIES_429 = 3;

/** A request the registry answered with an error, or could not be made. */
export class RegistryRequestError extends RoarError {
  constructor(
    message: string,
    /** HTTP status; 0 when no answer came (network, timeout). */
    readonly status: number,
    readonly detail: string,
    readonly code: string | null = null,
    readonly candidates: string[] = [],
  ) {
    super(message);
    this.name = "RegistryRequestError";
  }
}

export interface RegistryClientOptions {
  baseUrl: string;
  /** Signs every request; null: unsigned (anonymous). */
  key: SshSigningKey | null;
  /** After a 401 to a signed request, say so once and go on unsigned (`roar register`; never `auth test`). */
  anonymousFallback?: boolean;
  notice?: (line: string) => void;
  timeoutMs?: number;
  /** The transport (tests put a tampering proxy here). */
  fetch?: (url: string, init: RequestInit) => Promise<Response>;
}

type Json = Record<string, unknown>;

/** The error text of a response body: `detail` (FastAPI), `message`, or a nested `error.message`. */
function detailOf(body: unknown): string | null {
  if (!body || typeof body !== "object") return null;
  const b = body as { detail?: unknown; message?: unknown; error?: unknown };
  if (typeof b.detail === "string") return b.detail;
  if (b.detail !== undefined && b.detail !== null) return JSON.stringify(b.detail);
  if (typeof b.message === "string") return b.message;
  const nested = b.error as { message?: unknown } | undefined;
  if (nested && typeof nested.message === "string") return nested.message;
  return null;
}

/** A response body as JSON: `{}` when empty; HTML and other text become an error naming what came back. */
function parseBody(status: number, text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    const snippet = text.trim().replace(/\s+/g, " ").slice(0, 80);
    if (/^\s*</.test(text)) {
      if (status === 403)
        throw new RegistryRequestError(
          "HTTP 403: the request was blocked before it reached the registry (a proxy or firewall answered with an HTML page)",
          403,
          "blocked by a proxy",
        );
      throw new RegistryRequestError(
        `Server returned HTML instead of JSON: '${snippet}' (HTTP ${status}; is glaas.url the API address?)`,
        status,
        "html",
      );
    }
    throw new RegistryRequestError(`Server returned something other than JSON: '${snippet}'`, status, "not json");
  }
}

export class RegistryClient {
  readonly baseUrl: string;
  private key: SshSigningKey | null;
  private readonly fallback: boolean;
  private readonly notice: (line: string) => void;
  private readonly timeoutMs: number;
  private readonly transport: (url: string, init: RequestInit) => Promise<Response>;

  constructor(o: RegistryClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, "");
    this.key = o.key;
    this.fallback = o.anonymousFallback ?? false;
    this.notice = o.notice ?? (() => {});
    this.timeoutMs = o.timeoutMs ?? TIMEOUT_MS;
    this.transport = o.fetch ?? ((url, init) => fetch(url, init));
  }

  /** Whether requests are signed now (false after a fall-back to anonymous). */
  get signing(): boolean {
    return this.key !== null;
  }

  /** One request; returns the unwrapped `data`. `path` starts with `/api/v1`. */
  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    o: { timeoutMs?: number; unsigned?: boolean } = {},
  ): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { accept: "application/json" };
      if (text !== undefined) headers["content-type"] = "application/json";
      const key = o.unsigned ? null : this.key;
      const signed = key !== null;
      if (key) headers.authorization = await authorizationHeader(key, method, path, text);
      let res: Response;
      try {
        res = await this.transport(`${this.baseUrl}${path}`, {
          method,
          headers,
          body: text,
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const e = error as Error;
        const reason =
          e.name === "TimeoutError" || e.name === "AbortError"
            ? `no answer within ${Math.round(timeoutMs / 1000)} s`
            : e.message;
        throw new RegistryRequestError(`cannot reach the registry at ${this.baseUrl}: ${reason}`, 0, reason);
      }
      const raw = await res.text();
      if (res.status === 429 && attempt < MAX_RETRIES_429) {
        const wait = Math.min(30, Number(res.headers.get("retry-after")) || 1);
        await Bun.sleep(wait * 1000);
        continue;
      }
      const parsed = parseBody(res.status, raw);
      if (res.status === 401 && signed && this.fallback) {
        this.notice(
          `warning: the registry refused the signature (${detailOf(parsed) ?? "401"}); continuing as anonymous`,
        );
        this.key = null;
        continue;
      }
      if (!res.ok || (parsed as Json).success === false) {
        const detail = detailOf(parsed) ?? res.statusText ?? "error";
        const error = (parsed as { error?: { code?: unknown; candidates?: unknown } }).error;
        throw new RegistryRequestError(
          `HTTP ${res.status}: ${detail}`,
          res.status,
          detail,
          typeof error?.code === "string" ? error.code : null,
          Array.isArray(error?.candidates) ? (error.candidates as string[]) : [],
        );
      }
      const envelope = parsed as { success?: unknown; data?: unknown };
      return (envelope.success === true && "data" in envelope ? envelope.data : parsed) as T;
    }
  }

  /** Unsigned, as the original client asks: reachability says nothing about the key. */
  health(): Promise<Json> {
    return this.request<Json>("GET", `${API}/health`, undefined, { timeoutMs: HEALTH_TIMEOUT_MS, unsigned: true });
  }

  /**
   * A batch endpoint over any number of items: sliced to at most MAX_BATCH items and about 8 MiB per request;
   * a 413 (a server with a smaller body limit) splits the slice in two. Returns each request's answer.
   */
  async batched<T, R>(path: string, field: string, items: readonly T[]): Promise<R[]> {
    const out: R[] = [];
    for (const part of slices(items, MAX_BATCH, BATCH_BYTES)) await this.sendSplitting(path, field, part, out);
    return out;
  }

  private async sendSplitting<T, R>(path: string, field: string, part: readonly T[], out: R[]): Promise<void> {
    try {
      out.push(await this.request<R>("POST", path, { [field]: part }));
    } catch (error) {
      if (!(error instanceof RegistryRequestError) || error.status !== 413 || part.length < 2) throw error;
      const half = Math.ceil(part.length / 2);
      await this.sendSplitting(path, field, part.slice(0, half), out);
      await this.sendSplitting(path, field, part.slice(half), out);
    }
  }
}

/** Consecutive slices of at most `maxItems` items and about `maxBytes` of JSON each (a bigger item goes alone). */
export function slices<T>(items: readonly T[], maxItems: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = JSON.stringify(item).length + 1;
    if (current.length > 0 && (current.length >= maxItems || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
