/** Responses: the `{"success": true, "data": …}` envelope the original client unwraps, and its error shape. */
import { RegistryError } from "./registry/errors.ts";

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" };

export function ok(data: unknown, status = 200): Response {
  return new Response(JSON.stringify({ success: true, data }), { status, headers: JSON_HEADERS });
}

/**
 * `detail` is what the original client shows (`HTTP <code>: <detail>`); `error` carries a stable code and, for
 * payload errors, the field.
 */
export function fail(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ success: false, detail: message, error: { code, message, ...extra } }), {
    status,
    headers: { ...JSON_HEADERS, ...headers },
  });
}

export function failWith(error: RegistryError, headers: Record<string, string> = {}): Response {
  return fail(error.status, error.code, error.message, error.extra, headers);
}

export const badRequest = (message: string, extra: Record<string, unknown> = {}) =>
  new RegistryError(400, "bad_request", message, extra);

/** An integer query parameter within [min, max], or the default. */
export function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === "") return fallback;
  if (!/^-?\d+$/.test(raw)) throw badRequest(`query parameter '${name}' must be an integer`, { field: name });
  const n = Number(raw);
  if (n < min || n > max)
    throw badRequest(`query parameter '${name}' must be between ${min} and ${max}`, { field: name });
  return n;
}

/** A time filter: epoch seconds or an ISO 8601 date/time. */
export function timeParam(url: URL, name: string): number | undefined {
  const raw = url.searchParams.get(name)?.trim();
  if (!raw) return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  const ms = Date.parse(raw);
  if (Number.isNaN(ms))
    throw badRequest(`query parameter '${name}' must be a date (ISO 8601) or epoch seconds`, { field: name });
  return ms / 1000;
}
