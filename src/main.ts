/**
 * roar's entry point. Clipanion's own `run` writes errors to stdout, colours piped output and turns a
 * printing `catch()` into exit 0; this loop replaces it so that errors go to stderr as one line, colour
 * follows the TTY/NO_COLOR/--no-color rules, and failures exit non-zero.
 */
import { readFileSync } from "node:fs";
import type { Command } from "clipanion";
import packageJson from "../package.json" with { type: "json" };
import type { RoarContext } from "./commands/base.ts";
import { commandWords, loadCommands } from "./commands/index.ts";
import { RoarCli } from "./commands/roar-cli.ts";
import { closest } from "./core/suggest.ts";
import { exitAsideIfLoaded } from "./hash/native-process.ts";
import { missingCommandError, RoarError } from "./shared/errors.ts";
import { restoreCallerJitOption } from "./shared/jit-options.ts";
import { bytesToPath } from "./shared/paths.ts";
import { mark } from "./shared/timing.ts";
import { storeFailure, storeLabel } from "./store/errors.ts";
import { onStoreUpgrade, type StoreUpgrade } from "./store/upgrade-notice.ts";
import { visible } from "./ui/escape.ts";
import { renderHelp } from "./ui/help.ts";
import { stderr, stdout } from "./ui/std-streams.ts";
import { colorEnabled, disableColor } from "./ui/style.ts";

export const VERSION: string = packageJson.version;

/** Stores from this size up take seconds to migrate (~10 ms a MB here): say so rather than seem to hang. */
const NOTED_UPGRADE_BYTES = 32 * 1024 * 1024;

function noteStoreUpgrade(upgrade: StoreUpgrade): void {
  if (upgrade.bytes < NOTED_UPGRADE_BYTES) return;
  const store = `${visible(storeLabel(upgrade.path))} (${Math.round(upgrade.bytes / (1024 * 1024))} MB)`;
  const schemas = `schema ${upgrade.from} → ${upgrade.to}`;
  stderr.write(
    upgrade.readOnly
      ? `roar: reading ${store}, written by an older roar, through an upgraded copy in memory (${schemas}; the store is read-only): a few seconds each time\n`
      : `roar: upgrading ${store} to this roar's layout (${schemas}): a big store takes a few seconds, once\n`,
  );
}

/** Commands whose trailing arguments belong to the user's program, not to roar. */
const PASSTHROUGH = new Set(["run", "build"]);

async function buildCli(colored: boolean, firstWord: string | undefined): Promise<RoarCli> {
  const cli = new RoarCli({
    binaryLabel: "roar",
    binaryName: "roar",
    binaryVersion: VERSION,
    enableColors: colored,
    enableCapture: false,
  });
  for (const commandClass of await loadCommands(firstWord)) cli.register(commandClass);
  return cli;
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? text
  );
}

/** process.stdin, loaded only if something reads it (loading Node's streams costs every command ~15 ms). */
const lazyStdin = new Proxy({} as NodeJS.ReadStream, {
  get(_target, key) {
    const value = Reflect.get(process.stdin, key);
    return typeof value === "function" ? value.bind(process.stdin) : value;
  },
});

/**
 * The arguments with their exact bytes. Bun decodes argv as UTF-8 with replacement characters, which would lose
 * a file name that is not valid UTF-8 (`roar show $'\xff'`) or change a recorded command; the kernel's copy in
 * /proc/self/cmdline ends with the same arguments, so those are decoded the lossless way (surrogateescape).
 */
function exactArgs(argv: string[]): string[] {
  if (!argv.some((a) => a.includes("\uFFFD"))) return argv;
  let raw: Buffer;
  try {
    raw = readFileSync("/proc/self/cmdline");
  } catch {
    return argv;
  }
  const items: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0) {
      items.push(raw.subarray(start, i));
      start = i + 1;
    }
  }
  if (items.length < argv.length) return argv;
  const tail = items.slice(items.length - argv.length);
  // Only when every argument matches its lossy form: then they are the same arguments.
  if (!tail.every((bytes, i) => bytes.toString("utf8") === argv[i])) return argv;
  return tail.map((bytes) => bytesToPath(bytes));
}

