//! Pre-write capture, shared by the tracers: the first time a job is about to change an existing file (open it
//! for writing or truncation, truncate it, rename over it or away, unlink it), its state then, and — up to a
//! size cap — a copy of its bytes. roar uses it for the job's input digest of a file it read and then rewrote,
//! to tell files the job created from files it changed, and for `roar pop` to restore what the job changed.
//!
//! Captures live in `<dir of the events file>/pre/` (roar makes it a link into `.roar/tmp/`), one per path,
//! named by a 64-bit FNV-1a hash of the path; creating that name with O_EXCL (or link(2)) is what makes "first
//! time" hold across every process of the job, whichever tracer records it. `pre/.max` holds `<cap> <policy>`:
//! the size cap in decimal, then `all` (keep the bytes of every file the job changes: reversible.enabled) or
//! `read` (only of files the job may have read first — their content is the job's input; the others are noted
//! by their stat alone, which costs no file of its own). No file or no directory: capture is off.
//!
//! "May have read" is a Bloom filter shared by every process and tracer of the job: `<dir of the events
//! file>/reads`, READS_BYTES of zeros that roar allocates, mapped shared; each read open sets its path's bits.
//! Raw system calls only: this runs inside traced programs.
use crate::{makedev, nr, sc1, sc2, sc3, sc4, syscall6, Statx};

use crate::calls::{AT_FDCWD, AT_SYMLINK_NOFOLLOW, O_CLOEXEC, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR, O_WRONLY};

const AT_STATX_DONT_SYNC: u32 = 0x4000;
const STATX_BASIC_STATS: usize = 0x7ff;
const S_IFMT: u16 = 0o170000;
const S_IFREG: u16 = 0o100000;
const S_IFLNK: u16 = 0o120000;
const EEXIST: isize = -(crate::errno::EEXIST as isize);
const EINTR: isize = -(crate::errno::EINTR as isize);
/// Free space kept on the capture's filesystem beyond the copy itself.
const MARGIN: u64 = 64 * 1024 * 1024;
/// Longest path handled (longer ones are reported without a copy).
pub const PATH_MAX: usize = 4096;

/// How the file is about to change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Its content changes in place (write open, truncate): the bytes must be copied.
    Content,
    /// Its name goes away (unlink, rename over or away): the inode survives, so a hard link keeps it.
    Name,
}

/// What was there before the first change.
pub struct Captured {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub mode: u32,
    /// The capture's file name in the directory when its bytes were kept.
    pub copy: Option<[u8; 16]>,
}

/// 64-bit FNV-1a of a path.
pub fn hash_of(path: &[u8]) -> u64 {
    hash_on(0xcbf2_9ce4_8422_2325, path)
}

/// FNV-1a continued over `bytes` from the state `h` (`hash_on(hash_of(a), b) == hash_of(a ++ b)`): the read filter
/// hashes a relative path's bytes onto its process's hash of the cwd.
pub fn hash_on(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// 64-bit FNV-1a of the path, as 16 lowercase hex digits: the capture's name.
pub fn name_of(path: &[u8]) -> [u8; 16] {
    let h = hash_of(path);
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        let d = ((h >> (60 - 4 * i)) & 0xf) as u8;
        *o = if d < 10 { b'0' + d } else { b'a' + d - 10 };
    }
    out
}

/// The capture directory `<dir of events_path>/pre` (no NUL), into `out`; its length, 0 when it does not fit.
pub fn dir_for_events(events_path: &[u8], out: &mut [u8]) -> usize {
    let Some(slash) = events_path.iter().rposition(|&c| c == b'/') else { return 0 };
    let n = slash + 4;
    if n > out.len() {
        return 0;
    }
    out[..slash].copy_from_slice(&events_path[..slash]);
    out[slash..n].copy_from_slice(b"/pre");
    n
}

