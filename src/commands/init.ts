import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Command, Option } from "clipanion";
import { configTemplate } from "../config/template.ts";
import { gitignoreHasRoar, gitignoreWithRoar } from "../core/gitignore.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { findGitRoot, findProject, projectAt } from "../store/project.ts";
import { RoarStore } from "../store/store.ts";
import { confirm, isInteractive } from "../ui/prompt.ts";
import { RoarCommand } from "./base.ts";

export class InitCommand extends RoarCommand {
  static override paths = [["init"]];
  static override usage = Command.Usage({
    category: "Start Here",
    description: "Initialize roar in the current directory",
    details: `
      Creates \`.roar/\` with the local database (\`roar.db\`) and a commented \`config.toml\` listing every
      setting with its default, and starts a session. Offers to add \`.roar/\` to \`.gitignore\`: \`-y\` adds it
      without asking, \`-n\` never touches \`.gitignore\`; without either, roar asks on a terminal and leaves the
      file alone otherwise. In a project that is already initialized it changes nothing and says so; \`--force\`
      then restores what is missing (the commented config, an empty or missing database) and never deletes data:
      an existing database keeps its history.
    `,
    examples: [
      ["Initialize and ask about .gitignore", "$0 init"],
      ["Initialize and add .roar/ to .gitignore", "$0 init -y"],
    ],
  });

  yes = Option.Boolean("-y,--yes", false, { description: "Add .roar/ to .gitignore without asking" });
  no = Option.Boolean("-n,--no", false, { description: "Do not modify .gitignore" });
  force = Option.Boolean("--force", false, {
    description: "In an initialized project: restore a missing config or database; the database and history are kept",
  });

  override async execute(): Promise<number> {
    if (this.yes && this.no) throw new UsageError("-y and -n cannot be used together");
    const root = this.context.cwd;
    const project = projectAt(root);
    const gitRoot = findGitRoot(root);

    const existing = existsSync(project.roarDir);
    const enclosing = existing ? undefined : findProject(root);
    if (enclosing && !this.force) {
      throw new RoarError(
        `roar is already initialized in ${enclosing.root}, which contains this directory; nothing changed ('roar init --force' makes a separate project here)`,
      );
    }
    if (existing && !this.force) {
      throw new RoarError(
        `roar is already initialized in ${root}; nothing changed ('roar init --force' restores a missing config or database and keeps the history)`,
      );
    }
    let database = "created";
    let config = "created";
    if (existing) {
      if (!statSync(project.roarDir).isDirectory()) {
        throw new RoarError(`${relative(root, project.roarDir)} exists but is not a directory; nothing changed`);
      }
      if (existsSync(project.configPath)) {
        if (!statSync(project.configPath).isFile()) {
          throw new RoarError(
            `${relative(root, project.configPath)} is not a file (a directory?); move it away first — nothing changed`,
          );
        }
        config = "kept";
      }
      if ((existsSync(project.dbPath) ? statSync(project.dbPath).size : 0) > 0) database = "kept, with its history";
    }
    // Only the owner may read what roar records (commands, [env] values): .roar/ 0700, its files 0600.
    mkdirSync(project.roarDir, { recursive: true, mode: 0o700 });
    // The database first: a read-only or damaged store stops here, before anything is written.
    const store = RoarStore.open(project, { create: true });
    try {
      store.ensureActiveSession();
    } finally {
      store.close();
    }
    if (config === "created") writeFileSync(project.configPath, configTemplate(), { flag: "wx", mode: 0o600 });

    this.print(`${existing ? "Re-initialized" : "Initialized"} roar in ${root}`);
    this.print(`  database: ${relative(root, project.dbPath)}${existing ? ` (${database})` : ""}`);
    this.print(`  config:   ${relative(root, project.configPath)}${existing ? ` (${config})` : ""}`);
    this.print("  roar records file hashes, commands and environment metadata locally; it uploads nothing.");

    if (!gitRoot) {
      this.note("warning: not inside a git repository — runs will be recorded without commit information");
      return 0;
    }
    this.print(`  gitignore: ${await this.handleGitignore(gitRoot)}`);
    return 0;
  }

  private async handleGitignore(gitRoot: string): Promise<string> {
    const path = join(gitRoot, ".gitignore");
    const current = existsSync(path) ? readFileSync(path, "utf8") : "";
    if (gitignoreHasRoar(current)) return "already excludes .roar/";
    if (this.no) return "left unchanged (-n)";
    if (!this.yes) {
      if (!isInteractive()) return "left unchanged (not a terminal; 'roar init -y' adds .roar/)";
      if (!(await confirm("Add .roar/ to .gitignore?", true))) return "left unchanged";
    }
    const existed = existsSync(path);
    writeFileSync(path, gitignoreWithRoar(current));
    // Said plainly, since it touches a file of the user's repository; `roar run` does not count it as dirty.
    const note = "roar runs do not count this line as an uncommitted change; commit it when you like";
    return existed
      ? `added the line .roar/ to ${relative(this.context.cwd, path) || ".gitignore"} (${note})`
      : `created ${relative(this.context.cwd, path) || ".gitignore"} with the line .roar/ (${note})`;
  }
}
