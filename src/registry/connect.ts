/**
 * Which registry to talk to and as whom: `glaas.url` (or `$GLAAS_URL` when the key is left at its default, as the
 * original reads it), the web UI for links, and the signing key (`$ROAR_SSH_KEY` → `glaas.key` → ~/.ssh).
 */
import { findKey, type KeyLocation, signingKey } from "../auth/identity.ts";
import { fingerprint, SshKeyError, type SshSigningKey } from "../auth/ssh-key.ts";
import type { LoadedConfig } from "../config/load.ts";
import { CONFIG_KEY_MAP } from "../config/schema.ts";
import { RoarError } from "../shared/errors.ts";
import { RegistryClient } from "./client.ts";

const DEFAULT_API = CONFIG_KEY_MAP.get("glaas.url")?.default as string;

/** The registry API's base URL, or "" when none is configured. */
export function registryUrl(loaded: LoadedConfig, env: Record<string, string | undefined>): string {
  const configured = loaded.config.glaas.url;
  const atDefault = (loaded.sources.get("glaas.url")?.source ?? "default") === "default";
  const fromEnv = env.GLAAS_URL?.trim();
  if (atDefault && fromEnv) {
    if (!/^https?:\/\/./.test(fromEnv)) throw new RoarError(`GLAAS_URL must be an http:// or https:// URL: ${fromEnv}`);
    return fromEnv.replace(/\/+$/, "");
  }
  return configured.replace(/\/+$/, "");
}

/**
 * Where the web pages are: `glaas.web_url` when set; at its default, the API's own address unless that is the
 * default GLaaS API too (a roar server serves its web UI beside its API).
 */
export function webUrl(loaded: LoadedConfig, apiUrl: string): string {
  const explicit = (loaded.sources.get("glaas.web_url")?.source ?? "default") !== "default";
  if (explicit || apiUrl === DEFAULT_API || apiUrl === "") return loaded.config.glaas.web_url.replace(/\/+$/, "");
  return apiUrl;
}

export interface Identity {
  key: SshSigningKey | null;
  location: KeyLocation | null;
  fingerprint: string | null;
  /** Why requests go unsigned, when they do. */
  anonymousReason: string | null;
}

/** The key that signs, or why there is none. `strict`: an unusable key is an error instead of a reason. */
export async function identity(
  loaded: LoadedConfig,
  env: Record<string, string | undefined>,
  strict: boolean,
): Promise<Identity> {
  const location = findKey(env, loaded.config.glaas.key);
  if (!location)
    return {
      key: null,
      location: null,
      fingerprint: null,
      anonymousReason: "no SSH key found (ROAR_SSH_KEY, glaas.key, ~/.ssh/id_ed25519, id_rsa, id_ecdsa)",
    };
  try {
    const key = await signingKey(location, env);
    return { key, location, fingerprint: fingerprint(key.blob), anonymousReason: null };
  } catch (error) {
    if (!(error instanceof SshKeyError)) throw error;
    if (strict) throw new RoarError(error.message);
    return { key: null, location, fingerprint: null, anonymousReason: error.message };
  }
}

/** A client for the configured registry; a RoarError when none is configured. */
export function clientFor(
  apiUrl: string,
  who: Identity,
  o: { anonymousFallback: boolean; notice: (line: string) => void },
): RegistryClient {
  if (!apiUrl)
    throw new RoarError(
      "no registry configured (glaas.url is empty)",
      1,
      "hint: roar config set glaas.url http://127.0.0.1:8000 (a 'roar server'), or set GLAAS_URL",
    );
  return new RegistryClient({
    baseUrl: apiUrl,
    key: who.key,
    anonymousFallback: o.anonymousFallback,
    notice: o.notice,
  });
}
