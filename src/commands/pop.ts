import { Command, Option } from "clipanion";
import { shellJoin } from "../core/shell-words.ts";
import { stepLabel } from "../core/step.ts";
import { applyUndo, planUndo, type UndoDecision } from "../run/undo.ts";
import { RoarError } from "../shared/errors.ts";
import { RoarStore } from "../store/store.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { RoarCommand } from "./base.ts";

export class PopCommand extends RoarCommand {
  static override paths = [["pop"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Undo the last job of the session",
    details: `
      Removes the most recent job of the current session from the database, and undoes its files inside the
      project: a file the job created is deleted while it still holds what the job wrote and no other job uses
      it; a file that existed before the job (changed, replaced or deleted by it) is restored to what it held
      before — from .roar/objects when \`reversible.enabled\` kept those bytes, or from git when it was tracked
      and unchanged at the job's commit — and otherwise kept. Symlinks are never followed to delete anything.
      The report says what happened to each file, and why. Asks for confirmation on a terminal; elsewhere
      pass \`-y\`.
    `,
    examples: [["Undo the last run without asking", "$0 pop -y"]],
  });

  static override outputOptions = { json: "Print what was removed as JSON" };
  yes = Option.Boolean("-y,--yes", false, { description: "Do not ask for confirmation" });

  override async execute(): Promise<number> {
    const project = this.project();
    const config = this.loadConfig(project);
    const text = this.presenter("text", config);
    const store = RoarStore.open(project, { write: true });
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
      const decisions = await planUndo({ store, root: project.root, roarDir: project.roarDir, job }, io.outputs);
      store.deleteJob(job.uid);
      applyUndo(project.root, decisions);
      const of = (action: UndoDecision["action"]) => decisions.filter((d) => d.action === action);
      const doc = (this.json ? this.presenter("json", config) : text).doc({
        removed: { uid: job.uid, step: job.step, label, command: job.argv },
        deleted: of("delete").map((d) => d.path),
        restored: of("restore").map((d) => ({ path: d.path, from: d.reason })),
        kept: of("keep").map((d) => ({ path: d.path, reason: d.reason })),
        gone: of("gone").map((d) => ({ path: d.path, reason: d.reason })),
      });
      if (this.json) {
        this.printJson({ ...doc, gone: doc.gone.map((d) => d.path) });
        return 0;
      }
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
      const out = [`Removed job ${job.uid.slice(0, 12)} (step ${label}).`];
      out.push(`Deleted ${plural(doc.deleted.length, "file")} the job created.`);
      for (const path of doc.deleted) out.push(`  deleted  ${path}`);
      if (doc.restored.length > 0)
        out.push(`Restored ${plural(doc.restored.length, "file")} to what they held before the job:`);
      for (const d of doc.restored) out.push(`  restored ${d.path} (${d.from})`);
      if (doc.kept.length > 0) out.push(`Kept ${plural(doc.kept.length, "file")}:`);
      for (const d of doc.kept) out.push(`  kept     ${d.path} (${d.reason})`);
      for (const d of doc.gone) out.push(`  gone     ${d.path} (${d.reason})`);
      this.print(out.join("\n"));
      return 0;
    } finally {
      store.close();
    }
  }
}
