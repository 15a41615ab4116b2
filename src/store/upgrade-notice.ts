/**
 * Who is told before a store is migrated to this roar's schema. The store prints nothing itself; the entry point
 * registers what the UI says (a big store takes seconds to migrate, once). A module of its own, so that registering
 * loads no SQLite.
 */

/** A store about to be migrated. */
export interface StoreUpgrade {
  path: string;
  from: number;
  to: number;
  /** The database's size on disk (with its write-ahead log). */
  bytes: number;
  /** A read-only store: migrated in a copy in memory, every time, and left as it is. */
  readOnly: boolean;
}

let listener: ((upgrade: StoreUpgrade) => void) | undefined;

/** Tells `onUpgrade` of every migration from now on (undefined: no one). */
export function onStoreUpgrade(onUpgrade: ((upgrade: StoreUpgrade) => void) | undefined): void {
  listener = onUpgrade;
}

export function tellStoreUpgrade(upgrade: StoreUpgrade): void {
  listener?.(upgrade);
}
