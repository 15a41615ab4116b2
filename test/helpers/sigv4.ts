/**
 * SigV4 verification of a request's Authorization header, as S3 does it (s3rver 3.7.1 checks only the access key id
 * and leaves V4 signatures "unimplemented"): canonical request from the method, the path as sent, the sorted query,
 * the signed headers and the declared payload hash; HMAC chain from the secret key and the credential scope.
 */
import { createHash, createHmac } from "node:crypto";

const rfc3986 = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}

function canonicalQuery(query: string): string {
  if (query === "") return "";
  const pairs = query.split("&").map((part) => {
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    return [rfc3986(decode(name)), rfc3986(decode(value))] as [string, string];
  });
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join("&");
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

/** Null when the signature is right (or the request is not SigV4-signed), else why not. */
export function sigV4Problem(
  method: string,
  rawUrl: string,
  headers: Record<string, string | string[] | undefined>,
  secretFor: (accessKeyId: string) => string | undefined,
): string | null {
  const auth = String(headers.authorization ?? "");
  if (!auth.startsWith("AWS4-HMAC-SHA256 ")) return null;
  const field = (name: string) => new RegExp(`${name}=([^,\\s]+)`).exec(auth)?.[1] ?? "";
  const [accessKeyId, date, region, service, terminator] = field("Credential").split("/");
  const signedHeaders = field("SignedHeaders");
  const signature = field("Signature");
  const secret = secretFor(accessKeyId ?? "");
  if (secret === undefined) return "InvalidAccessKeyId";
  const q = rawUrl.indexOf("?");
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? "" : rawUrl.slice(q + 1);
  const canonicalHeaders = signedHeaders
    .split(";")
    .map((name) => {
      const value = headers[name];
      const text = Array.isArray(value) ? value.join(",") : (value ?? "");
      return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");
  const payload = String(headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD");
  const canonical = [method, path, canonicalQuery(query), canonicalHeaders, signedHeaders, payload].join("\n");
  const scope = `${date}/${region}/${service}/${terminator}`;
  const stringToSign = [
    "AWS4-HMAC-SHA256",
    String(headers["x-amz-date"] ?? ""),
    scope,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date ?? ""), region ?? ""), service ?? ""), "aws4_request");
  const expected = createHmac("sha256", key).update(stringToSign).digest("hex");
  return expected === signature ? null : "SignatureDoesNotMatch";
}
