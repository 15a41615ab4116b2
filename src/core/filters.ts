/**
 * Which traced paths are provenance. System files, installed packages, caches and roar's own files are not;
 * data the job reads and writes is. Paths inside the project are never dropped as "system" or "tmp" (test
 * and scratch repositories often live under /tmp).
 */
import { extname, sep } from "node:path";

export interface FilterSettings {
  ignoreSystemReads: boolean;
  ignorePackageReads: boolean;
  ignoreTorchCache: boolean;
  ignoreTmpFiles: boolean;
  trackRepoFiles: boolean;
  ignorePaths: readonly string[];
}

export interface FilterContext {
  projectRoot: string;
  roarDir: string;
  tmpDirs: readonly string[];
  /** Files roar itself created for this run (the event stream…). */
  privatePaths: ReadonlySet<string>;
  /** Programs the job executed: code, identified by packages and the commit, not data. */
  executables?: ReadonlySet<string>;
  /** Whether a file outside the project has an execute bit (scripts of tools such as pyenv shims). */
  isExecutableFile?: (path: string) => boolean;
  /**
   * Files of the project the commit represents: tracked by git and unmodified at the recorded commit, and never
   * written by a recorded job (see `codeCandidate`). Absent: none (no git, or nothing to ask about).
   */
  committed?: ReadonlySet<string>;
}

/** Where version managers and toolchains keep their own scripts and binaries. */
const TOOL_DIRS =
  /\/\.(pyenv|nvm|rbenv|rustup|cargo|sdkman|asdf|volta|bun)\/|\/(mini|ana)?conda[0-9]*\/(bin|pkgs|lib)\/|\/\.local\/bin\//;

const SYSTEM_PREFIXES = [
  "/sys/",
  "/etc/",
  "/sbin/",
  "/proc/",
  "/dev/",
  "/usr/",
  "/opt/",
  "/lib/",
  "/lib64/",
  "/bin/",
  "/run/",
  "/var/lib/",
  "/var/cache/",
];
const ALWAYS_IGNORED_PREFIXES = ["/proc/", "/dev/", "/sys/"];
/** Torch and Triton compile caches: /tmp/torchinductor_*, /tmp/torch_*, /tmp/triton*, any /.triton/ (one scan). */
const TORCH_CACHE = /\/tmp\/(?:torchinductor_|torch_|triton)|\/\.triton\//;
/** Code whose identity is the git commit, not an artifact. */
const CODE_EXTENSIONS = new Set([
  ".py",
  ".pyx",
  ".pxd",
  ".so",
  ".c",
  ".cc",
  ".cpp",
  ".h",
  ".hpp",
  ".rs",
  ".go",
  ".sh",
  ".ipynb",
]);

function under(path: string, dir: string): boolean {
  // No `dir + sep` string per call: this runs for every file of a job, several times.
  if (!path.startsWith(dir)) return false;
  return path.length === dir.length || dir.endsWith(sep) || path.charCodeAt(dir.length) === SLASH;
}

const SLASH = 47;

/** Installed Python packages, the standard library, bytecode caches and venv markers (one scan of the path). */
const PACKAGE_PATH =
  /\/(?:site-packages|dist-packages|__pycache__)\/|\/lib\/python\d+(?:\.\d+)?\/|\.pyc$|\/pyvenv\.cfg$/;

function isPackagePath(path: string): boolean {
  return PACKAGE_PATH.test(path);
}

function matchesUserPattern(path: string, projectRoot: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return false;
  // The path relative to the project, made once for every pattern (this runs for every file of a job).
  const rel = under(path, projectRoot) ? path.slice(projectRoot.length + 1) : path;
  for (const pattern of patterns) {
    if (pattern.startsWith("/")) {
      if (path.startsWith(pattern)) return true;
    } else if (pattern.endsWith("/")) {
      if (rel.startsWith(pattern) || rel.includes(`/${pattern}`)) return true;
    } else if (rel.includes(pattern)) return true;
  }
  return false;
}

export type Role = "read" | "write";

