//! Hand-declared libc functions and kernel constants (the build is offline: no `libc` crate).
#![allow(non_camel_case_types, dead_code)]

use std::ffi::{c_char, c_int, c_long, c_uint, c_ulong, c_void};

pub type pid_t = c_int;

extern "C" {
    pub fn fork() -> pid_t;
    pub fn execve(path: *const c_char, argv: *const *const c_char, envp: *const *const c_char) -> c_int;
    pub fn _exit(code: c_int) -> !;
    pub fn ptrace(request: c_int, ...) -> c_long;
    pub fn waitpid(pid: pid_t, status: *mut c_int, options: c_int) -> pid_t;
    pub fn prctl(option: c_int, ...) -> c_int;
    pub fn syscall(nr: c_long, ...) -> c_long;
    pub fn kill(pid: pid_t, sig: c_int) -> c_int;
    pub fn getpid() -> pid_t;
    pub fn getppid() -> pid_t;
    pub fn chdir(path: *const c_char) -> c_int;
    pub fn pipe2(fds: *mut c_int, flags: c_int) -> c_int;
    pub fn read(fd: c_int, buf: *mut c_void, n: usize) -> isize;
    pub fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
    pub fn pread(fd: c_int, buf: *mut c_void, n: usize, off: i64) -> isize;
    pub fn open(path: *const c_char, flags: c_int, ...) -> c_int;
    pub fn close(fd: c_int) -> c_int;
    pub fn readlink(path: *const c_char, buf: *mut c_char, size: usize) -> isize;
    pub fn signal(sig: c_int, handler: usize) -> usize;
    pub fn sigprocmask(how: c_int, set: *const c_void, old: *mut c_void) -> c_int;
    pub fn __errno_location() -> *mut c_int;
    pub fn strerror_r(errnum: c_int, buf: *mut c_char, len: usize) -> *mut c_char;
    pub fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    pub fn process_vm_readv(
        pid: pid_t,
        local: *const IoVec,
        liovcnt: u64,
        remote: *const IoVec,
        riovcnt: u64,
        flags: u64,
    ) -> isize;
    pub fn statx(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut Statx) -> c_int;
    pub fn access(path: *const c_char, mode: c_int) -> c_int;
    pub fn ioctl(fd: c_int, req: c_ulong, ...) -> c_int;
    pub fn poll(fds: *mut PollFd, n: u64, timeout: c_int) -> c_int;
    pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
}

#[repr(C)]
pub struct PollFd {
    pub fd: c_int,
    pub events: i16,
    pub revents: i16,
}

pub const POLLIN: i16 = 0x1;
pub const POLLHUP: i16 = 0x10;
pub const POLLERR: i16 = 0x8;
pub const POLLNVAL: i16 = 0x20;

#[repr(C)]
pub struct Timespec {
    pub tv_sec: i64,
    pub tv_nsec: i64,
}

#[repr(C)]
pub struct IoVec {
    pub base: *mut c_void,
    pub len: usize,
}

pub use roar_sys::{makedev, Statx};

/// `struct ptrace_syscall_info` with the seccomp/entry layout (exit reuses the first union words).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct SyscallInfo {
    pub op: u8,
    pub pad: [u8; 3],
    pub arch: u32,
    pub instruction_pointer: u64,
    pub stack_pointer: u64,
    /// entry/seccomp: nr; exit: rval (as i64).
    pub nr_or_rval: u64,
    /// entry/seccomp: args; exit: args[0] low byte is `is_error`.
    pub args: [u64; 6],
    pub ret_data: u32,
    pub pad2: u32,
}

#[repr(C)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

#[repr(C)]
pub struct SockFprog {
    pub len: u16,
    pub filter: *const SockFilter,
}

pub fn errno() -> c_int {
    // SAFETY: glibc's errno location is valid for the calling thread.
    unsafe { *__errno_location() }
}

