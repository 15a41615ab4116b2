//! The one decoder of the system calls roar's tracers record: syscall numbers per architecture, the `O_*`,
//! `AT_*` and `RENAME_*` constants, and argument decoding into a [`Call`]. The preload library's `syscall()`
//! hook and the ptrace tracer's seccomp stops both go through [`sys_of`] and [`decode`], so a raw call means
//! the same thing whichever backend sees it (`renameat2(RENAME_EXCHANGE)` was once two RENAMEs under one and
//! two write OPENs under the other). Memory the arguments point to (openat2's `open_how`, clone3's
//! `clone_args`) is read through [`Memory`]: directly in the preload, with `process_vm_readv` under ptrace.

/// Open flags. ACCMODE/CREAT/EXCL/TRUNC/APPEND/PATH/TMPFILE's own bit are the same on x86_64 and aarch64;
/// DIRECTORY and NOFOLLOW differ (asm-generic values on aarch64).
pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_PATH: u32 = 0o10000000;
/// The bit that tells O_TMPFILE from O_DIRECTORY.
pub const O_TMPFILE_BIT: u32 = 0o20000000;
#[cfg(target_arch = "x86_64")]
pub const O_DIRECTORY: u32 = 0o200000;
#[cfg(target_arch = "x86_64")]
pub const O_NOFOLLOW: u32 = 0o400000;
#[cfg(target_arch = "aarch64")]
pub const O_DIRECTORY: u32 = 0o40000;
#[cfg(target_arch = "aarch64")]
pub const O_NOFOLLOW: u32 = 0o100000;
pub const O_TMPFILE: u32 = O_TMPFILE_BIT | O_DIRECTORY;
/// What `creat(path, mode)` opens with.
pub const CREAT_FLAGS: u32 = O_CREAT | O_WRONLY | O_TRUNC;

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const CLONE_VM: u64 = 0x100;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_THREAD: u64 = 0x10000;

/// Does an open with these flags (possibly) change the file: write access, O_CREAT or O_TRUNC.
#[inline]
pub fn writes(flags: u32) -> bool {
    flags & O_ACCMODE != 0 || flags & (O_CREAT | O_TRUNC) != 0
}

/// An open that names no file content: a directory, an `O_PATH` handle, or an anonymous `O_TMPFILE`.
#[inline]
pub fn names_no_content(flags: u32) -> bool {
    flags & O_TMPFILE_BIT != 0 || flags & (O_DIRECTORY | O_PATH) != 0
}

/// The system calls the tracers look at.
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
    Connect,
    Accept,
    Accept4,
    // Only the preload's syscall() hook needs these (ptrace sees processes through ptrace events).
    Close,
    Dup2,
    Dup3,
    CloseRange,
    Fork,
    Vfork,
    Clone,
    Clone3,
    Exit,
    ExitGroup,
}

impl Sys {
    /// Calls the ptrace tracer's seccomp filter stops at: those that name files or network endpoints. Process
    /// calls are reported by ptrace events, and descriptor bookkeeping is the preload's own concern.
    pub fn names_files(self) -> bool {
        !matches!(
            self,
            Sys::Close
                | Sys::Dup2
                | Sys::Dup3
                | Sys::CloseRange
                | Sys::Fork
                | Sys::Vfork
                | Sys::Clone
                | Sys::Clone3
                | Sys::Exit
                | Sys::ExitGroup
        )
    }
}

