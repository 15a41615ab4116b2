//! Raw Linux system calls (inline asm) for x86_64 and aarch64. The interposer uses these instead of libc so
//! that it never re-enters its own hooks, and the supervisor uses them because it runs in a fork of a
//! multithreaded process (Bun) where only async-signal-safe work is allowed.
#![allow(dead_code)]

use core::arch::asm;

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
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
         in("r10") a4, in("r8") a5, in("r9") a6, lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall6(n: usize, a1: usize, a2: usize, a3: usize, a4: usize, a5: usize, a6: usize) -> isize {
    let ret: isize;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2, in("x2") a3, in("x3") a4,
         in("x4") a5, in("x5") a6, options(nostack));
    ret
}

#[inline(always)]
pub unsafe fn sc0(n: usize) -> isize {
    syscall6(n, 0, 0, 0, 0, 0, 0)
}
#[inline(always)]
pub unsafe fn sc1(n: usize, a: usize) -> isize {
    syscall6(n, a, 0, 0, 0, 0, 0)
}
#[inline(always)]
pub unsafe fn sc2(n: usize, a: usize, b: usize) -> isize {
    syscall6(n, a, b, 0, 0, 0, 0)
}
#[inline(always)]
pub unsafe fn sc3(n: usize, a: usize, b: usize, c: usize) -> isize {
    syscall6(n, a, b, c, 0, 0, 0)
}
#[inline(always)]
pub unsafe fn sc4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    syscall6(n, a, b, c, d, 0, 0)
}

pub const AT_FDCWD: i32 = -100;
pub const AT_EMPTY_PATH: i32 = 0x1000;
pub const AT_SYMLINK_FOLLOW: i32 = 0x400;
pub const AT_REMOVEDIR: i32 = 0x200;
pub const O_RDONLY: i32 = 0;
pub const O_WRONLY: i32 = 1;
pub const O_RDWR: i32 = 2;
pub const O_CREAT: i32 = 0o100;
pub const O_EXCL: i32 = 0o200;
pub const O_TRUNC: i32 = 0o1000;
pub const O_APPEND: i32 = 0o2000;
#[cfg(target_arch = "x86_64")]
pub const O_DIRECTORY: i32 = 0o200000;
// aarch64 uses the asm-generic values for O_DIRECTORY (and so O_TMPFILE).
#[cfg(target_arch = "aarch64")]
pub const O_DIRECTORY: i32 = 0o40000;
pub const O_CLOEXEC: i32 = 0o2000000;
pub const O_PATH: i32 = 0o10000000;
pub const O_TMPFILE: i32 = 0o20000000 | O_DIRECTORY;
pub const O_ACCMODE: i32 = 3;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;

pub const EINTR: i32 = 4;
pub const ENOENT: i32 = 2;
pub const ENOEXEC: i32 = 8;
pub const EBADF: i32 = 9;
pub const ECHILD: i32 = 10;
pub const EAGAIN: i32 = 11;
pub const EACCES: i32 = 13;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const ENAMETOOLONG: i32 = 36;
pub const ELOOP: i32 = 40;
pub const ESRCH: i32 = 3;
pub const EPERM: i32 = 1;

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGSTOP: i32 = 19;

pub const WNOHANG: i32 = 1;
pub const WALL: i32 = 0x40000000;
pub const WNOTHREAD: i32 = 0x20000000;

pub const PR_SET_PDEATHSIG: usize = 1;
pub const PR_SET_CHILD_SUBREAPER: usize = 36;

pub const CLONE_VM: u64 = 0x100;
pub const CLONE_VFORK: u64 = 0x4000;
pub const CLONE_THREAD: u64 = 0x10000;

/// `struct stat` as the kernel's fstat/newfstatat fill it.
#[cfg(target_arch = "x86_64")]
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_nlink: u64,
    pub st_mode: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub __pad0: u32,
    pub st_rdev: u64,
    pub st_size: i64,
    pub st_blksize: i64,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub __unused: [i64; 3],
}

#[cfg(target_arch = "aarch64")]
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct Stat {
    pub st_dev: u64,
    pub st_ino: u64,
    pub st_mode: u32,
    pub st_nlink: u32,
    pub st_uid: u32,
    pub st_gid: u32,
    pub st_rdev: u64,
    pub __pad1: u64,
    pub st_size: i64,
    pub st_blksize: i32,
    pub __pad2: i32,
    pub st_blocks: i64,
    pub st_atime: i64,
    pub st_atime_nsec: i64,
    pub st_mtime: i64,
    pub st_mtime_nsec: i64,
    pub st_ctime: i64,
    pub st_ctime_nsec: i64,
    pub __unused: [i32; 2],
}

/// `struct statx` (the fields roar reads; identical on every architecture).
#[repr(C)]
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
    pub atime: [i64; 2],
    pub btime: [i64; 2],
    pub ctime: [i64; 2],
    pub mtime: [i64; 2],
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
}

/// glibc's `makedev`.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

