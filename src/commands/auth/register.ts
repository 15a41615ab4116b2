import { Command } from "clipanion";
import { findKey, publicKeyOf } from "../../auth/identity.ts";
import { fingerprint, publicKeyLine, SshKeyError } from "../../auth/ssh-key.ts";
import { registryUrl } from "../../registry/connect.ts";
import { RoarError } from "../../shared/errors.ts";
import { ConfiguredCommand } from "../base.ts";

export class AuthRegisterCommand extends ConfiguredCommand {
  static override paths = [["auth", "register"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Show the SSH public key that signs your registry requests, and how to enrol it",
    details: `
      The key is found as the original client finds it: \`$ROAR_SSH_KEY\`, then \`glaas.key\`, then
      \`~/.ssh/id_ed25519\`, \`id_rsa\`, \`id_ecdsa\`. Prints its public line, type and SHA256 fingerprint; the registry's
      administrator enrols it (on a roar server: \`roar server add-key USER PUBKEY_FILE\`). Without a key,
      registrations go through as \`anonymous\`.
    `,
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const loaded = this.loadConfig();
    const { config } = loaded;
    const location = findKey(this.context.env, config.glaas.key);
    if (!location) {
      throw new RoarError(
        "no SSH key found (ROAR_SSH_KEY, glaas.key, ~/.ssh/id_ed25519, id_rsa, id_ecdsa)",
        1,
        "Create one with: ssh-keygen -t ed25519 — or point ROAR_SSH_KEY / glaas.key at an existing key.",
      );
    }
    let key: ReturnType<typeof publicKeyOf>;
    try {
      key = publicKeyOf(location);
    } catch (error) {
      if (error instanceof SshKeyError) throw new RoarError(error.message);
      throw error;
    }
    const doc = {
      keyFile: location.path,
      source: location.source,
      type: key.type,
      fingerprint: fingerprint(key.blob),
      publicKey: publicKeyLine(key),
      server: registryUrl(loaded, this.context.env),
    };
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    this.print(doc.publicKey);
    this.note(`key:         ${doc.keyFile} (from ${doc.source})`);
    this.note(`type:        ${doc.type}`);
    this.note(`fingerprint: ${doc.fingerprint}`);
    this.note(`To enrol it, give the line above to the administrator of ${doc.server}`);
    this.note("(on a roar registry server: roar server add-key <user> <file with that line>).");
    return 0;
  }
}
