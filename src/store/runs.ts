/** The `runs_in_flight` table: roar runs tracing now, so parallel runs know whose files are changing. */
import type { RunInFlight } from "../core/types.ts";
import type { Row, StoreDb } from "./statements.ts";

/** Registers a roar run that is about to trace (and drops registrations `isDead` says are stale). */
export function registerRun(q: StoreDb, run: RunInFlight, isDead: (run: RunInFlight) => boolean): void {
  q.write(() => {
    for (const other of runsInFlight(q)) if (isDead(other)) finishRun(q, other.id);
    q.sql("INSERT INTO runs_in_flight (id, pid, pid_start, started_at, trace_dir) VALUES (?, ?, ?, ?, ?)").run(
      run.id,
      run.pid,
      run.pidStart,
      run.startedAt,
      run.traceDir,
    );
  });
}

/** Removes a run's registration (it recorded its job, or ended without one). */
export function finishRun(q: StoreDb, id: string): void {
  q.sql("DELETE FROM runs_in_flight WHERE id = ?").run(id);
}

export function runsInFlight(q: StoreDb): RunInFlight[] {
  const rows = q.sql("SELECT * FROM runs_in_flight ORDER BY started_at").all() as Row[];
  return rows.map((r) => ({
    id: r.id as string,
    pid: r.pid as number,
    pidStart: (r.pid_start as number | null) ?? null,
    startedAt: r.started_at as number,
    traceDir: r.trace_dir as string,
  }));
}