export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  restoreCallerJitOption();
  onStoreUpgrade(noteStoreUpgrade);
  let args = exactArgs(argv);
  // A global --no-color: anywhere for roar's own commands, but only before the user's command for run/build.
  if (args[0] === "--no-color" || (!PASSTHROUGH.has(args[0] ?? "") && args.includes("--no-color"))) {
    disableColor();
    if (args[0] === "--no-color") args = args.slice(1);
    if (!PASSTHROUGH.has(args[0] ?? "")) args = args.filter((a) => a !== "--no-color");
  }
  if (args[0] === "--version" || args[0] === "-V") {
    stdout.write(`roar, version ${VERSION}\n`);
    return 0;
  }
  const colored = colorEnabled(stdout);
  const wantsHelp = args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help";
  const cli = await buildCli(colored, wantsHelp ? undefined : args[0]);
  // Not Cli.defaultContext: its process streams are what roar avoids loading (see ui/std-streams.ts).
  const context: RoarContext = {
    env: process.env,
    stdin: lazyStdin,
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    cwd,
    colorDepth: colored ? 8 : 1,
  };

  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || (args[0] === "help" && args.length === 1)) {
    stdout.write(renderHelp(cli, VERSION, colored));
    return 0;
  }
  if (args[0] === "help") args = [...args.slice(1), "--help"];

  let command: Command<RoarContext>;
  try {
    command = PASSTHROUGH.has(args[0] ?? "") ? processPassthrough(cli, args, context) : cli.process(args, context);
  } catch (error) {
    const first = args[0] ?? "";
    if (error instanceof RoarError) return reportError(error);
    const names = commandWords;
    if (!names.includes(first)) {
      const guess = first.startsWith("-") ? undefined : closest(first, names);
      const message = first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`;
      stderr.write(`roar: ${visible(message)}${guess ? ` — did you mean 'roar ${guess}'?` : ""} (see 'roar --help')\n`);
      return 1;
    }
    const message = error instanceof Error ? firstLine(error.message) : String(error);
    stderr.write(`roar: ${visible(message)} (see 'roar ${visible(first)} --help')\n`);
    // `roar run --bogus cmd`: roar failed, not the command — docker-run style 125 (a missing command is 2, above).
    return PASSTHROUGH.has(first) ? 125 : 2;
  }
  if (command.help) {
    stdout.write(cli.usage(command, { colored, detailed: true }));
    return 0;
  }
  command.cli = {
    binaryLabel: "roar",
    binaryName: "roar",
    binaryVersion: VERSION,
    enableCapture: false,
    enableColors: colored,
    definitions: () => cli.definitions(),
    error: (e, opts) => cli.error(e, opts),
    format: (c) => cli.format(c),
    process: (input, sub) => cli.process(input, { ...context, ...sub }),
    run: (input, sub) => cli.run(input, { ...context, ...sub }),
    usage: (c, opts) => cli.usage(c, opts),
  };
  try {
    const code = await command.validateAndExecute();
    if (process.env.ROAR_TIMING) process.on("exit", () => mark("exit"));
    // Last: the helper that frees roar's memory after it (see hash/native.ts).
    process.on("exit", exitAsideIfLoaded);
    return typeof code === "number" ? code : 0;
  } catch (error) {
    return reportError(error);
  }
}

/** Tokens of `roar run …` handed to Clipanion at most: roar's own options always come first. */
const PASSTHROUGH_HEAD = 64;

/**
 * Parses `roar run|build [options] <command…>`: a line of the usual shape without Clipanion's state machine (see
 * commands/roar-cli.ts), any other by Clipanion. Its parser copies its state per token (quadratic in the
 * argument count: 12k arguments took seconds and gigabytes), so it only sees the first tokens; once its proxy has
 * started (the user's command), every later token belongs to the command too and is appended as is. When the head
 * does not parse that way (options all the way, an option's value cut off), the whole argv is parsed.
 * A missing command is one usage line, exit 2.
 */
function processPassthrough(cli: RoarCli, args: string[], context: RoarContext): Command<RoarContext> {
  const usual = cli.parseUsual(args, context);
  if (usual) return usual;
  if (args.length > PASSTHROUGH_HEAD) {
    try {
      const command = cli.process(args.slice(0, PASSTHROUGH_HEAD), context) as Command<RoarContext> & {
        argv?: string[];
      };
      if (!command.help && Array.isArray(command.argv) && command.argv.length > 0) {
        command.argv.push(...args.slice(PASSTHROUGH_HEAD));
        return command;
      }
    } catch {
      // parsed in full below
    }
  }
  try {
    return cli.process(args, context);
  } catch (error) {
    // Only the command is missing when a placeholder command would make the line parse.
    const probe = "\0command";
    let missingCommand = false;
    try {
      const withProbe = cli.process([...args, probe], context) as { argv?: string[] };
      missingCommand = withProbe.argv?.length === 1 && withProbe.argv[0] === probe;
    } catch {
      missingCommand = false;
    }
    if (missingCommand) throw missingCommandError(args[0] ?? "run");
    throw error;
  }
}

/** Error text may quote file names and arguments: each line is made terminal-safe, the line breaks kept. */
function safeLines(text: string): string {
  return text.split("\n").map(visible).join("\n");
}

export function reportError(thrown: unknown): number {
  // Disk full, read-only, corrupt or locked database: a message the user can act on, not an internal error.
  const error = storeFailure(thrown) ?? thrown;
  if (error instanceof RoarError) {
    stderr.write(`roar: ${safeLines(error.message)}\n`);
    if (error.hint) stderr.write(`${safeLines(error.hint)}\n`);
    const cause = error.cause;
    if (process.env.ROAR_DEBUG && cause instanceof Error && cause.stack) stderr.write(`${cause.stack}\n`);
    return error.exitCode;
  }
  // Clipanion validation errors (bad option values) are usage errors.
  if (error instanceof Error && (error as { clipanion?: { type?: string } }).clipanion?.type === "usage") {
    stderr.write(`roar: ${visible(firstLine(error.message))}\n`);
    return 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`roar: internal error: ${safeLines(message)}\n`);
  if (process.env.ROAR_DEBUG && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return 1;
}
