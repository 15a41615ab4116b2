/**
 * A local npm registry for the distribution tests: verdaccio (pinned; installed once into the test cache with
 * npm), on loopback, storage in a temp directory, packages named roar and @roar-cli/* served only from what the
 * test publishes, everything else proxied to the npm registry npm is configured with.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { cacheDir } from "../../scripts/cache.ts";
import { tempDir } from "./cli.ts";

/** The last verdaccio that runs on Node 20 (6.9 needs Node 22). */
export const VERDACCIO_VERSION = "6.8.0";

export function npmAvailable(): string | null {
  if (!Bun.which("node")) return "node is not installed";
  if (!Bun.which("npm")) return "npm is not installed";
  return null;
}

function npmRegistry(): string {
  const r = Bun.spawnSync(["npm", "config", "get", "registry"], { stdout: "pipe", stderr: "pipe" });
  return r.stdout.toString().trim() || "https://registry.npmjs.org/";
}

/** verdaccio's entry script, installed on first use. */
export function ensureVerdaccio(): string {
  const dir = join(cacheDir(), `verdaccio-${VERDACCIO_VERSION}`);
  const entry = join(dir, "node_modules/verdaccio/bin/verdaccio");
  if (existsSync(entry)) return entry;
  const tmp = `${dir}.tmp-${process.pid}`;
  mkdirSync(tmp, { recursive: true });
  writeFileSync(join(tmp, "package.json"), '{ "private": true }\n');
  const r = Bun.spawnSync(
    ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", `verdaccio@${VERDACCIO_VERSION}`],
    { cwd: tmp, stdout: "pipe", stderr: "pipe" },
  );
  if (r.exitCode !== 0) throw new Error(`npm install verdaccio@${VERDACCIO_VERSION} failed: ${r.stderr.toString()}`);
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // installed meanwhile by another run
  }
  return entry;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface LocalRegistry {
  url: string;
  /** An .npmrc that points at the registry and can publish to it. */
  npmrc: string;
  stop(): void;
}

export async function startRegistry(): Promise<LocalRegistry> {
  const entry = ensureVerdaccio();
  const dir = tempDir("roar-registry-");
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const local = "    access: $all\n    publish: $authenticated\n";
  writeFileSync(
    join(dir, "config.yaml"),
    `storage: ${join(dir, "storage")}
auth:
  htpasswd:
    file: ${join(dir, "htpasswd")}
uplinks:
  upstream:
    url: ${npmRegistry()}
packages:
  'roar':
${local}  '@roar-cli/*':
${local}  '**':
    access: $all
    proxy: upstream
max_body_size: 1gb
log: { type: stdout, format: pretty, level: warn }
`,
  );
  const server = Bun.spawn(["node", entry, "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`], {
    cwd: dir,
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = () => server.kill();
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(`${url}-/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (server.exitCode !== null || Date.now() > deadline) {
      stop();
      throw new Error(`verdaccio did not start: ${await new Response(server.stderr).text()}`);
    }
    await Bun.sleep(200);
  }
  const user = await fetch(`${url}-/user/org.couchdb.user:roar-test`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "roar-test", password: "roar-test-password" }),
  });
  const { token } = (await user.json()) as { token?: string };
  if (!token) {
    stop();
    throw new Error(`verdaccio refused to create a user (${user.status})`);
  }
  const npmrc = join(dir, ".npmrc");
  writeFileSync(npmrc, `registry=${url}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  return { url, npmrc, stop };
}

/** The environment without npm's own settings (`npm test` exports npm_config_* to its scripts). */
export function withoutNpmConfig(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !/^npm_/i.test(k)) out[k] = v;
  return out;
}

/** `npm publish` of a package directory to the local registry. */
export function publish(registry: LocalRegistry, packageDir: string): void {
  const r = Bun.spawnSync(["npm", "publish", "--loglevel=error"], {
    cwd: packageDir,
    env: {
      ...withoutNpmConfig(process.env),
      npm_config_userconfig: registry.npmrc,
      npm_config_update_notifier: "false",
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`npm publish ${packageDir} failed: ${r.stderr.toString()}`);
}
