/**
 * Configuration layers, lowest first: schema defaults < user file ($XDG_CONFIG_HOME/roar/config.toml) <
 * project file (.roar/config.toml) < environment (ROAR_<SECTION>__<KEY>, e.g. ROAR_OUTPUT__QUIET=true).
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse, TomlError } from "smol-toml";
import { fileStamp, readCache, writeCache } from "../shared/cache.ts";
import { fsErrorReason, RoarError } from "../shared/errors.ts";
import { CONFIG_KEY_MAP, CONFIG_KEYS, FREEFORM_TABLES, type RoarConfig } from "./schema.ts";
import { checkConfigValue, parseConfigValue } from "./values.ts";

export type ConfigSource = "default" | "user" | "project" | "env";

export interface LoadedConfig {
  config: RoarConfig;
  /** Where each key's value came from (file path or env var name in `origin`). */
  sources: Map<string, { source: ConfigSource; origin: string }>;
  userFile: string;
  projectFile: string | null;
  /** Non-fatal findings, e.g. unknown keys in a file. */
  warnings: string[];
}

export function userConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "roar", "config.toml");
}

export function envVarName(key: string): string {
  return `ROAR_${key.toUpperCase().replace(/\./g, "__")}`;
}

type Table = Record<string, unknown>;

/** Parses a TOML file; syntax errors name the file, line and column. */
export function readTomlFile(path: string): Table {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = fsErrorReason(error);
    if (reason === "is a directory") {
      throw new RoarError(`${path} is a directory, not a config file; move it away (nothing was changed)`);
    }
    if (reason) throw new RoarError(`cannot read ${path}: ${reason}`);
    throw error;
  }
  try {
    return parse(text) as Table;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "syntax error";
      throw new RoarError(`${path}:${error.line}:${error.column}: invalid TOML: ${reason}`);
    }
    throw error;
  }
}

/**
 * Config files as parsed before, in the user cache, each under its path with the stamp of the file it was parsed
 * from (fileStamp). Every roar command reads its config
 * files, and a first TOML parse runs cold code: ~0.9 ms for the commented template `roar init` writes, against
 * ~0.05 ms for the cached table. A table is kept only when JSON gives it back unchanged (no dates, no big integers).
 */
const PARSED_CONFIG_CACHE = "config-parsed.json";
const PARSED_CONFIG_FILES = 16;
type ParsedConfigs = Record<string, { file: string; table: Table }>;
let parsedConfigs: ParsedConfigs | undefined;

function plainJson(v: unknown): boolean {
  if (typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(plainJson);
  if (!isTable(v)) return false;
  const prototype = Object.getPrototypeOf(v);
  return (prototype === null || prototype === Object.prototype) && Object.values(v).every(plainJson);
}

/** readTomlFile, through the cache above. */
function readConfigFile(path: string): Table {
  const file = fileStamp(path);
  parsedConfigs ??= readCache<ParsedConfigs>(PARSED_CONFIG_CACHE) ?? {};
  const cached = parsedConfigs[path];
  // Copies: what loadConfig builds from a table must not change the one kept.
  if (file !== null && cached?.file === file && isTable(cached.table)) return structuredClone(cached.table);
  const table = readTomlFile(path);
  if (file !== null && plainJson(table)) {
    const kept = Object.entries(parsedConfigs).filter(([other]) => other !== path);
    const entry = { file, table: structuredClone(table) };
    parsedConfigs = Object.fromEntries([...kept.slice(-(PARSED_CONFIG_FILES - 1)), [path, entry]]);
    writeCache(PARSED_CONFIG_CACHE, parsedConfigs);
  }
  return table;
}

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Flattens nested tables into dotted keys (stopping at known leaves and at free-form tables). */
function flatten(table: Table, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  for (const [name, value] of Object.entries(table)) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (!prefix && FREEFORM_TABLES.has(name)) continue;
    if (isTable(value) && !CONFIG_KEY_MAP.has(key)) flatten(value, key, out);
    else out.set(key, value);
  }
  return out;
}

function setPath(target: Table, key: string, value: unknown): void {
  const parts = key.split(".");
  let node = target;
  for (const part of parts.slice(0, -1)) {
    if (!isTable(node[part])) node[part] = {};
    node = node[part] as Table;
  }
  node[parts[parts.length - 1] as string] = value;
}

function defaults(): Table {
  const out: Table = {};
  for (const def of CONFIG_KEYS) setPath(out, def.key, structuredClone(def.default));
  return out;
}

function readEnvTable(table: Table, file: string): Record<string, string> {
  const env = table.env;
  if (env === undefined) return {};
  if (!isTable(env)) throw new RoarError(`${file}: [env] must be a table of NAME = "value"`);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (typeof value !== "string") throw new RoarError(`${file}: env.${name} must be a string`);
    out[name] = value;
  }
  return out;
}

export function loadConfig(options: { projectConfigPath?: string | null; env?: NodeJS.ProcessEnv } = {}): LoadedConfig {
  const env = options.env ?? process.env;
  const config = defaults();
  const sources = new Map<string, { source: ConfigSource; origin: string }>();
  for (const def of CONFIG_KEYS) sources.set(def.key, { source: "default", origin: "default" });
  const warnings: string[] = [];
  let envTable: Record<string, string> = {};

  const userFile = userConfigPath(env);
  const projectFile = options.projectConfigPath ?? null;
  const layers: [ConfigSource, string | null][] = [
    ["user", userFile],
    ["project", projectFile],
  ];
  for (const [source, file] of layers) {
    if (!file || !existsSync(file)) continue;
    const table = readConfigFile(file);
    envTable = { ...envTable, ...readEnvTable(table, file) };
    for (const [key, value] of flatten(table)) {
      const def = CONFIG_KEY_MAP.get(key);
      if (!def) {
        warnings.push(`${file}: unknown key '${key}' ignored`);
        continue;
      }
      checkConfigValue(def, value, `${key} in ${file}`);
      setPath(config, key, value);
      sources.set(key, { source, origin: file });
    }
  }
  for (const def of CONFIG_KEYS) {
    const name = envVarName(def.key);
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(config, def.key, parseConfigValue(def, raw, name));
    sources.set(def.key, { source: "env", origin: name });
  }
  // output.quiet is the legacy spelling of verbosity=quiet.
  const output = config.output as Table;
  if (output.quiet === true) output.verbosity = "quiet";
  return {
    config: { ...(config as Omit<RoarConfig, "env">), env: envTable },
    sources,
    userFile,
    projectFile,
    warnings,
  };
}

/** Reads one dotted key out of a loaded config (any depth; a whole table for a prefix). */
export function getConfigValue(config: RoarConfig, key: string): unknown {
  let node: unknown = config;
  for (const part of key.split(".")) {
    if (!isTable(node)) return undefined;
    node = node[part];
  }
  return node;
}
