//! Per-architecture syscall tables. aarch64 only has the `*at` forms (no open/creat/rename/link/... and no
//! fork/vfork), so each table lists only what exists there; the tracer logic is shared.

/// The syscalls the seccomp filter sends to the tracer (aarch64 lacks the legacy forms, hence dead_code).
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sys {
    Open,
    Creat,
    OpenAt,
    OpenAt2,
    Rename,
    RenameAt,
    RenameAt2,
    Link,
    LinkAt,
    Symlink,
    SymlinkAt,
    Unlink,
    UnlinkAt,
    Rmdir,
    Truncate,
    Ftruncate,
    Chdir,
    Fchdir,
    Execve,
    ExecveAt,
    IoUringSetup,
    NameToHandleAt,
    OpenByHandleAt,
}

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;

pub fn classify(nr: u64) -> Option<Sys> {
    TRACED.iter().find(|(n, _)| *n as u64 == nr).map(|(_, s)| *s)
}
