import { Command } from "clipanion";
import { API, RegistryRequestError } from "../../registry/client.ts";
import { clientFor, identity, registryUrl } from "../../registry/connect.ts";
import { RoarError } from "../../shared/errors.ts";
import { ConfiguredCommand } from "../base.ts";

export class AuthTestCommand extends ConfiguredCommand {
  static override paths = [["auth", "test"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Check that the registry is reachable and accepts your key's signature",
    details: `
      Asks \`glaas.url\` (or \`$GLAAS_URL\`) for its health, then makes a signed request (\`GET /api/v1/auth/whoami\`;
      on a registry without it, a signed artifact lookup as the original client does). Prints "Authentication
      successful!" with the user the key belongs to, or the server's reason, and exits 1 on any failure. Never
      falls back to anonymous: without a usable key it fails.
    `,
  });
  static override outputOptions = { json: "Print JSON" };

  override async execute(): Promise<number> {
    const loaded = this.loadConfig();
    const url = registryUrl(loaded, this.context.env);
    const who = await identity(loaded, this.context.env, true);
    if (!who.key)
      throw new RoarError(
        `cannot test authentication: ${who.anonymousReason}`,
        1,
        "Create one with: ssh-keygen -t ed25519, then 'roar auth register' shows how to enrol it.",
      );
    const client = clientFor(url, who, { anonymousFallback: false, notice: (m) => this.note(m) });
    const text = this.presenter("text", loaded);
    const health = await client.health();
    if (!this.json) {
      const about = [health.service, health.version, health.database].filter((x) => typeof x === "string");
      this.print(`Server ${text.text(url)} is reachable.${about.length > 0 ? ` (${about.join(", ")})` : ""}`);
    }
    let user: string | null = null;
    try {
      const me = await client.request<{ user?: string; authenticated?: boolean }>("GET", `${API}/auth/whoami`);
      if (me.authenticated === false)
        throw new RoarError("Authentication failed: the server took the request as anonymous");
      user = typeof me.user === "string" ? me.user : null;
    } catch (error) {
      if (error instanceof RegistryRequestError && error.status === 404) {
        // A registry without whoami: a signed lookup that is only refused for a bad signature (§A.12).
        await this.signedProbe(client);
      } else throw this.failure(error);
    }
    const doc = { server: url, reachable: true, authenticated: true, user, fingerprint: who.fingerprint };
    if (this.json) this.printJson(this.presenter("json", loaded).doc(doc));
    else
      this.print(
        `Authentication successful!${user ? ` Signed in as ${text.text(user)}` : ""} (key ${who.fingerprint})`,
      );
    return 0;
  }

  private async signedProbe(client: ReturnType<typeof clientFor>): Promise<void> {
    try {
      await client.request("GET", `${API}/artifacts/00000000`);
    } catch (error) {
      if (error instanceof RegistryRequestError && error.status === 404) return;
      throw this.failure(error);
    }
  }

  private failure(error: unknown): unknown {
    if (error instanceof RegistryRequestError && error.status === 401)
      return new RoarError(
        `Authentication failed: ${error.detail}`,
        1,
        "Check that the key is enrolled ('roar auth register' shows it; on a roar server: roar server add-key USER FILE.pub).",
      );
    return error;
  }
}
