import { lstatSync, statSync } from "node:fs";
import { Command, Option } from "clipanion";
import type { DagIo, DagNode } from "../core/dag.ts";
import { IoFlags } from "../core/io-flags.ts";
import { storedAbsolute, storedDir, storedDirAbsolute } from "../core/project-paths.ts";
import { loadFreshDag } from "../run/freshness.ts";
import type { StatusJson, TrackedOutputJson } from "../schema/status.ts";
import { JSON_SCHEMA_VERSION } from "../schema/version.ts";
import { fsPath } from "../shared/paths.ts";
import { mark } from "../shared/timing.ts";
import { RoarStore } from "../store/store.ts";
import { staleReasonLines, staleReasonsJson } from "../ui/stale.ts";
import { formatTime, isoTime } from "../ui/table.ts";
import { RoarCommand } from "./base.ts";

/** Outputs `roar status` lists in text without --all. */
const TEXT_LIST_LIMIT = 20;

export class StatusCommand extends RoarCommand {
  static override paths = [["status"]];
  static override usage = Command.Usage({
    category: "Sessions",
    description: "Show the session: steps, stale steps, and whether tracked outputs are still on disk",
    details: `
      Counts the build and run steps of the current session, names the stale ones with the reason each is stale
      (its producer step was re-run and wrote other bytes; a file it read now holds other content; a tracked file
      it read — its script, a config — changed in git since its commit, or has uncommitted changes; a step it
      depends on is stale), and checks every file the steps wrote: present (same content), missing, or modified
      (present with a different BLAKE3). Sizes are compared first; files of the recorded size are hashed through
      the hash cache, so unchanged files cost a stat. A re-run that wrote nothing at a path leaves the step's
      earlier output there tracked. \`--json\` prints \`{schemaVersion, session, jobs, buildSteps, runSteps,
      staleSteps[], stale[{step, label, reasons[{cause, message, path, …}]}], outputs{tracked, present, missing,
      modified}, artifacts[{path, blake3, size, step, label, state}]}\` (artifacts: the missing and modified ones,
      or all with \`--all\`).
    `,
  });

  static override outputOptions = { json: "Print JSON" };
  all = Option.Boolean("--all", false, { description: "List every tracked output, present ones included" });

