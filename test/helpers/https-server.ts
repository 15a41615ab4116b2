/**
 * A real HTTPS server on loopback for tests and benchmarks: Bun.serve with a self-signed certificate made by
 * openssl (roar trusts it through NODE_EXTRA_CA_CERTS). Serves byte arrays by path, honours `Range` (and If-Range
 * on the ETag) unless told not to, can drop the connection mid-body, and logs requests.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./cli.ts";

export interface ServedFile {
  bytes: Uint8Array;
  /** Answer ranges with 206 (default true). */
  ranges?: boolean;
  /** The first `n` responses stop after this many bytes of the body, then the connection closes. */
  dropAfter?: { bytes: number; times: number };
  /** Send this many bytes, then nothing more until the server stops (a stalled download). */
  stallAfter?: number;
  /** Require `Authorization` to equal this. */
  authorization?: string;
}

export interface LoggedRequest {
  path: string;
  search: string;
  range: string | null;
  authorization: string | null;
}

export interface HttpsTestServer {
  origin: string;
  /** The certificate to trust (NODE_EXTRA_CA_CERTS). */
  caFile: string;
  requests: LoggedRequest[];
  files: Map<string, ServedFile>;
  stop(): void;
}

function etagOf(bytes: Uint8Array): string {
  return `"${new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 32)}"`;
}

/**
 * A body that stops after `stopAt` bytes by resetting the connection (a dropped download). Bun.serve streams such a
 * body with chunked encoding; erroring the stream (with no reason, so nothing is logged) aborts the connection
 * without the final chunk, which the client sees as a connection lost mid-body.
 */
function droppingBody(bytes: Uint8Array, stopAt: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(controller) {
      if (at >= stopAt) {
        await Bun.sleep(50); // let what was sent reach the client first
        return controller.error(undefined);
      }
      const next = Math.min(stopAt, at + 64 * 1024);
      controller.enqueue(bytes.subarray(at, next));
      at = next;
    },
  });
}

export function makeCertificate(): { cert: string; key: string; dir: string } {
  const dir = tempDir("roar-tls-");
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const r = Bun.spawnSync(
    [
      "openssl",
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return { cert, key, dir };
}

export function startHttpsServer(): HttpsTestServer {
  const { cert, key, dir } = makeCertificate();
  const files = new Map<string, ServedFile>();
  const requests: LoggedRequest[] = [];
  const drops = new Map<string, number>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(cert), key: Bun.file(key) },
    fetch(req) {
      const url = new URL(req.url);
      const range = req.headers.get("range");
      requests.push({
        path: url.pathname,
        search: url.search,
        range,
        authorization: req.headers.get("authorization"),
      });
      const file = files.get(url.pathname);
      if (!file) return new Response("not found\n", { status: 404 });
      if (file.authorization !== undefined && req.headers.get("authorization") !== file.authorization)
        return new Response("unauthorized\n", { status: 401 });
      const { bytes } = file;
      const etag = etagOf(bytes);
      const ranges = file.ranges !== false;
      const headers: Record<string, string> = { etag, "content-type": "application/octet-stream" };
      if (ranges) headers["accept-ranges"] = "bytes";
      let start = 0;
      const m = /^bytes=(\d+)-$/.exec(range ?? "");
      const ifRange = req.headers.get("if-range");
      if (ranges && m && (ifRange === null || ifRange === etag)) start = Number(m[1]);
      const length = bytes.length - start;
      if (start > 0) headers["content-range"] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
      const status = start > 0 ? 206 : 200;
      if (file.stallAfter !== undefined) {
        const sent = bytes.subarray(start, start + file.stallAfter);
        const stalled = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(sent);
          },
          pull: () => new Promise<void>(() => {}),
        });
        return new Response(stalled, { status, headers });
      }
      const dropped = drops.get(url.pathname) ?? 0;
      if (file.dropAfter && dropped < file.dropAfter.times) {
        drops.set(url.pathname, dropped + 1);
        return new Response(droppingBody(bytes.subarray(start), Math.min(length, file.dropAfter.bytes)), {
          status,
          headers,
        });
      }
      return new Response(bytes.subarray(start), { status, headers });
    },
  });
  return {
    origin: `https://127.0.0.1:${server.port}`,
    caFile: cert,
    requests,
    files,
    stop: () => {
      server.stop(true);
      if (!process.env.ROAR_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
    },
  };
}
