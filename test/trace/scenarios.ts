/**
 * The fidelity scenarios: one per known tracing pitfall, with the exact files a correct trace reports. Each is
 * checked against `strace -f` (the reference: test/trace/fidelity.test.ts, "strace reference") and run under
 * every backend. C programs come from test/fixtures/trace/fileops.c, built at test time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fsPath } from "../../src/shared/paths.ts";
import type { BackendName } from "../../src/trace/types.ts";
import { tempDir } from "../helpers/cli.ts";

export const SIGTERM = 15;

export interface Tools {
  fileops: string;
  /** null when `cc -static` is unavailable (no libc.a). */
  fileopsStatic: string | null;
  /** 32-bit builds (i386), dynamic and static; null without a multilib compiler (gcc-multilib). */
  fileops32: string | null;
  fileops32Static: string | null;
  python: string | null;
  strace: string | null;
}

export interface Scenario {
  name: string;
  /** Files to create (relative path → content); parent dirs are created. */
  files?: Record<string, string>;
  dirs?: string[];
  /** Working directory, relative to the scenario dir. */
  cwd?: string;
  argv: (t: Tools, dir: string) => string[] | null;
  env?: () => Record<string, string>;
  read: string[];
  written: string[];
  deleted?: string[];
  exitCode?: number;
  signal?: number;
  /** Backends that may flag this scenario incomplete instead of getting it exactly right. */
  mayBeIncomplete?: BackendName[];
  /** The only reason such a backend may give (any when unset). */
  incompleteAs?: string;
  /** Why strace's log cannot serve as this scenario's reference (unset: it must agree with the sets). */
  reference?: string;
  /** Network endpoints, "connect 127.0.0.1:*" (ports are ephemeral: `*`); unset = none. */
  network?: string[];
}

