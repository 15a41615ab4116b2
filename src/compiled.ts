// Entry point of the `bun build --compile` executable (see scripts/compile.ts).
import { main } from "./main.ts";

process.exitCode = await main(process.argv.slice(2));
