/**
 * The whole test suite, as CI runs it: set-up (system packages, native build), type-check, lint, then every
 * bun test. Ends with the plain line "N passed, N failed" that CI reads, and exits non-zero on any failure.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import { testNativeHash } from "./build-native-hash.ts";
import { containerRoot } from "./debian-root.ts";
import { ensureSystemPackages } from "./setup.ts";

const root = join(import.meta.dir, "..");
process.chdir(root);
let failedChecks = 0;

async function step(name: string, run: () => Promise<{ exitCode: number }>): Promise<void> {
  console.error(`\n── ${name}`);
  const r = await run();
  if (r.exitCode !== 0) {
    console.error(`── ${name}: FAILED (exit ${r.exitCode})`);
    failedChecks++;
  }
}

await ensureSystemPackages();
// The distribution tests' Debian roots take minutes to make the first time (then they are cached): make them
// while the build runs. A failure here shows again, with its reason, in the tests that need them.
const containerRoots =
  process.getuid?.() === 0 && existsSync("/usr/sbin/debootstrap")
    ? Promise.all((["amd64", "arm64"] as const).map((arch) => containerRoot(arch)))
    : Promise.resolve([]);
await step("build", () => $`bun build.ts --compile`.nothrow());
await step("type-check", () => $`tsc --noEmit -p .`.nothrow());
await step("lint", () => $`biome check .`.nothrow());
await step("cargo test", () => $`cargo test --release --offline --quiet`.cwd(join(root, "rust")).nothrow());
await step("cargo test (native hash kernel)", async () => {
  const result = await testNativeHash();
  if (!result) console.error("skipped: Debian's librust-blake3-dev crates are not installed");
  return result ?? { exitCode: 0 };
});
// Clippy holds the Rust lints of rust/Cargo.toml ([workspace.lints]); machines without it skip the step.
if ((await $`cargo clippy --version`.quiet().nothrow()).exitCode === 0) {
  await step("cargo clippy", () =>
    $`cargo clippy --offline --all-targets --quiet -- -D warnings`.cwd(join(root, "rust")).nothrow(),
  );
} else {
  console.error("\n── cargo clippy: skipped (clippy is not installed; rustup component add clippy)");
}

await containerRoots;

const junit = join(root, "test-results/junit.xml");
rmSync(junit, { force: true });
mkdirSync(join(root, "test-results"), { recursive: true });
const extra = process.argv.slice(2);
await step("bun test", () =>
  $`bun test --timeout=300000 --reporter=junit --reporter-outfile=${junit} ${extra}`
    .env({ ...process.env, FORCE_COLOR: "0" })
    .nothrow(),
);

let passed = 0;
let failed = 0;
try {
  const xml = readFileSync(junit, "utf8");
  const head = /<testsuites[^>]*>/.exec(xml)?.[0] ?? "";
  const num = (attr: string) => Number(new RegExp(`${attr}="(\\d+)"`).exec(head)?.[1] ?? 0);
  const tests = num("tests");
  failed = num("failures") + num("errors");
  const skipped = num("skipped");
  passed = tests - failed - skipped;
  console.log(`${passed} passed, ${failed + failedChecks} failed, ${skipped} skipped`);
} catch {
  console.log(`0 passed, ${1 + failedChecks} failed`);
  process.exit(1);
}
process.exit(failed + failedChecks > 0 || passed === 0 ? 1 : 0);
