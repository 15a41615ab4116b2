/**
 * The registry as one fetch handler: size limits, signature check, rate limit, then the API router (JSON) or the
 * web router (HTML). Errors never escape as a 500 unless something is really broken (and then it is logged).
 */
import { DEFAULT_MAX_BODY_BYTES } from "../registry/limits.ts";
import { apiRoutes } from "./api.ts";
import { Authenticator, type AuthOptions } from "./auth.ts";
import type { SqlDatabase } from "./db/sql.ts";
import { fail, failWith } from "./http.ts";
import { PayloadError } from "./payloads.ts";
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from "./rate-limit.ts";
import { type Actor, anonymousActor, RegistryError } from "./registry/errors.ts";
import type { Params } from "./router.ts";
import { errorPage, webRoutes } from "./web/routes.ts";

export { DEFAULT_MAX_BODY_BYTES };

export interface RegistryOptions {
  db: SqlDatabase;
  maxBodyBytes?: number;
  rateLimit?: RateLimitOptions;
  /** Whether an unsigned POST /api/v1/keys may create a new user (default true). */
  openSignup?: boolean;
  auth?: AuthOptions;
}

export interface Ctx {
  request: Request;
  url: URL;
  params: Params;
  actor: Actor;
  /** The parsed JSON body, undefined when there was none. */
  body: unknown;
  db: SqlDatabase;
  options: Required<Pick<RegistryOptions, "openSignup">>;
}

export type Handler = (ctx: Ctx) => Promise<Response> | Response;

export interface ClientInfo {
  requestIP(request: Request): { address: string } | null;
}

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

async function readBody(request: Request, limit: number): Promise<Uint8Array | null> {
  if (request.method === "GET" || request.method === "HEAD" || !request.body) return null;
  const tooLarge = () => new RegistryError(413, "too_large", `request body is larger than ${limit} bytes`);
  if (Number(request.headers.get("content-length") ?? "0") > limit) throw tooLarge();
  // Read as it arrives and stop at the limit, whatever the body claims.
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    bytes.set(p, offset);
    offset += p.length;
  }
  return bytes;
}

function parseJson(bytes: Uint8Array | null): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new RegistryError(400, "bad_json", "request body is not valid JSON");
  }
}

export function createRegistry(options: RegistryOptions) {
  const api = apiRoutes();
  const web = webRoutes();
  const auth = new Authenticator(options.db, options.auth);
  const limiter = new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const ctxOptions = { openSignup: options.openSignup ?? true };

  function limited(client: string): void {
    const wait = limiter.take(client);
    if (wait > 0)
      throw new RegistryError(429, "rate_limited", `too many requests; retry in ${Math.ceil(wait)} s`, {
        retry_after: Math.ceil(wait),
      });
  }

  async function handle(request: Request, ip: string): Promise<Response> {
    const url = new URL(request.url);
    const isApi = url.pathname === "/api" || url.pathname.startsWith("/api/");
    const router = isApi ? api : web;
    const match = router.match(request.method, url.pathname);
    try {
      if (match.kind === "none")
        throw new RegistryError(
          404,
          "not_found",
          `no such ${isApi ? "endpoint" : "page"}: ${url.pathname.slice(0, 200)}`,
        );
      if (match.kind === "method")
        throw new RegistryError(405, "method_not_allowed", `${request.method} is not allowed here`, {
          allowed: match.allowed,
        });
      const bytes = await readBody(request, maxBody);
      let actor = anonymousActor;
      if (isApi) {
        try {
          actor = await auth.authenticate(
            request.method,
            url.pathname + url.search,
            request.headers.get("authorization"),
            bytes,
          );
        } catch (error) {
          limited(`ip:${ip}`);
          throw error;
        }
      }
      limited(actor.fingerprint ? `key:${actor.fingerprint}` : `ip:${ip}`);
      const body = isApi ? parseJson(bytes) : undefined;
      const response = await match.handler({
        request,
        url,
        params: match.params,
        actor,
        body,
        db: options.db,
        options: ctxOptions,
      });
      for (const [k, v] of Object.entries(SECURITY_HEADERS)) response.headers.set(k, v);
      return response;
    } catch (thrown) {
      const error =
        thrown instanceof PayloadError
          ? new RegistryError(400, "invalid_payload", thrown.message, { field: thrown.field })
          : thrown;
      if (!(error instanceof RegistryError)) {
        console.error(
          `glaas: ${request.method} ${url.pathname}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        return isApi ? fail(500, "internal", "internal server error") : errorPage(500, "Internal server error");
      }
      const headers: Record<string, string> = { ...SECURITY_HEADERS };
      if (error.status === 429) headers["retry-after"] = String(error.extra.retry_after ?? 1);
      if (error.status === 405) headers.allow = (error.extra.allowed as string[]).join(", ");
      if (error.status === 401) headers["www-authenticate"] = 'Signature realm="glaas"';
      return isApi ? failWith(error, headers) : errorPage(error.status, error.message, headers);
    }
  }

  return {
    fetch(request: Request, server?: ClientInfo): Promise<Response> {
      return handle(request, server?.requestIP(request)?.address ?? "unknown");
    },
  };
}
