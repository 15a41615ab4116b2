import { basename } from "node:path";

/** The argv prefix that runs this same roar (source launcher under Bun, or a compiled executable). */
export function selfCommand(): string[] {
  const exe = process.execPath;
  if (/^bun(-debug)?$/.test(basename(exe))) {
    const script = process.argv[1];
    if (!script) throw new Error("cannot tell how roar was started");
    return [exe, "--no-env-file", "--config=/dev/null", script];
  }
  return [exe];
}
