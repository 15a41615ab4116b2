import { type BaseContext, Command } from "clipanion";
import { type LoadedConfig, loadConfig } from "../config/load.ts";
import { secretDetector } from "../core/secrets.ts";
import { NotInitializedError, RoarError } from "../shared/errors.ts";
import { displayPath } from "../shared/paths.ts";
import { findProject, type Project } from "../store/project.ts";
import { formatJson } from "../ui/json.ts";
import { Presenter, type PresentMode } from "../ui/present.ts";
import { type Styler, styler } from "../ui/style.ts";

export interface RoarContext extends BaseContext {
  cwd: string;
}

/** Shared glue for every command: where output goes, how the project is found. */
export abstract class RoarCommand extends Command<RoarContext> {
  /** Primary result of the command (data, tables, JSON). */
  protected print(text: string): void {
    const shown = displayPath(text);
    this.context.stdout.write(shown.endsWith("\n") ? shown : `${shown}\n`);
  }

  /** Notices, warnings and progress: stderr, so stdout stays parseable. */
  protected note(text: string): void {
    const shown = displayPath(text);
    this.context.stderr.write(shown.endsWith("\n") ? shown : `${shown}\n`);
  }

  protected printJson(body: object): void {
    this.context.stdout.write(formatJson(body));
  }

  protected get style(): Styler {
    return styler(this.context.stdout as { isTTY?: boolean });
  }

  protected get errStyle(): Styler {
    return styler(this.context.stderr as { isTTY?: boolean });
  }

  /** The enclosing roar project, or the standard "not initialized" error. */
  protected project(): Project {
    const project = findProject(this.context.cwd);
    if (!project) throw new NotInitializedError();
    return project;
  }

  protected loadConfig(project: Project | undefined = findProject(this.context.cwd)): LoadedConfig {
    const loaded = loadConfig({ projectConfigPath: project?.configPath ?? null, env: this.context.env });
    for (const w of loaded.warnings) this.note(`warning: ${w}`);
    return loaded;
  }

  /**
   * The configuration for a command that only reads the store: a project config.toml that cannot be read
   * (a directory in its place, a syntax error) must not hide the history, so it is skipped with a warning and
   * the other layers (defaults, user file, environment) apply — the default secret detectors included.
   */
  protected queryConfig(project: Project): LoadedConfig {
    try {
      return this.loadConfig(project);
    } catch (error) {
      if (!(error instanceof RoarError)) throw error;
      this.note(`warning: ${error.message}; showing the history with the default settings`);
      return loadConfig({ projectConfigPath: null, env: this.context.env });
    }
  }

  /**
   * How user data is shown: secrets redacted (registration.omit), and for `text` control characters escaped.
   * Every view a command prints goes through it once.
   */
  protected presenter(mode: PresentMode, config: LoadedConfig = this.loadConfig()): Presenter {
    return new Presenter(secretDetector(config.config, this.context.env), mode);
  }
}

/** Commands that need the project's configuration. */
export abstract class ConfiguredCommand extends RoarCommand {}
