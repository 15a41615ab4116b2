/** Pieces the pages share: sortable table headers, pagination, formatted sizes and times, links. */
import type { Page } from "../registry/search.ts";
import type { ArtifactJson, JobJson } from "../registry/views.ts";
import { type Html, html, query, seg } from "./html.ts";

export function formatSize(size: number | null): string {
  if (size === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = size;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function formatTime(seconds: number | null | string): string {
  if (seconds === null) return "—";
  const d = typeof seconds === "string" ? new Date(seconds) : new Date(seconds * 1000);
  return Number.isNaN(d.getTime())
    ? "—"
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, " UTC");
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

export const artifactLink = (hash: string, text = hash.slice(0, 12)) =>
  html`<a class="hash" href="/artifact/${seg(hash)}" title="${hash}">${text}</a>`;

export const jobLink = (j: Pick<JobJson, "session_hash" | "job_uid">, text: string) =>
  html`<a class="job" href="/job/${seg(j.session_hash)}/${seg(j.job_uid)}">${text}</a>`;

export const sessionLink = (hash: string) =>
  html`<a class="hash" href="/dag/${seg(hash)}" title="${hash}">${hash.slice(0, 12)}</a>`;

export function stepLabel(j: Pick<JobJson, "step_number" | "job_type">): string {
  return j.step_number === null ? "—" : `${j.job_type === "build" ? "@B" : "@"}${j.step_number}`;
}

/** A column header that sorts by `key`, toggling the order when it is the current sort. */
export function sortHeader(
  label: string,
  key: string,
  page: Page,
  base: string | null,
  params: Record<string, string | undefined>,
): Html {
  if (base === null) return html`<th scope="col">${label}</th>`;
  const current = page.sort === key;
  const order = current && page.order === "desc" ? "asc" : "desc";
  const arrow = current ? (page.order === "desc" ? " ▼" : " ▲") : "";
  const href = `${base}${query({ ...params, sort: key, order })}`;
  return html`<th scope="col"${current ? html` aria-sort="${page.order === "desc" ? "descending" : "ascending"}"` : ""}><a href="${href}">${label}${arrow}</a></th>`;
}

/** Previous/next links; `exact` false when counting stopped at the cap (there may be more pages). */
export function pager(
  total: number,
  page: Page,
  base: string,
  params: Record<string, string | undefined>,
  exact = true,
): Html {
  const pages = Math.max(1, Math.ceil(total / page.limit));
  const current = Math.floor(page.offset / page.limit) + 1;
  const at = (n: number) =>
    `${base}${query({ ...params, sort: page.sort, order: page.order, offset: (n - 1) * page.limit, limit: page.limit })}`;
  return html`<nav class="pager" aria-label="pages">
${current > 1 ? html`<a rel="prev" href="${at(current - 1)}">← Previous</a>` : html`<span>← Previous</span>`}
<span>Page ${current} of ${exact ? pages : `${pages}+`} · ${exact ? total : `more than ${total}`} in all</span>
${current < pages || !exact ? html`<a rel="next" href="${at(current + 1)}">Next →</a>` : html`<span>Next →</span>`}
</nav>`;
}

export function artifactTable(
  rows: (ArtifactJson & { path: string | null })[],
  page: Page,
  base: string,
  params: Record<string, string | undefined>,
): Html {
  if (rows.length === 0) return html`<p class="empty">No artifacts.</p>`;
  return html`<table class="list artifacts">
<thead><tr>${sortHeader("Digest", "hash", page, base, params)}<th scope="col">Path</th>${sortHeader("Size", "size", page, base, params)}${sortHeader("User", "user", page, base, params)}${sortHeader("Registered", "created", page, base, params)}</tr></thead>
<tbody>
${rows.map((a) => html`<tr><td>${artifactLink(a.hash)}</td><td class="path">${a.path ?? "—"}</td><td class="num">${formatSize(a.size)}</td><td>${a.user}</td><td>${formatTime(a.created_at)}</td></tr>\n`)}
</tbody>
</table>`;
}

/** `base` null: a table in a fixed order (no sort links). */
export function jobTable(
  rows: JobJson[],
  page: Page,
  base: string | null,
  params: Record<string, string | undefined>,
): Html {
  if (rows.length === 0) return html`<p class="empty">No jobs.</p>`;
  return html`<table class="list jobs">
<thead><tr>${sortHeader("Step", "step", page, base, params)}${sortHeader("Command", "command", page, base, params)}<th scope="col">Session</th>${sortHeader("User", "user", page, base, params)}${sortHeader("Started", "time", page, base, params)}${sortHeader("Duration", "duration", page, base, params)}${sortHeader("Exit", "exit", page, base, params)}</tr></thead>
<tbody>
${rows.map((j) => html`<tr><td>${jobLink(j, stepLabel(j))}</td><td class="command">${jobLink(j, j.command)}</td><td>${sessionLink(j.session_hash)}</td><td>${j.user}</td><td>${formatTime(j.timestamp)}</td><td class="num">${formatDuration(j.duration_seconds)}</td><td class="num">${j.exit_code ?? "—"}</td></tr>\n`)}
</tbody>
</table>`;
}
