/**
 * Digest algorithms roar can compute besides BLAKE3 (config `hash.run/get/put`, flag `--hash sha256`). They are
 * computed with Bun's CryptoHasher in the same read pass as BLAKE3, so asking for them costs CPU but no extra I/O.
 */
export const EXTRA_ALGORITHMS = ["sha256", "sha512", "sha1", "md5"] as const;
export type ExtraAlgorithm = (typeof EXTRA_ALGORITHMS)[number];

const ALIASES: Record<string, ExtraAlgorithm> = {
  sha256: "sha256",
  "sha-256": "sha256",
  sha512: "sha512",
  "sha-512": "sha512",
  sha1: "sha1",
  "sha-1": "sha1",
  md5: "md5",
};

/** The canonical name for a user-supplied algorithm name, or null if roar does not support it. "blake3" is always computed, so it maps to null too. */
export function parseAlgorithm(name: string): ExtraAlgorithm | null {
  return ALIASES[name.trim().toLowerCase()] ?? null;
}

/** Validates and de-duplicates a list of algorithm names (e.g. from config), ignoring "blake3". Throws on unknown names. */
export function normalizeAlgorithms(names: readonly string[]): ExtraAlgorithm[] {
  const out = new Set<ExtraAlgorithm>();
  for (const name of names) {
    if (name.trim().toLowerCase() === "blake3") continue;
    const alg = parseAlgorithm(name);
    if (!alg)
      throw new Error(`unsupported hash algorithm "${name}" (supported: blake3, ${EXTRA_ALGORITHMS.join(", ")})`);
    out.add(alg);
  }
  return [...out].sort();
}
