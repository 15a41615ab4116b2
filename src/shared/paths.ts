/**
 * File names are bytes on Linux. Tracer paths are decoded as UTF-8 with "surrogateescape" (Python's PEP 383
 * scheme): each byte that is not part of valid UTF-8 becomes the lone surrogate U+DC00+byte, so the exact
 * bytes can be recovered with `pathToBytes` and used with fs calls through `fsPath`.
 */
import { homedir } from "node:os";

const decoder = new TextDecoder("utf-8", { fatal: true });

export function bytesToPath(bytes: Uint8Array): string {
  // Fast path: Buffer's UTF-8 decoding replaces invalid sequences with U+FFFD; only then take the exact route.
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  if (!text.includes("\uFFFD")) return text;
  try {
    return decoder.decode(bytes);
  } catch {
    return decodeEscaping(bytes);
  }
}

function decodeEscaping(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const len = b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += decoder.decode(bytes.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // fall through: escape this byte
      }
    }
    out += String.fromCharCode(0xdc00 + b);
    i += 1;
  }
  return out;
}

const ESCAPED = /[\udc80-\udcff]/;

export function hasEscapedBytes(path: string): boolean {
  // Escaped bytes are lone surrogates: a well-formed string (the native check is ~10× faster) has none.
  return !path.isWellFormed() && ESCAPED.test(path);
}

export function pathToBytes(path: string): Uint8Array {
  if (!hasEscapedBytes(path)) return new TextEncoder().encode(path);
  const parts: number[] = [];
  const enc = new TextEncoder();
  for (const ch of path) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0xdc80 && code <= 0xdcff) parts.push(code - 0xdc00);
    else parts.push(...enc.encode(ch));
  }
  return Uint8Array.from(parts);
}

/** The argument to hand to node:fs for this path (a Buffer only when the name is not valid UTF-8). */
export function fsPath(path: string): string | Buffer {
  return hasEscapedBytes(path) ? Buffer.from(pathToBytes(path)) : path;
}

/**
 * A printable form for text output (never for storage: a file literally named `\xff` looks the same): bytes of a
 * name that are not UTF-8 shown as \xNN instead of U+FFFD. JSON keeps the exact name (`\udcff` escapes).
 */
export function displayPath(path: string): string {
  if (!hasEscapedBytes(path)) return path;
  return path.replace(
    /[\udc80-\udcff]/g,
    (c) => `\\x${((c.codePointAt(0) ?? 0) - 0xdc00).toString(16).padStart(2, "0")}`,
  );
}

/** NUL-terminated strings back to back: the FFI encoding of argv/envp (bytes exact). */
export function nulBlock(items: string[]): Uint8Array {
  const parts = items.map(pathToBytes);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1;
  }
  return out;
}

// Plain string operations on purpose: Bun's native node:path functions turn lone surrogates into U+FFFD.

/** `path` with `.` and `..` components and repeated slashes resolved; `path` must be absolute. */
/** A "//", a "." or ".." segment, or a trailing "/": what normalizing would change in an absolute path. */
const NOT_NORMAL = /\/\/|\/\.\.?(?:\/|$)|.\/$/;

export function normalizeAbsolute(path: string): string {
  // Stored and traced paths are normal already: a status of 50,000 outputs spent 60 ms re-splitting them.
  if (path.startsWith("/") && !NOT_NORMAL.test(path)) return path;
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

/** `path` made absolute against the absolute directory `base` (node's path.resolve(base, path)). */
export function resolveFrom(base: string, path: string): string {
  return normalizeAbsolute(path.startsWith("/") ? path : `${base}/${path}`);
}

/** The directory part of an absolute path ("/" for a top-level name). */
export function parentDir(absolute: string): string {
  const at = absolute.lastIndexOf("/");
  return at <= 0 ? "/" : absolute.slice(0, at);
}

/** A path the user typed (relative to their cwd, `~` expanded) → absolute. */
export function userPath(text: string, cwd: string): string {
  if (text === "~" || text.startsWith("~/")) return resolveFrom(homedir(), text.slice(2));
  return resolveFrom(cwd, text);
}
