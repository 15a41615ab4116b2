/**
 * What a trace says happened to files, as plain path sets: the reference semantics the fidelity tests assert
 * (src/core/classify.ts implements the same rules for production). Events are replayed in stream order:
 *
 * - open: O_ACCMODE 0 = read, 1 = write, 2 = read-write; O_CREAT / O_TRUNC imply write. An O_RDWR open
 *   without O_CREAT/O_TRUNC counts as a write only if the file changed since the open (size or mtime differ
 *   from the stat taken at open) when `statNow` is given; without `statNow` it counts as a write.
 * - A read of a path this trace already wrote is not an input (the command read its own output).
 * - rename: the written name moves to the new name; renaming a file the trace did not write deletes the old
 *   name and writes the new one.
 * - link (hard or symbolic): the new name is written.
 * - unlink: a file this trace wrote is forgotten (a temp file); any other file is deleted. Directories
 *   (rmdir) are not files and are ignored.
 * - truncate: written.
 */
import { OpenFlags, type TraceEvent, UnlinkFlags } from "../../src/schema/events.ts";
import { bytesToPath } from "../../src/shared/paths.ts";

export interface TraceFacts {
  read: Set<string>;
  written: Set<string>;
  deleted: Set<string>;
  renamed: [from: string, to: string][];
  /** "connect 127.0.0.1:8080", "accept [::1]:40312" */
  network: Set<string>;
}

export interface FactsOptions {
  /** Keep only paths inside this directory. */
  within?: string;
  /** Current size/mtime of a path (null when missing), for the O_RDWR check. */
  statNow?: (path: string) => { size: number; mtimeNs: number } | null;
}

export function orderEvents(events: TraceEvent[]): TraceEvent[] {
  return [...events].sort((a, b) => a.ts - b.ts || a.pid - b.pid || a.seq - b.seq);
}

export function traceFacts(events: TraceEvent[], options: FactsOptions = {}): TraceFacts {
  const read = new Set<string>();
  const written = new Set<string>();
  const deleted = new Set<string>();
  const renamed: [string, string][] = [];
  const network = new Set<string>();
  const markWritten = (p: string) => {
    written.add(p);
    deleted.delete(p);
  };
  const markRead = (p: string) => {
    if (!written.has(p)) read.add(p);
  };
  for (const e of orderEvents(events)) {
    switch (e.kind) {
      case "open": {
        const acc = e.flags & OpenFlags.ACCMODE;
        const creates = (e.flags & (OpenFlags.CREAT | OpenFlags.TRUNC)) !== 0;
        if (acc === 0 && !creates) {
          markRead(e.path);
        } else if (acc === OpenFlags.RDWR && !creates) {
          if (e.stat) markRead(e.path);
          const now = options.statNow?.(e.path);
          const unchanged =
            options.statNow !== undefined &&
            e.stat !== null &&
            now != null &&
            now.size === e.stat.size &&
            now.mtimeNs === e.stat.mtimeNs;
          if (!unchanged) markWritten(e.path);
        } else {
          markWritten(e.path);
        }
        break;
      }
      case "rename":
        if (written.has(e.from)) written.delete(e.from);
        else deleted.add(e.from);
        markWritten(e.to);
        renamed.push([e.from, e.to]);
        break;
      case "link":
        markWritten(e.to);
        break;
      case "unlink":
        if ((e.flags & UnlinkFlags.DIR) !== 0) break;
        if (written.has(e.path)) written.delete(e.path);
        else deleted.add(e.path);
        break;
      case "truncate":
        markWritten(e.path);
        break;
      case "net":
        network.add(`${e.op} ${e.address}`);
        break;
      default:
        break;
    }
  }
  const within = options.within;
  if (!within) return { read, written, deleted, renamed, network };
  const prefix = within.endsWith("/") ? within : `${within}/`;
  const keep = (s: Set<string>) => new Set([...s].filter((p) => p.startsWith(prefix)));
  return {
    read: keep(read),
    written: keep(written),
    deleted: keep(deleted),
    renamed: renamed.filter(([a, b]) => a.startsWith(prefix) || b.startsWith(prefix)),
    network,
  };
}

/** Sorted paths relative to `dir`, for readable assertions. */
export function relativeSorted(paths: Set<string>, dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  return [...paths].map((p) => (p.startsWith(prefix) ? p.slice(prefix.length) : p)).sort();
}

