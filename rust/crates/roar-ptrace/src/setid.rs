//! Set-id programs. The kernel does not grant a traced exec the set-user/group-ID (or file capability)
//! privilege of its image unless the tracer itself is privileged, and never to a process with no_new_privs —
//! which an unprivileged user's seccomp filter requires. A set-id program run under roar would then fail where
//! it works without roar. So, when the tracer is not privileged, such an image runs untraced: the tracer
//! detaches from the process before its exec (and flags the job incomplete, naming the program); where
//! no_new_privs is already set (the ptrace backend's filter, a filter injected into an uncovered hybrid
//! process) nothing can give the privilege back, and the flag says the program ran without it.
//!
//! Processes the preload library covers in hybrid mode are not stopped at their execs: their exec hook asks
//! the tracer to detach with a signal to itself (`DETACH_SIGNAL`, si_code SI_QUEUE, si_errno `MAGIC_*`,
//! si_value = the program's path in its memory); see roar-preload's exec.rs.
use crate::mem;
use crate::sys;

/// The signal of the detach request: ignored by default, so harmless if ever delivered.
pub const DETACH_SIGNAL: i32 = 23; // SIGURG
/// si_errno of a request to detach the sender before its own exec.
pub const MAGIC_SELF: i32 = 0x524f_4153; // "ROAS"
/// si_errno of a request to detach the sender's next child (posix_spawn of a set-id program).
pub const MAGIC_CHILD: i32 = 0x524f_4143; // "ROAC"
const SI_QUEUE: i32 = -1;

extern "C" {
    fn geteuid() -> u32;
    fn getxattr(path: *const std::ffi::c_char, name: *const std::ffi::c_char, value: *mut u8, size: usize) -> isize;
}

/// Whether this tracer keeps a traced set-id exec's privilege (root: the kernel lets a capable tracer's
/// tracee gain it).
pub fn tracer_privileged() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { geteuid() == 0 }
}

/// The fields of `/proc/<pid>/status` lines starting with `key` (e.g. "Uid:").
fn status_line(pid: i32, key: &str) -> Option<Vec<u32>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line[key.len()..].split_whitespace().filter_map(|v| v.parse().ok()).collect())
}

/// no_new_privs is set on `pid`: a set-id exec there gains nothing, traced or not.
pub fn no_new_privs(pid: i32) -> bool {
    status_line(pid, "NoNewPrivs:").is_some_and(|v| v.first() == Some(&1))
}

/// Would exec of `path` by `pid` change its identity or privileges (set-uid/gid to another id than its
/// effective ones, or file capabilities)?
pub fn changes_identity(pid: i32, path: &[u8]) -> bool {
    let Some(st) = mem::stat_path(path, true) else { return false };
    if st.mode & sys::S_IFMT != sys::S_IFREG {
        return false;
    }
    let euid = status_line(pid, "Uid:").and_then(|v| v.get(1).copied());
    let egid = status_line(pid, "Gid:").and_then(|v| v.get(1).copied());
    let setuid = st.mode & sys::S_ISUID != 0 && euid != Some(st.uid);
    // set-gid without group-execute is mandatory locking, not set-gid
    let setgid = st.mode & sys::S_ISGID != 0 && st.mode & 0o010 != 0 && egid != Some(st.gid);
    setuid || setgid || has_file_caps(path)
}

fn has_file_caps(path: &[u8]) -> bool {
    let mut c = path.to_vec();
    c.push(0);
    let mut v = [0u8; 64];
    // SAFETY: `c` and the attribute name are NUL-terminated; getxattr writes at most `v.len()` bytes.
    unsafe { getxattr(c.as_ptr().cast(), c"security.capability".as_ptr(), v.as_mut_ptr(), v.len()) > 0 }
}

/// A detach request found in a signal-delivery stop's siginfo: (detach the child instead of the sender,
/// address of the program's path).
pub fn request(siginfo: &[u8; 128], pid: i32) -> Option<(bool, u64)> {
    let int = |o: usize| i32::from_ne_bytes(siginfo[o..o + 4].try_into().unwrap());
    // si_signo, si_errno, si_code, then (rt) si_pid, si_uid and si_value at 24
    if int(0) != DETACH_SIGNAL || int(8) != SI_QUEUE || int(16) != pid {
        return None;
    }
    let child = match int(4) {
        MAGIC_SELF => false,
        MAGIC_CHILD => true,
        _ => return None,
    };
    Some((child, u64::from_ne_bytes(siginfo[24..32].try_into().unwrap())))
}
