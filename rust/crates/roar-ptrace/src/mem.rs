//! Reading the tracee: strings and pointer arrays through `process_vm_readv`, fd/cwd links in /proc, and
//! stat of a path from the tracer side.
use crate::sys::{self, IoVec, Statx};
use roar_events::OpenStat;
use std::ffi::c_void;

const PAGE: u64 = 4096;
const MAX_STR: usize = 64 * 1024;

fn readv(pid: i32, addr: u64, dst: &mut [u8]) -> isize {
    let local = IoVec { base: dst.as_mut_ptr().cast::<c_void>(), len: dst.len() };
    let remote = IoVec { base: addr as *mut c_void, len: dst.len() };
    // SAFETY: `local` describes `dst`; the remote side is only read by the kernel, which checks it.
    unsafe { sys::process_vm_readv(pid, &local, 1, &remote, 1, 0) }
}

/// Reads a NUL-terminated string, page by page so that a string ending just before an unmapped page reads.
/// `out` is cleared first; returns false when the memory could not be read.
pub fn read_cstr(pid: i32, addr: u64, out: &mut Vec<u8>) -> bool {
    out.clear();
    if addr == 0 {
        return false;
    }
    let mut chunk = [0u8; PAGE as usize];
    let mut at = addr;
    // Most paths are short: a first read of 256 bytes copies less than the rest of the page would.
    let mut step = 256u64;
    while out.len() < MAX_STR {
        let want = (step.min(PAGE - (at % PAGE))) as usize;
        step = PAGE;
        let n = readv(pid, at, &mut chunk[..want]);
        if n <= 0 {
            return false;
        }
        let got = &chunk[..n as usize];
        if let Some(z) = got.iter().position(|&c| c == 0) {
            out.extend_from_slice(&got[..z]);
            return true;
        }
        out.extend_from_slice(got);
        at += n as u64;
    }
    true
}

/// Reads a NULL-terminated array of string pointers (argv) of `width` bytes each (8, or 4 for a 32-bit
/// program).
pub fn read_argv(pid: i32, addr: u64, width: usize) -> Vec<Vec<u8>> {
    let mut ptrs: Vec<u64> = Vec::new();
    let mut at = addr;
    let mut page = [0u8; PAGE as usize];
    'outer: while addr != 0 && ptrs.len() < 1 << 20 {
        let want = (PAGE - (at % PAGE)) as usize;
        let n = readv(pid, at, &mut page[..want]);
        if n < width as isize {
            break;
        }
        let whole = (n as usize / width) * width;
        for w in page[..whole].chunks_exact(width) {
            let p = if width == 4 {
                u32::from_ne_bytes(w.try_into().unwrap()) as u64
            } else {
                u64::from_ne_bytes(w.try_into().unwrap())
            };
            if p == 0 {
                break 'outer;
            }
            ptrs.push(p);
        }
        at += whole as u64;
    }
    let mut out = Vec::with_capacity(ptrs.len());
    let mut s = Vec::new();
    for p in ptrs {
        read_cstr(pid, p, &mut s);
        out.push(s.clone());
    }
    out
}

pub fn read_u64(pid: i32, addr: u64) -> Option<u64> {
    let mut b = [0u8; 8];
    (readv(pid, addr, &mut b) == 8).then(|| u64::from_ne_bytes(b))
}

