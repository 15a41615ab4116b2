/**
 * A hash pool worker: loads one BLAKE3 kernel (native or wasm) once, then hashes batches of files on request.
 * `bun build --compile` must list this file as an extra entrypoint (see the pool's constructor).
 */
import { createEngine, type HashEngine, hashFileSync } from "./file.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";

declare const self: Worker;

let engine: Promise<HashEngine> | undefined;

function reply(message: FromWorker): void {
  self.postMessage(message);
}

self.onmessage = async (event: MessageEvent<ToWorker>) => {
  const message = event.data;
  if (message.type === "init") {
    engine = createEngine(message.kernel).then(
      ({ engine: ready, fallbackReason }) => {
        reply({ type: "ready", kernel: ready.kind, fallbackReason });
        return ready;
      },
      (err: unknown) => {
        reply({ type: "init-failed", error: err instanceof Error ? err.message : String(err) });
        throw err;
      },
    );
    engine.catch(() => {});
    return;
  }
  try {
    if (!engine) throw new Error("hash worker used before init");
    const ready = await engine;
    // The native kernel hashes a whole batch in one call (BLAKE3 only; extra algorithms read through JS).
    const results =
      ready.kind === "native" && message.algorithms.length === 0
        ? ready.native.hashPaths(message.paths, message.options)
        : message.paths.map((path) => hashFileSync(path, message.algorithms, ready, message.options));
    reply({ type: "done", id: message.id, results });
  } catch (err) {
    reply({ type: "failed", id: message.id, error: err instanceof Error ? err.message : String(err) });
  }
};
