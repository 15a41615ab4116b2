/** Every --json document carries a schemaVersion so other tools can rely on it (additive changes only). */
export const JSON_SCHEMA_VERSION = 1;

export function jsonDocument<T extends object>(body: T): { schemaVersion: number } & T {
  return { schemaVersion: JSON_SCHEMA_VERSION, ...body };
}

export function formatJson(body: object): string {
  return `${JSON.stringify(jsonDocument(body), null, 2)}\n`;
}
