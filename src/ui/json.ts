import { JSON_SCHEMA_VERSION } from "../schema/version.ts";

export { JSON_SCHEMA_VERSION };

export function jsonDocument<T extends object>(body: T): { schemaVersion: number } & T {
  return { schemaVersion: JSON_SCHEMA_VERSION, ...body };
}

/** Indented for a person at a terminal, one compact line for programs: see OutputPolicy.prettyJson. */
export function formatJson(body: object, pretty: boolean): string {
  return `${JSON.stringify(jsonDocument(body), null, pretty ? 2 : undefined)}\n`;
}
