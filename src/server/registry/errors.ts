/** What the registry refuses, with the HTTP status each maps to. */

export const ANONYMOUS = "anonymous";

/** Who is asking: a user whose signature verified, or `anonymous`. */
export interface Actor {
  user: string;
  authenticated: boolean;
  /** The key that signed, for rate limiting and logs. */
  fingerprint?: string;
}

export const anonymousActor: Actor = { user: ANONYMOUS, authenticated: false };

export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new RegistryError(404, "not_found", `${what} not found`);

export const forbidden = (message: string) => new RegistryError(403, "forbidden", message);

/**
 * Records belong to whoever registered them. An authenticated user may change their own records and take over
 * anonymous ones; anonymous requests may only touch anonymous records.
 */
export function mayWrite(owner: string, actor: Actor): boolean {
  return owner === actor.user || owner === ANONYMOUS;
}

export function ownershipError(what: string, owner: string, actor: Actor): RegistryError {
  return forbidden(
    actor.authenticated
      ? `${what} was registered by ${owner}; ${actor.user} cannot change it`
      : `${what} was registered by ${owner}; unsigned (anonymous) requests cannot change it`,
  );
}
