/**
 * roar runs with two JavaScriptCore options of its own, set by its launchers before Bun starts (the only time
 * JavaScriptCore reads its options): bin/roar, the npm launcher (npm/launcher.sh), and a compiled executable
 * started directly, which restarts itself once for the commands that trace — but for a command line whose last run
 * recorded few files, where the restart would cost more than it saves (see compiledRestart).
 *
 * - BUN_JSC_useDFGJIT=0, the optimizing compilers off (DFG, and FTL above it), for the commands that trace a job
 *   (TRACING_COMMANDS: the launchers test the command's word too). A `roar run` lives under a second, and those
 *   compilers work on background threads that compete with the traced job and with roar's own thread for the
 *   machine's cores, for code that has mostly run by the time its compiled version lands. Measured on the io job
 *   (20,000 reads, 2 cores, paired rounds): the whole run −8 to −10 % (bin/roar and compiled alike), python's own
 *   time ~20 ms less; `roar run -q true` 2-4 ms less. The other commands keep them: with no job to compete with,
 *   `roar dag --json` at 5,000 jobs takes 255 ms with them against 270 without (21 rounds; `status` the same).
 * - BUN_JSC_largeHeapSize=128 MiB, for every command: no garbage collection before the heap has grown that much
 *   (JavaScriptCore's default starts at 8 MiB, and grows the step with the heap). A big job's record step allocates
 *   ~60 MB in all, and collected four times on the way (~20 ms of pauses, the last full collection ~7 ms inside
 *   the insert); now at most once. Measured on the io job: 0.950–0.985× in five paired A/Bs of 21–41 rounds;
 *   `roar run -q true` and a CPU-bound job unchanged; peak RSS of the io job's roar ~4 MB more (pages are touched
 *   as they are used). `roar dag --json` at 5,000 jobs: 281 → 255 ms.
 *
 * The options are roar's, never its commands': the caller's own value of each travels in ROAR_CALLER_<name>
 * ("" = unset) and is put back into the environment first thing (restoreCallerJitOption), so nothing roar runs
 * sees roar's. A long-running command (`roar server`) started with roar's options restarts itself with the
 * caller's settings: its heap is sized as JavaScriptCore sizes it.
 */
import { cacheDirFromEnv } from "./cache-dir.ts";
import { isCompiled, selfCommand } from "./self.ts";

/** The options and roar's values of them, in the order the launchers set them. */
export const RUNTIME_OPTIONS: Readonly<Record<string, string>> = {
  BUN_JSC_useDFGJIT: "0",
  BUN_JSC_largeHeapSize: String(128 * 1024 * 1024),
};
export const JIT_OPTION = "BUN_JSC_useDFGJIT";
/** Where a launcher keeps the caller's own value of an option (the empty string when it was unset). */
export const callerVariable = (option: string): string => `ROAR_CALLER_${option}`;
export const CALLER_JIT_OPTION = callerVariable(JIT_OPTION);

type Env = Record<string, string | undefined>;

/** Whether a launcher started this process with any of roar's options. */
let withRoarOptions = false;

/**
 * Puts the caller's own values of roar's options back into `env` (process.env) where a launcher set roar's;
 * remembers whether it did.
 */
export function restoreCallerJitOption(env: Env = process.env): void {
  for (const option in RUNTIME_OPTIONS) {
    const kept = callerVariable(option);
    const caller = env[kept];
    if (caller === undefined) continue;
    withRoarOptions = true;
    delete env[kept];
    if (caller === "") delete env[option];
    else env[option] = caller;
  }
}

/** The environment for a roar process roar starts (rerun, reproduce): roar's options, the caller's kept aside. */
export function roarProcessEnv(env: Env): Env {
  const out: Env = { ...env };
  for (const [option, value] of Object.entries(RUNTIME_OPTIONS)) {
    out[callerVariable(option)] = env[option] ?? "";
    out[option] = value;
  }
  return out;
}

/**
 * Restarts this process in place (execve: same pid, same terminal) with the caller's settings, when a launcher
 * started it with roar's options: for commands that run long (`roar server`). Returns only when it did not.
 */
export function restartWithCallerOptions(args: readonly string[]): void {
  if (!withRoarOptions || !passesIntact(args, process.env)) return;
  const self = selfCommand();
  execveOrNot(self[0] as string, [...self, ...args], process.env);
}

/**
 * Whether execve can pass these on unchanged: Bun decodes arguments and environment as UTF-8, so a value that is
 * not (a file name, a variable's bytes) would reach the restarted process altered — then it is not restarted.
 */
function passesIntact(args: readonly string[], env: Env): boolean {
  if (args.some((a) => a.includes("\uFFFD"))) return false;
  for (const key in env) if (key.includes("\uFFFD") || env[key]?.includes("\uFFFD")) return false;
  return true;
}

/**
 * Commands that trace a job in their own process: the ones the launchers (bin/roar, npm/launcher.sh: the same list
 * in sh) start with the compilers off, and a compiled executable started directly restarts with them off (rerun
 * and reproduce start roar processes of their own for that, see roarProcessEnv).
 */
export const TRACING_COMMANDS: ReadonlySet<string> = new Set(["run", "build"]);

