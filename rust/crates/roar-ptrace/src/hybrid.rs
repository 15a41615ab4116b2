//! Hybrid mode: every process runs with the LD_PRELOAD library, and this tracer only watches the process
//! tree (fork/clone/exec/exit events, plus a seccomp filter that stops on a few rare syscalls preload cannot
//! see). At each exec stop — the new image is mapped but not one instruction of it has run — it decides
//! whether preload covers the image. Covered processes run free (`PTRACE_CONT`, no further stops); the
//! others are stepped with `PTRACE_SYSCALL` until the full path-syscall filter (with a listener for
//! read-only opens where the kernel allows) is injected at their execve's exit stop (see inject.rs), and get
//! the full treatment of the ptrace tracer (see tracer/). The decision is taken again at every exec, so a static shell's dynamic children go back
//! to preload.
//!
//! Besides the event stream, the tracer writes a **coverage log** (text, one line per decision) that the TS
//! side uses to merge the two streams without double counting:
//!
//! ```text
//! S <pid> <ts_ns> <p|t> <reason>   exec decision: p = preload covers the new image, t = ptrace traces it
//! F <pid> <ts_ns> <p|t> <parent>   a new process (fork/vfork/clone without CLONE_THREAD) inherits its parent's mechanism
//! E <pid> <ts_ns> <status>         a process exited (raw wait status), whatever its mechanism
//! ```
//! `reason` is `-` for covered images, else `static_binary`, `preload_stripped`, `setuid_exec`,
//! `libc_bypass` or `foreign_elf`.
use crate::arch;
use crate::sys;
use std::ffi::c_int;

/// What hybrid mode needs to know about the preload side.
pub struct Spec {
    /// Absolute path of libroar_preload.so as it appears in LD_PRELOAD.
    pub lib: Vec<u8>,
    /// The preload's `ROAR_EVENTS_PATH` value: without it the library is inert.
    pub preload_events: Vec<u8>,
    /// Where the coverage log goes.
    pub coverage_path: Vec<u8>,
}

/// Why an image is not covered by preload (None = covered).
pub type Uncovered = Option<&'static str>;