/** The reason a path is not provenance, or null when it is. */
export function ignoreReason(path: string, role: Role, s: FilterSettings, ctx: FilterContext): string | null {
  if (ctx.privatePaths.has(path)) return "roar";
  if (under(path, ctx.roarDir) || path.includes("/.roar/")) return "roar";
  if (path.includes("/.git/") || path.endsWith("/.git")) return "git";
  const inProject = under(path, ctx.projectRoot);
  // Outside the project only: a project may live on /dev/shm (tmpfs), and its files are the job's data.
  if (!inProject && ALWAYS_IGNORED_PREFIXES.some((p) => path.startsWith(p))) return "system";
  if (matchesUserPattern(path, ctx.projectRoot, s.ignorePaths)) return "filters.ignore_paths";
  if (s.ignoreTorchCache && TORCH_CACHE.test(path)) return "torch cache";
  if (s.ignorePackageReads && isPackagePath(path)) return "package";
  if (role === "read" && inProject) {
    // Code is what the commit represents: a generated header, a built library or a script an earlier step
    // wrote is data, read like any other input (the edge to its producer is what reproduces it).
    // `committed` holds code candidates only: asked first, most paths (data) never reach the extension test.
    if (!s.trackRepoFiles && ctx.committed?.has(path) && codeCandidate(path, ctx)) return "code";
    return null;
  }
  if (role === "read" && ctx.executables?.has(path)) return "executable";
  if (!inProject) {
    if (role === "read" && TOOL_DIRS.test(path)) return "tool";
    if (role === "read" && ctx.isExecutableFile?.(path)) return "executable";
    if (s.ignoreTmpFiles && ctx.tmpDirs.some((d) => under(path, d))) return "tmp";
    if (role === "read" && s.ignoreSystemReads && SYSTEM_PREFIXES.some((p) => path.startsWith(p))) return "system";
    if (role === "write" && SYSTEM_PREFIXES.some((p) => path.startsWith(p))) return "system";
    if (role === "read" && /\/\.cache\/|\/\.local\/lib\//.test(path)) return "cache";
  }
  return null;
}

/**
 * ignoreReason for a read of a path the path rules alone keep (its reason is null without the job's executables,
 * committed files and execute-bit check, as while the job runs: see run/early-identities.ts): only those can
 * still drop it. Equal to ignoreReason(path, "read", s, ctx) for such a path (test/unit/filters.test.ts checks
 * it on every kind of path); any new reason that depends on the context belongs in both.
 */
export function readReasonInContext(
  path: string,
  s: FilterSettings,
  ctx: FilterContext,
  /** Whether the path is in the project, when the caller knows it already (a stored path made while the job ran). */
  inProject: boolean = under(path, ctx.projectRoot),
): string | null {
  if (inProject) return !s.trackRepoFiles && ctx.committed?.has(path) && codeCandidate(path, ctx) ? "code" : null;
  if (ctx.executables?.has(path) || ctx.isExecutableFile?.(path)) return "executable";
  return null;
}

/**
 * Reasons of ignoreReason that mean "a file of the repository, represented by the commit": such files are still
 * listed with the job by path (not as inputs), so a change to them in git makes the step stale.
 */
export function isRepositoryCode(reason: string): boolean {
  return reason === "code" || reason === "executable";
}

/**
 * A file of the project that is code when the commit represents it (`FilterContext.committed`): by its
 * extension (.py, .c, .h, .so…), or because the job executed it (a `./gen` script without one). The same rule
 * whichever backend traced the job.
 */
export function codeCandidate(path: string, ctx: Pick<FilterContext, "projectRoot" | "executables">): boolean {
  // The cheapest test first: most paths of a big job (its data) are ruled out by their last character alone.
  const byExtension = CODE_LAST_CHARS[path.charCodeAt(path.length - 1)] === 1 && CODE_EXTENSIONS.has(extensionOf(path));
  return (byExtension || ctx.executables?.has(path) === true) && under(path, ctx.projectRoot);
}

/** The last characters of CODE_EXTENSIONS, by character code (1: one of them). */
const CODE_LAST_CHARS = new Uint8Array(128);
for (const e of CODE_EXTENSIONS) CODE_LAST_CHARS[e.charCodeAt(e.length - 1)] = 1;

/** The extension of a path's last component, as path.extname gives it ("" for none or a dot file), faster. */
export function extensionOf(path: string): string {
  if (path.endsWith("/")) return extname(path); // never so for a traced file
  const dot = path.lastIndexOf(".");
  if (dot <= 0) return "";
  const slash = path.lastIndexOf("/");
  // No dot in the last component, or only a leading one (".bashrc"), or the component ".."; "a." has ".".
  if (dot <= slash + 1 || (dot === slash + 2 && path.charCodeAt(slash + 1) === DOT && dot === path.length - 1))
    return "";
  return path.slice(dot);
}

const DOT = 46;
