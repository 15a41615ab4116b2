/**
 * roar's Clipanion CLI, with a quicker way through the lines `roar run` and `roar build` are almost always given.
 *
 * Clipanion parses a line by building a state machine of every registered command's options and running the
 * words through it; built afresh in each process, on code that runs once, that is ~2 ms of every `roar run`
 * (of ~25). A line of the usual shape needs none of it: the command's word, then only that command's own options,
 * each exactly as declared (a flag; an option with its value as the next word, or after `=`), then the user's
 * command from its first word that does not start with `-`. `parseUsual` reads such a line into the state
 * Clipanion's machine would reach, and the command's own option transformers (Clipanion's: defaults, validators)
 * build the command from it, as `Cli.process` does. Any other line (batched or negated flags, `--`, help, an
 * unknown option, an option without its value, no command) is Clipanion's to parse, and so are its errors.
 * test/unit/roar-cli.test.ts holds the two ways to the same commands.
 */
import { Cli, type Command, type Option } from "clipanion";
import type { RoarContext } from "./base.ts";

type RunState = Parameters<Option.CommandOption<unknown>["transformer"]>[2];
/** Clipanion's marker of an unbounded list of operands (its NoLimits symbol). */
type NoLimits = Exclude<RunState["positionals"][number]["extra"], boolean>;

/** What the usual shape needs to know of a command's declaration (Clipanion's CommandBuilder). */
interface Declaration {
  paths: string[][];
  arity: { leading: string[]; trailing: string[]; extra: string[] | NoLimits; proxy: boolean };
  options: { names: string[]; arity: number; required: boolean; allowBinding: boolean }[];
}

export class RoarCli extends Cli<RoarContext> {
  /**
   * The command `args` asks for, when they have the usual shape described above and name a command whose only
   * operand is the rest of the line (run, build); else null (then `process` parses them).
   */
  parseUsual(args: readonly string[], context: RoarContext): Command<RoarContext> | null {
    const word = args[0];
    if (word === undefined) return null;
    for (const [commandClass, registration] of this.registrations) {
      const { builder, specs } = registration;
      if (!builder.paths.some((path) => path.length === 1 && path[0] === word)) continue;
      const state = usualState(builder, args, registration.index);
      if (!state) return null;
      // As Cli.process builds a command from its machine's state.
      const command = new commandClass();
      command.context = context;
      command.path = state.path;
      const fields = command as unknown as Record<string, unknown>;
      try {
        for (const [key, { transformer }] of specs) fields[key] = transformer(builder, key, state, context);
      } catch {
        return null; // a value a validator refuses: Clipanion says so, in its words
      }
      return command;
    }
    return null;
  }
}

/** The state Clipanion's machine reaches on `args`, or null when they are not of the usual shape. */
function usualState(declaration: Declaration, args: readonly string[], selectedIndex: number): RunState | null {
  // A proxy (Option.Proxy): every word from the first operand on is the command's, the first `leading` of them
  // required (Clipanion's CommandBuilder.addProxy); `extra` is then Clipanion's NoLimits marker.
  const { arity } = declaration;
  const extra = arity.extra;
  if (!arity.proxy || arity.trailing.length > 0 || Array.isArray(extra)) return null;
  if (declaration.options.some((option) => option.required)) return null;
  const declared = new Map(
    declaration.options.flatMap((option) => option.names.map((name) => [name, option] as const)),
  );
  const options: RunState["options"] = [];
  let at = 1;
  for (; at < args.length; at++) {
    const token = args[at] as string;
    if (!token.startsWith("-") || token === "-") break; // the user's command starts here
    const equals = token.indexOf("=");
    const name = equals > 0 ? token.slice(0, equals) : token;
    const option = declared.get(name);
    if (!option) return null;
    if (option.arity === 0) {
      if (equals > 0) return null;
      options.push({ name, value: true });
    } else if (option.arity === 1) {
      if (equals > 0) {
        if (!option.allowBinding) return null;
        options.push({ name, value: token.slice(equals + 1) });
      } else {
        const value = args[at + 1];
        if (value === undefined || (value.startsWith("-") && value !== "-")) return null;
        options.push({ name, value });
        at++;
      }
    } else return null;
  }
  if (args.length - at < Math.max(1, arity.leading.length)) return null; // no command: Clipanion's error
  return {
    candidateUsage: null,
    requiredOptions: [],
    errorMessage: null,
    ignoreOptions: false,
    options,
    path: [args[0] as string],
    // As Clipanion's reducers push them: the required words, then the rest.
    positionals: args.slice(at).map((value, i) => ({ value, extra: i < arity.leading.length ? false : extra })),
    remainder: null,
    selectedIndex,
  };
}
