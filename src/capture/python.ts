/**
 * Python distributions a job actually used, from the files the tracer saw under site-packages /
 * dist-packages, mapped to `name==version` through each environment's `.dist-info` records. No import hooks.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { TraceEvent } from "../schema/events.ts";
import { fileStamp, readCache, writeCache } from "../shared/cache.ts";
import type { CaptureSource } from "./source.ts";

const VERSION_CACHE = "python-versions.json";
const SITE = /^(.*\/(?:site|dist)-packages)\/(.+)$/;
/** What every path SITE matches contains: a cheap first test. */
const PACKAGES_DIR = "-packages/";

interface DistIndex {
  /** file (relative to site-packages, from RECORD) → distribution: exact, also for namespace packages */
  byFile: Map<string, { name: string; version: string }>;
  /** top-level module or package name → distribution (when RECORD does not list the file) */
  byTop: Map<string, { name: string; version: string }>;
}

const indexCache = new Map<string, DistIndex>();

function parseMetadata(dir: string): { name: string; version: string } | null {
  try {
    // .dist-info/METADATA, .egg-info/PKG-INFO, or an .egg-info file that is itself PKG-INFO (old setuptools)
    const file = dir.endsWith(".egg-info")
      ? statSync(dir).isDirectory()
        ? join(dir, "PKG-INFO")
        : dir
      : join(dir, "METADATA");
    const text = readFileSync(file, "utf8");
    const name = /^Name:\s*(.+)$/m.exec(text)?.[1]?.trim();
    const version = /^Version:\s*(.+)$/m.exec(text)?.[1]?.trim();
    if (name && version) return { name, version };
  } catch {
    // fall back to the directory name
  }
  const m = /^(.+?)-([^-]+?)(?:-py\d[.\d]*)?\.(?:dist|egg)-info$/.exec(dir.split("/").pop() ?? "");
  return m?.[1] && m[2] ? { name: m[1], version: m[2] } : null;
}

function recordFiles(dir: string): string[] {
  try {
    return readFileSync(join(dir, "RECORD"), "utf8")
      .split("\n")
      .map((line) => line.split(",")[0] ?? "")
      .filter((file) => file && !file.startsWith("..") && !file.includes(".dist-info/"));
  } catch {
    return [];
  }
}

function topLevels(dir: string): string[] {
  const tops = new Set<string>();
  try {
    for (const line of readFileSync(join(dir, "top_level.txt"), "utf8").split("\n"))
      if (line.trim()) tops.add(line.trim());
  } catch {
    // no top_level.txt (common for wheels built by newer backends)
  }
  try {
    for (const line of readFileSync(join(dir, "RECORD"), "utf8").split("\n")) {
      const file = line.split(",")[0] ?? "";
      if (!file || file.startsWith("..") || file.includes(".dist-info/")) continue;
      const first = file.split("/")[0] ?? "";
      tops.add(first.replace(/\.(py|pyc|so|pth)$/, "").replace(/\.cpython-.*$/, ""));
    }
  } catch {
    // no RECORD
  }
  return [...tops].filter(Boolean);
}

function indexSitePackages(site: string, stamp: string | null): DistIndex {
  const cached = stamp === null ? undefined : indexCache.get(`${site}\0${stamp}`);
  if (cached) return cached;
  const byTop = new Map<string, { name: string; version: string }>();
  const byFile = new Map<string, { name: string; version: string }>();
  let entries: string[] = [];
  try {
    entries = readdirSync(site);
  } catch {
    // vanished
  }
  for (const entry of entries) {
    // Wheels install .dist-info; Debian's python3-* packages and older setuptools, .egg-info
    if (!entry.endsWith(".dist-info") && !entry.endsWith(".egg-info")) continue;
    const dir = join(site, entry);
    const meta = parseMetadata(dir);
    if (!meta) continue;
    const tops = topLevels(dir);
    // An .egg-info without top_level.txt: the distribution's name is the usual module name.
    if (tops.length === 0 && entry.endsWith(".egg-info")) tops.push(meta.name.toLowerCase().replace(/-/g, "_"));
    for (const top of tops) if (!byTop.has(top)) byTop.set(top, meta);
    for (const file of recordFiles(dir)) byFile.set(file, meta);
  }
  const index = { byFile, byTop };
  if (stamp !== null) indexCache.set(`${site}\0${stamp}`, index);
  return index;
}

