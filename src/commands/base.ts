import { type BaseContext, Command, Option } from "clipanion";
import { type LoadedConfig, loadConfig } from "../config/load.ts";
import { secretDetector } from "../core/secrets.ts";
import { NotInitializedError, RoarError } from "../shared/errors.ts";
import { displayPath } from "../shared/paths.ts";
import { findProject, type Project } from "../store/project.ts";
import { formatJson } from "../ui/json.ts";
import { OutputPolicy, type OutputStream } from "../ui/output-policy.ts";
import { Presenter, type PresentMode } from "../ui/present.ts";
import type { Styler } from "../ui/style.ts";

export interface RoarContext extends BaseContext {
  cwd: string;
}

/** The output options a command takes besides --no-color (every command takes that), with its help text. */
export interface OutputOptions {
  /** `--json`. */
  json?: string;
  /** `-q, --quiet`. */
  quiet?: string;
}

/** The option `names` when the command's class offers it (see RoarCommand.outputOptions), else plain `false`. */
function outputOption(command: RoarCommand, which: keyof OutputOptions, names: string): boolean {
  const description = (command.constructor as typeof RoarCommand).outputOptions[which];
  return description === undefined ? false : Option.Boolean(names, false, { description });
}

/** Shared glue for every command: where output goes, how the project is found. */
export abstract class RoarCommand extends Command<RoarContext> {
  /** Which of --json and -q the command takes: declared here once, described by each command. */
  static outputOptions: OutputOptions = {};

  noColor = Option.Boolean("--no-color", false, { description: "No colour in roar's own output" });
  json: boolean = outputOption(this, "json", "--json");
  quiet: boolean = outputOption(this, "quiet", "-q,--quiet");

  private loaded: LoadedConfig | undefined;
  private policy: OutputPolicy | undefined;

  /**
   * Colour, JSON layout, quiet and progress, decided once from the command's streams, its flags and the
   * configuration it loaded (one quiet: -q, output.quiet, output.verbosity = quiet).
   */
  protected get outputPolicy(): OutputPolicy {
    this.policy ??= new OutputPolicy({
      stdout: this.context.stdout as OutputStream,
      stderr: this.context.stderr as OutputStream,
      env: this.context.env,
      noColor: this.noColor,
      quiet: this.quiet || this.loaded?.config.output.verbosity === "quiet",
    });
    return this.policy;
  }

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

  /** A JSON document on stdout, laid out for what stdout is (a terminal or a pipe). */
  protected printJson(body: object): void {
    const { stdout } = this.outputPolicy;
    stdout.write(formatJson(body, this.outputPolicy.prettyJson(stdout)));
  }

  protected get style(): Styler {
    return this.outputPolicy.stdoutStyle;
  }

  protected get errStyle(): Styler {
    return this.outputPolicy.stderrStyle;
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
    this.remember(loaded);
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
      return this.remember(loadConfig({ projectConfigPath: null, env: this.context.env }));
    }
  }

  /** The configuration's say in the output policy (made again on next use if it was made before). */
  private remember(loaded: LoadedConfig): LoadedConfig {
    this.loaded = loaded;
    this.policy = undefined;
    return loaded;
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
