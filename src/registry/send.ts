/**
 * Sending a registration in the original client's order (reference-behaviour §F.3): health, each session, its
 * jobs (without I/O, batched), the artifacts (batched), then each job's inputs and outputs. Every step is
 * idempotent on the server, so registering the same lineage again changes nothing.
 */
import { API, type RegistryClient, RegistryRequestError } from "./client.ts";
import type { Registration } from "./payload.ts";

export interface SentRegistration {
  /** Who the server took us for (null: a registry without whoami). */
  user: string | null;
  anonymous: boolean;
  sessions: { hash: string; url: string | null; created: boolean }[];
  artifacts: { created: number; existing: number };
}

/** Link requests in flight at once (each a small signed POST). */
const LINK_CONCURRENCY = 4;

export async function sendRegistration(client: RegistryClient, reg: Registration): Promise<SentRegistration> {
  await client.health();
  let user: string | null = null;
  try {
    // Signed: a refused key falls back to anonymous here, before anything is written.
    const me = await client.request<{ user?: unknown }>("GET", `${API}/auth/whoami`);
    user = typeof me.user === "string" ? me.user : null;
  } catch (error) {
    if (!(error instanceof RegistryRequestError) || error.status !== 404) throw error;
  }
  const sessions: SentRegistration["sessions"] = [];
  for (const s of reg.sessions) {
    const made = await client.request<{ hash?: string; url?: string; created?: boolean }>("POST", `${API}/sessions`, s);
    sessions.push({
      hash: s.hash,
      url: typeof made.url === "string" ? made.url : null,
      created: made.created === true,
    });
    const jobs = reg.jobs.filter((j) => j.session === s.hash).map((j) => j.payload);
    if (jobs.length > 0) await client.batched(`${API}/sessions/${s.hash}/jobs/batch`, "jobs", jobs);
  }
  const counts = { created: 0, existing: 0 };
  const answers = await client.batched<unknown, { created?: number; existing?: number }>(
    `${API}/artifacts/batch`,
    "artifacts",
    reg.artifacts,
  );
  for (const a of answers) {
    counts.created += a.created ?? 0;
    counts.existing += a.existing ?? 0;
  }
  const queue = [...reg.links];
  const worker = async () => {
    for (let l = queue.shift(); l; l = queue.shift())
      await client.batched(`${API}/sessions/${l.session}/jobs/${l.jobUid}/${l.role}`, "artifacts", l.items);
  };
  await Promise.all(Array.from({ length: LINK_CONCURRENCY }, worker));
  return { user: client.signing ? user : "anonymous", anonymous: !client.signing, sessions, artifacts: counts };
}