// ---------------------------------------------------------------------------------------------------------
// strace as a reference: `strace -f -qq -yy -s 4096 -e trace=file,process,network,ftruncate,fchdir -o FILE` output
// turned into the same event shapes, so both go through traceFacts.

const O_FLAG_BITS: Record<string, number> = {
  O_RDONLY: 0,
  O_WRONLY: OpenFlags.WRONLY,
  O_RDWR: OpenFlags.RDWR,
  O_CREAT: OpenFlags.CREAT,
  O_TRUNC: OpenFlags.TRUNC,
  O_APPEND: OpenFlags.APPEND,
};

/** Decodes a strace C string literal (without the quotes) to a path string (bytes kept via surrogateescape). */
function unescapeStrace(s: string): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c !== "\\") {
      bytes.push(...enc.encode(c));
      continue;
    }
    const n = s[++i] ?? "";
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, "\\": 92 };
    if (n in simple) bytes.push(simple[n] ?? 0);
    else if (n === "x") {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (/[0-7]/.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/.test(s[i + 1] ?? "")) oct += s[++i];
      bytes.push(Number.parseInt(oct, 8));
    } else bytes.push(...enc.encode(n));
  }
  return bytesToPath(Uint8Array.from(bytes));
}

/** Splits a syscall's argument text at top-level commas (outside strings, braces, brackets and <fd paths>). */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let inStr = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === "\\") i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === "{" || c === "[" || c === "<" || c === "(") depth++;
    else if (c === "}" || c === "]" || c === ">" || c === ")") depth--;
    else if (c === "," && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) out.push(last);
  return out;
}

function normalize(p: string): string {
  const parts: string[] = [];
  for (const comp of p.split("/")) {
    if (comp === "" || comp === ".") continue;
    if (comp === "..") parts.pop();
    else parts.push(comp);
  }
  return `/${parts.join("/")}`;
}

/** An fd argument shown by -y as `3</path>` or `AT_FDCWD</cwd>`. */
function fdPath(arg: string): string | null {
  const m = /^[^<]*<(.*)>$/s.exec(arg);
  return m?.[1] ?? null;
}

function quoted(arg: string | undefined): string | null {
  if (!arg) return null;
  const m = /^"(.*)"(\.\.\.)?$/s.exec(arg);
  return m ? unescapeStrace(m[1] ?? "") : null;
}

