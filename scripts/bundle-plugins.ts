/**
 * Bundler plugins shared by the launcher bundle (scripts/launcher-bundle.ts) and the compiled binaries
 * (scripts/compile.ts).
 *
 * clipanion without its terminal probes: at load, clipanion requires `tty` and builds `Cli.defaultContext` from
 * process.stdin/stdout/stderr, which costs every roar command ~15 ms of loading Node's stream modules. roar passes
 * its own context (src/main.ts, src/ui/std-streams.ts) and never reads the default one, so the bundle drops both
 * probes. Running from source keeps clipanion as published (slower to start, same behaviour). The build fails if
 * a clipanion update changes the patched text.
 */
import type { BunPlugin } from "bun";

interface Patch {
  file: RegExp;
  from: string;
  to: string;
}

const PATCHES: Patch[] = [
  {
    file: /clipanion[\\/]lib[\\/]platform[\\/]node\.js$/,
    from: "var tty = require('tty');",
    // getDefaultColorDepth() then falls through to FORCE_COLOR and process.stdout.isTTY, only if it is called.
    to: "var tty = { WriteStream: { prototype: {} } };",
  },
  {
    file: /clipanion[\\/]lib[\\/]advanced[\\/]Cli\.js$/,
    from: [
      "Cli.defaultContext = {",
      "    env: process.env,",
      "    stdin: process.stdin,",
      "    stdout: process.stdout,",
      "    stderr: process.stderr,",
      "    colorDepth: platform.getDefaultColorDepth(),",
      "};",
    ].join("\n"),
    to: "Cli.defaultContext = { env: process.env, colorDepth: 1 };",
  },
];

export const clipanionWithoutTty: BunPlugin = {
  name: "clipanion-without-tty",
  setup(build) {
    for (const patch of PATCHES) {
      build.onLoad({ filter: patch.file }, async (args) => {
        const text = await Bun.file(args.path).text();
        if (!text.includes(patch.from)) {
          throw new Error(`${args.path}: the text scripts/bundle-plugins.ts patches is not there (clipanion changed?)`);
        }
        return { contents: text.replace(patch.from, patch.to), loader: "js" };
      });
    }
  },
};

/**
 * src/transfer/aws-sdk.ts (the AWS SDK, ~1 MB of the bundle) as a module of its own, built beside the bundle as
 * another entrypoint and imported at run time from `specifier` (relative to the bundle's entry file): loading
 * and evaluating it cost every command ~5 ms at start, when only put/get use it.
 */
export const AWS_SDK_MODULE = "src/transfer/aws-sdk.ts";

export function awsSdkApart(specifier: string): BunPlugin {
  return {
    name: "aws-sdk-apart",
    setup(build) {
      build.onResolve({ filter: /^\.\/aws-sdk\.ts$/ }, (args) =>
        args.importer.endsWith("/src/transfer/s3.ts") ? { path: specifier, external: true } : undefined,
      );
    },
  };
}
