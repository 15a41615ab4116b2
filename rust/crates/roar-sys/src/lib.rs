//! Raw Linux system calls (inline asm) and kernel structures for x86_64 and aarch64, shared by roar's
//! tracer libraries. Raw calls never enter libc: the preload interposer must not re-enter its own hooks, and
//! code running between clone(CLONE_VM) and exec must not touch errno or locks of the process it shares
//! memory with. The build is offline, so no `libc` crate.
// Panic policy (roar-preload/README.md, "Panics"): this code runs inside the user's program, built with
// panic = "abort", so a panic would kill it. No explicit panics; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::panic_in_result_fn
    )
)]
#![cfg_attr(not(test), no_std)]
#![allow(dead_code)]

use core::arch::asm;

pub mod calls;
pub mod errno;
/// A NUL-terminated copy of `parts` concatenated into `out`; None when it does not fit.
pub fn cat_z<'a>(out: &'a mut [u8], parts: &[&[u8]]) -> Option<&'a [u8]> {
    let mut n = 0;
    for p in parts {
        if n + p.len() + 1 > out.len() {
            return None;
        }
        out[n..n + p.len()].copy_from_slice(p);
        n += p.len();
    }
    out[n] = 0;
    Some(&out[..=n])
}

/// Exports the signal sentinel (see sentinel.rs) from a tracer library: `roar_sentinel_start` (pid or -errno),
/// `roar_sentinel_count(sig)` and `roar_sentinel_stop`, all to be called from the same thread.
#[macro_export]
macro_rules! export_sentinel {
    () => {
        /// Starts the signal sentinel (roar-sys/src/sentinel.rs); returns its pid or -errno.
        #[no_mangle]
        pub unsafe extern "C" fn roar_sentinel_start() -> i32 {
            $crate::sentinel::start()
        }

        /// How many times the sentinel has received signal `sig` (SIGHUP, SIGINT, SIGQUIT or SIGTERM).
        #[no_mangle]
        pub extern "C" fn roar_sentinel_count(sig: i32) -> u32 {
            $crate::sentinel::count(sig)
        }

        /// Kills and reaps the sentinel.
        #[no_mangle]
        pub unsafe extern "C" fn roar_sentinel_stop() {
            $crate::sentinel::stop()
        }
    };
}

pub mod prewrite;
pub mod sentinel;

#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const READ: usize = 0;
    pub const WRITE: usize = 1;
    pub const OPEN: usize = 2;
    pub const CLOSE: usize = 3;
    pub const DUP2: usize = 33;
    pub const FSTAT: usize = 5;
    pub const MMAP: usize = 9;
    pub const MUNMAP: usize = 11;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const PREAD64: usize = 17;
    pub const SCHED_YIELD: usize = 24;
    pub const GETPID: usize = 39;
    pub const CLONE: usize = 56;
    pub const FORK: usize = 57;
    pub const VFORK: usize = 58;
    pub const EXECVE: usize = 59;
    pub const EXIT: usize = 60;
    pub const WAIT4: usize = 61;
    pub const KILL: usize = 62;
    pub const FCNTL: usize = 72;
    pub const TRUNCATE: usize = 76;
    pub const FTRUNCATE: usize = 77;
    pub const GETCWD: usize = 79;
    pub const CHDIR: usize = 80;
    pub const FCHDIR: usize = 81;
    pub const RENAME: usize = 82;
    pub const RMDIR: usize = 84;
    pub const CREAT: usize = 85;
    pub const LINK: usize = 86;
    pub const UNLINK: usize = 87;
    pub const SYMLINK: usize = 88;
    pub const GETPPID: usize = 110;
    pub const GETUID: usize = 102;
    pub const GETGID: usize = 104;
    pub const CLOSE_RANGE: usize = 436;
    pub const RT_SIGTIMEDWAIT: usize = 128;
    pub const PRCTL: usize = 157;
    pub const GETTID: usize = 186;
    pub const RT_TGSIGQUEUEINFO: usize = 297;
    pub const GETPEERNAME: usize = 52;
    pub const FGETXATTR: usize = 193;
    pub const GETDENTS64: usize = 217;
    pub const EXIT_GROUP: usize = 231;
    pub const OPENAT: usize = 257;
    pub const NEWFSTATAT: usize = 262;
    pub const UNLINKAT: usize = 263;
    pub const RENAMEAT: usize = 264;
    pub const LINKAT: usize = 265;
    pub const SYMLINKAT: usize = 266;
    pub const READLINKAT: usize = 267;
    pub const FACCESSAT: usize = 269;
    pub const DUP3: usize = 292;
    pub const PIPE2: usize = 293;
    pub const RENAMEAT2: usize = 316;
    pub const EXECVEAT: usize = 322;
    pub const IO_URING_SETUP: usize = 425;
    pub const CLONE3: usize = 435;
    pub const OPENAT2: usize = 437;
    pub const PTRACE: usize = 101;
    pub const SECCOMP: usize = 317;
    pub const FALLOCATE: usize = 285;
    pub const COPY_FILE_RANGE: usize = 326;
    pub const STATX: usize = 332;
    pub const FSTATFS: usize = 138;
}

