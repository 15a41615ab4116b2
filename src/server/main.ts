/** `glaas-server`: the registry configured by GLAAS_HOST, GLAAS_PORT, GLAAS_DATABASE_URL (and GLAAS_RATE_LIMIT…). */
import { DatabaseUrlError } from "./db/open.ts";
import { resolveSettings, runServer, SettingsError } from "./serve.ts";

export async function glaasServerMain(argv: string[], env: Record<string, string | undefined>): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      "Usage: glaas-server\n\nRuns the GLaaS lineage registry (REST API under /api/v1, web UI at /).\n" +
        "Environment: GLAAS_HOST (127.0.0.1), GLAAS_PORT (8000), GLAAS_DATABASE_URL (sqlite:glaas.db or postgres://…),\n" +
        "GLAAS_RATE_LIMIT (requests/s per client, 0 = off), GLAAS_MAX_BODY_BYTES, GLAAS_OPEN_SIGNUP (1).\n" +
        "Same as: roar server [--host H] [--port P] [--db URL]\n",
    );
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write(
      `glaas-server: unexpected argument '${argv[0]}' (configure with GLAAS_* variables; see --help)\n`,
    );
    return 2;
  }
  try {
    return await runServer(resolveSettings({}, env), (line) => process.stderr.write(`${line}\n`));
  } catch (error) {
    const message = error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error);
    process.stderr.write(`glaas-server: ${message}\n`);
    return error instanceof SettingsError || error instanceof DatabaseUrlError ? 2 : 1;
  }
}
