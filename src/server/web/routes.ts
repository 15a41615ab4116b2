/**
 * The web UI: server-rendered pages (no build step) plus one small script and one stylesheet. Browsers for
 * artifacts, jobs and sessions, search with filters, an artifact's page with its upstream lineage graph, a job's
 * page and a session's pipeline graph.
 */

import { filtersOf, pageOf } from "../api.ts";
import type { Handler } from "../app.ts";
import { num } from "../db/sql.ts";
import { RegistryError } from "../registry/errors.ts";
import { lineageOf, MAX_LINEAGE_DEPTH } from "../registry/lineage.ts";
import { artifactDetail, jobByUid, resolveArtifact, sessionJobs, sessionRow } from "../registry/read.ts";
import {
  ARTIFACT_SORTS,
  browseArtifacts,
  hasFilters,
  JOB_SORTS,
  searchArtifacts,
  searchJobs,
} from "../registry/search.ts";
import { isoTime } from "../registry/views.ts";
import { Router } from "../router.ts";
import appCss from "./assets/app.css" with { type: "text" };
import appJs from "./assets/app.js" with { type: "text" };
import { lineageSvg, sessionSvg } from "./graph.ts";
import { html, seg, trusted } from "./html.ts";
import { htmlResponse, page } from "./layout.ts";
import { ambiguousPage, artifactPage, jobPage, searchForm } from "./pages.ts";
import { artifactTable, formatTime, jobTable, pager, sessionLink } from "./parts.ts";

function paramsOf(url: URL, names: string[]): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const n of names) out[n] = url.searchParams.get(n) ?? undefined;
  return out;
}

const FILTER_NAMES = ["q", "command", "path", "package", "gpu", "type", "user", "session", "since", "until", "kind"];

const artifacts: Handler = async (ctx) => {
  const p = pageOf(ctx.url, ARTIFACT_SORTS, "created");
  const result = await browseArtifacts(ctx.db, p);
  const body = html`<h1>Artifacts</h1>
${artifactTable(result.artifacts, p, "/", {})}
${pager(result.total, p, "/", {}, result.exact)}`;
  return htmlResponse(page("Artifacts", body, "artifacts"));
};

const jobs: Handler = async (ctx) => {
  const p = pageOf(ctx.url, JOB_SORTS, "time");
  const result = await searchJobs(ctx.db, {}, p);
  const body = html`<h1>Jobs</h1>
${jobTable(result.jobs, p, "/jobs", {})}
${pager(result.total, p, "/jobs", {}, result.exact)}`;
  return htmlResponse(page("Jobs", body, "jobs"));
};

const sessions: Handler = async (ctx) => {
  const p = pageOf(ctx.url, { created: "" }, "created");
  const [count] = await ctx.db.all("SELECT COUNT(*) AS n FROM sessions");
  const rows = await ctx.db.all(
    `SELECT s.hash, s.git_repo, s.git_branch, s.owner, s.created_at,
       (SELECT COUNT(*) FROM jobs j WHERE j.session_hash = s.hash) AS job_count
     FROM sessions s ORDER BY s.created_at ${p.order === "asc" ? "ASC" : "DESC"}, s.hash LIMIT ? OFFSET ?`,
    [p.limit, p.offset],
  );
  const body = html`<h1>Sessions</h1>
${
  rows.length === 0
    ? html`<p class="empty">No sessions.</p>`
    : html`<table class="list sessions"><thead><tr><th scope="col">Session</th><th scope="col">Repository</th><th scope="col">Branch</th><th scope="col">Jobs</th><th scope="col">User</th><th scope="col">Registered</th></tr></thead><tbody>
${rows.map((s) => html`<tr><td>${sessionLink(s.hash as string)}</td><td class="path">${(s.git_repo as string | null) ?? "—"}</td><td>${(s.git_branch as string | null) ?? "—"}</td><td class="num">${num(s.job_count)}</td><td>${s.owner as string}</td><td>${formatTime(isoTime(s.created_at))}</td></tr>\n`)}
</tbody></table>`
}
${pager(num(count?.n) ?? 0, p, "/sessions", {})}`;
  return htmlResponse(page("Sessions", body, "sessions"));
};

