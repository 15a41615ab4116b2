/** Debian packages owning the executables and shared libraries a job loaded: one `dpkg -S`, one `dpkg-query`. */
import { existsSync, realpathSync } from "node:fs";

const LIBRARY = /\.so(\.\d+)*$/;

export async function debianPackages(
  executables: Iterable<string>,
  opened: Iterable<string>,
): Promise<Record<string, string>> {
  if (!existsSync("/usr/bin/dpkg-query")) return {};
  const paths = new Set<string>();
  for (const p of executables) if (p.startsWith("/usr/") || p.startsWith("/bin/") || p.startsWith("/lib")) paths.add(p);
  for (const p of opened) if (LIBRARY.test(p) && (p.startsWith("/usr/") || p.startsWith("/lib"))) paths.add(p);
  if (paths.size === 0) return {};
  // dpkg records /lib/... on merged-/usr systems where the loader opens /usr/lib/...; ask for both spellings.
  const query = new Set<string>();
  for (const p of [...paths].slice(0, 400)) {
    query.add(p);
    try {
      query.add(realpathSync(p));
    } catch {
      // gone
    }
    if (p.startsWith("/usr/lib/")) query.add(p.slice(4));
    if (p.startsWith("/usr/bin/")) query.add(p.slice(4));
  }
  const search = Bun.spawn(["dpkg", "-S", ...query], { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(search.stdout).text();
  await search.exited;
  const packages = new Set<string>();
  for (const line of out.split("\n")) {
    const owner = line.split(": ")[0];
    if (!owner || line.startsWith("diversion")) continue;
    for (const pkg of owner.split(", ")) packages.add(pkg.split(":")[0] ?? pkg);
  }
  if (packages.size === 0) return {};
  const q = Bun.spawn(["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\n", ...packages], {
    stdout: "pipe",
    stderr: "ignore",
  });
  const versions = await new Response(q.stdout).text();
  await q.exited;
  const result: Record<string, string> = {};
  for (const line of versions.split("\n")) {
    const [name, version] = line.split("\t");
    if (name && version) result[name] = version;
  }
  return result;
}
