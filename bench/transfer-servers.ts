/**
 * The servers of bench/transfer.ts, in their own process so they never share a thread with what is measured:
 * s3rver (through test/helpers/s3-server.ts) and a Bun.serve HTTPS server streaming one file from disk (with
 * ranges). Prints one JSON line {s3: env, https: url, ca: certificate} and serves until killed.
 * Run by bench/transfer.ts: bun bench/transfer-servers.ts <file>
 */
import { makeCertificate } from "../test/helpers/https-server.ts";
import { startS3Server } from "../test/helpers/s3-server.ts";

const file = process.argv[2];
if (!file) throw new Error("usage: bun bench/transfer-servers.ts <file>");
const s3 = await startS3Server(["bench"]);
const { cert, key } = makeCertificate();
const served = Bun.file(file);
const https = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  tls: { cert: Bun.file(cert), key: Bun.file(key) },
  fetch(req) {
    const m = /^bytes=(\d+)-$/.exec(req.headers.get("range") ?? "");
    const start = m ? Number(m[1]) : 0;
    const headers: Record<string, string> = { "accept-ranges": "bytes", etag: '"bench"' };
    if (start > 0) headers["content-range"] = `bytes ${start}-${served.size - 1}/${served.size}`;
    return new Response(served.slice(start), { status: start > 0 ? 206 : 200, headers });
  },
});
// Killed by bench/transfer.ts: exit normally, so the temporary directories (the stored objects) are removed.
process.on("SIGTERM", () => process.exit(0));
console.log(JSON.stringify({ s3: s3.env(), https: `https://127.0.0.1:${https.port}/big.bin`, ca: cert }));