fn read_all(path: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut c = path.to_vec();
    c.push(0);
    // SAFETY: `c` is NUL-terminated.
    let fd = unsafe { sys::open(c.as_ptr().cast(), sys::O_RDONLY | sys::O_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    let mut out = Vec::with_capacity(4096);
    let mut buf = [0u8; 16 * 1024];
    loop {
        // SAFETY: reads into `buf`, at most its length.
        let n = unsafe { sys::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n < 0 && sys::errno() == sys::EINTR {
            continue;
        }
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
        if out.len() >= limit {
            break;
        }
    }
    // SAFETY: the fd opened above.
    unsafe { sys::close(fd) };
    Some(out)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn u16le(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}
fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// The environment check: LD_PRELOAD names our library and ROAR_EVENTS_PATH is ours.
pub fn env_carries_preload(environ: &[u8], spec: &Spec) -> bool {
    let mut lib_ok = false;
    let mut events_ok = false;
    for e in environ.split(|&c| c == 0) {
        if let Some(v) = e.strip_prefix(b"LD_PRELOAD=") {
            lib_ok = v.split(|&c| c == b':' || c == b' ').any(|x| x == spec.lib.as_slice());
        } else if let Some(v) = e.strip_prefix(b"ROAR_EVENTS_PATH=") {
            events_ok = v == spec.preload_events.as_slice();
        }
    }
    lib_ok && events_ok
}

/// Whether the file at `path` is an ELF of another class or machine (a 32-bit program).
pub fn is_foreign_elf(path: &[u8]) -> bool {
    read_all(path, 64).is_some_and(|h| {
        h.len() >= 20 && &h[..4] == b"\x7fELF" && (h[4] != 2 || u16le(&h, 18) != arch::ELF_MACHINE as usize)
    })
}

/// `envp` with the preload library taken out of LD_PRELOAD (the entry dropped when nothing else is left): for
/// a command that cannot load it, whose loader would otherwise print an error into the command's stderr.
pub fn without_preload(envp: &[Vec<u8>], lib: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(envp.len());
    for e in envp {
        let Some(v) = e.strip_prefix(b"LD_PRELOAD=") else {
            out.push(e.clone());
            continue;
        };
        let rest: Vec<&[u8]> = v.split(|&c| c == b':' || c == b' ').filter(|x| !x.is_empty() && *x != lib).collect();
        if !rest.is_empty() {
            out.push([&b"LD_PRELOAD="[..], &rest.join(&b':')].concat());
        }
    }
    out
}

/// AT_SECURE from the auxiliary vector: the loader then ignores a slash-containing LD_PRELOAD.
fn at_secure(auxv: &[u8]) -> bool {
    const AT_SECURE: u64 = 23;
    auxv.chunks_exact(16).any(|p| u64le(p, 0) == AT_SECURE && u64le(p, 8) != 0)
}

/// ELF inspection of the image: Err(reason) when the preload cannot run in it (or would be bypassed).
/// `head` is the start of the file (at least the ELF header), `read_at` reads more of it.
pub fn inspect_elf(base: &[u8], head: &[u8], read_at: &mut dyn FnMut(u64, usize) -> Vec<u8>) -> Uncovered {
    if base == b"bun" || base == b"bunx" {
        return Some("libc_bypass");
    }
    if head.len() < 64 || &head[..4] != b"\x7fELF" {
        // Not ELF (binfmt_misc, …): nothing tells us the loader runs.
        return Some("static_binary");
    }
    if head[4] != 2 || head[5] != 1 || u16le(head, 18) != arch::ELF_MACHINE as usize {
        return Some("foreign_elf");
    }
    let phoff = u64le(head, 32);
    let shoff = u64le(head, 40);
    let phentsize = u16le(head, 54);
    let phnum = u16le(head, 56);
    let shentsize = u16le(head, 58);
    let shstrndx = u16le(head, 62);
    if phentsize < 4 || phnum == 0 {
        return Some("static_binary");
    }
    let ph = read_at(phoff, (phentsize * phnum).min(64 * 1024));
    const PT_INTERP: u32 = 3;
    let interp = ph.chunks_exact(phentsize).any(|e| u32le(e, 0) == PT_INTERP);
    // The dynamic loader run as a program has no PT_INTERP but loads the preload (same rule as roar-preload).
    let is_loader = contains(base, b"ld-linux") || base.starts_with(b"ld.so") || base.starts_with(b"ld-");
    if !interp && !is_loader {
        return Some("static_binary");
    }
    // Go (.note.go.buildid / .gopclntab / .go.buildinfo) and Bun (.bun) do their own system calls.
    if shentsize >= 64 && shoff > 0 {
        let sh = read_at(shoff + (shstrndx * shentsize) as u64, 64);
        if sh.len() == 64 {
            let names = read_at(u64le(&sh, 24), (u64le(&sh, 32) as usize).min(8192));
            if contains(&names, b"\0.note.go.buildid\0")
                || contains(&names, b"\0.gopclntab\0")
                || contains(&names, b"\0.go.buildinfo\0")
                || contains(&names, b"\0.bun\0")
            {
                return Some("libc_bypass");
            }
        }
    }
    None
}

/// The decision at an exec stop of `pid`: does the preload library run (and see the file activity) in
/// the image that is about to start?
pub fn decide(pid: i32, spec: &Spec) -> Uncovered {
    let proc_file = |name: &str| format!("/proc/{pid}/{name}").into_bytes();
    // A 32-bit (or other foreign) image never loads the preload, whatever its environment says: the preload
    // library leaves itself out of such an exec's LD_PRELOAD (so the loader prints nothing).
    if let Some(head) = read_all(&proc_file("exe"), 64) {
        if head.len() >= 20 && &head[..4] == b"\x7fELF" && (head[4] != 2 || u16le(&head, 18) != arch::ELF_MACHINE as usize) {
            return Some("foreign_elf");
        }
    }
    match read_all(&proc_file("environ"), 4 << 20) {
        Some(env) if env_carries_preload(&env, spec) => {}
        _ => return Some("preload_stripped"),
    }
    if read_all(&proc_file("auxv"), 8192).is_some_and(|a| at_secure(&a)) {
        return Some("setuid_exec");
    }
    let exe = crate::mem::readlink(format!("/proc/{pid}/exe\0").as_bytes()).unwrap_or_default();
    let base = exe.rsplit(|&c| c == b'/').next().unwrap_or(&exe).to_vec();
    // /proc/<pid>/exe opens the very file being run (also for fexecve of a memfd or a deleted file).
    let mut c = proc_file("exe");
    c.push(0);
    // SAFETY: `c` is NUL-terminated.
    let fd: c_int = unsafe { sys::open(c.as_ptr().cast(), sys::O_RDONLY | sys::O_CLOEXEC) };
    if fd < 0 {
        return Some("static_binary");
    }
    let mut read_at = |off: u64, len: usize| -> Vec<u8> {
        let mut b = vec![0u8; len];
        // SAFETY: reads into `b`, at most its length.
        let n = unsafe { sys::pread(fd, b.as_mut_ptr().cast(), len, off as i64) };
        b.truncate(n.max(0) as usize);
        b
    };
    let head = read_at(0, 64);
    let r = inspect_elf(&base, &head, &mut read_at);
    // SAFETY: the fd opened above.
    unsafe { sys::close(fd) };
    r
}

/// The coverage log, kept in memory and written once at the end.
pub struct Coverage {
    pub path: Vec<u8>,
    buf: Vec<u8>,
}

impl Coverage {
    pub fn new(path: Vec<u8>) -> Coverage {
        Coverage { path, buf: Vec::with_capacity(4096) }
    }

    fn mech(ptrace: bool) -> char {
        if ptrace {
            't'
        } else {
            'p'
        }
    }

    pub fn exec(&mut self, pid: i32, why: Uncovered) {
        let line = format!("S {pid} {} {} {}\n", sys::monotonic_ns(), Self::mech(why.is_some()), why.unwrap_or("-"));
        self.buf.extend_from_slice(line.as_bytes());
    }

    pub fn fork(&mut self, child: i32, ptrace: bool, parent: i32) {
        let line = format!("F {child} {} {} {parent}\n", sys::monotonic_ns(), Self::mech(ptrace));
        self.buf.extend_from_slice(line.as_bytes());
    }

    pub fn exit(&mut self, pid: i32, status: c_int) {
        let line = format!("E {pid} {} {status}\n", sys::monotonic_ns());
        self.buf.extend_from_slice(line.as_bytes());
    }

    /// Writes the log (0600, replacing any old file); returns false on failure.
    pub fn write(&self) -> bool {
        let mut c = self.path.clone();
        c.push(0);
        let flags = 0o1 | 0o100 | 0o1000 | sys::O_CLOEXEC; // WRONLY|CREAT|TRUNC
        // SAFETY: `c` is NUL-terminated.
        let fd = unsafe { sys::open(c.as_ptr().cast(), flags, 0o600) };
        if fd < 0 {
            return false;
        }
        let mut off = 0;
        while off < self.buf.len() {
            let rest = &self.buf[off..];
            // SAFETY: writes from `rest`, at most its length.
            let n = unsafe { sys::write(fd, rest.as_ptr().cast(), rest.len()) };
            if n < 0 && sys::errno() == sys::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        // SAFETY: the fd opened above.
        unsafe { sys::close(fd) };
        off == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec { lib: b"/x/libroar_preload.so".to_vec(), preload_events: b"/t/ev".to_vec(), coverage_path: Vec::new() }
    }

    #[test]
    fn env_check() {
        let s = spec();
        assert!(env_carries_preload(b"A=1\0LD_PRELOAD=/y.so:/x/libroar_preload.so\0ROAR_EVENTS_PATH=/t/ev\0", &s));
        assert!(!env_carries_preload(b"LD_PRELOAD=/x/libroar_preload.so\0", &s));
        assert!(!env_carries_preload(b"ROAR_EVENTS_PATH=/t/ev\0LD_PRELOAD=/x/other.so\0", &s));
        assert!(!env_carries_preload(b"", &s));
    }

    #[test]
    fn elf_checks() {
        let me = std::fs::read("/proc/self/exe").unwrap();
        let mut at = |o: u64, n: usize| me[o as usize..(o as usize + n).min(me.len())].to_vec();
        // the test binary is a dynamically linked native ELF
        assert_eq!(inspect_elf(b"roar_ptrace-test", &me[..64], &mut at), None);
        assert_eq!(inspect_elf(b"bun", &me[..64], &mut at), Some("libc_bypass"));
        assert_eq!(inspect_elf(b"x", b"#!/bin/sh\n", &mut at), Some("static_binary"));
    }
}
