/**
 * Where roar's process meets the OS, through the native library (rust/hash): the CPU its threads leave a traced
 * command (cpu_room.rs) and the exit that leaves freeing its memory to a helper (exit_aside.rs). Without the
 * library (not built, ROAR_HASH_KERNEL=wasm) each does nothing.
 */
import { loadedProcessCalls, loadNativeBlake3 } from "./native.ts";

/**
 * Below this much resident memory roar's exit frees it itself (Bun alone holds ~21 MB). The helper takes ~1 ms off
 * `roar run true` (~55 MB resident), ~5 ms off the io job's (~115 MB).
 */
const EXIT_ASIDE_MIN_RESIDENT = 32 * 1024 * 1024;

/**
 * Lets roar's exit skip the freeing of its memory: a helper process does it after (rust/hash/src/exit_aside.rs),
 * where init reaps orphans and roar holds enough memory. Only where the native library is loaded already; call it
 * last, from the exit handler. ROAR_EXIT_ASIDE=0 turns it off, =1 starts the helper whatever the memory and init.
 */
export function exitAsideIfLoaded(): void {
  const setting = process.env.ROAR_EXIT_ASIDE;
  if (setting === "0") return;
  loadedProcessCalls()?.exitAside(setting === "1" ? 0 : EXIT_ASIDE_MIN_RESIDENT);
}

/** What exitAsideIfLoaded will ask (whether init reaps orphans), asked now on a thread: call it while roar waits. */
export function prepareExitAside(): void {
  if (process.env.ROAR_EXIT_ASIDE === undefined) loadedProcessCalls()?.exitAsidePrepare();
}

/**
 * Leaves the traced job a CPU of its own: roar's threads but the tracers' keep off one of the CPUs roar may use
 * until `endCpuRoom` (see rust/hash/src/cpu_room.rs); with `pinTracers` (the ptrace backend, whose tracer answers
 * each of the job's file system calls) the tracers' threads keep to that one, beside the job. Call it once the job
 * has started (it keeps every CPU). How many threads were confined; 0 with one CPU, without the native library, or
 * with ROAR_CPU_ROOM=0.
 */
export function makeCpuRoom(pinTracers = false): number {
  if (process.env.ROAR_CPU_ROOM === "0") return 0;
  loadNativeBlake3();
  return Math.max(0, loadedProcessCalls()?.cpuRoomMake(pinTracers ? 1 : 0, 0) ?? 0);
}

/**
 * Once the job's process is known: the CPU left to it becomes the one it is on, when roar's threads were kept to
 * that one (a no-op otherwise, or when no room was made). How many threads were confined anew.
 */
export function leaveCpuToJob(pid: number, pinTracers = false): number {
  if (process.env.ROAR_CPU_ROOM === "0" || pid <= 0) return 0;
  return Math.max(0, loadedProcessCalls()?.cpuRoomMake(pinTracers ? 1 : 0, pid) ?? 0);
}

/** Gives roar's threads their CPUs back (a no-op when makeCpuRoom did nothing). */
export function endCpuRoom(): void {
  loadedProcessCalls()?.cpuRoomEnd();
}
