//! System-call wrappers and kernel structures of the interposer, on the raw calls of `roar-sys`: the
//! interposer must never re-enter its own hooks, and the supervisor shares Bun's memory (CLONE_VM), where
//! no libc state may be touched.
#![allow(dead_code)]

pub use roar_sys::{cat_z, clone_on_stack, makedev, nr, sc0, sc1, sc2, sc3, sc4, syscall6, Statx};

// The values live in roar-sys's one table (roar_sys::calls); C code passes them as int.
use roar_sys::calls as c;
pub const AT_FDCWD: i32 = c::AT_FDCWD;
pub const AT_EMPTY_PATH: i32 = c::AT_EMPTY_PATH as i32;
pub const AT_SYMLINK_FOLLOW: i32 = c::AT_SYMLINK_FOLLOW as i32;
pub const AT_REMOVEDIR: i32 = c::AT_REMOVEDIR as i32;
pub const O_RDONLY: i32 = c::O_RDONLY as i32;
pub const O_WRONLY: i32 = c::O_WRONLY as i32;
pub const O_RDWR: i32 = c::O_RDWR as i32;
pub const O_CREAT: i32 = c::O_CREAT as i32;
pub const O_EXCL: i32 = c::O_EXCL as i32;
pub const O_TRUNC: i32 = c::O_TRUNC as i32;
pub const O_APPEND: i32 = c::O_APPEND as i32;
pub const O_DIRECTORY: i32 = c::O_DIRECTORY as i32;
pub const O_CLOEXEC: i32 = c::O_CLOEXEC as i32;
pub const O_PATH: i32 = c::O_PATH as i32;
pub const O_NOFOLLOW: i32 = c::O_NOFOLLOW as i32;
pub const O_TMPFILE: i32 = c::O_TMPFILE as i32;
pub const O_ACCMODE: i32 = c::O_ACCMODE as i32;
pub const F_DUPFD_CLOEXEC: i32 = 1030;
pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;

pub use roar_sys::errno::*;

pub const SIGKILL: i32 = 9;
pub const SIGTERM: i32 = 15;
pub const SIGCHLD: i32 = 17;
pub const SIGSTOP: i32 = 19;

pub const WNOHANG: i32 = 1;
pub const WALL: i32 = 0x40000000;
pub const WNOTHREAD: i32 = 0x20000000;

pub const PR_SET_PDEATHSIG: usize = 1;
pub const PR_SET_CHILD_SUBREAPER: usize = 36;

pub use roar_sys::calls::{CLONE_VFORK, CLONE_VM};

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

/// The `Stat` fields roar uses, from a statx result with at least STATX_BASIC_STATS.
pub fn stat_from_statx(x: &Statx) -> Stat {
    Stat {
        st_dev: makedev(x.dev_major, x.dev_minor),
        st_ino: x.ino,
        st_mode: x.mode as u32,
        st_size: x.size as i64,
        st_mtime: x.mtime.tv_sec,
        st_mtime_nsec: x.mtime.tv_nsec as i64,
        st_ctime: x.ctime.tv_sec,
        st_ctime_nsec: x.ctime.tv_nsec as i64,
        ..Stat::default()
    }
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

extern "C" {
    /// The calling thread's handle (libc reads it from the thread pointer: no system call).
    pub fn pthread_self() -> usize;
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

/// The first `n` bytes of `buf` (a filled prefix of a scratch buffer), or nothing when `n` is out of range:
/// the panic-free form of `&buf[..n]` for the hooks (see README.md, "Panics").
#[inline]
pub fn head(buf: &[u8], n: usize) -> &[u8] {
    buf.get(..n).unwrap_or(&[])
}

/// "/proc/self/fd/N" (NUL-terminated) into `out`.
pub fn proc_fd_path(fd: i32, out: &mut [u8; 40]) -> *const u8 {
    let prefix = b"/proc/self/fd/";
    out[..prefix.len()].copy_from_slice(prefix);
    let n = fmt_u64(fd as u32 as u64, &mut out[prefix.len()..]);
    out[prefix.len() + n] = 0;
    out.as_ptr()
}

