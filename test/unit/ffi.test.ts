import { FFIType } from "bun:ffi";
import { expect, test } from "bun:test";
import { dlopenLazily } from "../../src/shared/ffi.ts";

test("dlopenLazily binds a symbol at its first use, and only that one", () => {
  const libc = dlopenLazily("libc.so.6", {
    getpid: { args: [], returns: FFIType.i32 },
    roar_no_such_symbol: { args: [], returns: FFIType.i32 },
  });
  // Declaring a symbol the library lacks is no error until it is used: nothing was bound yet.
  expect(libc.symbols.getpid()).toBe(process.pid);
  expect(Object.getOwnPropertyDescriptor(libc.symbols, "getpid")?.value).toBeFunction();
  expect(Object.getOwnPropertyDescriptor(libc.symbols, "roar_no_such_symbol")?.get).toBeFunction();
  expect(() => libc.symbols.roar_no_such_symbol()).toThrow();
  libc.close();
});

test("dlopenLazily: a library that does not exist fails at the first use", () => {
  const missing = dlopenLazily("/nonexistent/libroar_nothing.so", { f: { args: [], returns: FFIType.i32 } });
  expect(() => missing.symbols.f()).toThrow();
});
