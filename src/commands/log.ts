import { Command, Option } from "clipanion";
import { shellJoin } from "../core/shell-words.ts";
import { stepLabel } from "../core/step.ts";
import { formatDuration } from "../core/units.ts";
import type { LogJson } from "../schema/log.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import { formatTime, isoTime, table, terminalWidth, truncate } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

export class LogCommand extends RoarCommand {
  static override paths = [["log"]];
  static override usage = Command.Usage({
    category: "Inspect Local Lineage",
    description: "List recent jobs of the current session",
    details: `
      Newest first: uid (short), step, start time, duration, OK/FAIL and the command. \`--json\` prints
      \`{schemaVersion, sessionId, total, jobs[{uid, step, label, kind, startedAt, durationMs, exitCode, status, ok,
      command}]}\`, newest first.
    `,
    examples: [
      ["The last 20 jobs", "$0 log"],
      ["Every job of the session", "$0 log --all"],
    ],
  });

  static override outputOptions = { json: "Print JSON" };
  limit = Option.String("-n,--limit", "20", { description: "How many jobs to list (default 20)" });
  all = Option.Boolean("--all", false, { description: "List every job of the session" });

  override async execute(): Promise<number> {
    const limit = this.all ? Number.POSITIVE_INFINITY : Number(this.limit);
    if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) {
      throw new RoarError(`--limit expects a whole number, got '${this.limit}'`, 2);
    }
    const project = this.project();
    const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
    const store = RoarStore.open(project, { create: false });
    try {
      const session = store.requireActiveSession();
      const jobs = store.sessionJobSummaries(session.id).reverse();
      const shown = jobs.slice(0, limit);
      const doc: LogJson = present.doc({
        schemaVersion: JSON_SCHEMA_VERSION,
        sessionId: session.uid,
        total: jobs.length,
        jobs: shown.map((j) => ({
          uid: j.uid,
          step: j.step,
          label: stepLabel(j.step, j.kind),
          kind: j.kind,
          startedAt: isoTime(j.startedAt),
          durationMs: j.durationMs,
          exitCode: j.exitCode,
          status: j.status,
          ok: j.status === "ok",
          command: j.argv,
        })),
      });
      if (this.json) {
        this.printJson(doc);
        return 0;
      }
      if (jobs.length === 0) {
        this.print("No log entries found.");
        return 0;
      }
      const s = this.style;
      const width = terminalWidth(this.context.stdout as { isTTY?: boolean; columns?: number });
      const rows = doc.jobs.map((j) => [
        j.uid.slice(0, 8),
        j.label,
        formatTime(Date.parse(j.startedAt)),
        formatDuration(j.durationMs),
        j.ok ? s.green("OK") : j.status === "interrupted" ? s.yellow("INT") : s.red("FAIL"),
        truncate(shellJoin(j.command), Math.max(20, width - 58)),
      ]);
      const header = ["UID", "STEP", "TIME", "DURATION", "STATUS", "COMMAND"].map((h) => s.bold(h));
      const title =
        jobs.length > shown.length
          ? `Job Log (${shown.length} of ${jobs.length} jobs)`
          : `Job Log (${jobs.length} jobs)`;
      this.print([s.bold(title), "", ...table([header, ...rows], { right: [3] })].join("\n"));
      return 0;
    } finally {
      store.close();
    }
  }
}