/// readlink(2) into a fresh Vec (`path` must be NUL-terminated).
pub fn readlink(path: &[u8]) -> Option<Vec<u8>> {
    debug_assert_eq!(path.last(), Some(&0));
    let mut buf = vec![0u8; 4096];
    // SAFETY: `path` is NUL-terminated; readlink writes at most `buf.len()` bytes.
    let n = unsafe { sys::readlink(path.as_ptr().cast(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 0 {
        return None;
    }
    buf.truncate(n as usize);
    Some(buf)
}

fn proc_path(pid: i32, tail: &str, fd: Option<i64>) -> Vec<u8> {
    let s = match fd {
        Some(n) => format!("/proc/{pid}/{tail}/{n}\0"),
        None => format!("/proc/{pid}/{tail}\0"),
    };
    s.into_bytes()
}

/// What a tracee's fd refers to (`/proc/<tid>/fd/<n>`); None for pipes/sockets/anon inodes.
/// `deleted` reports the kernel's " (deleted)" suffix (an unlinked or O_TMPFILE file), which is stripped.
pub fn fd_path(tid: i32, fd: i64) -> Option<(Vec<u8>, bool)> {
    let mut p = readlink(&proc_path(tid, "fd", Some(fd)))?;
    if p.first() != Some(&b'/') {
        return None;
    }
    const DELETED: &[u8] = b" (deleted)";
    let deleted = p.ends_with(DELETED);
    if deleted {
        p.truncate(p.len() - DELETED.len());
    }
    Some((p, deleted))
}

pub fn cwd_of(tid: i32) -> Option<Vec<u8>> {
    readlink(&proc_path(tid, "cwd", None))
}

pub fn cmdline_of(pid: i32) -> Vec<Vec<u8>> {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(mut b) => {
            if b.last() == Some(&0) {
                b.pop();
            }
            if b.is_empty() {
                return Vec::new();
            }
            b.split(|&c| c == 0).map(|s| s.to_vec()).collect()
        }
        Err(_) => Vec::new(),
    }
}

/// statx of an absolute path from the tracer (the tracee shares our mount namespace).
pub fn stat_path(path: &[u8], follow: bool) -> Option<Statx> {
    let mut c = Vec::with_capacity(path.len() + 1);
    c.extend_from_slice(path);
    c.push(0);
    // SAFETY: Statx is plain integers, for which all zeroes is valid.
    let mut st: Statx = unsafe { std::mem::zeroed() };
    let flags = sys::AT_STATX_DONT_SYNC | if follow { 0 } else { sys::AT_SYMLINK_NOFOLLOW };
    // SAFETY: `c` is NUL-terminated and `st` a local the kernel writes.
    let r = unsafe { sys::statx(sys::AT_FDCWD, c.as_ptr().cast(), flags, sys::STATX_BASIC_STATS, &mut st) };
    (r == 0).then_some(st)
}

pub fn open_stat(st: &Statx) -> OpenStat {
    OpenStat {
        dev: sys::makedev(st.dev_major, st.dev_minor),
        ino: st.ino,
        size: st.size,
        mtime_ns: st.mtime.tv_sec * 1_000_000_000 + st.mtime.tv_nsec as i64,
        ctime_ns: st.ctime.tv_sec * 1_000_000_000 + st.ctime.tv_nsec as i64,
    }
}

pub fn is_dir(st: &Statx) -> bool {
    st.mode & sys::S_IFMT == sys::S_IFDIR
}

/// Whether an executable file is a static ELF binary (an ELF without PT_INTERP).
pub fn is_static_elf(path: &[u8]) -> bool {
    let mut c = path.to_vec();
    c.push(0);
    // SAFETY: `c` is NUL-terminated.
    let fd = unsafe { sys::open(c.as_ptr().cast(), sys::O_RDONLY | sys::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    let mut hdr = [0u8; 64];
    // SAFETY: reads into `hdr`, 64 bytes.
    let ok = unsafe { sys::pread(fd, hdr.as_mut_ptr().cast(), 64, 0) } == 64;
    let mut result = false;
    // 64-bit little-endian ELF only (the arches we build for).
    if ok && &hdr[0..4] == b"\x7fELF" && hdr[4] == 2 && hdr[5] == 1 {
        let phoff = u64::from_le_bytes(hdr[32..40].try_into().unwrap());
        let phentsize = u16::from_le_bytes(hdr[54..56].try_into().unwrap()) as usize;
        let phnum = u16::from_le_bytes(hdr[56..58].try_into().unwrap()) as usize;
        if phentsize >= 4 && phnum > 0 && phnum < 256 {
            let mut ph = vec![0u8; phentsize * phnum];
            // SAFETY: reads into `ph`, at most its length.
            let n = unsafe { sys::pread(fd, ph.as_mut_ptr().cast(), ph.len(), phoff as i64) };
            if n as usize == ph.len() {
                const PT_INTERP: u32 = 3;
                result = !ph.chunks_exact(phentsize).any(|e| u32::from_le_bytes(e[0..4].try_into().unwrap()) == PT_INTERP);
            }
        }
    }
    // SAFETY: the fd opened above.
    unsafe { sys::close(fd) };
    result
}

/// The peer of the socket `fd` of `pid` as a `struct sockaddr` (AF_INET / AF_INET6), found by the socket's
/// inode in `/proc/<pid>/net/tcp{,6}`: for an accept whose caller passed no address buffer.
pub fn peer_of(pid: i32, fd: i64) -> Option<Vec<u8>> {
    let link = readlink(&proc_path(pid, "fd", Some(fd)))?;
    let inode = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    let inode = std::str::from_utf8(inode).ok()?;
    for (table, v6) in [("tcp", false), ("tcp6", true)] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).ok()?;
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.get(9) != Some(&inode) {
                continue;
            }
            let (host, port) = f.get(2)?.split_once(':')?;
            let port = u16::from_str_radix(port, 16).ok()?;
            // the kernel prints the address as native-endian 32-bit words
            let mut addr = Vec::new();
            for i in (0..host.len()).step_by(8) {
                addr.extend_from_slice(&u32::from_str_radix(host.get(i..i + 8)?, 16).ok()?.to_ne_bytes());
            }
            let mut sa = Vec::with_capacity(28);
            sa.extend_from_slice(&(if v6 { 10u16 } else { 2u16 }).to_ne_bytes());
            sa.extend_from_slice(&port.to_be_bytes());
            if v6 {
                sa.extend_from_slice(&[0; 4]);
                sa.extend_from_slice(&addr);
                sa.extend_from_slice(&[0; 4]);
            } else {
                sa.extend_from_slice(&addr);
                sa.extend_from_slice(&[0; 8]);
            }
            return Some(sa);
        }
    }
    None
}

/// `len` bytes at `addr` of the tracee (at most 128: a `struct sockaddr_storage`).
pub fn read_bytes(pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
    let mut b = vec![0u8; len.min(128)];
    (addr != 0 && readv(pid, addr, &mut b) == b.len() as isize).then_some(b)
}