/// The `Stat` fields roar uses, from a statx result with at least STATX_BASIC_STATS.
pub fn stat_from_statx(x: &Statx) -> Stat {
    let mut st = Stat::default();
    st.st_dev = makedev(x.dev_major, x.dev_minor);
    st.st_ino = x.ino;
    st.st_mode = x.mode as u32;
    st.st_size = x.size as i64;
    st.st_mtime = x.mtime[0];
    st.st_mtime_nsec = x.mtime[1] & 0xffff_ffff;
    st.st_ctime = x.ctime[0];
    st.st_ctime_nsec = x.ctime[1] & 0xffff_ffff;
    st
}

pub unsafe fn fstat(fd: i32, st: &mut Stat) -> isize {
    sc2(nr::FSTAT, fd as usize, st as *mut Stat as usize)
}

pub unsafe fn fstatat(dirfd: i32, path: *const u8, st: &mut Stat, flags: i32) -> isize {
    sc4(nr::NEWFSTATAT, dirfd as isize as usize, path as usize, st as *mut Stat as usize, flags as usize)
}

pub unsafe fn openat(dirfd: i32, path: *const u8, flags: i32, mode: u32) -> isize {
    sc4(nr::OPENAT, dirfd as isize as usize, path as usize, flags as usize, mode as usize)
}

pub unsafe fn close(fd: i32) -> isize {
    sc1(nr::CLOSE, fd as usize)
}

pub unsafe fn write(fd: i32, buf: &[u8]) -> isize {
    sc3(nr::WRITE, fd as usize, buf.as_ptr() as usize, buf.len())
}

/// Writes all of `buf`, retrying on EINTR and short writes. Returns false on failure.
pub unsafe fn write_all(fd: i32, mut buf: &[u8]) -> bool {
    while !buf.is_empty() {
        let r = write(fd, buf);
        if r == -(EINTR as isize) {
            continue;
        }
        if r <= 0 {
            return false;
        }
        buf = &buf[r as usize..];
    }
    true
}

pub unsafe fn read(fd: i32, buf: &mut [u8]) -> isize {
    sc3(nr::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len())
}

pub unsafe fn pread(fd: i32, buf: &mut [u8], off: u64) -> isize {
    sc4(nr::PREAD64, fd as usize, buf.as_mut_ptr() as usize, buf.len(), off as usize)
}

pub unsafe fn readlinkat(dirfd: i32, path: *const u8, buf: &mut [u8]) -> isize {
    sc4(nr::READLINKAT, dirfd as isize as usize, path as usize, buf.as_mut_ptr() as usize, buf.len())
}

pub unsafe fn getcwd(buf: &mut [u8]) -> isize {
    sc2(nr::GETCWD, buf.as_mut_ptr() as usize, buf.len())
}

pub unsafe fn getpid() -> u32 {
    sc0(nr::GETPID) as u32
}

pub unsafe fn getppid() -> u32 {
    sc0(nr::GETPPID) as u32
}

pub unsafe fn kill(pid: i32, sig: i32) -> isize {
    sc2(nr::KILL, pid as isize as usize, sig as usize)
}

pub unsafe fn exit_group(code: i32) -> ! {
    sc1(nr::EXIT_GROUP, code as usize);
    loop {
        core::hint::spin_loop();
    }
}

/// A plain fork (clone with SIGCHLD), bypassing libc's atfork handlers: see the supervisor.
pub unsafe fn wait4(pid: i32, status: &mut i32, options: i32) -> isize {
    sc4(nr::WAIT4, pid as isize as usize, status as *mut i32 as usize, options as usize, 0)
}

/// Formats `v` in decimal into `out`, returning the digits' length.
pub fn fmt_u64(mut v: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + (v % 10) as u8;
        n += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let n = n.min(out.len());
    for i in 0..n {
        out[i] = tmp[n - 1 - i];
    }
    n
}

/// Length of a NUL-terminated C string.
pub unsafe fn cstrlen(p: *const u8) -> usize {
    let mut n = 0;
    while *p.add(n) != 0 {
        n += 1;
    }
    n
}

pub unsafe fn cstr<'a>(p: *const u8) -> &'a [u8] {
    if p.is_null() {
        return &[];
    }
    core::slice::from_raw_parts(p, cstrlen(p))
}

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
    Some(&out[..n + 1])
}

/// "/proc/self/fd/N" (NUL-terminated) into `out`.
pub fn proc_fd_path(fd: i32, out: &mut [u8; 40]) -> *const u8 {
    let prefix = b"/proc/self/fd/";
    out[..prefix.len()].copy_from_slice(prefix);
    let n = fmt_u64(fd as u32 as u64, &mut out[prefix.len()..]);
    out[prefix.len() + n] = 0;
    out.as_ptr()
}

/// clone(2) with the child on its own stack, running `f(arg)` (which must never return). Returns the
/// child's pid (or -errno) in the parent. Used for CLONE_VM children that must not touch the parent's
/// stack; fn and arg travel in registers that the system call preserves.
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