/// `syscall_table! { nr => Sys, ... }`: the table as data (for the seccomp filter) and as a `match` (one
/// compare-and-branch tree: the preload's `syscall()` hook sees futex and friends go through at once).
macro_rules! syscall_table {
    ($($nr:literal => $s:ident),* $(,)?) => {
        /// Every system call of this architecture the tracers look at, with its number.
        pub const TABLE: &[(u32, Sys)] = &[$(($nr, Sys::$s)),*];

        /// The call `nr` is, when the tracers look at it.
        #[inline]
        pub fn sys_of(nr: usize) -> Option<Sys> {
            match nr {
                $($nr => Some(Sys::$s),)*
                _ => None,
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
syscall_table! {
    257 => OpenAt, 2 => Open, 59 => Execve, 87 => Unlink, 263 => UnlinkAt, 82 => Rename, 264 => RenameAt,
    316 => RenameAt2, 85 => Creat, 437 => OpenAt2, 86 => Link, 265 => LinkAt, 88 => Symlink, 266 => SymlinkAt,
    84 => Rmdir, 76 => Truncate, 77 => Ftruncate, 80 => Chdir, 81 => Fchdir, 322 => ExecveAt,
    425 => IoUringSetup, 303 => NameToHandleAt, 304 => OpenByHandleAt, 42 => Connect, 43 => Accept, 288 => Accept4,
    3 => Close, 33 => Dup2, 292 => Dup3, 436 => CloseRange, 57 => Fork, 58 => Vfork, 56 => Clone,
    435 => Clone3, 60 => Exit, 231 => ExitGroup,
}

// The generic table: only the *at forms, no fork/vfork/dup2.
#[cfg(target_arch = "aarch64")]
syscall_table! {
    56 => OpenAt, 221 => Execve, 35 => UnlinkAt, 38 => RenameAt, 276 => RenameAt2, 437 => OpenAt2,
    37 => LinkAt, 36 => SymlinkAt, 45 => Truncate, 46 => Ftruncate, 49 => Chdir, 50 => Fchdir,
    281 => ExecveAt, 425 => IoUringSetup, 264 => NameToHandleAt, 265 => OpenByHandleAt,
    203 => Connect, 202 => Accept, 242 => Accept4,
    57 => Close, 24 => Dup3, 436 => CloseRange, 220 => Clone, 435 => Clone3, 93 => Exit, 94 => ExitGroup,
}

/// The i386 table (32-bit programs on an x86_64 kernel, `int 0x80`): the same calls under other numbers, with
/// the same arguments (each 32 bits wide), so [`decode`] applies unchanged. Used by the ptrace tracer.
#[cfg(target_arch = "x86_64")]
pub mod i386 {
    use super::Sys;
    syscall_table! {
        295 => OpenAt, 5 => Open, 11 => Execve, 10 => Unlink, 301 => UnlinkAt, 38 => Rename, 302 => RenameAt,
        353 => RenameAt2, 8 => Creat, 437 => OpenAt2, 9 => Link, 303 => LinkAt, 83 => Symlink, 304 => SymlinkAt,
        40 => Rmdir, 92 => Truncate, 193 => Truncate, 93 => Ftruncate, 194 => Ftruncate, 12 => Chdir,
        133 => Fchdir, 358 => ExecveAt, 425 => IoUringSetup, 341 => NameToHandleAt, 342 => OpenByHandleAt,
        362 => Connect, 364 => Accept4,
        6 => Close, 63 => Dup2, 330 => Dup3, 436 => CloseRange, 2 => Fork, 190 => Vfork, 120 => Clone,
        435 => Clone3, 1 => Exit, 252 => ExitGroup,
    }
}

/// Reads the traced program's memory (its own in the preload, another process's under ptrace).
pub trait Memory {
    fn read_u64(&self, addr: usize) -> Option<u64>;
}

/// The calling process's own memory: a plain read (the preload runs inside the program).
pub struct OwnMemory;

impl Memory for OwnMemory {
    #[inline]
    fn read_u64(&self, addr: usize) -> Option<u64> {
        if addr == 0 || !addr.is_multiple_of(8) {
            return None;
        }
        // SAFETY: the program passed this pointer to the kernel for the same call; a bad one faults there too.
        Some(unsafe { *(addr as *const u64) })
    }
}

/// A decoded call. Paths are addresses of NUL-terminated strings in the program's memory; directory
/// descriptors are `AT_FDCWD` for the calls without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// open, creat, openat, openat2 (its flags read from `struct open_how`).
    Open { dirfd: i32, path: usize, flags: u32 },
    /// rename, renameat, renameat2. With `exchange` both names stay and swap contents.
    Rename { from_dir: i32, from: usize, to_dir: i32, to: usize, exchange: bool },
    /// link, linkat (`flags`: AT_EMPTY_PATH / AT_SYMLINK_FOLLOW).
    Link { from_dir: i32, from: usize, to_dir: i32, to: usize, flags: u32 },
    /// symlink, symlinkat: `target` is raw text, not a path to resolve.
    Symlink { target: usize, to_dir: i32, to: usize },
    /// unlink, unlinkat, rmdir (`dir`).
    Unlink { dirfd: i32, path: usize, dir: bool },
    Truncate { path: usize },
    Ftruncate { fd: i32 },
    /// chdir or fchdir: the new cwd is read back after success.
    Chdir,
    /// execve, execveat.
    Exec { dirfd: i32, path: usize, argv: usize, envp: usize, flags: u32 },
    /// fork, vfork, or clone/clone3 without CLONE_VM: a new process with a copy of the memory.
    Fork { vfork: bool },
    /// clone/clone3 with CLONE_VM (a thread, or a process sharing memory).
    SharedClone,
    /// exit (`group` false: maybe just this thread) or exit_group.
    Exit { group: bool, code: i32 },
    /// Descriptors `lo..=hi` are closed or replaced (close, dup2, dup3, close_range).
    DropFds { lo: i32, hi: i32 },
    /// connect(fd, addr, len): the endpoint is read before the call.
    Connect { fd: i32, addr: usize, len: usize },
    /// accept/accept4(fd, addr, &len): the peer is written there by the call (addr may be NULL).
    Accept { fd: i32, addr: usize, len_ptr: usize },
    /// Something the tracers cannot follow: the INCOMPLETE reason and its detail.
    Unfollowable { reason: &'static str, detail: &'static [u8] },
}

#[inline]
fn fd(v: usize) -> i32 {
    v as i32
}

/// Decodes call `s` from its six raw arguments. None when its arguments cannot be read (openat2's
/// `open_how` at a bad address).
#[inline]
pub fn decode(s: Sys, a: &[usize; 6], mem: &impl Memory) -> Option<Call> {
    Some(match s {
        Sys::Open => Call::Open { dirfd: AT_FDCWD, path: a[0], flags: a[1] as u32 },
        Sys::Creat => Call::Open { dirfd: AT_FDCWD, path: a[0], flags: CREAT_FLAGS },
        Sys::OpenAt => Call::Open { dirfd: fd(a[0]), path: a[1], flags: a[2] as u32 },
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        Sys::OpenAt2 => Call::Open { dirfd: fd(a[0]), path: a[1], flags: mem.read_u64(a[2])? as u32 },
        Sys::Rename => Call::Rename { from_dir: AT_FDCWD, from: a[0], to_dir: AT_FDCWD, to: a[1], exchange: false },
        Sys::RenameAt => Call::Rename { from_dir: fd(a[0]), from: a[1], to_dir: fd(a[2]), to: a[3], exchange: false },
        Sys::RenameAt2 => Call::Rename {
            from_dir: fd(a[0]),
            from: a[1],
            to_dir: fd(a[2]),
            to: a[3],
            exchange: a[4] as u32 & RENAME_EXCHANGE != 0,
        },
        Sys::Link => Call::Link { from_dir: AT_FDCWD, from: a[0], to_dir: AT_FDCWD, to: a[1], flags: 0 },
        Sys::LinkAt => Call::Link { from_dir: fd(a[0]), from: a[1], to_dir: fd(a[2]), to: a[3], flags: a[4] as u32 },
        Sys::Symlink => Call::Symlink { target: a[0], to_dir: AT_FDCWD, to: a[1] },
        Sys::SymlinkAt => Call::Symlink { target: a[0], to_dir: fd(a[1]), to: a[2] },
        Sys::Unlink => Call::Unlink { dirfd: AT_FDCWD, path: a[0], dir: false },
        Sys::Rmdir => Call::Unlink { dirfd: AT_FDCWD, path: a[0], dir: true },
        Sys::UnlinkAt => Call::Unlink { dirfd: fd(a[0]), path: a[1], dir: a[2] as u32 & AT_REMOVEDIR != 0 },
        Sys::Truncate => Call::Truncate { path: a[0] },
        Sys::Ftruncate => Call::Ftruncate { fd: fd(a[0]) },
        Sys::Chdir | Sys::Fchdir => Call::Chdir,
        Sys::Execve => Call::Exec { dirfd: AT_FDCWD, path: a[0], argv: a[1], envp: a[2], flags: 0 },
        Sys::ExecveAt => Call::Exec { dirfd: fd(a[0]), path: a[1], argv: a[2], envp: a[3], flags: a[4] as u32 },
        Sys::IoUringSetup => Call::Unfollowable { reason: "io_uring", detail: b"io_uring_setup" },
        Sys::NameToHandleAt => Call::Unfollowable { reason: "unhandled_syscall", detail: b"name_to_handle_at" },
        Sys::OpenByHandleAt => Call::Unfollowable { reason: "unhandled_syscall", detail: b"open_by_handle_at" },
        Sys::Connect => Call::Connect { fd: fd(a[0]), addr: a[1], len: a[2] as u32 as usize },
        Sys::Accept | Sys::Accept4 => Call::Accept { fd: fd(a[0]), addr: a[1], len_ptr: a[2] },
        Sys::Close => Call::DropFds { lo: fd(a[0]), hi: fd(a[0]) },
        Sys::Dup2 | Sys::Dup3 => Call::DropFds { lo: fd(a[1]), hi: fd(a[1]) },
        Sys::CloseRange => Call::DropFds { lo: fd(a[0]), hi: (a[1] as u32).min(i32::MAX as u32) as i32 },
        Sys::Fork => Call::Fork { vfork: false },
        Sys::Vfork => Call::Fork { vfork: true },
        Sys::Clone => clone_call(a[0] as u64),
        // struct clone_args { u64 flags; ... }: unreadable means the kernel will refuse it (EFAULT).
        Sys::Clone3 => clone_call(mem.read_u64(a[0]).unwrap_or(CLONE_VM)),
        Sys::Exit => Call::Exit { group: false, code: a[0] as i32 },
        Sys::ExitGroup => Call::Exit { group: true, code: a[0] as i32 },
    })
}

#[inline]
fn clone_call(flags: u64) -> Call {
    if flags & CLONE_VM != 0 {
        Call::SharedClone
    } else {
        Call::Fork { vfork: flags & CLONE_VFORK != 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoMemory;
    impl Memory for NoMemory {
        fn read_u64(&self, _: usize) -> Option<u64> {
            None
        }
    }
    struct Fixed(u64);
    impl Memory for Fixed {
        fn read_u64(&self, _: usize) -> Option<u64> {
            Some(self.0)
        }
    }

    fn nr(s: Sys) -> usize {
        TABLE.iter().find(|t| t.1 == s).unwrap().0 as usize
    }

    #[test]
    fn table_and_match_agree() {
        for &(n, s) in TABLE {
            assert_eq!(sys_of(n as usize), Some(s));
        }
        #[cfg(target_arch = "x86_64")]
        assert_eq!(sys_of(202), None); // futex
        let mut seen = TABLE.iter().map(|t| t.0).collect::<std::vec::Vec<_>>();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), TABLE.len(), "a number listed twice");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn i386_table() {
        for &(n, s) in i386::TABLE {
            assert_eq!(i386::sys_of(n as usize), Some(s));
        }
        assert_eq!(i386::sys_of(5), Some(Sys::Open));
        assert_eq!(i386::sys_of(295), Some(Sys::OpenAt));
        assert_eq!(i386::sys_of(3), None); // read
    }

    #[test]
    fn renameat2_exchange() {
        let at = AT_FDCWD as isize as usize;
        let call = decode(Sys::RenameAt2, &[at, 1, at, 2, RENAME_EXCHANGE as usize, 0], &NoMemory);
        assert_eq!(call, Some(Call::Rename { from_dir: AT_FDCWD, from: 1, to_dir: AT_FDCWD, to: 2, exchange: true }));
        let call = decode(Sys::RenameAt2, &[at, 1, at, 2, RENAME_NOREPLACE as usize, 0], &NoMemory);
        assert!(matches!(call, Some(Call::Rename { exchange: false, .. })));
    }

    #[test]
    fn openat2_reads_its_flags() {
        let flags = (O_WRONLY | O_CREAT) as u64;
        assert_eq!(
            decode(Sys::OpenAt2, &[3, 7, 99, 24, 0, 0], &Fixed(flags)),
            Some(Call::Open { dirfd: 3, path: 7, flags: flags as u32 })
        );
        assert_eq!(decode(Sys::OpenAt2, &[3, 7, 99, 24, 0, 0], &NoMemory), None);
        assert_eq!(sys_of(nr(Sys::OpenAt2)), Some(Sys::OpenAt2));
    }

    #[test]
    fn clone_forms() {
        assert_eq!(decode(Sys::Clone, &[17, 0, 0, 0, 0, 0], &NoMemory), Some(Call::Fork { vfork: false }));
        let vm = (CLONE_VM | CLONE_THREAD) as usize;
        assert_eq!(decode(Sys::Clone, &[vm, 0, 0, 0, 0, 0], &NoMemory), Some(Call::SharedClone));
        assert_eq!(decode(Sys::Clone3, &[8, 88, 0, 0, 0, 0], &Fixed(CLONE_VFORK)), Some(Call::Fork { vfork: true }));
    }
}
