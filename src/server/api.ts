/** The REST API under /api/v1 (reference-behaviour §F.2), every answer in the `{success, data}` envelope. */
import packageJson from "../../package.json" with { type: "json" };
import type { Ctx, Handler } from "./app.ts";
import { num } from "./db/sql.ts";
import { badRequest, intParam, ok, timeParam } from "./http.ts";
import { validate } from "./payloads.ts";
import { addKey } from "./registry/keys.ts";
import { dagOf, lineageOf, MAX_LINEAGE_DEPTH } from "./registry/lineage.ts";
import { artifactDetail, jobByUid, resolveArtifact, sessionJobs, sessionRow } from "./registry/read.ts";
import {
  ARTIFACT_SORTS,
  browseArtifacts,
  hasFilters,
  JOB_SORTS,
  type Page,
  type SearchFilters,
  searchArtifacts,
  searchJobs,
} from "./registry/search.ts";
import { isoTime } from "./registry/views.ts";
import { deleteSession, registerJobs, registerSession } from "./registry/write.ts";
import { linkArtifacts, registerArtifacts } from "./registry/write-artifacts.ts";
import { Router } from "./router.ts";
import { parsePublicKey, SshFormatError } from "./sshsig.ts";

const MAX_PAGE = 500;

export function pageOf(url: URL, sorts: Record<string, string>, defaultSort: string): Page {
  const sort = url.searchParams.get("sort") || defaultSort;
  if (!(sort in sorts))
    throw badRequest(`unknown sort '${sort.slice(0, 40)}' (one of ${Object.keys(sorts).join(", ")})`, {
      field: "sort",
    });
  const order = url.searchParams.get("order") || "desc";
  if (order !== "asc" && order !== "desc") throw badRequest("order must be asc or desc", { field: "order" });
  return {
    limit: intParam(url, "limit", 50, 1, MAX_PAGE),
    offset: intParam(url, "offset", 0, 0, 1_000_000_000),
    sort,
    order,
  };
}

export function filtersOf(url: URL): SearchFilters {
  const text = (name: string) => {
    const v = url.searchParams.get(name)?.trim();
    if (v && v.length > 1000) throw badRequest(`query parameter '${name}' is too long`, { field: name });
    return v ? v : undefined;
  };
  const f: SearchFilters = {
    q: text("q"),
    command: text("command"),
    path: text("path"),
    package: text("package"),
    gpu: text("gpu"),
    type: text("type"),
    user: text("user"),
    session: text("session"),
    since: timeParam(url, "since"),
    until: timeParam(url, "until"),
  };
  for (const k of Object.keys(f) as (keyof SearchFilters)[]) if (f[k] === undefined) delete f[k];
  return f;
}

const sessionUrl = (ctx: Ctx, hash: string) => `${ctx.url.origin}/dag/${hash}`;

const health: Handler = (ctx) =>
  ok({
    status: "ok",
    service: "glaas",
    version: packageJson.version,
    database: ctx.db.dialect,
    time: new Date().toISOString(),
  });

const createSession: Handler = async (ctx) => {
  const input = validate.session.parse(ctx.body);
  const result = await registerSession(ctx.db, input, ctx.actor);
  return ok(
    { hash: result.hash, url: sessionUrl(ctx, result.hash), created: result.created },
    result.created ? 201 : 200,
  );
};

const listSessions: Handler = async (ctx) => {
  const limit = intParam(ctx.url, "limit", 50, 1, MAX_PAGE);
  const offset = intParam(ctx.url, "offset", 0, 0, 1_000_000_000);
  const [count] = await ctx.db.all("SELECT COUNT(*) AS n FROM sessions");
  const rows = await ctx.db.all(
    `SELECT s.hash, s.git_repo, s.git_commit, s.git_branch, s.owner, s.created_at,
       (SELECT COUNT(*) FROM jobs j WHERE j.session_hash = s.hash) AS job_count
     FROM sessions s ORDER BY s.created_at DESC, s.hash LIMIT ? OFFSET ?`,
    [limit, offset],
  );
  return ok({
    total: num(count?.n) ?? 0,
    sessions: rows.map((r) => ({
      hash: r.hash,
      git_repo: r.git_repo ?? null,
      git_commit: r.git_commit ?? null,
      git_branch: r.git_branch ?? null,
      user: r.owner,
      created_at: isoTime(r.created_at),
      job_count: num(r.job_count),
      url: sessionUrl(ctx, r.hash as string),
    })),
  });
};

const getSession: Handler = async (ctx) => {
  const session = await sessionRow(ctx.db, ctx.params.hash as string);
  return ok({ ...session, url: sessionUrl(ctx, session.hash), jobs: await sessionJobs(ctx.db, session.hash) });
};

const removeSession: Handler = async (ctx) => {
  await deleteSession(ctx.db, ctx.params.hash as string, ctx.actor);
  return ok({ hash: (ctx.params.hash as string).toLowerCase(), deleted: true });
};

const createJob: Handler = async (ctx) => {
  const job = validate.job.parse(ctx.body);
  const { ids } = await registerJobs(ctx.db, ctx.params.hash as string, [job], ctx.actor);
  return ok({ id: ids[0], job_uid: job.job_uid }, 201);
};

const createJobs: Handler = async (ctx) => {
  const { jobs } = validate.jobBatch.parse(ctx.body);
  const { ids, errors } = await registerJobs(ctx.db, ctx.params.hash as string, jobs, ctx.actor);
  return ok({ job_ids: ids, errors }, 201);
};

