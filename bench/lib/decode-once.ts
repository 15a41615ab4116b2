/**
 * One fresh process's decode of an event stream, as `roar run` makes it: the reader's first (cold) call over the
 * whole stream. bench/event-decoder.ts bundles one entry per reader (bytecode, like roar's launcher) and times
 * the whole process too, so a reader's load cost counts. Prints {"decodeMs", "events"}.
 */
import { readFileSync } from "node:fs";
import type { TraceEvent } from "../../src/schema/events.ts";

export function decodeOnce(decodeRecords: (bytes: Buffer, events: TraceEvent[]) => number): void {
  const bytes = readFileSync(process.argv[2] ?? "");
  const events: TraceEvent[] = [];
  const before = performance.now();
  decodeRecords(bytes, events);
  const decodeMs = performance.now() - before;
  console.log(JSON.stringify({ decodeMs, events: events.length }));
}