export const scenarios: Scenario[] = [
  {
    name: "plain read and write",
    files: { "in.txt": "input\n" },
    argv: (t) => [t.fileops, "copy", "in.txt", "out.txt"],
    read: ["in.txt"],
    written: ["out.txt"],
  },
  {
    name: "read then write of the same file",
    files: { "f.txt": "before\n" },
    argv: (t) => [t.fileops, "read-then-write", "f.txt"],
    read: ["f.txt"],
    written: ["f.txt"],
  },
  {
    name: "O_RDWR without writing is a read",
    files: { "f.txt": "unchanged\n" },
    argv: (t) => [t.fileops, "rdwr", "f.txt", "nowrite"],
    read: ["f.txt"],
    written: [],
    reference: "strace shows the O_RDWR open, not whether anything was written",
  },
  {
    name: "O_RDWR with a write",
    files: { "f.txt": "base\n" },
    argv: (t) => [t.fileops, "rdwr", "f.txt", "write"],
    read: ["f.txt"],
    written: ["f.txt"],
  },
  {
    name: "openat with a real dirfd (not the cwd)",
    files: { "data/in.txt": "x\n", "elsewhere/in.txt": "decoy\n" },
    cwd: "elsewhere",
    argv: (t) => [t.fileops, "openat", "../data", "in.txt", "out.txt"],
    read: ["data/in.txt"],
    written: ["data/out.txt"],
  },
  {
    name: "openat through a dirfd number reused for another directory",
    files: { "one/in.txt": "1\n", "two/in.txt": "2\n" },
    argv: (t) => [t.fileops, "openat-reuse", "one", "two", "in.txt"],
    read: ["one/in.txt", "two/in.txt"],
    written: [],
  },
  {
    name: "relative paths after chdir",
    files: { "sub/in.txt": "x\n", "in.txt": "decoy\n" },
    argv: (t) => [t.fileops, "chdir", "sub", "in.txt", "out.txt"],
    read: ["sub/in.txt"],
    written: ["sub/out.txt"],
  },
  {
    name: "relative paths after fchdir",
    files: { "sub/in.txt": "x\n", "in.txt": "decoy\n" },
    argv: (t) => [t.fileops, "fchdir", "sub", "in.txt", "out.txt"],
    read: ["sub/in.txt"],
    written: ["sub/out.txt"],
  },
  {
    name: "rename over a file (atomic save)",
    files: { "target.txt": "old\n" },
    argv: (t) => [t.fileops, "atomic-save", "target.txt"],
    read: [],
    written: ["target.txt"],
  },
  {
    name: "O_TMPFILE named by linkat(/proc/self/fd/N)",
    dirs: ["out"],
    argv: (t, dir) => [t.fileops, "tmpfile", join(dir, "out"), "named.txt", "procfd"],
    read: [],
    written: ["out/named.txt"],
  },
  {
    name: "O_TMPFILE named by linkat(AT_EMPTY_PATH)",
    dirs: ["out"],
    argv: (t, dir) => [t.fileops, "tmpfile", join(dir, "out"), "named.txt", "emptypath"],
    read: [],
    written: ["out/named.txt"],
  },
  {
    name: "hard link",
    files: { "a.txt": "a\n" },
    argv: (t) => [t.fileops, "hardlink", "a.txt", "b.txt"],
    read: [],
    written: ["b.txt"],
  },
  {
    name: "symlink",
    files: { "a.txt": "a\n" },
    argv: (t) => [t.fileops, "symlink", "a.txt", "s.txt"],
    read: [],
    written: ["s.txt"],
  },
  {
    name: "dangling symlink",
    argv: (t) => [t.fileops, "symlink", "no/such/target", "dangling"],
    read: [],
    written: ["dangling"],
  },
  {
    name: "unlink",
    files: { "gone.txt": "bye\n" },
    argv: (t) => [t.fileops, "unlink", "gone.txt"],
    read: [],
    written: [],
    deleted: ["gone.txt"],
  },
  {
    name: "truncate by path",
    files: { "t.txt": "long content\n" },
    argv: (t) => [t.fileops, "truncate", "t.txt"],
    read: [],
    written: ["t.txt"],
  },
  {
    name: "ftruncate through an fd",
    files: { "t.txt": "long content\n" },
    argv: (t) => [t.fileops, "ftruncate", "t.txt"],
    read: ["t.txt"],
    written: ["t.txt"],
  },
  {
    name: "vfork + exec",
    files: { "in.txt": "x\n" },
    argv: (t) => [t.fileops, "vfork-exec", t.fileops, "copy", "in.txt", "out.txt"],
    read: ["in.txt"],
    written: ["out.txt"],
  },
  {
    name: "posix_spawn",
    files: { "in.txt": "x\n" },
    argv: (t) => [t.fileops, "posix-spawn", t.fileops, "copy", "in.txt", "out.txt"],
    read: ["in.txt"],
    written: ["out.txt"],
  },
  {
    name: "posix_spawn with file actions (chdir, open stdin and stdout)",
    files: { "sub/in.txt": "through file actions\n", "in.txt": "decoy\n" },
    argv: (t) => [t.fileops, "spawn-actions", "sub", "in.txt", "out.txt"],
    read: ["sub/in.txt"],
    written: ["sub/out.txt"],
  },
  {
    name: "multithreaded writers",
    dirs: ["out"],
    argv: (t) => [t.fileops, "threads", "out", "4"],
    read: [],
    written: ["out/t0.txt", "out/t1.txt", "out/t2.txt", "out/t3.txt"],
  },
  {
    name: "a forked child that outlives its parent",
    files: { "in.txt": "x\n" },
    argv: (t) => [t.fileops, "fork-outlive", "in.txt", "late.txt"],
    read: ["in.txt"],
    written: ["late.txt"],
  },
  {
    name: "static binary",
    files: { "in.txt": "x\n" },
    argv: (t) => (t.fileopsStatic ? [t.fileopsStatic, "copy", "in.txt", "out.txt"] : null),
    read: ["in.txt"],
    written: ["out.txt"],
    mayBeIncomplete: ["preload"],
  },
  {
    name: "32-bit program (i386, dynamic)",
    files: { "in.txt": "x\n" },
    argv: (t) => (t.fileops32 ? [t.fileops32, "copy", "in.txt", "out.txt"] : null),
    read: ["in.txt"],
    written: ["out.txt"],
    mayBeIncomplete: ["preload"],
    incompleteAs: "foreign_elf",
  },
  {
    name: "32-bit static program run by a shell, renaming and unlinking",
    files: { "in.txt": "x\n", "old.txt": "old\n" },
    argv: (t) =>
      t.fileops32Static
        ? [
            "sh",
            "-c",
            `${t.fileops32Static} copy in.txt tmp.txt && ${t.fileops32Static} unlink old.txt && mv tmp.txt out.txt`,
          ]
        : null,
    read: ["in.txt"],
    written: ["out.txt"],
    deleted: ["old.txt"],
    mayBeIncomplete: ["preload"],
    incompleteAs: "foreign_elf",
  },
  {
    name: "exit by signal",
    argv: (t) => [t.fileops, "die-by-signal", "out.txt"],
    read: [],
    written: ["out.txt"],
    signal: SIGTERM,
  },
  {
    name: "names with spaces, newlines and non-UTF-8 bytes",
    files: { "in put\nline.txt": "x\n" },
    dirs: ["dir with space"],
    argv: (t) => [t.fileops, "copy", "in put\nline.txt", "dir with space/out \udcff\udcfe.bin"],
    reference: "Bun passes strace's argv as UTF-8: the invalid bytes would not reach it",
    read: ["in put\nline.txt"],
    written: ["dir with space/out \udcff\udcfe.bin"],
  },
  {
    name: "raw syscall(SYS_openat2)",
    files: { "in.txt": "x\n" },
    argv: (t) => [t.fileops, "openat2", "in.txt", "out.txt"],
    read: ["in.txt"],
    written: ["out.txt"],
    mayBeIncomplete: ["preload"],
  },
  {
    name: "raw syscall(SYS_renameat2)",
    files: { "a.txt": "a\n" },
    argv: (t) => [t.fileops, "renameat2", "a.txt", "b.txt"],
    read: [],
    written: ["b.txt"],
    deleted: ["a.txt"],
    mayBeIncomplete: ["preload"],
  },
  {
    name: "renameat2(RENAME_EXCHANGE) by raw syscall: both names written",
    files: { "a.txt": "a\n", "b.txt": "b\n" },
    argv: (t) => [t.fileops, "exchange", "a.txt", "b.txt", "raw"],
    read: [],
    written: ["a.txt", "b.txt"],
  },
  {
    name: "renameat2(RENAME_EXCHANGE) through libc: both names written",
    files: { "a.txt": "a\n", "b.txt": "b\n" },
    argv: (t) => [t.fileops, "exchange", "a.txt", "b.txt", "libc"],
    read: [],
    written: ["a.txt", "b.txt"],
  },
  {
    name: "network: connect and accept over IPv4 loopback (libc)",
    argv: (t) => [t.fileops, "net", "got.txt", "inet", "libc"],
    read: [],
    written: ["got.txt"],
    network: ["accept 127.0.0.1:*", "connect 127.0.0.1:*"],
  },
  {
    name: "network: connect and accept4 over IPv6 loopback (raw syscalls)",
    argv: (t) => [t.fileops, "net", "got.txt", "inet6", "raw"],
    read: [],
    written: ["got.txt"],
    network: ["accept [::1]:*", "connect [::1]:*"],
  },
  {
    name: "bash redirect",
    argv: () => ["bash", "-c", "echo hi > x"],
    read: [],
    written: ["x"],
  },
  {
    name: "shell pipeline with a subshell",
    files: { "in.txt": "abc\n" },
    argv: () => ["sh", "-c", "(cat in.txt | tr a-z A-Z) > out.txt && cat out.txt >/dev/null"],
    read: ["in.txt"],
    written: ["out.txt"],
  },
  {
    name: "env -i child",
    files: { "in.txt": "x\n" },
    argv: (t) => ["env", "-i", t.fileops, "copy", "in.txt", "out.txt"],
    read: ["in.txt"],
    written: ["out.txt"],
    mayBeIncomplete: ["preload"],
  },
  {
    name: "python reads, writes and replaces",
    files: { "in.txt": "x\n", "old.txt": "old\n" },
    argv: (t) =>
      t.python
        ? [
            t.python,
            "-S",
            "-c",
            "import os\nopen('in.txt').read()\nopen('out.tmp','w').write('y')\nos.replace('out.tmp','out.txt')\nos.remove('old.txt')",
          ]
        : null,
    read: ["in.txt"],
    written: ["out.txt"],
    deleted: ["old.txt"],
  },
  {
    name: "exit code is passed through",
    files: { "in.txt": "x\n" },
    argv: () => ["sh", "-c", "cat in.txt >/dev/null; exit 7"],
    read: ["in.txt"],
    written: [],
    exitCode: 7,
  },
];

export function setUp(s: Scenario): string {
  const dir = tempDir("roar-fidelity-");
  for (const d of s.dirs ?? []) mkdirSync(fsPath(join(dir, d)), { recursive: true });
  for (const [name, content] of Object.entries(s.files ?? {})) {
    const path = join(dir, name);
    mkdirSync(fsPath(resolve(path, "..")), { recursive: true });
    writeFileSync(fsPath(path), content);
  }
  return dir;
}
