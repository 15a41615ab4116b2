/** One-line summaries of a job's Python interpreter and packages, for `roar show` (text). */

interface PythonFacts {
  executable?: unknown;
  version?: unknown;
  venv?: unknown;
}

/** `3.11.7 (/usr/bin/python3)`, or null when the job ran no Python. */
export function pythonSummary(python: unknown): string | null {
  if (!python || typeof python !== "object") return null;
  const p = python as PythonFacts;
  const version = typeof p.version === "string" && p.version !== "" ? p.version : "version unknown";
  return typeof p.executable === "string" ? `${version} (${p.executable})` : version;
}

/** The venv directory, "none" outside one, null when the job ran no Python. */
export function venvSummary(python: unknown): string | null {
  if (!python || typeof python !== "object") return null;
  const venv = (python as PythonFacts).venv;
  return typeof venv === "string" && venv !== "" ? venv : "none";
}

const MANAGER_NAMES: Record<string, string> = { pip: "pip", dpkg: "Debian" };

/**
 * `3 pip (numpy==1.26.4, pandas==2.2.0, …), 2 Debian` — the first `top` pip packages by name, the other managers
 * counted; null when the job recorded no packages at all.
 */
export function packagesSummary(packages: unknown, top = 5): string | null {
  if (!packages || typeof packages !== "object") return null;
  const parts: string[] = [];
  for (const [manager, list] of Object.entries(packages as Record<string, unknown>)) {
    if (!list || typeof list !== "object") continue;
    const entries = Object.entries(list as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (entries.length === 0) continue;
    let text = `${entries.length} ${MANAGER_NAMES[manager] ?? manager}`;
    if (manager === "pip") {
      const names = entries.slice(0, top).map(([name, version]) => `${name}==${String(version)}`);
      if (entries.length > top) names.push("…");
      text += ` (${names.join(", ")})`;
    }
    parts.push(text);
  }
  return parts.length > 0 ? parts.join(", ") : null;
}