#[cfg(target_arch = "aarch64")]
pub mod nr {
    // The generic syscall table: no open/rename/fork/... (those constants are usize::MAX = never matches).
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const OPEN: usize = usize::MAX;
    pub const CLOSE: usize = 57;
    pub const DUP2: usize = usize::MAX;
    pub const FSTAT: usize = 80;
    pub const MMAP: usize = 222;
    pub const MUNMAP: usize = 215;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const PREAD64: usize = 67;
    pub const SCHED_YIELD: usize = 124;
    pub const GETPID: usize = 172;
    pub const CLONE: usize = 220;
    pub const FORK: usize = usize::MAX;
    pub const VFORK: usize = usize::MAX;
    pub const EXECVE: usize = 221;
    pub const EXIT: usize = 93;
    pub const WAIT4: usize = 260;
    pub const KILL: usize = 129;
    pub const FCNTL: usize = 25;
    pub const TRUNCATE: usize = 45;
    pub const FTRUNCATE: usize = 46;
    pub const GETCWD: usize = 17;
    pub const CHDIR: usize = 49;
    pub const FCHDIR: usize = 50;
    pub const RENAME: usize = usize::MAX;
    pub const RMDIR: usize = usize::MAX;
    pub const CREAT: usize = usize::MAX;
    pub const LINK: usize = usize::MAX;
    pub const UNLINK: usize = usize::MAX;
    pub const SYMLINK: usize = usize::MAX;
    pub const GETPPID: usize = 173;
    pub const GETUID: usize = 174;
    pub const GETGID: usize = 176;
    pub const CLOSE_RANGE: usize = 436;
    pub const RT_SIGTIMEDWAIT: usize = 137;
    pub const PRCTL: usize = 167;
    pub const GETTID: usize = 178;
    pub const RT_TGSIGQUEUEINFO: usize = 240;
    pub const GETPEERNAME: usize = 205;
    pub const FGETXATTR: usize = 10;
    pub const GETDENTS64: usize = 61;
    pub const EXIT_GROUP: usize = 94;
    pub const OPENAT: usize = 56;
    pub const NEWFSTATAT: usize = 79;
    pub const UNLINKAT: usize = 35;
    pub const RENAMEAT: usize = 38;
    pub const LINKAT: usize = 37;
    pub const SYMLINKAT: usize = 36;
    pub const READLINKAT: usize = 78;
    pub const FACCESSAT: usize = 48;
    pub const DUP3: usize = 24;
    pub const PIPE2: usize = 59;
    pub const RENAMEAT2: usize = 276;
    pub const EXECVEAT: usize = 281;
    pub const IO_URING_SETUP: usize = 425;
    pub const CLONE3: usize = 435;
    pub const OPENAT2: usize = 437;
    pub const PTRACE: usize = 117;
    pub const SECCOMP: usize = 277;
    pub const FALLOCATE: usize = 47;
    pub const COPY_FILE_RANGE: usize = 285;
    pub const STATX: usize = 291;
    pub const FSTATFS: usize = 44;
}

/// The raw system call `n` with six arguments; the kernel's result (-errno on failure).
///
/// # Safety
/// Whatever the call `n` requires of its arguments: pointers valid for what it reads or writes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
         in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

