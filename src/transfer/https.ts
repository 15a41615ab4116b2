/**
 * `https://` downloads with fetch. Ranged requests resume a dropped download where the server allows (206 with
 * If-Range on the ETag or Last-Modified, so a changed resource starts over); `user:password@` in the URL is sent as
 * Basic authorization, never as part of the request line. NODE_EXTRA_CA_CERTS adds trusted certificates.
 */
import { publicUrl } from "../core/remote.ts";
import { type RangeOpener, TransferError } from "./types.ts";

function requestParts(url: URL): { target: URL; authorization: string | null } {
  const target = new URL(url.toString());
  let authorization: string | null = null;
  if (target.username || target.password) {
    const user = decodeURIComponent(target.username);
    const password = decodeURIComponent(target.password);
    authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
    target.username = "";
    target.password = "";
  }
  return { target, authorization };
}

export function httpsOpener(url: URL): RangeOpener {
  const where = publicUrl(url.toString());
  const { target, authorization } = requestParts(url);
  return async (offset, validator) => {
    const headers: Record<string, string> = { "accept-encoding": "identity" };
    if (authorization) headers.authorization = authorization;
    if (offset > 0) {
      headers.range = `bytes=${offset}-`;
      if (validator) headers["if-range"] = validator;
    }
    let res: Response;
    try {
      res = await fetch(target, { headers, redirect: "follow", decompress: false } as RequestInit);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransferError(`${where}: ${reason}`, true);
    }
    if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel().catch(() => undefined);
      const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
      throw new TransferError(`${where}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`, retryable);
    }
    if (!res.body) throw new TransferError(`${where}: empty response`, true);
    let start = 0;
    let total: number | null = null;
    const length = res.headers.get("content-length");
    if (res.status === 206) {
      const range = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!range) throw new TransferError(`${where}: partial response without a usable Content-Range`, false);
      start = Number(range[1]);
      total = range[2] === "*" ? null : Number(range[2]);
    } else if (length !== null) total = Number(length);
    const etag = res.headers.get("etag");
    // A weak ETag cannot be used with If-Range; Last-Modified can.
    const validatorOut = etag && !etag.startsWith("W/") ? etag : res.headers.get("last-modified");
    return {
      body: res.body as unknown as AsyncIterable<Uint8Array>,
      start,
      total,
      validator: validatorOut,
      metadata: {},
      acceptsRanges: res.status === 206 || res.headers.get("accept-ranges") === "bytes",
    };
  };
}
