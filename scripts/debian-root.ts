/**
 * Debian root file systems made with `debootstrap --variant=minbase`, kept in the cache (scripts/cache.ts) and
 * made once: the cross toolchain root (scripts/cross-rust.ts) and the containers of the distribution tests. A
 * root of another architecture is bootstrapped in two stages, the second under qemu-user through binfmt_misc.
 * Needs root and debootstrap (scripts/setup.ts installs it); never throws, says why a root is not available.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { $ } from "bun";
import { cacheDir } from "./cache.ts";

export interface RootSpec {
  /** Directory name in the cache. */
  name: string;
  /** Debian suite: bookworm, trixie, forky. */
  suite: string;
  /** Debian architecture: amd64, arm64. */
  arch: string;
  include?: string[];
  /** Shell commands run inside the new root (as root, with apt configured) before it is marked ready. */
  setup?: string;
}

export type RootResult = { ok: true; root: string } | { ok: false; reason: string };

const READY = ".roar-root-ready";

/** The Debian mirror the host's apt uses ($ROAR_DEBIAN_MIRROR overrides). */
export function debianMirror(): string {
  if (process.env.ROAR_DEBIAN_MIRROR) return process.env.ROAR_DEBIAN_MIRROR;
  for (const file of ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"]) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const uri = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?\s*$/m.exec(text)?.[1];
    if (uri) return uri;
  }
  return "http://deb.debian.org/debian";
}

export function hostDebianArch(): string {
  return process.arch === "arm64" ? "arm64" : "amd64";
}

const QEMU_NAMES: Record<string, string> = { arm64: "aarch64", amd64: "x86_64" };

/**
 * Makes the kernel run binaries of `arch` through qemu-user-static (binfmt_misc, with the F flag so the
 * interpreter also works inside a chroot). Registers Debian's own qemu-user-static entry when missing.
 */
export async function ensureBinfmt(arch: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  const qemu = QEMU_NAMES[arch];
  if (!qemu) return { ok: false, reason: `no qemu-user emulator known for ${arch}` };
  const entry = `/proc/sys/fs/binfmt_misc/qemu-${qemu}`;
  if (existsSync(entry) && readFileSync(entry, "utf8").startsWith("enabled")) return { ok: true };
  const conf = `/usr/lib/binfmt.d/qemu-${qemu}.conf`;
  if (!existsSync(conf)) return { ok: false, reason: `${conf} missing (apt-get install qemu-user-static)` };
  if (!existsSync("/proc/sys/fs/binfmt_misc/register")) {
    const mount = await $`mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc`.quiet().nothrow();
    if (mount.exitCode !== 0)
      return { ok: false, reason: `cannot mount binfmt_misc: ${mount.stderr.toString().trim()}` };
  }
  try {
    writeFileSync("/proc/sys/fs/binfmt_misc/register", readFileSync(conf, "utf8").trim());
  } catch (error) {
    // EEXIST: registered meanwhile by someone else.
    if (!existsSync(entry)) return { ok: false, reason: `cannot register ${conf}: ${(error as Error).message}` };
  }
  return { ok: true };
}

function debootstrapScript(suite: string): string[] {
  // An older debootstrap has no script for a newer suite; Debian's testing suites all bootstrap like sid.
  return existsSync(`/usr/share/debootstrap/scripts/${suite}`) ? [] : ["/usr/share/debootstrap/scripts/sid"];
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes half-made roots of processes that died while making them. */
function removeAbandoned(parent: string, name: string): void {
  for (const entry of readdirSync(parent)) {
    const m = new RegExp(`^${name}\\.tmp-(\\d+)$`).exec(entry);
    if (m && !pidAlive(Number(m[1]))) rmSync(join(parent, entry), { recursive: true, force: true });
  }
}

/** The cached root for `spec`, made now when it is missing or was made from another spec. */
export async function ensureDebianRoot(
  spec: RootSpec,
  log: (line: string) => void = console.error,
): Promise<RootResult> {
  const parent = cacheDir("roots");
  const final = join(parent, spec.name);
  const fingerprint = JSON.stringify(spec);
  const marker = join(final, READY);
  const foreign = spec.arch !== hostDebianArch();
  if (foreign) {
    // Also for a cached root: the registration does not survive a reboot.
    const binfmt = await ensureBinfmt(spec.arch);
    if (!binfmt.ok) return { ok: false, reason: `cannot run ${spec.arch} programs here: ${binfmt.reason}` };
  }
  if (existsSync(marker) && readFileSync(marker, "utf8") === fingerprint) return { ok: true, root: final };

  if (process.getuid?.() !== 0) return { ok: false, reason: "making a Debian root needs root (debootstrap, chroot)" };
  if (!existsSync("/usr/sbin/debootstrap"))
    return { ok: false, reason: "debootstrap is not installed (apt-get install debootstrap)" };
  removeAbandoned(parent, spec.name);
  const tmp = `${final}.tmp-${process.pid}`;
  const mirror = debianMirror();
  log(`debian-root: debootstrap ${spec.suite}/${spec.arch} into ${final} (once; cached)`);
  const args = ["--variant=minbase", `--arch=${spec.arch}`];
  if (spec.include?.length) args.push(`--include=${spec.include.join(",")}`);
  if (foreign) args.push("--foreign");
  const fail = (what: string, r: { stderr: Buffer; stdout: Buffer }): RootResult => {
    rmSync(tmp, { recursive: true, force: true });
    const tail = `${r.stdout.toString()}${r.stderr.toString()}`.trim().split("\n").slice(-5).join("\n");
    return { ok: false, reason: `${what} failed:\n${tail}` };
  };
  const boot = await $`debootstrap ${args} ${spec.suite} ${tmp} ${mirror} ${debootstrapScript(spec.suite)}`
    .quiet()
    .nothrow();
  if (boot.exitCode !== 0) return fail(`debootstrap ${spec.suite}/${spec.arch}`, boot);
  if (foreign) {
    const second = await $`chroot ${tmp} /debootstrap/debootstrap --second-stage`.quiet().nothrow();
    if (second.exitCode !== 0) return fail("debootstrap --second-stage (under qemu-user)", second);
  }
  // The mirror may serve a snapshot whose Release files are past their Valid-Until date.
  writeFileSync(join(tmp, "etc/apt/apt.conf.d/99roar-snapshot"), 'Acquire::Check-Valid-Until "false";\n');
  if (spec.setup) {
    const setup =
      await $`chroot ${tmp} /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive sh -ec ${spec.setup}`
        .quiet()
        .nothrow();
    if (setup.exitCode !== 0) return fail(`setting up ${spec.name}`, setup);
  }
  await $`chroot ${tmp} sh -c ${"apt-get clean; rm -rf /var/lib/apt/lists/*"}`.quiet().nothrow();
  writeFileSync(join(tmp, READY), fingerprint);
  rmSync(final, { recursive: true, force: true });
  try {
    renameSync(tmp, final);
  } catch {
    // Another process made it at the same time: keep theirs.
    rmSync(tmp, { recursive: true, force: true });
  }
  return existsSync(marker) ? { ok: true, root: final } : { ok: false, reason: `${final} is not ready` };
}

/** The containers of the distribution tests: Debian bookworm minbase with git (for roar's projects). */
export function containerRoot(arch: "amd64" | "arm64", log?: (line: string) => void): Promise<RootResult> {
  return ensureDebianRoot({ name: `bookworm-${arch}-minbase-git`, suite: "bookworm", arch, include: ["git"] }, log);
}
