/**
 * Signing through ssh-agent (`$SSH_AUTH_SOCK`), for keys whose private file is encrypted: the agent protocol's
 * identities and sign requests (draft-miller-ssh-agent), over the agent's unix socket.
 */
import { createConnection } from "node:net";
import type { SshPublicKey, SshSigningKey } from "./ssh-key.ts";
import { SshReader, SshWriter } from "./ssh-wire.ts";

const REQUEST_IDENTITIES = 11;
const IDENTITIES_ANSWER = 12;
const SIGN_REQUEST = 13;
const SIGN_RESPONSE = 14;
/** Sign with rsa-sha2-512 rather than the SHA-1 ssh-rsa. */
const RSA_SHA2_512 = 4;

/** One request/response exchange with the agent. */
function exchange(socketPath: string, message: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ path: socketPath });
    const chunks: Buffer[] = [];
    let total = 0;
    socket.on("connect", () => socket.write(new SshWriter().string(message).bytes()));
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      total += d.length;
      const all = Buffer.concat(chunks, total);
      if (all.length >= 4 && all.length >= 4 + all.readUInt32BE(0)) {
        socket.end();
        resolve(new Uint8Array(all.subarray(4, 4 + all.readUInt32BE(0))));
      }
    });
    socket.on("error", reject);
    socket.on("close", () => reject(new Error("ssh-agent closed the connection")));
  });
}

/** The identities the agent holds (blob + comment). */
export async function agentKeys(socketPath: string): Promise<{ blob: Uint8Array; comment: string }[]> {
  const reply = new SshReader(await exchange(socketPath, Uint8Array.of(REQUEST_IDENTITIES)));
  if (reply.bytes(1)[0] !== IDENTITIES_ANSWER) throw new Error("ssh-agent refused to list its keys");
  const n = reply.uint32();
  const out: { blob: Uint8Array; comment: string }[] = [];
  for (let i = 0; i < n; i++) out.push({ blob: reply.string(), comment: reply.text() });
  return out;
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A signing key that asks the agent, when the agent holds `key`; null otherwise. */
export async function agentSigner(socketPath: string, key: SshPublicKey): Promise<SshSigningKey | null> {
  const held = await agentKeys(socketPath);
  if (!held.some((k) => same(k.blob, key.blob))) return null;
  return {
    ...key,
    async sign(data: Uint8Array): Promise<Uint8Array> {
      const flags = key.type === "ssh-rsa" ? RSA_SHA2_512 : 0;
      const request = new SshWriter().raw(Uint8Array.of(SIGN_REQUEST)).string(key.blob).string(data).uint32(flags);
      const reply = new SshReader(await exchange(socketPath, request.bytes()));
      if (reply.bytes(1)[0] !== SIGN_RESPONSE) throw new Error("ssh-agent refused to sign");
      return reply.string();
    },
  };
}