function isElf(path: string): boolean {
  try {
    const fd = openSync(path, "r");
    try {
      const buf = Buffer.alloc(4);
      readSync(fd, buf, 0, 4, 0);
      return buf.toString("latin1") === "\x7fELF";
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

export interface PythonPackages {
  pip: Record<string, string>;
  sitePackages: string[];
}

/**
 * Which distribution owns what a job read, remembered per site-packages directory across runs: indexing a
 * site-packages (every RECORD and METADATA) costs ~100 ms for a couple of hundred distributions, while a job reads
 * the same few packages run after run. The directory's mtime and inode key the answers: installing, removing or
 * upgrading a distribution adds or removes a `.dist-info` entry, which changes both.
 */
const OWNERS_CACHE = "python-owners.json";
/** More answers than this for one site-packages: start over (a cache, not a catalogue). */
const MAX_OWNERS = 20_000;
type Owner = [name: string, version: string] | null;
type OwnersCache = Record<string, { stamp: string; owners: Record<string, Owner> }>;

export function usedPythonPackages(paths: Iterable<string>): PythonPackages {
  const pip: Record<string, string> = {};
  const sites = new Set<string>();
  // Read at the first module read from a site-packages directory: most jobs' reads hold none.
  let cache: OwnersCache | undefined;
  const stamps = new Map<string, string | null>();
  let dirty = false;
  for (const path of paths) {
    const m = SITE.exec(path);
    if (!m?.[1] || !m[2]) continue;
    const site = m[1];
    const parts = m[2].split("/");
    const first = parts[0] ?? "";
    // Metadata and .pth files are read at interpreter start-up for every installed distribution: not use.
    if (first.endsWith(".dist-info") || first.endsWith(".egg-info") || first.endsWith(".pth")) continue;
    // A single-module distribution (six, threadpoolctl) is usually read as its bytecode: __pycache__/six.….pyc
    const module = first === "__pycache__" ? /^([^.]+)\..*\.pyc$/.exec(parts[1] ?? "")?.[1] : undefined;
    if (first === "__pycache__" && !module) continue;
    sites.add(site);
    cache ??= readCache<OwnersCache>(OWNERS_CACHE) ?? {};
    const top = module ?? first.replace(/\.(py|pyc|so|pth)$/, "").replace(/\.cpython-.*$/, "");
    // Files of one directory belong to one distribution (namespace packages split at directories, not files).
    const key = module ? `__pycache__/${module}` : parts.length === 1 ? first : parts.slice(0, -1).join("/");
    if (!stamps.has(site)) stamps.set(site, fileStamp(site));
    const stamp = stamps.get(site) ?? null;
    let entry = cache[site];
    if (stamp !== null && (!entry || entry.stamp !== stamp || Object.keys(entry.owners).length > MAX_OWNERS)) {
      entry = cache[site] = { stamp, owners: {} };
      dirty = true;
    }
    let owner = entry?.owners[key];
    if (owner === undefined) {
      const index = indexSitePackages(site, stamp);
      const dist = index.byFile.get(m[2]) ?? index.byTop.get(top);
      owner = dist ? [dist.name, dist.version] : null;
      if (entry) {
        entry.owners[key] = owner;
        dirty = true;
      }
    }
    if (owner) pip[owner[0]] = owner[1];
  }
  if (dirty && cache) writeCache(OWNERS_CACHE, cache);
  return { pip, sitePackages: [...sites].sort() };
}

/**
 * The paths to consider for package detection: every read under a site-packages or dist-packages directory (the
 * only ones usedPythonPackages looks at: a job's data, tens of thousands of files, is dropped at once), except
 * reads a Python process made while starting up, before it opened its script (site-packages `.pth` hooks import
 * things such as `_distutils_hack` or `certifi` into every interpreter; that is the environment's doing, not the
 * job's use).
 */
export function packageReadPaths(events: readonly TraceEvent[]): string[] {
  const scriptOf = new Map<number, string>();
  /** Reads a Python process made before opening its script; kept in case the script is never matched. */
  const startup = new Map<number, string[]>();
  const out = new Set<string>();
  // The last process's startup list (or none): a job's opens come in runs of one process (tens of thousands of
  // them, one map lookup each otherwise).
  let lastPid = Number.NaN;
  let lastPending: string[] | undefined;
  // An indexed loop, as in dpkg.ts: once a job, over every event.
  for (let i = 0; i < events.length; i++) {
    const e = events[i] as TraceEvent;
    if (e.kind === "proc_start") {
      for (const p of startup.get(e.pid) ?? []) out.add(p);
      startup.delete(e.pid);
      scriptOf.delete(e.pid);
      const script = /\/python[0-9.]*$/.test(e.exe) ? e.argv.slice(1).find((a) => !a.startsWith("-")) : undefined;
      if (script?.endsWith(".py")) {
        scriptOf.set(e.pid, resolve(e.cwd, script));
        startup.set(e.pid, []);
      }
      lastPid = Number.NaN;
    } else if (e.kind === "open" && (e.flags & 3) !== 1) {
      if (e.pid !== lastPid) {
        lastPid = e.pid;
        lastPending = startup.get(e.pid);
      }
      const pending = lastPending;
      if (pending) {
        if (e.path === scriptOf.get(e.pid)) {
          startup.delete(e.pid);
          lastPending = undefined;
        } else if (e.path.includes(PACKAGES_DIR)) pending.push(e.path);
        continue;
      }
      if (e.path.includes(PACKAGES_DIR)) out.add(e.path);
    }
  }
  // A script never seen opened (a path spelt in a way we did not match): count everything it read.
  for (const reads of startup.values()) for (const p of reads) out.add(p);
  return [...out];
}

export interface PythonInterpreter {
  executable: string;
  version: string | null;
  venv: string | null;
}

/** The first Python interpreter the job executed, with its version (from pyvenv.cfg or one quick spawn). */
export async function pythonInterpreter(executables: Iterable<string>): Promise<PythonInterpreter | null> {
  // Version managers put shell-script shims first (pyenv): prefer the real interpreter binary.
  let exe: string | null = null;
  // A venv's python is a symlink: the tracer may report the path run and the resolved binary; either names it.
  let venvCfg: string | null = null;
  for (const e of executables) {
    if (!/\/python[0-9.]*$/.test(e)) continue;
    if (exe === null || (isElf(e) && !isElf(exe))) exe = e;
    const cfg = join(dirname(dirname(e)), "pyvenv.cfg");
    if (venvCfg === null && existsSync(cfg)) venvCfg = cfg;
  }
  if (!exe) return null;
  let venv: string | null = null;
  if (venvCfg) {
    venv = dirname(venvCfg);
    const cfg = readFileSync(venvCfg, "utf8");
    const v = /^version(?:_info)?\s*=\s*(\S+)/m.exec(cfg)?.[1];
    if (v) return { executable: exe, version: v, venv };
  }
  // Asking the interpreter costs a Python start-up (~50-250 ms): remember the answer per binary.
  let key: string;
  try {
    const st = statSync(exe);
    key = `${exe}:${st.size}:${st.mtimeMs}`;
  } catch {
    return { executable: exe, version: null, venv };
  }
  const cache = readCache<Record<string, string>>(VERSION_CACHE) ?? {};
  if (cache[key]) return { executable: exe, version: cache[key] ?? null, venv };
  try {
    const r = Bun.spawnSync([exe, "-c", "import platform; print(platform.python_version())"], {
      stdout: "pipe",
      stderr: "ignore",
      timeout: 5000,
    });
    const version = r.exitCode === 0 ? r.stdout.toString().trim() : null;
    if (version) writeCache(VERSION_CACHE, { ...cache, [key]: version });
    return { executable: exe, version, venv };
  } catch {
    return { executable: exe, version: null, venv };
  }
}

/** The interpreter the job ran and the packages it imported (`metadata.python`, `metadata.packages.pip`). */
export const pythonSource: CaptureSource = {
  name: "python",
  async capture({ executables, events }) {
    const python = await pythonInterpreter(executables);
    const pip = usedPythonPackages(packageReadPaths(events));
    return {
      metadata: {
        packages: { pip: pip.pip },
        python: python ? { ...python, sitePackages: pip.sitePackages } : null,
      },
    };
  },
};
