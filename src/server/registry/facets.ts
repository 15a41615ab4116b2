/**
 * What search filters on, taken from a job's metadata once when it is registered: the packages it used (pip and
 * Debian) and the GPUs it ran on. Both the original's metadata (`packages.pip: {name: version}`,
 * `runtime.gpu[{name}]`) and lists of names are understood; anything else is ignored.
 */

export interface Facet {
  facet: "pip" | "dpkg" | "gpu";
  value: string;
}

function parseMetadata(metadata: unknown): Record<string, unknown> | null {
  if (typeof metadata === "string") {
    try {
      const parsed: unknown = JSON.parse(metadata);
      return parsed && typeof parsed === "object" && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : null;
    } catch {
      return null;
    }
  }
  return metadata && typeof metadata === "object" && !Array.isArray(metadata)
    ? (metadata as Record<string, unknown>)
    : null;
}

function names(value: unknown): string[] {
  if (Array.isArray(value))
    return value
      .map((v) => (typeof v === "string" ? v : v && typeof v === "object" ? (v as { name?: unknown }).name : null))
      .filter((v): v is string => typeof v === "string");
  if (value && typeof value === "object") return Object.keys(value);
  return [];
}

const MAX_FACETS = 2000;

export function jobFacets(metadata: unknown): Facet[] {
  const m = parseMetadata(metadata);
  if (!m) return [];
  const out = new Map<string, Facet>();
  const add = (facet: Facet["facet"], value: string) => {
    const v = value.trim().toLowerCase().slice(0, 200);
    if (v && out.size < MAX_FACETS) out.set(`${facet}\0${v}`, { facet, value: v });
  };
  const packages = m.packages as Record<string, unknown> | undefined;
  if (packages && typeof packages === "object") {
    for (const n of [...names(packages.pip), ...names(packages.build_pip)]) add("pip", n.replace(/_/g, "-"));
    for (const n of [...names(packages.dpkg), ...names(packages.build_dpkg)]) add("dpkg", n.replace(/:.*$/, ""));
  }
  const runtime = m.runtime as Record<string, unknown> | undefined;
  if (runtime && typeof runtime === "object") for (const n of names(runtime.gpu)) add("gpu", n);
  return [...out.values()];
}

/** The lowercased extension of a path's last component (`model.PT` → `pt`), or "" when it has none. */
export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 && dot < base.length - 1
    ? base
        .slice(dot + 1)
        .toLowerCase()
        .slice(0, 32)
    : "";
}