pub fn strerror(e: c_int) -> String {
    let mut buf = [0u8; 128];
    // glibc's GNU strerror_r returns a pointer that may or may not be `buf`.
    // SAFETY: strerror_r writes at most `buf.len()` bytes into `buf`.
    let p = unsafe { strerror_r(e, buf.as_mut_ptr() as *mut c_char, buf.len()) };
    if p.is_null() {
        return format!("errno {e}");
    }
    // SAFETY: strerror_r returns a NUL-terminated string (static or in `buf`).
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

pub fn monotonic_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a local the kernel writes.
    unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

pub const CLOCK_MONOTONIC: c_int = 1;

// ptrace requests, options, events
pub const PTRACE_TRACEME: c_int = 0;
pub const PTRACE_CONT: c_int = 7;
pub const PTRACE_KILL: c_int = 8;
pub const PTRACE_DETACH: c_int = 17;
pub const PTRACE_SYSCALL: c_int = 24;
pub const PTRACE_SETOPTIONS: c_int = 0x4200;
pub const PTRACE_GETEVENTMSG: c_int = 0x4201;
pub const PTRACE_GETSIGINFO: c_int = 0x4202;
pub const PTRACE_GET_SYSCALL_INFO: c_int = 0x420e;

pub const PTRACE_O_TRACESYSGOOD: c_long = 0x1;
pub const PTRACE_O_TRACEFORK: c_long = 0x2;
pub const PTRACE_O_TRACEVFORK: c_long = 0x4;
pub const PTRACE_O_TRACECLONE: c_long = 0x8;
pub const PTRACE_O_TRACEEXEC: c_long = 0x10;
pub const PTRACE_O_TRACESECCOMP: c_long = 0x80;
pub const PTRACE_O_EXITKILL: c_long = 0x100000;

pub const PTRACE_EVENT_FORK: c_int = 1;
pub const PTRACE_EVENT_VFORK: c_int = 2;
pub const PTRACE_EVENT_CLONE: c_int = 3;
pub const PTRACE_EVENT_EXEC: c_int = 4;
pub const PTRACE_EVENT_SECCOMP: c_int = 7;

pub const PTRACE_SYSCALL_INFO_ENTRY: u8 = 1;
pub const PTRACE_SYSCALL_INFO_EXIT: u8 = 2;
pub const PTRACE_SYSCALL_INFO_SECCOMP: u8 = 3;

// wait
pub const WNOHANG: c_int = 1;
pub const WALL: c_int = 0x40000000;
pub const WNOTHREAD: c_int = 0x20000000;

// signals
pub const SIGKILL: c_int = 9;
pub const SIGTRAP: c_int = 5;
pub const SIGSTOP: c_int = 19;
pub const SIGCHLD: c_int = 17;
pub const SIG_SETMASK: c_int = 2;
pub const SIG_DFL: usize = 0;

// prctl / seccomp
pub const PR_SET_PDEATHSIG: c_int = 1;
pub const PR_SET_NO_NEW_PRIVS: c_int = 38;
pub const SECCOMP_SET_MODE_FILTER: c_long = 1;
pub const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
pub const SECCOMP_RET_TRACE: u32 = 0x7ff0_0000;
pub const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const SECCOMP_FILTER_FLAG_NEW_LISTENER: c_long = 1 << 3;
/// Linux 5.19: once the listener has received a notification, the caller waits killable only.
pub const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: c_long = 1 << 5;
// <linux/seccomp.h> ioctls: the generic _IOWR/_IOW encoding, the same on x86_64 and aarch64.
pub const SECCOMP_IOCTL_NOTIF_RECV: c_ulong = 0xc050_2100;
pub const SECCOMP_IOCTL_NOTIF_SEND: c_ulong = 0xc018_2101;
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: c_ulong = 0x4008_2102;
pub const SECCOMP_IOCTL_NOTIF_SET_FLAGS: c_ulong = 0x4008_2104;
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
pub const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;

pub use roar_sys::errno::*;

// files
// The values live in roar-sys's one table (roar_sys::calls); these are the types this crate uses them with.
#[allow(unused_imports)]
pub use roar_sys::calls::{O_ACCMODE, O_CREAT, O_EXCL, O_PATH, O_RDWR, O_TMPFILE_BIT, O_TRUNC, O_WRONLY};
pub const O_RDONLY: c_int = roar_sys::calls::O_RDONLY as c_int;
pub const O_CLOEXEC: c_int = roar_sys::calls::O_CLOEXEC as c_int;
pub const AT_FDCWD: c_int = roar_sys::calls::AT_FDCWD;
pub const AT_SYMLINK_NOFOLLOW: c_int = roar_sys::calls::AT_SYMLINK_NOFOLLOW as c_int;
pub const AT_EMPTY_PATH: u64 = roar_sys::calls::AT_EMPTY_PATH as u64;
pub const AT_STATX_DONT_SYNC: c_int = 0x4000;
pub const STATX_BASIC_STATS: c_uint = 0x7ff;
pub const S_IFMT: u16 = 0o170000;
pub const S_IFDIR: u16 = 0o040000;
pub const S_IFREG: u16 = 0o100000;
pub const S_ISUID: u16 = 0o4000;
pub const S_ISGID: u16 = 0o2000;
pub const X_OK: c_int = 1;
pub const CLOSE_RANGE_CLOEXEC: c_long = 1 << 2;
// Same numbers on x86_64 and aarch64 (added after the syscall tables were unified).
pub const SYS_PIDFD_OPEN: c_long = 434;
pub const SYS_PIDFD_GETFD: c_long = 438;
pub const KCMP_FILE: c_long = 0;

pub fn wifexited(s: c_int) -> bool {
    s & 0x7f == 0
}
pub fn wexitstatus(s: c_int) -> c_int {
    (s >> 8) & 0xff
}
pub fn wifsignaled(s: c_int) -> bool {
    ((s & 0x7f) + 1) as i8 >= 2
}
pub fn wtermsig(s: c_int) -> c_int {
    s & 0x7f
}
pub fn wifstopped(s: c_int) -> bool {
    s & 0xff == 0x7f
}
pub fn wstopsig(s: c_int) -> c_int {
    (s >> 8) & 0xff
}

