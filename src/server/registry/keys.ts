/**
 * Users and their SSH public keys. A key belongs to one user; a user may have several. A new user name can be
 * claimed by anyone with a key (like pasting a key into a sign-up form) unless sign-up is closed; adding a key to
 * an existing user takes a request signed by one of that user's keys, or the admin command.
 */
import type { SqlDatabase } from "../db/sql.ts";
import { parsePublicKey, publicKeyLine, type SshPublicKey } from "../sshsig.ts";
import { type Actor, ANONYMOUS, forbidden, RegistryError } from "./errors.ts";

export const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export interface StoredKey {
  fingerprint: string;
  user: string;
  type: string;
  publicKey: string;
}

export interface AddKeyResult {
  user: string;
  fingerprint: string;
  key_type: string;
  created_user: boolean;
  created_key: boolean;
}

/** `admin` (the shell command) may enrol any key for any user. */
export type KeyRequester = { admin: true } | { admin: false; actor: Actor; openSignup: boolean };

export async function addKey(
  db: SqlDatabase,
  user: string,
  key: SshPublicKey,
  requester: KeyRequester,
): Promise<AddKeyResult> {
  if (!USER_NAME.test(user))
    throw new RegistryError(
      400,
      "bad_user",
      `user name '${user.slice(0, 64)}' must be 1-64 letters, digits, '.', '_', '@' or '-'`,
    );
  if (user === ANONYMOUS) throw new RegistryError(400, "reserved_user", `'${ANONYMOUS}' is reserved`);
  return db.transaction(async (tx) => {
    const t = Date.now() / 1000;
    const [owner] = await tx.all<{ user_name: string }>("SELECT user_name FROM ssh_keys WHERE fingerprint = ?", [
      key.fingerprint,
    ]);
    if (owner && owner.user_name !== user)
      throw new RegistryError(409, "key_in_use", `key ${key.fingerprint} is already registered to another user`);
    const [existing] = await tx.all("SELECT name FROM users WHERE name = ?", [user]);
    if (!requester.admin) {
      const { actor, openSignup } = requester;
      if (existing && actor.user !== user)
        throw forbidden(`user ${user} exists; sign the request with one of ${user}'s keys to add another`);
      if (!existing && !openSignup)
        throw forbidden("sign-up is closed on this server; ask an administrator to run 'roar server add-key'");
    }
    if (!existing) await tx.run("INSERT INTO users (name, created_at) VALUES (?, ?)", [user, t]);
    if (!owner)
      await tx.run(
        "INSERT INTO ssh_keys (fingerprint, user_name, key_type, public_key, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [key.fingerprint, user, key.type, publicKeyLine(key), key.comment, t],
      );
    return {
      user,
      fingerprint: key.fingerprint,
      key_type: key.type,
      created_user: !existing,
      created_key: !owner,
    };
  });
}

export async function findKey(db: SqlDatabase, fingerprint: string): Promise<StoredKey | null> {
  const [row] = await db.all<{ fingerprint: string; user_name: string; key_type: string; public_key: string }>(
    "SELECT fingerprint, user_name, key_type, public_key FROM ssh_keys WHERE fingerprint = ?",
    [fingerprint],
  );
  return row
    ? { fingerprint: row.fingerprint, user: row.user_name, type: row.key_type, publicKey: row.public_key }
    : null;
}

/** The parsed key of a stored row (cached by the caller). */
export function storedPublicKey(stored: StoredKey): SshPublicKey {
  return parsePublicKey(stored.publicKey);
}
