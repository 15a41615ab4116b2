/**
 * The C ABI of libroar_ptrace as the TS side speaks it: the `RoarPtraceRequest` layout, and the named negative
 * errnos of its entry points (rust/crates/roar-sys/src/errno.rs).
 */

import { ptr } from "bun:ffi";
import { describe, expect, test } from "bun:test";
import { TRACER_ABI_VERSION } from "../../src/schema/events.ts";
import { ptraceBackend } from "../../src/trace/ptrace.ts";
import {
  encodeStartRequest,
  openPtraceLibrary,
  PtraceErrno,
  REQUEST_SIZE,
  RESULT_SIZE,
  startPtraceRun,
} from "../../src/trace/ptrace-ffi.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("the request is five {ptr, len} blocks in field order, null for an empty block", () => {
  const request = {
    argv: text("true\0"),
    envp: text("A=1\0B=2\0"),
    cwd: text("/"),
    eventsPath: text("/e"),
    spec: new Uint8Array(),
  };
  const bytes = encodeStartRequest(request);
  expect(bytes.length).toBe(REQUEST_SIZE);
  const view = new DataView(bytes.buffer);
  const blocks = [request.argv, request.envp, request.cwd, request.eventsPath];
  blocks.forEach((block, i) => {
    expect(view.getBigUint64(i * 16, true)).toBe(BigInt(ptr(block)));
    expect(view.getBigUint64(i * 16 + 8, true)).toBe(BigInt(block.length));
  });
  expect(view.getBigUint64(64, true)).toBe(0n);
  expect(view.getBigUint64(72, true)).toBe(0n);
});

test("errno names come from the platform's table", () => {
  expect(PtraceErrno).toEqual({ EINVAL: 22, EAGAIN: 11, EIO: 5 });
});

const library = ptraceBackend.probe().library;

describe.skipIf(!library)("entry points", () => {
  const lib = openPtraceLibrary(library ?? "", TRACER_ABI_VERSION);
  const empty = new Uint8Array();

  test("a malformed hybrid spec is refused with -EINVAL before anything starts", () => {
    const request = {
      argv: text("true\0"),
      envp: empty,
      cwd: text("/"),
      eventsPath: text("/dev/null"),
      spec: text("lib\0"),
    };
    expect(startPtraceRun(lib, request)).toBe(-PtraceErrno.EINVAL);
  });

  test("polling an unknown handle says -EINVAL", () => {
    const pid = new Int32Array(1);
    const result = new Uint8Array(RESULT_SIZE);
    expect(lib.symbols.roar_ptrace_poll(999_999, pid, result)).toBe(-PtraceErrno.EINVAL);
    expect(pid[0]).toBe(-1);
  });
});
