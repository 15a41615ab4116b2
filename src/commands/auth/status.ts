import { Command } from "clipanion";
import { findKey, signingKey } from "../../auth/identity.ts";
import { fingerprint, SshKeyError } from "../../auth/ssh-key.ts";
import { registryUrl, webUrl } from "../../registry/connect.ts";
import { ConfiguredCommand } from "../base.ts";

export class AuthStatusCommand extends ConfiguredCommand {
  static override paths = [["auth", "status"], ["auth"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Which key signs registry requests, whether it can sign here, and which server it talks to",
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const loaded = this.loadConfig();
    const { config } = loaded;
    const location = findKey(this.context.env, config.glaas.key);
    let state: { canSign: boolean; fingerprint: string | null; problem: string | null } = {
      canSign: false,
      fingerprint: null,
      problem: location ? null : "no SSH key found: requests go unsigned, as anonymous",
    };
    if (location) {
      try {
        const key = await signingKey(location, this.context.env);
        state = { canSign: true, fingerprint: fingerprint(key.blob), problem: null };
      } catch (error) {
        if (!(error instanceof SshKeyError)) throw error;
        state.problem = error.message;
      }
    }
    const doc = {
      server: registryUrl(loaded, this.context.env),
      webUrl: webUrl(loaded, registryUrl(loaded, this.context.env)),
      keyFile: location?.path ?? null,
      source: location?.source ?? null,
      ...state,
    };
    if (this.json) {
      this.printJson(doc);
      return 0;
    }
    this.print(`server:      ${doc.server} (web: ${doc.webUrl})`);
    this.print(`key:         ${doc.keyFile ? `${doc.keyFile} (from ${doc.source})` : "none (anonymous)"}`);
    if (doc.fingerprint) this.print(`fingerprint: ${doc.fingerprint}`);
    this.print(`signing:     ${doc.canSign ? "ready" : `not possible — ${doc.problem}`}`);
    return 0;
  }
}
