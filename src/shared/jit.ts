/**
 * JIT hints for roar's hottest short-lived code. A `roar run` lives well under a second: JavaScriptCore's top tier
 * (FTL) compiles its hottest functions on background threads that compete with the traced job (and with roar's
 * own thread) for the machine's cores, for code that has mostly run by the time the compilation lands. The
 * functions given here stay in the tier below (DFG), which compiles them several times cheaper. Measured on the
 * io job (20,000 reads): FTL compile time 154-239 → 53-100 ms a run, the run itself ~1.5 % faster.
 */
import { noFTL } from "bun:jsc";

/** Keeps these functions out of the FTL tier (see above): for per-record code of a single `roar run`. */
export function keepOutOfTopTier(...fns: ((...args: never[]) => unknown)[]): void {
  for (const fn of fns) noFTL(fn);
}
