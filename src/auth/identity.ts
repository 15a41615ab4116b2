/**
 * Which SSH key signs registry requests, found as the original client does: `$ROAR_SSH_KEY`, then `glaas.key`,
 * then `~/.ssh/id_ed25519`, `id_rsa`, `id_ecdsa`. An encrypted key signs through ssh-agent when the agent
 * holds it; otherwise the error says how to fix it.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { agentSigner } from "./agent.ts";
import { loadPrivateKey, parsePublicKey, SshKeyError, type SshPublicKey, type SshSigningKey } from "./ssh-key.ts";

export const DEFAULT_KEY_FILES = ["id_ed25519", "id_rsa", "id_ecdsa"] as const;

export interface KeyLocation {
  path: string;
  /** Where the choice came from: ROAR_SSH_KEY, glaas.key or ~/.ssh. */
  source: "ROAR_SSH_KEY" | "glaas.key" | "~/.ssh";
}

/** The key file to use, or null when there is none (then requests go unsigned, as `anonymous`). */
export function findKey(
  env: Record<string, string | undefined>,
  configured: string,
  home = homedir(),
): KeyLocation | null {
  const expand = (p: string) => (p === "~" || p.startsWith("~/") ? join(home, p.slice(2)) : resolve(p));
  if (env.ROAR_SSH_KEY) return { path: expand(env.ROAR_SSH_KEY), source: "ROAR_SSH_KEY" };
  if (configured) return { path: expand(configured), source: "glaas.key" };
  for (const name of DEFAULT_KEY_FILES) {
    const path = join(home, ".ssh", name);
    if (existsSync(path)) return { path, source: "~/.ssh" };
  }
  return null;
}

/** The public half of a key file (from `<file>.pub` when present, else from the private key itself). */
export function publicKeyOf(location: KeyLocation): SshPublicKey {
  const pub = `${location.path}.pub`;
  if (existsSync(pub)) return parsePublicKey(readFileSync(pub, "utf8"));
  const loaded = loadPrivateKey(readKeyFile(location.path));
  return "encrypted" in loaded ? loaded.encrypted : loaded.key;
}

function readKeyFile(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SshKeyError(`cannot read the SSH key ${path}: ${code === "ENOENT" ? "no such file" : code}`);
  }
}

/** A key that can sign now: the file itself, or ssh-agent for an encrypted one. */
export async function signingKey(
  location: KeyLocation,
  env: Record<string, string | undefined>,
): Promise<SshSigningKey> {
  const loaded = loadPrivateKey(readKeyFile(location.path));
  if ("key" in loaded) {
    const pub = `${location.path}.pub`;
    if (existsSync(pub)) loaded.key.comment = parsePublicKey(readFileSync(pub, "utf8")).comment;
    return loaded.key;
  }
  const socket = env.SSH_AUTH_SOCK;
  const viaAgent = socket ? await agentSigner(socket, loaded.encrypted).catch(() => null) : null;
  if (viaAgent) return viaAgent;
  throw new SshKeyError(
    `the SSH key ${location.path} is encrypted and ${socket ? "ssh-agent does not hold it" : "no ssh-agent is running"}: run 'ssh-add ${location.path}' (or set ROAR_SSH_KEY to an unencrypted key)`,
  );
}