/** Whether roar's arguments name a command that traces (its word: the first, past the global --no-color). */
export function tracesJob(args: readonly string[]): boolean {
  return TRACING_COMMANDS.has((args[0] === "--no-color" ? args[1] : args[0]) ?? "");
}

/**
 * In a compiled executable started directly (not by a launcher), for a command that traces: restarts it once with
 * roar's options, unless the same command line (arguments and directory) recorded fewer than RESTART_MIN_FILES
 * files last time. Returns only when it did not restart.
 */
export async function compiledRestart(
  args: readonly string[],
  env: Env = process.env,
  cwd: string = process.cwd(),
): Promise<void> {
  if (!isCompiled() || env[CALLER_JIT_OPTION] !== undefined || !tracesJob(args)) return;
  if (!passesIntact(args, env)) return;
  const files = await lastRunFiles(args, cwd, env);
  if (files !== undefined && files < RESTART_MIN_FILES) return;
  execveOrNot(process.execPath, [process.execPath, ...args], roarProcessEnv(env));
}

/**
 * The restart costs 4-8 ms (a second Bun start-up; execve from a threaded process) and pays back only on a job
 * with files enough. Python reading and writing files, paired rounds: not restarted against restarted (21 rounds),
 * no files 2.7 ms faster, 1,100 files 4 ms slower, 4,400 18 ms, 22,000 39 ms; the optimizing compilers on against
 * off without a restart (25 rounds), 550 files +1.7 ms, 1,100 +11.6 ms. So a command line whose last run recorded
 * fewer files than this (RUN_FILES_CACHE) starts without it; one not seen yet restarts.
 */
export const RESTART_MIN_FILES = 800;
/** Files each command line recorded last time, by runFilesKey, in the user's cache (src/shared/cache.ts). */
export const RUN_FILES_CACHE = "run-files.json";

/** The key of a command line in RUN_FILES_CACHE: a hash of its directory and arguments. */
export function runFilesKey(args: readonly string[], cwd: string): string {
  // A letter first: an object keeps integer-like keys in numeric order, not in the order they were set.
  return `k${Bun.hash(`${cwd}\0${args.join("\0")}`).toString(36)}`;
}

/** How many files this command line recorded last time, when known. */
async function lastRunFiles(args: readonly string[], cwd: string, env: Env): Promise<number | undefined> {
  const dir = cacheDirFromEnv(env);
  if (!dir) return undefined;
  try {
    // Bun.file, not node:fs: loading it is ~0.5 ms, spent for nothing when the process restarts.
    const known = (await Bun.file(`${dir}/${RUN_FILES_CACHE}`).json()) as Record<string, unknown>;
    const files = known[runFilesKey(args, cwd)];
    return typeof files === "number" ? files : undefined;
  } catch {
    return undefined; // none yet, or unreadable: restart, as before the cache
  }
}

/** execve, or nothing when it fails (this runs on as it is: the setting is an optimisation, not a need). */
function execveOrNot(file: string, argv: string[], env: Env): void {
  try {
    process.execve?.(file, argv, env as Record<string, string>);
  } catch {
    // e.g. an emulator (qemu-user without binfmt_misc) that cannot execute the binary by its own path
  }
}

/**
 * How much later than normal JavaScriptCore tiers code up (Bun.unsafe.setJITPolicy) while a command that traces
 * starts: its start-up code runs once, and compiling it never pays back. From the job's start
 * (normalJitPolicy) the normal policy again, for the code that handles its events and records it. Measured on
 * `roar run -q true` (60 alternating rounds): 22.9 → 21.3 ms over bare with the launchers' options, 28.0 → 24.8 ms
 * started directly; the io job (20,000 reads) unchanged. A higher scale kept for the whole run slows that job's
 * record step (×100: +18 ms), and `roar dag --json` at 5,000 jobs (×8: +6 ms): the other commands keep the normal
 * policy.
 */
export const STARTUP_JIT_SCALE = 32;

/** Puts the normal policy back, while this process runs with roar's start-up one. */
let restoreNormalPolicy: (() => void) | null = null;

/** The scale a command starts with: STARTUP_JIT_SCALE for the commands that trace, else none (null). */
export function startupJitScale(args: readonly string[]): number | null {
  return tracesJob(args) ? STARTUP_JIT_SCALE : null;
}

/** For the entries (bin/roar.ts, the compiled executable's): the start-up policy, where the command traces. */
export function startupJitPolicy(args: readonly string[]): void {
  const scale = startupJitScale(args);
  // An older Bun has no such call: it then starts as it always did.
  const unsafe = (globalThis.Bun as { unsafe?: { setJITPolicy?: (scale: number) => void } } | undefined)?.unsafe;
  const setPolicy = unsafe?.setJITPolicy?.bind(unsafe);
  if (scale === null || !setPolicy) return;
  setPolicy(scale);
  restoreNormalPolicy = () => setPolicy(1);
}

/** Back to JavaScriptCore's normal policy, if this process started with roar's start-up one. */
export function normalJitPolicy(): void {
  restoreNormalPolicy?.();
  restoreNormalPolicy = null;
}
