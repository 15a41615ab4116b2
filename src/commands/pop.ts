import { statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { Command, Option } from "clipanion";
import { RoarError } from "../core/errors.ts";
import { absolutePath, isInside } from "../core/project-paths.ts";
import { stepLabel } from "../core/step.ts";
import { RoarStore } from "../store/store.ts";
import type { IoRecord, JobRow } from "../store/types.ts";
import { fsPath } from "../trace/paths.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { shellJoin } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

interface Decision {
  path: string;
  action: "delete" | "keep" | "gone";
  reason: string;
}

export class PopCommand extends RoarCommand {
  static override paths = [["pop"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Undo the last job of the session",
    details: `
      Removes the most recent job of the current session from the database, and deletes the files it wrote —
      but only files inside the project that still have the content roar recorded and that no remaining job
      read (or also wrote). Everything else is kept, and the report says why. Asks for confirmation on a
      terminal; elsewhere pass \`-y\`.
    `,
    examples: [["Undo the last run without asking", "$0 pop -y"]],
  });

  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask for confirmation" });
  json = Option.Boolean("--json", false, { description: "Print what was removed as JSON" });

  override async execute(): Promise<number> {
    const project = this.project();
    const config = this.loadConfig(project);
    const text = this.presenter("text", config);
    const store = RoarStore.open(project, { create: false });
    try {
      const session = store.requireActiveSession();
      const job = store.latestSessionJob(session.id);
      if (!job) throw new RoarError("nothing to pop: the current session has no jobs");
      const label = stepLabel(job.step, job.kind);
      this.note(`Step ${label}: ${shellJoin(text.argv(job.argv))} (exit ${job.exitCode ?? "?"})`);
      if (!this.yes) {
        if (!isInteractive())
          throw new RoarError("refusing to remove a job without confirmation (not a terminal); pass -y");
        if (!(await confirm("Remove this job?", true))) {
          this.note("Aborted.");
          return 1;
        }
      }
      const io = store.jobIo(job.uid);
      const decisions = await this.decide(store, project.root, job, io.outputs);
      store.deleteJob(job.uid);
      for (const d of decisions) {
        if (d.action !== "delete") continue;
        try {
          unlinkSync(fsPath(absolutePath(d.path, project.root)));
        } catch (error) {
          d.action = "keep";
          d.reason = `could not delete: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
      const deleted = decisions.filter((d) => d.action === "delete");
      const kept = decisions.filter((d) => d.action === "keep");
      const doc = (this.json ? this.presenter("json", config) : text).doc({
        removed: { uid: job.uid, step: job.step, label, command: job.argv },
        deleted: deleted.map((d) => d.path),
        kept: kept.map((d) => ({ path: d.path, reason: d.reason })),
        gone: decisions.filter((d) => d.action === "gone").map((d) => ({ path: d.path, reason: d.reason })),
      });
      if (this.json) {
        this.printJson({ ...doc, gone: doc.gone.map((d) => d.path) });
        return 0;
      }
      const out = [`Removed job ${job.uid.slice(0, 12)} (step ${label}).`];
      out.push(`Deleted ${deleted.length} output file${deleted.length === 1 ? "" : "s"}.`);
      for (const path of doc.deleted) out.push(`  deleted  ${path}`);
      if (kept.length > 0) out.push(`Kept ${kept.length} file${kept.length === 1 ? "" : "s"}:`);
      for (const d of doc.kept) out.push(`  kept     ${d.path} (${d.reason})`);
      for (const d of doc.gone) out.push(`  gone     ${d.path} (${d.reason})`);
      this.print(out.join("\n"));
      return 0;
    } finally {
      store.close();
    }
  }

  private async decide(store: RoarStore, root: string, job: JobRow, outputs: IoRecord[]): Promise<Decision[]> {
    const decisions: Decision[] = [];
    const toHash = new Map<string, { decision: Decision; blake3: string }>();
    const internal = [join(root, ".roar"), join(root, ".git")];
    for (const o of outputs) {
      if (!o.blake3) continue; // the job deleted it: nothing to undo on disk
      const abs = absolutePath(o.path, root);
      const d: Decision = { path: o.path, action: "keep", reason: "" };
      decisions.push(d);
      if (!isInside(abs, root)) {
        d.reason = "outside the project";
        continue;
      }
      if (internal.some((dir) => abs === dir || isInside(abs, dir))) {
        d.reason = "roar or git internals";
        continue;
      }
      const others = store.linksAtPath(o.path).filter((l) => l.jobUid !== job.uid);
      const reader = others.find((l) => l.role === "input");
      if (reader) {
        d.reason = `read by job ${reader.jobUid.slice(0, 8)}`;
        continue;
      }
      const sameOutput = others.find((l) => l.role === "output" && l.blake3 === o.blake3);
      if (sameOutput) {
        d.reason = `also the output of job ${sameOutput.jobUid.slice(0, 8)}`;
        continue;
      }
      const consumers = (store.linksOfArtifacts([o.blake3]).get(o.blake3) ?? []).filter(
        (l) => l.role === "input" && l.jobUid !== job.uid,
      );
      if (consumers.length > 0) {
        d.reason = `its content is an input of job ${(consumers[0] as { jobUid: string }).jobUid.slice(0, 8)} (at ${(consumers[0] as { path: string }).path})`;
        continue;
      }
      const st = statSync(fsPath(abs), { throwIfNoEntry: false });
      if (!st) {
        d.action = "gone";
        d.reason = "already gone";
        continue;
      }
      if (!st.isFile()) {
        d.reason = "not a regular file";
        continue;
      }
      if (o.size !== null && st.size !== o.size) {
        d.reason = "modified since roar recorded it";
        continue;
      }
      toHash.set(abs, { decision: d, blake3: o.blake3 });
    }
    if (toHash.size > 0) {
      const { hashFiles, isHashError, SqliteHashCache } = await import("../hash/index.ts");
      const hashed = await hashFiles(toHash.keys(), { cache: new SqliteHashCache(store.db) });
      for (const [abs, { decision, blake3 }] of toHash) {
        const h = hashed.get(abs);
        if (!h || isHashError(h)) decision.reason = `cannot verify its content (${h?.code ?? "EIO"})`;
        else if (h.blake3 !== blake3) decision.reason = "modified since roar recorded it";
        else decision.action = "delete";
      }
    }
    return decisions;
  }
}
