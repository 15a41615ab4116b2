import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { Command, Option } from "clipanion";
import { configTemplate } from "../config/template.ts";
import { UsageError } from "../core/errors.ts";
import { gitignoreHasRoar, gitignoreWithRoar } from "../core/gitignore.ts";
import { findGitRoot, projectAt } from "../store/project.ts";
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
      file alone otherwise. Running it again is harmless.
    `,
    examples: [
      ["Initialize and ask about .gitignore", "$0 init"],
      ["Initialize and add .roar/ to .gitignore", "$0 init -y"],
    ],
  });

  yes = Option.Boolean("-y,--yes", false, { description: "Add .roar/ to .gitignore without asking" });
  no = Option.Boolean("-n,--no", false, { description: "Do not modify .gitignore" });

  override async execute(): Promise<number> {
    if (this.yes && this.no) throw new UsageError("-y and -n cannot be used together");
    const root = this.context.cwd;
    const project = projectAt(root);
    const gitRoot = findGitRoot(root);

    if (existsSync(project.roarDir)) {
      const store = RoarStore.open(project);
      store.ensureActiveSession();
      store.close();
      this.print(`roar is already initialized in ${root}`);
      return 0;
    }

    // Only the owner may read what roar records (commands, [env] values): .roar/ 0700, its files 0600.
    mkdirSync(project.roarDir, { recursive: true, mode: 0o700 });
    writeFileSync(project.configPath, configTemplate(), { flag: "wx", mode: 0o600 });
    const store = RoarStore.open(project);
    store.ensureActiveSession();
    store.close();

    this.print(`Initialized roar in ${root}`);
    this.print(`  database: ${relative(root, project.dbPath)}`);
    this.print(`  config:   ${relative(root, project.configPath)}`);
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
    writeFileSync(path, gitignoreWithRoar(current));
    return existsSync(path) && current !== "" ? "added .roar/" : "created with .roar/";
  }
}