const search: Handler = async (ctx) => {
  const filters = filtersOf(ctx.url);
  const kind = ctx.url.searchParams.get("kind") === "jobs" ? "jobs" : "artifacts";
  const params = paramsOf(ctx.url, FILTER_NAMES);
  let results = html`<p class="empty">Give a filter above to search.</p>`;
  if (hasFilters(filters)) {
    if (kind === "jobs") {
      const p = pageOf(ctx.url, JOB_SORTS, "time");
      const r = await searchJobs(ctx.db, filters, p);
      results = html`<h2>${r.exact ? r.total : `More than ${r.total}`} job${r.total === 1 ? "" : "s"}</h2>${jobTable(r.jobs, p, "/search", params)}${pager(r.total, p, "/search", params, r.exact)}`;
    } else {
      const p = pageOf(ctx.url, ARTIFACT_SORTS, "created");
      const r = await searchArtifacts(ctx.db, filters, p);
      results = html`<h2>${r.exact ? r.total : `More than ${r.total}`} artifact${r.total === 1 ? "" : "s"}</h2>${artifactTable(r.artifacts, p, "/search", params)}${pager(r.total, p, "/search", params, r.exact)}`;
    }
  }
  const body = html`<h1>Search</h1>
${searchForm(params, kind)}
<section class="results">${results}</section>`;
  return htmlResponse(page("Search", body, "search", params.q ?? ""));
};

const artifact: Handler = async (ctx) => {
  let found: Awaited<ReturnType<typeof resolveArtifact>>;
  try {
    found = await resolveArtifact(ctx.db, ctx.params.hash as string);
  } catch (error) {
    if (!(error instanceof RegistryError) || error.status !== 409) throw error;
    const body = ambiguousPage(ctx.params.hash as string, error.extra.candidates as string[]);
    return htmlResponse(page("Ambiguous digest", body, "artifacts"), 409);
  }
  if (found.hash !== ctx.params.hash)
    return new Response(null, { status: 302, headers: { location: `/artifact/${seg(found.hash)}` } });
  const detail = await artifactDetail(ctx.db, found);
  const lineage = await lineageOf(ctx.db, found, MAX_LINEAGE_DEPTH);
  const graph = lineage.jobs.length > 0 ? trusted(lineageSvg(found.hash, lineage.jobs)) : null;
  return htmlResponse(page(`Artifact ${found.hash.slice(0, 12)}`, artifactPage(detail, lineage, graph), "artifacts"));
};

const job: Handler = async (ctx) => {
  const j = await jobByUid(ctx.db, ctx.params.session as string, ctx.params.uid as string);
  return htmlResponse(page(`Job ${j.job_uid.slice(0, 12)}`, jobPage(j), "jobs"));
};

const dag: Handler = async (ctx) => {
  const session = await sessionRow(ctx.db, ctx.params.hash as string);
  const list = await sessionJobs(ctx.db, session.hash);
  const p = { limit: list.length || 1, offset: 0, sort: "step", order: "asc" as const };
  const body = html`<h1>Session <code>${session.hash.slice(0, 16)}</code></h1>
<dl class="facts">
<dt>Session</dt><dd><code class="digest">${session.hash}</code></dd>
<dt>Repository</dt><dd>${session.git_repo ?? "—"}</dd>
<dt>Commit</dt><dd><code>${session.git_commit ?? "—"}</code> on ${session.git_branch ?? "—"}</dd>
<dt>Registered by</dt><dd>${session.user}, ${formatTime(session.created_at)}</dd>
</dl>
<h2>Pipeline</h2>
${list.length > 0 ? html`<figure class="graph">${trusted(sessionSvg(list))}</figure>` : html`<p class="empty">No jobs registered in this session.</p>`}
<h2>Jobs (${list.length})</h2>
${jobTable(list, p, null, {})}`;
  return htmlResponse(page(`Session ${session.hash.slice(0, 12)}`, body, "sessions"));
};

const asset =
  (body: string, type: string): Handler =>
  () =>
    new Response(body, { headers: { "content-type": type, "cache-control": "public, max-age=300" } });

export function errorPage(status: number, message: string, headers: Record<string, string> = {}): Response {
  const title = status === 404 ? "Not found" : status === 409 ? "Ambiguous" : `Error ${status}`;
  return htmlResponse(page(title, html`<h1>${title}</h1><p class="error">${message}</p>`), status, headers);
}

export function webRoutes(): Router<Handler> {
  return new Router<Handler>()
    .get("/", artifacts)
    .get("/jobs", jobs)
    .get("/sessions", sessions)
    .get("/search", search)
    .get("/artifact/:hash", artifact)
    .get("/job/:session/:uid", job)
    .get("/dag/:hash", dag)
    .get("/static/app.css", asset(appCss, "text/css; charset=utf-8"))
    .get("/static/app.js", asset(appJs, "text/javascript; charset=utf-8"));
}