/// The raw system call `n` with six arguments; the kernel's result (-errno on failure).
///
/// # Safety
/// Whatever the call `n` requires of its arguments: pointers valid for what it reads or writes.
#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2, in("x2") a3, in("x3") a4,
         in("x4") a5, in("x5") a6, options(nostack));
    ret
}

/// `syscall6` with 0 arguments.
///
/// # Safety
/// As for `syscall6`.
#[inline(always)]
pub unsafe fn sc0(n: usize) -> isize {
    syscall6(n, 0, 0, 0, 0, 0, 0)
}
/// `syscall6` with 1 argument.
///
/// # Safety
/// As for `syscall6`.
#[inline(always)]
pub unsafe fn sc1(n: usize, a: usize) -> isize {
    syscall6(n, a, 0, 0, 0, 0, 0)
}
/// `syscall6` with 2 arguments.
///
/// # Safety
/// As for `syscall6`.
#[inline(always)]
pub unsafe fn sc2(n: usize, a: usize, b: usize) -> isize {
    syscall6(n, a, b, 0, 0, 0, 0)
}
/// `syscall6` with 3 arguments.
///
/// # Safety
/// As for `syscall6`.
#[inline(always)]
pub unsafe fn sc3(n: usize, a: usize, b: usize, c: usize) -> isize {
    syscall6(n, a, b, c, 0, 0, 0)
}
/// `syscall6` with 4 arguments.
///
/// # Safety
/// As for `syscall6`.
#[inline(always)]
pub unsafe fn sc4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    syscall6(n, a, b, c, d, 0, 0)
}

/// clone(2) with the child on its own stack, running `f(arg)` (which must never return). Returns the
/// child's pid (or -errno) in the parent. Used for CLONE_VM children that must not touch the parent's
/// stack; fn and arg travel in registers that the system call preserves.
///
/// # Safety
/// `stack_top` is the 16-byte aligned top of a stack that, like `arg`, outlives the child's use of it (its
/// exec or exit with CLONE_VM).
#[cfg(target_arch = "x86_64")]
pub unsafe fn clone_on_stack(flags: usize, stack_top: *mut u8, f: unsafe extern "C" fn(*mut u8) -> !, arg: *mut u8) -> isize {
    let ret: isize;
    asm!(
        "syscall",
        "test rax, rax",
        "jnz 2f",
        "xor ebp, ebp",
        "mov rdi, r12",
        "call r13",
        "ud2",
        "2:",
        inlateout("rax") nr::CLONE as isize => ret,
        in("rdi") flags,
        in("rsi") stack_top,
        in("rdx") 0usize,
        in("r10") 0usize,
        in("r8") 0usize,
        in("r12") arg,
        in("r13") f,
        lateout("rcx") _,
        lateout("r11") _,
    );
    ret
}

/// The aarch64 form of the x86_64 `clone_on_stack` above.
///
/// # Safety
/// As for the x86_64 form.
#[cfg(target_arch = "aarch64")]
pub unsafe fn clone_on_stack(flags: usize, stack_top: *mut u8, f: unsafe extern "C" fn(*mut u8) -> !, arg: *mut u8) -> isize {
    let ret: isize;
    asm!(
        "svc 0",
        "cbnz x0, 2f",
        "mov x29, xzr",
        "mov x0, x9",
        "blr x10",
        "brk #0",
        "2:",
        in("x8") nr::CLONE,
        inlateout("x0") flags as isize => ret,
        in("x1") stack_top,
        in("x2") 0usize,
        in("x3") 0usize,
        in("x4") 0usize,
        in("x9") arg,
        in("x10") f,
    );
    ret
}

/// `struct statx_timestamp`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct StatxTimestamp {
    pub tv_sec: i64,
    pub tv_nsec: u32,
    pub reserved: i32,
}

/// `struct statx` (include/uapi/linux/stat.h), identical on every architecture.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Statx {
    pub mask: u32,
    pub blksize: u32,
    pub attributes: u64,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mode: u16,
    pub spare0: u16,
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub attributes_mask: u64,
    pub atime: StatxTimestamp,
    pub btime: StatxTimestamp,
    pub ctime: StatxTimestamp,
    pub mtime: StatxTimestamp,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub spare: [u64; 14],
}

/// glibc's `makedev`, so `dev` matches what `stat(2)` and Node report as `st_dev`.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}
