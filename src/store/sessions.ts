/** The `sessions` table: one active session at a time, started race-free between parallel roar processes. */
import type { SessionRow } from "../core/types.ts";
import { json, newUid, type Row, type StoreDb } from "./statements.ts";

function toSession(r: Row): SessionRow {
  return {
    id: r.id as number,
    uid: r.uid as string,
    createdAt: r.created_at as number,
    active: r.active === 1,
    gitRepo: (r.git_repo as string | null) ?? null,
    gitCommitStart: (r.git_commit_start as string | null) ?? null,
    metadata: json(r.metadata, {}),
  };
}

export function activeSession(q: StoreDb): SessionRow | undefined {
  const r = q.sql("SELECT * FROM sessions WHERE active = 1").get() as Row | null;
  return r ? toSession(r) : undefined;
}

export function sessions(q: StoreDb): SessionRow[] {
  return (q.sql("SELECT * FROM sessions ORDER BY id").all() as Row[]).map(toSession);
}

export function sessionById(q: StoreDb, id: number): SessionRow | undefined {
  const r = q.sql("SELECT * FROM sessions WHERE id = ?").get(id) as Row | null;
  return r ? toSession(r) : undefined;
}

export function sessionsByUidPrefix(q: StoreDb, prefix: string): SessionRow[] {
  return (q.sql("SELECT * FROM sessions WHERE uid LIKE ? || '%' ORDER BY id").all(prefix) as Row[]).map(toSession);
}

/** Deactivates the current session (if any) and starts a new active one. */
export function startSession(q: StoreDb, gitRepo: string | null): SessionRow {
  q.write(() => {
    q.sql("UPDATE sessions SET active = 0 WHERE active = 1").run();
    insertActiveSession(q, gitRepo);
  });
  return activeSession(q) as SessionRow;
}

/** The active session, started when there is none; race-free between parallel roar processes. */
export function ensureActiveSession(q: StoreDb, gitRepo: string | null): SessionRow {
  const found = activeSession(q);
  if (found) return found;
  q.write(() => {
    if (!q.sql("SELECT 1 FROM sessions WHERE active = 1").get()) insertActiveSession(q, gitRepo);
  });
  return activeSession(q) as SessionRow;
}

function insertActiveSession(q: StoreDb, gitRepo: string | null): void {
  q.sql("INSERT INTO sessions (uid, created_at, active, git_repo) VALUES (?, ?, 1, ?)").run(
    newUid(),
    Date.now(),
    gitRepo,
  );
}

export function setSessionCommitStart(q: StoreDb, sessionId: number, commit: string): void {
  q.sql("UPDATE sessions SET git_commit_start = ? WHERE id = ? AND git_commit_start IS NULL").run(commit, sessionId);
}
