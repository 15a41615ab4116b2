/**
 * Step identity: which earlier job a new job re-runs. Identity = the argv with option *values* removed —
 * the program (basename), the script, positional arguments and option names — so `train.py d.csv m.pt --lr 0.1`
 * and `--lr 0.2` are the same step, while `train.py d.csv m_fast.pt` is another.
 *
 * Rules: `--key=value` keeps `--key`; a token right after an option (`--lr 0.1`, `-n 5`) is that option's
 * value and is dropped, unless it looks like a script path (ends in .py/.sh/…); an interpreter's `-m MODULE`
 * and `-c CODE` are kept, since they name what runs.
 */
import { basename } from "node:path";

const SCRIPT = /\.(py|sh|bash|R|r|jl|js|ts|mjs|rb|pl|ipynb)$/;
const INTERPRETER = /^(python[0-9.]*|pypy[0-9.]*|uv|bun|node|Rscript|julia)$/;

function isOption(token: string): boolean {
  return token.startsWith("-") && token !== "-" && token !== "--" && !/^-\d/.test(token);
}

export function stepTokens(argv: readonly string[]): string[] {
  if (argv.length === 0) return [];
  const program = basename(argv[0] as string);
  const out = [program];
  const interpreter = INTERPRETER.test(program);
  let afterDoubleDash = false;
  for (let i = 1; i < argv.length; i++) {
    const token = argv[i] as string;
    if (afterDoubleDash || !isOption(token)) {
      out.push(token);
      if (token === "--") afterDoubleDash = true;
      continue;
    }
    const eq = token.indexOf("=");
    if (token.startsWith("--") && eq > 0) {
      out.push(token.slice(0, eq));
      continue;
    }
    out.push(token);
    const next = argv[i + 1];
    if (next === undefined || isOption(next)) continue;
    if (interpreter && (token === "-m" || token === "-c")) {
      out.push(next);
      i++;
      // Everything after `-m module` / `-c code` belongs to the program run.
      continue;
    }
    if (SCRIPT.test(next)) continue;
    i++; // the option's value
  }
  return out;
}

export function stepIdentity(kind: string, argv: readonly string[]): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify([kind === "build" ? "build" : "run", ...stepTokens(argv)]));
  return hasher.digest("hex").slice(0, 32);
}

/** `@3` / `@B2` labels. */
export function stepLabel(step: number, kind: string): string {
  return kind === "build" ? `@B${step}` : `@${step}`;
}
