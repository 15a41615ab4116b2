/**
 * The registry's request limits, shared by the server (which enforces them) and the client (which batches under
 * them). No imports: the client loads this without the server's schema library.
 */

/** Items in one batch request (jobs, artifacts, links). */
export const MAX_BATCH = 10_000;
/** The server's default request body limit (GLAAS_MAX_BODY_BYTES). */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;
