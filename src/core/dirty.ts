/**
 * Which uncommitted changes are not the user's: files no commit should carry (caches a traced job wrote), whose
 * presence must not refuse the next `roar run`. Pure: paths in, verdicts out.
 */

/** Interpreter and tool caches: Python bytecode, pytest/mypy/ruff caches, torch/triton kernels. */
const CACHE_SEGMENTS = ["__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".triton"];
const CACHE_SUFFIXES = [".pyc", ".pyo"];

/** An untracked file that is only a cache (`__pycache__/x.cpython-311.pyc`, `.pytest_cache/…`). */
export function isCacheFile(path: string): boolean {
  if (CACHE_SUFFIXES.some((s) => path.endsWith(s))) return true;
  const parts = path.split("/");
  return parts.some((p) => CACHE_SEGMENTS.includes(p) || p.startsWith("torchinductor_"));
}