/// Capture settings: the size cap, and whether every changed file's bytes are kept or only those of files
/// the job may have read first.
#[derive(Clone, Copy)]
pub struct Policy {
    pub cap: u64,
    pub keep_all: bool,
}

/// The settings from `<dir>/.max`; None when capture is off (no directory or no settings file).
///
/// # Safety
/// Raw system calls only; `dir` is a path without NUL.
pub unsafe fn read_policy(dir: &[u8]) -> Option<Policy> {
    let mut buf = [0u8; PATH_MAX + 8];
    let p = crate::cat_z(&mut buf, &[dir, b"/.max"])?;
    let fd = sc4(nr::OPENAT, AT_FDCWD as usize, p.as_ptr() as usize, (O_RDONLY | O_CLOEXEC) as usize, 0);
    if fd < 0 {
        return None;
    }
    let mut digits = [0u8; 24];
    let n = sc3(nr::READ, fd as usize, digits.as_mut_ptr() as usize, digits.len());
    sc1(nr::CLOSE, fd as usize);
    if n <= 0 {
        return None;
    }
    let text = &digits[..n as usize];
    let mut v: u64 = 0;
    let mut i = 0;
    while i < text.len() && text[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add((text[i] - b'0') as u64);
        i += 1;
    }
    Some(Policy { cap: v, keep_all: !text[i..].starts_with(b" read") })
}

/// Size of the shared read filter: 16 Ki words of 64 bits. A path sets three bits of one word (a blocked Bloom
/// filter: ~0.05 % false positives at 20,000 read paths), so marking it is one atomic OR on one cache line.
pub const READS_BYTES: usize = 128 * 1024;
const READS_WORDS: u64 = (READS_BYTES / 8) as u64;

/// Where a path is marked in the read filter: its word, and its three bits there. `hash` is the path's FNV-1a
/// (`hash_of`, or `hash_on` from its directory's), mixed here (murmur3's fmix64) so that every bit counts.
pub fn read_slot(hash: u64) -> (usize, u64) {
    let mut h = hash;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    let bits = (1u64 << ((h >> 40) & 63)) | (1u64 << ((h >> 46) & 63)) | (1u64 << ((h >> 52) & 63));
    ((h % READS_WORDS) as usize, bits)
}

/// Maps the job's shared read filter (`<dir of events_path>/reads`); null when there is none.
///
/// # Safety
/// Raw system calls only.
pub unsafe fn map_reads(events_path: &[u8]) -> *mut u64 {
    let Some(slash) = events_path.iter().rposition(|&c| c == b'/') else { return core::ptr::null_mut() };
    let mut buf = [0u8; PATH_MAX + 8];
    let Some(p) = crate::cat_z(&mut buf, &[&events_path[..slash], b"/reads"]) else { return core::ptr::null_mut() };
    let fd = sc4(nr::OPENAT, AT_FDCWD as usize, p.as_ptr() as usize, (O_RDWR | O_CLOEXEC) as usize, 0);
    if fd < 0 {
        return core::ptr::null_mut();
    }
    let m = syscall6(nr::MMAP, 0, READS_BYTES, 3, 0x01 /* MAP_SHARED */, fd as usize, 0);
    sc1(nr::CLOSE, fd as usize);
    if m < 0 {
        core::ptr::null_mut()
    } else {
        m as *mut u64
    }
}

/// Notes that the job opened `path` for reading.
///
/// # Safety
/// `reads` is null or a live mapping of READS_BYTES.
pub unsafe fn mark_read(reads: *mut u64, path: &[u8]) {
    mark_slot(reads, read_slot(hash_of(path)));
}

/// Sets a slot's bits (`mark_read` of the path it is the slot of).
///
/// # Safety
/// As `mark_read`.
pub unsafe fn mark_slot(reads: *mut u64, (word, bits): (usize, u64)) {
    if reads.is_null() {
        return;
    }
    let word = &*(reads.add(word) as *const core::sync::atomic::AtomicU64);
    word.fetch_or(bits, core::sync::atomic::Ordering::Relaxed);
}

