import { readFileSync } from "node:fs";
import { Command, Option } from "clipanion";
import { DatabaseOpenError, DatabaseUrlError, openDatabase } from "../server/db/open.ts";
import { RegistryError } from "../server/registry/errors.ts";
import { addKey } from "../server/registry/keys.ts";
import { ListenError, resolveSettings, runServer, SettingsError } from "../server/serve.ts";
import { parsePublicKey, SshFormatError } from "../server/sshsig.ts";
import { RoarError, UsageError } from "../shared/errors.ts";
import { restartWithCallerOptions } from "../shared/jit-options.ts";
import { userPath } from "../shared/paths.ts";
import { visible } from "../ui/escape.ts";
import { RoarCommand } from "./base.ts";

function asRoarError(error: unknown): unknown {
  if (error instanceof SettingsError || error instanceof DatabaseUrlError) return new UsageError(error.message);
  if (error instanceof RegistryError || error instanceof ListenError || error instanceof DatabaseOpenError)
    return new RoarError(error.message);
  return error;
}

export class ServerCommand extends RoarCommand {
  static override paths = [["server"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Run a GLaaS lineage registry (REST API and web UI)",
    details: `
      Serves the registry the GLaaS client protocol talks to: the REST API under \`/api/v1\` (sessions, jobs,
      artifacts, lineage, search, keys) and a web UI at \`/\` (artifact and job browsers, lineage graphs, search).
      Requests signed with a registered SSH key are attributed to its user; unsigned ones to \`anonymous\`, which can
      never change what a signed-in user registered.

      The database is a SQLite file by default (\`sqlite:glaas.db\` in the current directory, created and migrated
      on start) or PostgreSQL (\`--db postgres://user@host:5432/glaas\`). Flags override \`GLAAS_HOST\`,
      \`GLAAS_PORT\` and \`GLAAS_DATABASE_URL\`. Stops on Ctrl-C.
    `,
    examples: [
      ["Serve on http://127.0.0.1:8000 with ./glaas.db", "$0 server"],
      [
        "Listen on every interface, PostgreSQL storage",
        "$0 server --host 0.0.0.0 --port 8080 --db postgres://glaas@db/glaas",
      ],
    ],
  });

  host = Option.String("--host", { description: "Address to listen on (default 127.0.0.1)" });
  port = Option.String("--port", { description: "Port (default 8000; 0 picks a free one)" });
  db = Option.String("--db", { description: "sqlite:PATH (default sqlite:glaas.db) or postgres://…" });
  rateLimit = Option.String("--rate-limit", { description: "Requests per second per client (0 = no limit)" });

  override async execute(): Promise<number> {
    // A server runs for hours: with the caller's JavaScriptCore settings, its heap sized as JavaScriptCore sizes it.
    restartWithCallerOptions(process.argv.slice(2));
    try {
      const settings = resolveSettings(
        { host: this.host, port: this.port, db: this.db, rateLimit: this.rateLimit },
        this.context.env,
      );
      return await runServer(settings, (line) => this.note(line));
    } catch (error) {
      throw asRoarError(error);
    }
  }
}

export class ServerAddKeyCommand extends RoarCommand {
  static override paths = [["server", "add-key"]];
  static override usage = Command.Usage({
    category: "Share and Publish",
    description: "Enrol a user's SSH public key in a registry database",
    details: `
      Adds the public key in PUBKEY_FILE (an \`ssh-ed25519\`, \`ecdsa-sha2-nistp*\` or \`ssh-rsa\` line, as in
      \`~/.ssh/id_ed25519.pub\`) to USER, creating the user — and the database, migrated, when it does not exist
      yet, so this can run before the server first starts. Requests signed with the key are then attributed to
      USER. Prints the key's fingerprint (what clients send as \`keyid\`).
    `,
    examples: [["Enrol alice's key", "$0 server add-key alice ~/.ssh/id_ed25519.pub"]],
  });

  user = Option.String({ name: "USER" });
  keyFile = Option.String({ name: "PUBKEY_FILE" });
  db = Option.String("--db", { description: "sqlite:PATH (default sqlite:glaas.db) or postgres://…" });

  override async execute(): Promise<number> {
    const path = userPath(this.keyFile, this.context.cwd);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw new RoarError(
        `cannot read ${visible(this.keyFile)}: ${code === "ENOENT" ? "no such file" : (code ?? String(error))}`,
      );
    }
    const line = text.split("\n").find((l) => l.trim() !== "" && !l.trim().startsWith("#"));
    let key: ReturnType<typeof parsePublicKey>;
    try {
      if (line === undefined) throw new SshFormatError("the file is empty");
      if (/PRIVATE KEY/.test(text)) throw new SshFormatError("this is a private key; give the .pub file");
      key = parsePublicKey(line);
    } catch (error) {
      if (error instanceof SshFormatError)
        throw new RoarError(`${visible(this.keyFile)} is not an SSH public key: ${error.message}`);
      throw error;
    }
    const settings = (() => {
      try {
        return resolveSettings({ db: this.db }, this.context.env);
      } catch (error) {
        throw asRoarError(error);
      }
    })();
    const db = await openDatabase(settings.databaseUrl, this.context.cwd).catch((error) => {
      throw asRoarError(
        error instanceof Error && !(error instanceof DatabaseUrlError)
          ? new RoarError(`cannot open the registry database: ${error.message}`)
          : error,
      );
    });
    try {
      const result = await addKey(db, this.user, key, { admin: true }).catch((error) => {
        throw asRoarError(error);
      });
      const what = result.created_key ? "Added" : "Already registered:";
      this.print(
        `${what} ${result.key_type} key ${result.fingerprint} for ${visible(result.user)}${result.created_user ? " (new user)" : ""}`,
      );
      return 0;
    } finally {
      await db.close();
    }
  }
}