  override async execute(): Promise<number> {
    const project = this.project();
    const store = RoarStore.open(project, { create: false });
    try {
      const session = store.requireActiveSession();
      const dag = await loadFreshDag(store, project, session.id);
      let buildSteps = 0;
      let runSteps = 0;
      for (const node of dag.current.values()) {
        if (node.isBuild) buildSteps++;
        else runSteps++;
      }

      // The latest content each step has at a path (a re-run that wrote nothing there keeps the earlier one).
      const latest = new Map<string, { io: DagIo; node: DagNode; seq: number }>();
      const consider = (io: DagIo, node: DagNode, seq: number) => {
        if ((io.flags & IoFlags.REMOTE) !== 0) return; // uploaded objects are not on disk here
        const prev = latest.get(io.path);
        if (!prev || prev.seq <= seq) latest.set(io.path, { io, node, seq });
      };
      for (const node of dag.current.values()) {
        for (const io of node.outputs) consider(io, node, node.job.seq);
        for (const c of node.carried) consider(c, node, c.writerSeq);
      }
      const results: TrackedOutputJson[] = [];
      const toHash = new Map<string, { entry: TrackedOutputJson; link: boolean }>();
      // One stat per directory first: every file of a missing directory is missing without its own stat.
      const dirExists = new Map<string, boolean>();
      for (const [path, { io, node }] of latest) {
        if (io.blake3 === null) continue; // deleted by the step that touched it last
        const rec = { blake3: io.blake3, size: io.size, link: (io.flags & IoFlags.SYMLINK) !== 0 };
        // By stored directory: the absolute path is built only for a file whose directory exists (50,000 joined
        // strings cut again cost ~10 ms).
        const dir = storedDir(path);
        let exists = dirExists.get(dir);
        if (exists === undefined) {
          const absDir = storedDirAbsolute(dir, project.root);
          exists = statSync(fsPath(absDir), { throwIfNoEntry: false })?.isDirectory() === true;
          dirExists.set(dir, exists);
        }
        const abs = exists ? storedAbsolute(path, project.root) : "";
        // A link the job made is compared as a link (its target text), not by what it points to.
        const st = exists ? (rec.link ? lstatSync : statSync)(fsPath(abs), { throwIfNoEntry: false }) : undefined;
        const entry: TrackedOutputJson = {
          path,
          blake3: rec.blake3,
          size: rec.size,
          step: node.step,
          label: node.label,
          state: "present",
        };
        if (!st || !(st.isFile() || (rec.link && st.isSymbolicLink()))) entry.state = "missing";
        else if (rec.size !== null && st.size !== rec.size) entry.state = "modified";
        else toHash.set(abs, { entry, link: rec.link });
        results.push(entry);
      }
      if (toHash.size > 0) {
        const { isHashError } = await import("../hash/index.ts");
        const { hashAsRecorded } = await import("../run/links.ts");
        const paths = [...toHash].map(([path, { link }]) => ({ path, link }));
        const hashed = await hashAsRecorded(paths, { cache: store.hashCache() });
        for (const [abs, { entry }] of toHash) {
          const h = hashed.get(abs);
          if (!h || isHashError(h)) entry.state = h?.code === "ENOENT" ? "missing" : "modified";
          else if (h.blake3 !== entry.blake3) entry.state = "modified";
        }
      }
      sortByStepThenPath(results);
      const counts = { present: 0, missing: 0, modified: 0 };
      for (const r of results) counts[r.state]++;
      const count = (state: TrackedOutputJson["state"]) => counts[state];
      const stale = [...dag.stale].sort((a, b) => a - b);
      mark("status: outputs");
      const listed = this.all ? results : results.filter((r) => r.state !== "present");
      const present = this.presenter(this.json ? "json" : "text", this.queryConfig(project));
      const doc: StatusJson = present.doc({
        schemaVersion: JSON_SCHEMA_VERSION,
        session: { id: session.id, uid: session.uid, createdAt: isoTime(session.createdAt) },
        jobs: dag.nodes.length,
        buildSteps,
        runSteps,
        staleSteps: stale,
        stale: stale.map((step) => {
          const node = dag.current.get(step);
          return {
            step,
            label: node?.label ?? `@${step}`,
            // The text explains a few steps from the DAG itself (staleReasonLines): only --json lists every
            // step's reasons (thousands in a session whose early steps were re-run).
            reasons: this.json ? staleReasonsJson(node?.reasons ?? [], dag, (t) => t) : [],
          };
        }),
        outputs: {
          tracked: results.length,
          present: count("present"),
          missing: count("missing"),
          modified: count("modified"),
        },
        // The text lists 20 (without --all): only those are presented (redacted, escaped) — a session whose
        // outputs are gone has tens of thousands.
        artifacts: this.json || this.all ? listed : listed.slice(0, TEXT_LIST_LIMIT),
      });
      if (this.json) {
        this.printJson(doc);
        return 0;
      }
      const s = this.style;
      const out = [
        `${s.bold("Session:")} ${session.uid.slice(0, 12)} (#${session.id}), started ${formatTime(session.createdAt)}`,
        "",
        s.bold("DAG:"),
        `  Build steps: ${buildSteps}`,
        `  Run steps:   ${runSteps}`,
        `  Jobs:        ${dag.nodes.length}`,
      ];
      if (stale.length > 0) {
        out.push(`  Stale steps: ${s.red(doc.stale.map((x) => x.label).join(", "))}`);
        for (const line of staleReasonLines(dag, (t) => present.text(t), undefined, "    ")) out.push(s.red(line));
        out.push(s.dim("  'roar rerun' brings them up to date ('roar rerun --dry-run' shows the plan)."));
      }
      const o = doc.outputs;
      out.push(
        "",
        `${s.bold(`Tracked outputs (${o.tracked}):`)} ${o.present} present, ${o.missing ? s.red(`${o.missing} missing`) : "0 missing"}, ${o.modified ? s.yellow(`${o.modified} modified`) : "0 modified"}`,
      );
      for (const r of doc.artifacts) {
        const state =
          r.state === "missing"
            ? s.red("missing ")
            : r.state === "modified"
              ? s.yellow("modified")
              : s.green("present ");
        out.push(`  ${state}  ${r.path}  ${s.dim(`(${r.label})`)}`);
      }
      if (listed.length > doc.artifacts.length)
        out.push(`  … and ${listed.length - doc.artifacts.length} more (--all)`);
      if (o.missing > 0)
        out.push("", s.dim("Re-run the producing step ('roar run @N') to regenerate missing outputs."));
      this.print(out.join("\n"));
      return 0;
    } finally {
      store.close();
    }
  }
}

/**
 * In step order, then by path: steps are small integers and each has few outputs, so bucket by step and sort
 * each bucket (one comparison sort over 50,000 outputs cost ~25 ms).
 */
function sortByStepThenPath(rows: TrackedOutputJson[]): void {
  const byStep = new Map<number, TrackedOutputJson[]>();
  for (const r of rows) {
    const bucket = byStep.get(r.step);
    if (bucket) bucket.push(r);
    else byStep.set(r.step, [r]);
  }
  let i = 0;
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const bucket = byStep.get(step) as TrackedOutputJson[];
    if (bucket.length > 1) bucket.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const r of bucket) rows[i++] = r;
  }
}