/// Starts bringing a slot's word into the cache: a program's open evicts it (its system call and the file's
/// reading touch much more than the caches hold), and the atomic OR then waits for memory (~150 ns a read open
/// on the bench machine, most of what the filter costs a job) unless it was fetched while the open ran.
///
/// # Safety
/// As `mark_read`.
pub unsafe fn prefetch_slot(reads: *mut u64, (word, _): (usize, u64)) {
    #[cfg(target_arch = "x86_64")]
    if !reads.is_null() {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(reads.add(word) as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (reads, word);
}

/// Whether the job may have opened `path` for reading (true when unknown: no filter).
///
/// # Safety
/// As `mark_read`.
pub unsafe fn maybe_read(reads: *mut u64, path: &[u8]) -> bool {
    if reads.is_null() {
        return true;
    }
    let (word, bits) = read_slot(hash_of(path));
    let word = &*(reads.add(word) as *const core::sync::atomic::AtomicU64);
    word.load(core::sync::atomic::Ordering::Relaxed) & bits == bits
}

unsafe fn statx(path: *const u8, follow: bool, st: &mut Statx) -> isize {
    let flags = (AT_STATX_DONT_SYNC | if follow { 0 } else { AT_SYMLINK_NOFOLLOW }) as usize;
    syscall6(nr::STATX, AT_FDCWD as usize, path as usize, flags, STATX_BASIC_STATS, st as *mut Statx as usize, 0)
}

/// Copies `size` bytes from `src` to `dst` (copy_file_range, else read/write); true when all were copied.
unsafe fn copy_all(src: usize, dst: usize, size: u64) -> bool {
    let mut left = size;
    let mut kernel_copy = true;
    let mut chunk = [0u8; 16 * 1024];
    while left > 0 {
        let want = left.min(1 << 30) as usize;
        let n = if kernel_copy {
            let n = syscall6(nr::COPY_FILE_RANGE, src, 0, dst, 0, want, 0);
            if n < 0 && n != EINTR {
                kernel_copy = false; // EXDEV, EINVAL, ENOSYS…: the plain way
                continue;
            }
            n
        } else {
            let r = sc3(nr::READ, src, chunk.as_mut_ptr() as usize, want.min(chunk.len()));
            if r > 0 {
                let mut off = 0;
                while off < r as usize {
                    let w = sc3(nr::WRITE, dst, chunk.as_ptr() as usize + off, r as usize - off);
                    if w == EINTR {
                        continue;
                    }
                    if w <= 0 {
                        return false;
                    }
                    off += w as usize;
                }
            }
            r
        };
        if n == EINTR {
            continue;
        }
        if n <= 0 {
            return false; // an error, or the file shrank meanwhile
        }
        left -= n as u64;
    }
    true
}

/// Room for `size` more bytes plus the margin on the filesystem of `fd`.
unsafe fn has_room(fd: usize, size: u64) -> bool {
    // struct statfs: f_type, f_bsize, f_blocks, f_bfree, f_bavail (each 8 bytes on 64-bit Linux)
    let mut st = [0u64; 16];
    if sc2(nr::FSTATFS, fd, st.as_mut_ptr() as usize) != 0 {
        return false;
    }
    st[4].saturating_mul(st[1]) >= size.saturating_add(MARGIN)
}

/// Captures `path` (absolute, NUL-terminated) before a change, into `dir` (no NUL) up to `cap` bytes; with
/// `keep` false only its state is noted (no copy, no file). `follow`: the change follows a final symlink
/// (opens without O_NOFOLLOW, truncate). Returns None when there is nothing to report: the file does not exist
/// (or is a directory or device), or this job already kept that path's bytes.
///
/// # Safety
/// Raw system calls only; `path` must end with a NUL byte.
pub unsafe fn capture(path: &[u8], dir: &[u8], cap: u64, change: Change, follow: bool, keep: bool) -> Option<Captured> {
    let mut st: Statx = core::mem::zeroed();
    if statx(path.as_ptr(), follow, &mut st) != 0 {
        return None;
    }
    let kind = st.mode & S_IFMT;
    if kind != S_IFREG && kind != S_IFLNK {
        return None;
    }
    let name = name_of(&path[..path.len() - 1]);
    let mut buf = [0u8; PATH_MAX + 32];
    let mut copy = None;
    let target = if keep { crate::cat_z(&mut buf, &[dir, b"/", &name]) } else { None };
    if let Some(target) = target {
        let at = AT_FDCWD as usize;
        // flags 0: a symlink is linked itself, never followed
        let linked = if change == Change::Name || kind == S_IFLNK {
            syscall6(nr::LINKAT, at, path.as_ptr() as usize, at, target.as_ptr() as usize, 0, 0)
        } else {
            -1
        };
        if linked == EEXIST {
            return None;
        }
        if linked == 0 {
            copy = Some(name);
        } else if kind == S_IFREG {
            let out = sc4(nr::OPENAT, at, target.as_ptr() as usize, (O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC) as usize, 0o600);
            if out == EEXIST {
                return None;
            }
            if out >= 0 {
                // The marker stays (so later changes find the path captured) even without the bytes.
                if st.size <= cap && has_room(out as usize, st.size) {
                    let flags = (O_RDONLY | O_CLOEXEC | if follow { 0 } else { O_NOFOLLOW }) as usize;
                    let src = sc4(nr::OPENAT, at, path.as_ptr() as usize, flags, 0);
                    if src >= 0 {
                        if copy_all(src as usize, out as usize, st.size) {
                            copy = Some(name);
                        } else {
                            sc2(nr::FTRUNCATE, out as usize, 0);
                        }
                        sc1(nr::CLOSE, src as usize);
                    }
                }
                sc1(nr::CLOSE, out as usize);
            }
        }
    }
    Some(Captured {
        dev: makedev(st.dev_major, st.dev_minor),
        ino: st.ino,
        size: st.size,
        mtime_ns: st.mtime.tv_sec * 1_000_000_000 + st.mtime.tv_nsec as i64,
        ctime_ns: st.ctime.tv_sec * 1_000_000_000 + st.ctime.tv_nsec as i64,
        mode: st.mode as u32,
        copy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(i: usize, kind: &str) -> Vec<u8> {
        format!("/home/user/project/data/{kind}/{:03}/file-{i}.bin", i % 997).into_bytes()
    }

    #[test]
    fn every_marked_path_may_have_been_read_and_few_others_seem_so() {
        let mut filter = vec![0u64; READS_BYTES / 8];
        let reads = filter.as_mut_ptr();
        // SAFETY: `filter` is READS_BYTES long and outlives the calls.
        unsafe {
            assert!(!maybe_read(reads, b"/etc/hostname"), "an empty filter holds nothing");
            for i in 0..20_000 {
                mark_read(reads, &path(i, "in"));
            }
            assert!((0..20_000).all(|i| maybe_read(reads, &path(i, "in"))), "no false negative");
            let false_positives = (0..100_000).filter(|&i| maybe_read(reads, &path(i, "out"))).count();
            // Three bits of one of 16 Ki words a path: ~0.05 % expected at 20,000 paths.
            assert!(false_positives < 150, "{false_positives} false positives in 100,000");
            assert!(maybe_read(core::ptr::null_mut(), b"/x"), "no filter: anything may have been read");
        }
    }

    #[test]
    fn a_path_hashed_onto_its_directory_is_the_path_hashed_whole() {
        let dir = b"/home/user/project";
        assert_eq!(hash_on(hash_on(hash_of(dir), b"/"), b"data/x.csv"), hash_of(b"/home/user/project/data/x.csv"));
        assert_ne!(read_slot(hash_of(b"/a/b")), read_slot(hash_of(b"/a/c")));
    }
}
