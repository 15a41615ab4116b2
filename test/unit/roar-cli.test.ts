import { describe, expect, test } from "bun:test";
import type { Command } from "clipanion";
import type { RoarContext } from "../../src/commands/base.ts";
import { BuildCommand } from "../../src/commands/build.ts";
import { RoarCli } from "../../src/commands/roar-cli.ts";
import { RunCommand } from "../../src/commands/run.ts";
import { StatusCommand } from "../../src/commands/status.ts";

const context = {
  env: {},
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: "/",
  colorDepth: 1,
} as unknown as RoarContext;

function cliWith(): RoarCli {
  const cli = new RoarCli({ binaryName: "roar", enableCapture: false });
  for (const commandClass of [RunCommand, BuildCommand, StatusCommand]) cli.register(commandClass);
  return cli;
}

/** What a parsed command holds: its path and every option field (not its context). */
function fields(command: Command<RoarContext>): Record<string, unknown> {
  const out: Record<string, unknown> = { class: command.constructor.name };
  for (const [key, value] of Object.entries(command)) if (key !== "context" && key !== "cli") out[key] = value;
  return out;
}

describe("RoarCli.parseUsual", () => {
  const usual: string[][] = [
    ["run", "true"],
    ["run", "-q", "true"],
    ["run", "--quiet", "python", "train.py", "--epochs", "10"],
    ["run", "--tracer", "ptrace", "-n", "step one", "--hash", "sha256", "--hash=md5", "python", "-c", "pass"],
    ["run", "--json", "--json-file", "out.json", "-y", "--allow-dirty", "cmd", "--json", "-q", "--", "-h"],
    ["run", "--tracer=preload", "@2", "--epochs=20"],
    ["run", "--add", "@2", "--dropout=0.2"],
    ["run", "-n", "-", "x"],
    ["run", "--name=a=b", "x"],
    ["run", "-q", "-q", "--yes", "true"],
    ["run", "--recorded-env", "x"],
    ["run", "--no-color", "x", "--no-color"],
    ["run", "x", "-"],
    ["run", "-", "x"],
    ["run", "", "x"],
    ["run", "python", "—", "ü", "a b"],
    ["build", "-q", "make", "all"],
    ["build", "--tracer", "auto", "./configure", "--prefix=/usr"],
  ];
  for (const args of usual) {
    test(`${JSON.stringify(args)}: the same command as Clipanion's parse`, () => {
      const cli = cliWith();
      const quick = cli.parseUsual(args, context);
      expect(quick).not.toBeNull();
      expect(fields(quick as Command<RoarContext>)).toEqual(fields(cli.process(args, context)));
    });
  }

  // Left to Clipanion: other shapes (some parse, some are errors it words), and commands of another kind.
  const others: string[][] = [
    ["run", "-qy", "true"],
    ["run", "--no-allow-dirty", "x"],
    ["run", "--", "true"],
    ["run", "-h"],
    ["run", "--help", "x"],
    ["run", "--bogus", "x"],
    ["run", "--tracer"],
    ["run", "--tracer", "-q", "x"],
    ["run", "-q"],
    ["run"],
    ["run", "-q=1", "x"],
    ["status"],
    ["status", "--json"],
    ["unknown", "x"],
    [],
  ];
  for (const args of others) {
    test(`${JSON.stringify(args)}: left to Clipanion`, () => {
      expect(cliWith().parseUsual(args, context)).toBeNull();
    });
  }

  test("a long command line is read whole (Clipanion's parse is quadratic in the words)", () => {
    const args = ["run", "-q", "echo", ...Array.from({ length: 50_000 }, (_, i) => `arg${i}`)];
    const command = cliWith().parseUsual(args, context) as Command<RoarContext> & { argv: string[]; quiet: boolean };
    expect(command.argv).toEqual(args.slice(2));
    expect(command.quiet).toBe(true);
  });
});
