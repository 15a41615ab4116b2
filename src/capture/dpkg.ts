/**
 * Debian packages owning the executables and shared libraries a job loaded. `dpkg -S` is slow (it scans the
 * package file lists), so owners are cached in $XDG_CACHE_HOME/roar/dpkg-owners.json, invalidated whenever
 * dpkg's status file changes; only paths not seen before cost a `dpkg -S` / `dpkg-query` call.
 */
import { existsSync, realpathSync, statSync } from "node:fs";
import { readCache, writeCache } from "../shared/cache.ts";
import type { CaptureSource } from "./source.ts";

const LIBRARY = /\.so(\.\d+)*$/;
const STATUS = "/var/lib/dpkg/status";

interface OwnerCache {
  statusMtimeMs: number;
  /** path → package (null: owned by no package) */
  owners: Record<string, string | null>;
  versions: Record<string, string>;
}

const CACHE = "dpkg-owners.json";

function loadCache(statusMtimeMs: number): OwnerCache {
  const c = readCache<OwnerCache>(CACHE);
  return c && c.statusMtimeMs === statusMtimeMs ? c : { statusMtimeMs, owners: {}, versions: {} };
}

/** dpkg records /lib/... on merged-/usr systems where the loader opens /usr/lib/...: try every spelling. */
function spellings(path: string): string[] {
  const out = new Set([path]);
  try {
    out.add(realpathSync(path));
  } catch {
    // gone
  }
  for (const p of [...out]) {
    if (p.startsWith("/usr/lib/") || p.startsWith("/usr/bin/") || p.startsWith("/usr/sbin/")) out.add(p.slice(4));
    else if (p.startsWith("/lib/") || p.startsWith("/bin/") || p.startsWith("/sbin/")) out.add(`/usr${p}`);
  }
  return [...out];
}

async function run(argv: string[]): Promise<string> {
  const proc = Bun.spawn(argv, { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return out;
}

/** The second character of system() paths: /usr/, /bin/, /lib…, /sbin/. */
const [U, B, L, S] = ["u", "b", "l", "s"].map((c) => c.charCodeAt(0));

export async function debianPackages(
  executables: Iterable<string>,
  opened: readonly string[],
): Promise<Record<string, string>> {
  if (!existsSync("/usr/bin/dpkg-query") || !existsSync(STATUS)) return {};
  const system = (p: string) =>
    p.startsWith("/usr/") || p.startsWith("/bin/") || p.startsWith("/lib") || p.startsWith("/sbin/");
  const paths = new Set<string>();
  for (const p of executables) {
    if (system(p)) paths.add(p);
    else {
      // A venv's bin/python (a symlink into /usr/bin): the package of what it runs.
      try {
        const real = realpathSync(p);
        if (system(real)) paths.add(real);
      } catch {
        // gone
      }
    }
  }
  // The prefix tests first, the path's second character before them: they rule out a job's data (tens of
  // thousands of reads) more cheaply than the regex, and that one character most of it. An indexed loop: this
  // runs once a job, before the JIT has compiled it, where an iterator costs more than the test.
  for (let i = 0; i < opened.length; i++) {
    const p = opened[i] as string;
    const second = p.charCodeAt(1);
    if ((second === U || second === B || second === L || second === S) && system(p) && LIBRARY.test(p)) paths.add(p);
  }
  if (paths.size === 0) return {};

  const cache = loadCache(statSync(STATUS).mtimeMs);
  const unknown = [...paths].filter((p) => !(p in cache.owners)).slice(0, 400);
  let dirty = false;
  if (unknown.length > 0) {
    const query = new Map<string, string>();
    for (const p of unknown) for (const s of spellings(p)) query.set(s, p);
    const found = new Map<string, string>();
    for (const line of (await run(["dpkg", "-S", ...query.keys()])).split("\n")) {
      const sep = line.indexOf(": ");
      if (sep < 0 || line.startsWith("diversion")) continue;
      const original = query.get(line.slice(sep + 2).trim());
      const pkg = line.slice(0, sep).split(", ")[0]?.split(":")[0];
      if (original && pkg) found.set(original, pkg);
    }
    for (const p of unknown) cache.owners[p] = found.get(p) ?? null;
    dirty = true;
  }
  const packages = new Set<string>();
  for (const p of paths) {
    const owner = cache.owners[p];
    if (owner) packages.add(owner);
  }
  const missingVersions = [...packages].filter((p) => !(p in cache.versions));
  if (missingVersions.length > 0) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format placeholders, not JS
    for (const line of (await run(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\n", ...missingVersions])).split(
      "\n",
    )) {
      const [name, version] = line.split("\t");
      if (name && version) cache.versions[name] = version;
    }
    dirty = true;
  }
  if (dirty) writeCache(CACHE, cache);
  const result: Record<string, string> = {};
  for (const p of [...packages].sort()) {
    const v = cache.versions[p];
    if (v) result[p] = v;
  }
  return result;
}

/** The Debian packages of what the job ran and read (`metadata.packages.dpkg`). */
export const dpkgSource: CaptureSource = {
  name: "dpkg",
  async capture({ executables, readPaths }) {
    return { metadata: { packages: { dpkg: await debianPackages(executables, readPaths) } } };
  },
};