export function straceToEvents(text: string, rootCwd: string, isDirectory: (path: string) => boolean): TraceEvent[] {
  const events: TraceEvent[] = [];
  const cwd = new Map<number, string>();
  const pending = new Map<number, string>();
  let seq = 0;
  let rootPid = -1;
  const base = { ts: 0 };
  for (const rawLine of text.split("\n")) {
    let m = /^(\d+)\s+(.*)$/s.exec(rawLine);
    if (!m) continue;
    const pid = Number(m[1]);
    if (rootPid < 0) {
      rootPid = pid;
      cwd.set(pid, rootCwd);
    }
    let body = m[2] ?? "";
    if (body.endsWith("<unfinished ...>")) {
      pending.set(pid, body.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. \w+ resumed>(.*)$/s.exec(body);
    if (resumed) {
      body = (pending.get(pid) ?? "") + (resumed[1] ?? "");
      pending.delete(pid);
    }
    m = /^(\w+)\((.*)\)\s+=\s+(-?\d+)(?:<(.*)>)?/s.exec(body);
    if (!m) continue;
    const [, name = "", argText = "", retText = "", retPath] = m;
    const ret = Number(retText);
    if (ret < 0) continue;
    const args = splitArgs(argText);
    const here = cwd.get(pid) ?? rootCwd;
    const at = (dirArg: string | undefined, pathArg: string | undefined): string | null => {
      const p = quoted(pathArg);
      if (p === null) return null;
      if (p.startsWith("/")) return normalize(p);
      const dir = dirArg ? fdPath(dirArg) : here;
      return normalize(`${dir ?? here}/${p}`);
    };
    const ev = { pid, seq: seq++, ...base };
    const open = (path: string | null, flagText: string) => {
      if (!path || /O_DIRECTORY|O_PATH|O_TMPFILE/.test(flagText)) return;
      if (isDirectory(path)) return;
      let flags = 0;
      for (const f of flagText.split("|")) flags |= O_FLAG_BITS[f.trim()] ?? 0;
      // A successful open without O_CREAT found the file there: what a tracer's stat at open says.
      const existed = (flags & OpenFlags.CREAT) === 0;
      const stat = existed ? { dev: 0, ino: 0, size: 0, mtimeNs: 0, ctimeNs: 0 } : null;
      events.push({ kind: "open", ...ev, path, flags, fd: ret, stat });
    };
    switch (name) {
      case "open":
        open(retPath ?? at(undefined, args[0]), args[1] ?? "");
        break;
      case "creat":
        open(retPath ?? at(undefined, args[0]), "O_WRONLY|O_CREAT|O_TRUNC");
        break;
      case "openat":
        open(retPath ?? at(args[0], args[1]), args[2] ?? "");
        break;
      case "openat2":
        open(retPath ?? at(args[0], args[1]), /flags=([^,}]*)/.exec(args[2] ?? "")?.[1] ?? "");
        break;
      case "rename": {
        const from = at(undefined, args[0]);
        const to = at(undefined, args[1]);
        if (from && to) events.push({ kind: "rename", ...ev, from, to });
        break;
      }
      case "renameat":
      case "renameat2": {
        const from = at(args[0], args[1]);
        const to = at(args[2], args[3]);
        if (!from || !to) break;
        // RENAME_EXCHANGE: both names stay and swap contents — both written (the contract's form).
        if ((args[4] ?? "").includes("RENAME_EXCHANGE")) {
          const written = OpenFlags.WRONLY | OpenFlags.CREAT;
          events.push({ kind: "open", ...ev, path: from, flags: written, fd: -1, stat: null });
          events.push({ kind: "open", ...ev, seq: seq++, path: to, flags: written, fd: -1, stat: null });
        } else events.push({ kind: "rename", ...ev, from, to });
        break;
      }
      case "link":
      case "symlink": {
        const to = at(undefined, args[1]);
        if (to)
          events.push({ kind: "link", ...ev, from: quoted(args[0]) ?? "", to, flags: name === "symlink" ? 1 : 0 });
        break;
      }
      case "linkat": {
        const to = at(args[2], args[3]);
        if (to) events.push({ kind: "link", ...ev, from: at(args[0], args[1]) ?? "", to, flags: 0 });
        break;
      }
      case "symlinkat": {
        const to = at(args[1], args[2]);
        if (to) events.push({ kind: "link", ...ev, from: quoted(args[0]) ?? "", to, flags: 1 });
        break;
      }
      case "unlink":
      case "rmdir": {
        const path = at(undefined, args[0]);
        if (path) events.push({ kind: "unlink", ...ev, path, flags: name === "rmdir" ? UnlinkFlags.DIR : 0 });
        break;
      }
      case "unlinkat": {
        const path = at(args[0], args[1]);
        const dir = (args[2] ?? "").includes("AT_REMOVEDIR") ? UnlinkFlags.DIR : 0;
        if (path) events.push({ kind: "unlink", ...ev, path, flags: dir });
        break;
      }
      case "truncate": {
        const path = at(undefined, args[0]);
        if (path) events.push({ kind: "truncate", ...ev, path });
        break;
      }
      case "ftruncate": {
        const path = fdPath(args[0] ?? "");
        if (path) events.push({ kind: "truncate", ...ev, path });
        break;
      }
      case "chdir": {
        const path = at(undefined, args[0]);
        if (path) cwd.set(pid, path);
        break;
      }
      case "fchdir": {
        const path = fdPath(args[0] ?? "");
        if (path) cwd.set(pid, path);
        break;
      }
      case "connect":
      case "accept":
      case "accept4": {
        const op = name === "connect" ? "connect" : "accept";
        // {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("1.2.3.4")}, or AF_INET6 with inet_pton
        const sa = args[1] ?? "";
        const port = /sin6?_port=htons\((\d+)\)/.exec(sa)?.[1];
        const v4 = /inet_addr\("([^"]+)"\)/.exec(sa)?.[1];
        const v6 = /inet_pton\(AF_INET6, "([^"]+)"/.exec(sa)?.[1];
        // accept with no address buffer: -yy shows the peer on the new descriptor, "TCP:[local->peer]"
        const peer = op === "accept" ? /^TCP(?:v6)?:\[(.*)->(.*)\]$/.exec(retPath ?? "")?.[2] : undefined;
        const address = port && v4 ? `${v4}:${port}` : port && v6 ? `[${v6}]:${port}` : (peer ?? null);
        if (address) events.push({ kind: "net", ...ev, op, address });
        break;
      }
      case "clone":
      case "clone3":
      case "fork":
      case "vfork":
        if (ret > 0) cwd.set(ret, here);
        break;
      default:
        break;
    }
  }
  return events;
}
