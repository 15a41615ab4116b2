/**
 * `roar auth register` / `roar auth status` through the real CLI: key discovery (ROAR_SSH_KEY, glaas.key,
 * ~/.ssh/id_ed25519), the public line and a fingerprint equal to `ssh-keygen -l`, and clear errors.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { roar, roarJson, tempDir, tempRepo } from "../helpers/cli.ts";

const haveSshKeygen = Bun.which("ssh-keygen") !== null;

function keygen(path: string, passphrase = ""): string {
  const r = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "me@roar.test", "-f", path]);
  if (r.exitCode !== 0) throw new Error(r.stderr.toString());
  return (
    Bun.spawnSync(["ssh-keygen", "-l", "-E", "sha256", "-f", `${path}.pub`])
      .stdout.toString()
      .split(" ")[1] ?? ""
  );
}

describe.skipIf(!haveSshKeygen)("roar auth", () => {
  test("register prints the public key of ~/.ssh/id_ed25519 with its fingerprint; status says it can sign", async () => {
    const repo = tempRepo();
    const home = join(repo, ".test-home");
    mkdirSync(join(home, ".ssh"), { recursive: true });
    const fp = keygen(join(home, ".ssh", "id_ed25519"));
    const r = await roar(["auth", "register"], { cwd: repo });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(readFileSync(join(home, ".ssh", "id_ed25519.pub"), "utf8").trim());
    expect(r.stderr).toContain(`fingerprint: ${fp}`);
    expect(r.stderr).toContain("roar server add-key");
    const status = await roarJson<{ canSign: boolean; fingerprint: string; source: string }>(
      ["auth", "status", "--json"],
      { cwd: repo },
    );
    expect(status).toMatchObject({ canSign: true, fingerprint: fp, source: "~/.ssh" });
  });

  test("ROAR_SSH_KEY wins over glaas.key and ~/.ssh; an encrypted key without an agent is explained", async () => {
    const repo = tempRepo();
    const dir = tempDir("roar-keys-");
    const chosen = keygen(join(dir, "chosen"));
    keygen(join(dir, "configured"));
    await roar(["init", "-y"], { cwd: repo });
    expect((await roar(["config", "set", "glaas.key", join(dir, "configured")], { cwd: repo })).code).toBe(0);
    const viaEnv = await roarJson<{ fingerprint: string; source: string }>(["auth", "register", "--json"], {
      cwd: repo,
      env: { ROAR_SSH_KEY: join(dir, "chosen") },
    });
    expect(viaEnv).toMatchObject({ fingerprint: chosen, source: "ROAR_SSH_KEY" });
    const viaConfig = await roarJson<{ source: string }>(["auth", "register", "--json"], { cwd: repo });
    expect(viaConfig.source).toBe("glaas.key");
    keygen(join(dir, "locked"), "secret phrase");
    const locked = await roarJson<{ canSign: boolean; problem: string }>(["auth", "status", "--json"], {
      cwd: repo,
      env: { ROAR_SSH_KEY: join(dir, "locked"), SSH_AUTH_SOCK: undefined },
    });
    expect(locked.canSign).toBe(false);
    expect(locked.problem).toContain("is encrypted and no ssh-agent is running: run 'ssh-add");
  });

  test("no key at all: register says how to make one (exit 1); status says requests go as anonymous", async () => {
    const repo = tempRepo();
    const r = await roar(["auth", "register"], { cwd: repo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no SSH key found");
    expect(r.stderr).toContain("ssh-keygen -t ed25519");
    const status = await roar(["auth", "status"], { cwd: repo });
    expect(status.stdout).toContain("anonymous");
  });
});
