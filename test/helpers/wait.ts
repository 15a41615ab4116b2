/** Waiting for a ready signal (a file, a process, a line) with a deadline, instead of sleeping a fixed time. */

/**
 * Polls `probe` every few milliseconds until `ready` holds for its value or `timeoutMs` has passed, and returns
 * the last value: the test asserts on it, so a deadline that passes fails with what was seen.
 */
export async function waitFor<T>(
  probe: () => T,
  ready: (value: T) => boolean = Boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = probe();
  while (!ready(value) && Date.now() < deadline) {
    await Bun.sleep(10);
    value = probe();
  }
  return value;
}
