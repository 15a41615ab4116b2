/** Every --json document carries a schemaVersion so other tools can rely on it (additive changes only). */
export const JSON_SCHEMA_VERSION = 1;