const getJob: Handler = async (ctx) => ok(await jobByUid(ctx.db, ctx.params.hash as string, ctx.params.uid as string));

function link(role: "input" | "output"): Handler {
  return async (ctx) => {
    const { artifacts } = validate.links.parse(ctx.body);
    const uid = ctx.params.uid as string;
    const count = await linkArtifacts(ctx.db, ctx.params.hash as string, uid, role, artifacts, ctx.actor);
    return ok({ job_uid: uid, [`${role}s_linked`]: count });
  };
}

const createArtifact: Handler = async (ctx) => {
  const artifact = validate.artifact.parse(ctx.body);
  const result = await registerArtifacts(ctx.db, [artifact], ctx.actor);
  return ok({ hash: result.hashes[0], created: result.created === 1 }, result.created === 1 ? 201 : 200);
};

const createArtifacts: Handler = async (ctx) => {
  const { artifacts } = validate.artifactBatch.parse(ctx.body);
  const { created, existing } = await registerArtifacts(ctx.db, artifacts, ctx.actor);
  return ok({ created, existing });
};

const listArtifacts: Handler = async (ctx) => {
  const page = pageOf(ctx.url, ARTIFACT_SORTS, "created");
  return ok({ ...(await browseArtifacts(ctx.db, page)), limit: page.limit, offset: page.offset });
};

const getArtifact: Handler = async (ctx) => {
  const artifact = await resolveArtifact(ctx.db, ctx.params.prefix as string);
  return ok(await artifactDetail(ctx.db, artifact));
};

const getLineage: Handler = async (ctx) => {
  const depth = intParam(ctx.url, "depth", 1, 1, MAX_LINEAGE_DEPTH);
  const artifact = await resolveArtifact(ctx.db, ctx.params.prefix as string);
  return ok(await lineageOf(ctx.db, artifact, depth));
};

const getDag: Handler = async (ctx) => {
  const artifact = await resolveArtifact(ctx.db, ctx.params.prefix as string);
  return ok(await dagOf(ctx.db, artifact));
};

const listJobs: Handler = async (ctx) => {
  const page = pageOf(ctx.url, JOB_SORTS, "time");
  return ok({ ...(await searchJobs(ctx.db, filtersOf(ctx.url), page)), limit: page.limit, offset: page.offset });
};

const search: Handler = async (ctx) => {
  const kind = ctx.url.searchParams.get("kind") || "artifacts";
  const filters = filtersOf(ctx.url);
  if (kind === "jobs") {
    const page = pageOf(ctx.url, JOB_SORTS, "time");
    return ok({ kind, filters, ...(await searchJobs(ctx.db, filters, page)), limit: page.limit, offset: page.offset });
  }
  if (kind !== "artifacts") throw badRequest("kind must be artifacts or jobs", { field: "kind" });
  const page = pageOf(ctx.url, ARTIFACT_SORTS, "created");
  const result = hasFilters(filters)
    ? await searchArtifacts(ctx.db, filters, page)
    : await browseArtifacts(ctx.db, page);
  return ok({ kind, filters, ...result, limit: page.limit, offset: page.offset });
};

const registerKey: Handler = async (ctx) => {
  const input = validate.key.parse(ctx.body);
  let key: ReturnType<typeof parsePublicKey>;
  try {
    key = parsePublicKey(input.public_key);
  } catch (error) {
    if (error instanceof SshFormatError)
      throw badRequest(`field 'public_key' is not a usable SSH public key: ${error.message}`, { field: "public_key" });
    throw error;
  }
  const result = await addKey(ctx.db, input.user, key, {
    admin: false,
    actor: ctx.actor,
    openSignup: ctx.options.openSignup,
  });
  return ok(result, result.created_key ? 201 : 200);
};

const whoami: Handler = (ctx) =>
  ok({ user: ctx.actor.user, authenticated: ctx.actor.authenticated, fingerprint: ctx.actor.fingerprint ?? null });

export function apiRoutes(): Router<Handler> {
  const base = "/api/v1";
  return new Router<Handler>()
    .get(`${base}/health`, health)
    .post(`${base}/sessions`, createSession)
    .get(`${base}/sessions`, listSessions)
    .get(`${base}/sessions/:hash`, getSession)
    .delete(`${base}/sessions/:hash`, removeSession)
    .post(`${base}/sessions/:hash/jobs`, createJob)
    .post(`${base}/sessions/:hash/jobs/batch`, createJobs)
    .get(`${base}/sessions/:hash/jobs/:uid`, getJob)
    .post(`${base}/sessions/:hash/jobs/:uid/inputs`, link("input"))
    .post(`${base}/sessions/:hash/jobs/:uid/outputs`, link("output"))
    .post(`${base}/artifacts`, createArtifact)
    .post(`${base}/artifacts/batch`, createArtifacts)
    .get(`${base}/artifacts`, listArtifacts)
    .get(`${base}/artifacts/:prefix`, getArtifact)
    .get(`${base}/artifacts/:prefix/lineage`, getLineage)
    .get(`${base}/artifacts/:prefix/dag`, getDag)
    .get(`${base}/jobs`, listJobs)
    .get(`${base}/search`, search)
    .post(`${base}/keys`, registerKey)
    .get(`${base}/auth/whoami`, whoami);
}
