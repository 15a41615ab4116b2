/**
 * roar's entry point. Clipanion's own `run` writes errors to stdout, colours piped output and turns a
 * printing `catch()` into exit 0; this loop replaces it so that errors go to stderr as one line, colour
 * follows the TTY/NO_COLOR/--no-color rules, and failures exit non-zero.
 */
import { Cli, type Command } from "clipanion";
import packageJson from "../package.json" with { type: "json" };
import type { RoarContext } from "./commands/base.ts";
import { commandWords, loadCommands } from "./commands/index.ts";
import { RoarError } from "./core/errors.ts";
import { closest } from "./core/suggest.ts";
import { visible } from "./ui/escape.ts";
import { renderHelp } from "./ui/help.ts";
import { colorEnabled, disableColor } from "./ui/style.ts";

export const VERSION: string = packageJson.version;

/** Commands whose trailing arguments belong to the user's program, not to roar. */
const PASSTHROUGH = new Set(["run", "build"]);

async function buildCli(colored: boolean, firstWord: string | undefined): Promise<Cli<RoarContext>> {
  const cli = new Cli<RoarContext>({
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

/** `roar … | head`: the reader went away; that is not an error worth a stack trace. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
}

export async function main(argv: string[], cwd = process.cwd()): Promise<number> {
  exitQuietlyOnClosedPipe();
  const stderr = process.stderr;
  let args = argv;
  // A global --no-color: anywhere for roar's own commands, but only before the user's command for run/build.
  if (args[0] === "--no-color" || (!PASSTHROUGH.has(args[0] ?? "") && args.includes("--no-color"))) {
    disableColor();
    if (args[0] === "--no-color") args = args.slice(1);
    if (!PASSTHROUGH.has(args[0] ?? "")) args = args.filter((a) => a !== "--no-color");
  }
  if (args[0] === "--version" || args[0] === "-V") {
    process.stdout.write(`roar, version ${VERSION}\n`);
    return 0;
  }
  const colored = colorEnabled(process.stdout);
  const wantsHelp = args.length === 0 || args[0] === "--help" || args[0] === "-h" || args[0] === "help";
  const cli = await buildCli(colored, wantsHelp ? undefined : args[0]);
  const context: RoarContext = { ...Cli.defaultContext, cwd, colorDepth: colored ? 8 : 1 };

  if (args.length === 0 || args[0] === "--help" || args[0] === "-h" || (args[0] === "help" && args.length === 1)) {
    process.stdout.write(renderHelp(cli, VERSION, colored));
    return 0;
  }
  if (args[0] === "help") args = [...args.slice(1), "--help"];

  let command: Command<RoarContext>;
  try {
    command = cli.process(args, context);
  } catch (error) {
    const first = args[0] ?? "";
    const names = commandWords;
    if (!names.includes(first)) {
      const guess = first.startsWith("-") ? undefined : closest(first, names);
      const message = first.startsWith("-") ? `unknown option '${first}'` : `unknown command '${first}'`;
      stderr.write(`roar: ${visible(message)}${guess ? ` — did you mean 'roar ${guess}'?` : ""} (see 'roar --help')\n`);
      return 1;
    }
    const message = error instanceof Error ? firstLine(error.message) : String(error);
    stderr.write(`roar: ${visible(message)} (see 'roar ${visible(first)} --help')\n`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(cli.usage(command, { colored, detailed: true }));
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
    return typeof code === "number" ? code : 0;
  } catch (error) {
    return reportError(error);
  }
}

/** Error text may quote file names and arguments: each line is made terminal-safe, the line breaks kept. */
function safeLines(text: string): string {
  return text.split("\n").map(visible).join("\n");
}

export function reportError(error: unknown): number {
  const stderr = process.stderr;
  if (error instanceof RoarError) {
    stderr.write(`roar: ${safeLines(error.message)}\n`);
    if (error.hint) stderr.write(`${safeLines(error.hint)}\n`);
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
