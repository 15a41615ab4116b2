/**
 * Binding native symbols lazily (its own module: bun:ffi is loaded by the commands that use a native library
 * only, not by every roar start as src/shared/native.ts is).
 */
import { dlopen, type FFIFunction, type Library } from "bun:ffi";

/**
 * `dlopen`, with each symbol bound when first used. Bun binds every symbol a dlopen declares by compiling a
 * trampoline with TinyCC, ~50 µs each at start-up: libroar_hash declares 20, of which `roar run` of a small job
 * uses 5 to 7. The library itself is loaded at the first use (a later dlopen of it only takes a reference); a
 * missing library or symbol throws there. A symbol once bound is a plain property: no cost on hot paths.
 */
export function dlopenLazily<Fns extends Record<string, FFIFunction>>(path: string, definitions: Fns): Library<Fns> {
  const handles: Library<Record<string, FFIFunction>>[] = [];
  const symbols = {} as Library<Fns>["symbols"];
  for (const name of Object.keys(definitions)) {
    Object.defineProperty(symbols, name, {
      configurable: true,
      enumerable: true,
      get() {
        const library = dlopen(path, { [name]: definitions[name] as FFIFunction });
        handles.push(library);
        const bound = library.symbols[name];
        Object.defineProperty(symbols, name, { value: bound, enumerable: true });
        return bound;
      },
    });
  }
  return {
    symbols,
    close() {
      for (const library of handles.splice(0)) library.close();
    },
  };
}
