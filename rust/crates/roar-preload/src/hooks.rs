//! The interposed file-system functions. Each calls the real function first, then (on success) records one
//! event into the per-process buffer. errno is preserved across the recording.
//!
//! No indexing or slicing that could panic here (README.md, "Panics"): `head`, `get` and `first` instead.
#![deny(clippy::indexing_slicing)]

use core::ffi::{c_char, c_int, c_long, c_uint, c_void};

use roar_events::{flags as evflags, rec};

use roar_sys::calls::{self, Call, Sys};
use roar_sys::prewrite::{self, Change};

use crate::real::{call_real, errno, set_errno};
use crate::state::{self, active, lock, now_ns, open_stat, resolve};
use crate::sys::{self, cstr, head, Stat, AT_FDCWD};

type OpenFn = unsafe extern "C" fn(*const c_char, c_int, c_uint) -> c_int;
type Open2Fn = unsafe extern "C" fn(*const c_char, c_int) -> c_int;
type OpenatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint) -> c_int;
type Openat2Fn = unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int;
type CreatFn = unsafe extern "C" fn(*const c_char, c_uint) -> c_int;
type FopenFn = unsafe extern "C" fn(*const c_char, *const c_char) -> *mut c_void;
type FreopenFn = unsafe extern "C" fn(*const c_char, *const c_char, *mut c_void) -> *mut c_void;
type Path1Fn = unsafe extern "C" fn(*const c_char) -> c_int;
type Path2Fn = unsafe extern "C" fn(*const c_char, *const c_char) -> c_int;
type At1Fn = unsafe extern "C" fn(c_int, *const c_char, c_int) -> c_int;
type At2Fn = unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_char) -> c_int;
type At2FlFn = unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_char, c_uint) -> c_int;
type LinkatFn = unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_char, c_int) -> c_int;
type SymlinkatFn = unsafe extern "C" fn(*const c_char, c_int, *const c_char) -> c_int;
type TruncFn = unsafe extern "C" fn(*const c_char, i64) -> c_int;
type FtruncFn = unsafe extern "C" fn(c_int, i64) -> c_int;
type FchdirFn = unsafe extern "C" fn(c_int) -> c_int;
type SyscallFn = unsafe extern "C" fn(c_long, c_long, c_long, c_long, c_long, c_long, c_long) -> c_long;

extern "C" {
    fn fileno(f: *mut c_void) -> c_int;
}

// ---------------------------------------------------------------------------------------------- recording

/// Records a successful open of `path` (relative to `dirfd`) that returned `fd`. Directories are not file
/// accesses (but their paths are kept for later `openat(dirfd, ...)`); a read-only open gets its stat from
/// the program's next fstat of `fd` (see state::lock's `Pending`), a writing one from ours, now.
pub unsafe fn note_open(dirfd: c_int, path: *const c_char, flags: c_int, fd: c_int) {
    if fd < 0 || path.is_null() || !active() || flags & sys::O_PATH != 0 || flags & sys::O_TMPFILE == sys::O_TMPFILE {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(mut l) = lock() {
        let s = &mut *l.scr;
        let n = resolve(head(&s.cwd, s.cwd_len), &mut s.tmp, dirfd, cstr(path as *const u8), &mut s.a);
        if n > 0 {
            let p = head(&s.a, n);
            if flags & sys::O_DIRECTORY != 0 {
                state::remember_dir(fd, p);
            } else if flags & sys::O_ACCMODE != 0 || flags & (sys::O_CREAT | sys::O_TRUNC) != 0 {
                let mut st = Stat::default();
                let has_stat = sys::fstat(fd, &mut st) == 0;
                if !(has_stat && st.st_mode & sys::S_IFMT == sys::S_IFDIR) {
                    let os = has_stat.then(|| open_stat(&st));
                    l.out.push(ts, |b, pid, seq, ts| rec::open(b, pid, seq, ts, p, flags as u32, fd, os.as_ref()));
                }
            } else {
                // A path relative to the cwd that resolved to the cwd, a slash and itself: hashed onto the cwd's hash
                // (the same as hashing it whole, for the few bytes of its own). (Equal lengths: resolving only shortens.)
                let raw = cstr(path as *const u8);
                let hash = if dirfd == AT_FDCWD && raw.first() != Some(&b'/') && n == s.cwd_len + 1 + raw.len() {
                    prewrite::hash_on(s.cwd_hash, raw)
                } else {
                    prewrite::hash_of(p)
                };
                // SAFETY: the filter is a live mapping or null.
                unsafe { prewrite::mark_slot(state::reads_filter(), prewrite::read_slot(hash)) };
                if let Some(start) = l.out.push_held(ts, |b, pid, seq, ts| rec::open(b, pid, seq, ts, p, flags as u32, fd, None)) {
                    l.set_pending(fd, start);
                }
            }
        }
    }
    set_errno(e);
}

/// Paths this process captured (or found captured) lately, by hash: a program that reopens one file for
/// appending many times costs no system calls after the first.
static RECENT: [core::sync::atomic::AtomicU64; 16] = [const { core::sync::atomic::AtomicU64::new(0) }; 16];

fn path_hash(p: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in p {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | 1 // never 0, the empty slot
}

/// Before a call that may change the file at `path` (relative to `dirfd`): the first time the job does so,
/// capture it and record PREWRITE (see roar-sys prewrite). `follow`: the call follows a final symlink.
pub unsafe fn before_change(dirfd: c_int, path: *const c_char, change: Change, follow: bool) {
    before_change_reading(dirfd, path, change, follow, false);
}

/// As `before_change`; `reads`: the call may also read the file (its bytes are kept as an input).
unsafe fn before_change_reading(dirfd: c_int, path: *const c_char, change: Change, follow: bool, reads: bool) {
    if path.is_null() || !active() {
        return;
    }
    let Some((dir, policy)) = state::prewrite_cfg() else { return };
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        let n = resolve(head(&s.cwd, s.cwd_len), &mut s.tmp, dirfd, cstr(path as *const u8), &mut s.a);
        if n > 0 && n < s.a.len() {
            if reads {
                prewrite::mark_read(state::reads_filter(), head(&s.a, n));
            }
            capture_resolved(l, n, dir, policy, change, follow, ts);
        }
    }
    set_errno(e);
}

/// As `before_change`, for the file open on `fd` (ftruncate).
unsafe fn before_change_fd(fd: c_int) {
    if !active() {
        return;
    }
    let Some((dir, policy)) = state::prewrite_cfg() else { return };
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        let n = state::fd_path(fd, &mut s.a);
        if n > 0 && n < s.a.len() && s.a.first() == Some(&b'/') && !head(&s.a, n).ends_with(b" (deleted)") {
            capture_resolved(l, n, dir, policy, Change::Content, true, ts);
        }
    }
    set_errno(e);
}

/// Captures the path in the scratch buffer `a` (its first `n` bytes) and records PREWRITE.
unsafe fn capture_resolved(
    l: state::Locked,
    n: usize,
    dir: &[u8],
    policy: prewrite::Policy,
    change: Change,
    follow: bool,
    ts: u64,
) {
    let s = &mut *l.scr;
    let h = path_hash(head(&s.a, n));
    if RECENT.iter().any(|r| r.load(core::sync::atomic::Ordering::Relaxed) == h) {
        return;
    }
    if let Some(slot) = RECENT.get((h as usize >> 1) % RECENT.len()) {
        slot.store(h, core::sync::atomic::Ordering::Relaxed);
    }
    let keep = policy.keep_all || prewrite::maybe_read(state::reads_filter(), head(&s.a, n));
    let Some(end) = s.a.get_mut(n) else { return };
    *end = 0;
    let Some(z) = s.a.get(..=n) else { return };
    let Some(c) = prewrite::capture(z, dir, policy.cap, change, follow, keep) else { return };
    let st = roar_events::OpenStat { dev: c.dev, ino: c.ino, size: c.size, mtime_ns: c.mtime_ns, ctime_ns: c.ctime_ns };
    let p = head(&s.a, n);
    let copy = c.copy;
    l.out.push(ts, |b, pid, seq, ts| rec::prewrite(b, pid, seq, ts, p, &st, c.mode, copy.as_ref().map(|x| &x[..])));
}

/// The program is about to lose `fd` (close, dup2 over it, fclose, closedir): a pending open on it must
/// take its stat now.
#[inline]
unsafe fn settle_before_losing(lo: c_int, hi: c_int) {
    let p = state::pending_fd();
    if p >= 0 && p >= lo && p <= hi {
        let e = errno();
        // Inside another hook (a close from a signal handler) the lock is not ours to take: the record keeps
        // its nil stat rather than get the stat of whatever file reuses the number next.
        if lock().is_none() {
            state::abandon_pending(p);
        }
        set_errno(e);
    }
}

/// Settles a pending open before a call that may change file contents or names (a write-open, rename,
/// unlink, truncate): its stat must describe what was read, not what this call leaves.
#[inline]
fn settle_pending() {
    if state::pending_fd() >= 0 {
        let e = errno();
        drop(lock());
        set_errno(e);
    }
}

#[inline]
fn writes(flags: c_int) -> bool {
    flags & sys::O_ACCMODE != 0 || flags & (sys::O_CREAT | sys::O_TRUNC) != 0
}

/// Before a read-only open: starts fetching the read filter's word that note_open will mark, so that the open's
/// own system call hides the wait for it (prewrite::prefetch_slot). A hint: a path it cannot hash as note_open
/// will (relative to a directory descriptor) is left alone.
#[inline]
unsafe fn prefetch_read_mark(dirfd: c_int, path: *const c_char, flags: c_int) {
    if path.is_null() || flags & (sys::O_DIRECTORY | sys::O_PATH) != 0 || !active() {
        return;
    }
    let raw = cstr(path as *const u8);
    let hash = if raw.first() == Some(&b'/') {
        prewrite::hash_of(raw)
    } else if dirfd == AT_FDCWD {
        prewrite::hash_on(state::CWD_HASH.load(core::sync::atomic::Ordering::Relaxed), raw)
    } else {
        return;
    };
    prewrite::prefetch_slot(state::reads_filter(), prewrite::read_slot(hash));
}

/// Before a writing open: settles a pending read, and captures the file unless the open can only create it.
#[inline]
pub(crate) unsafe fn before_write_open(dirfd: c_int, path: *const c_char, flags: c_int) {
    settle_pending();
    if flags & (sys::O_CREAT | sys::O_EXCL) != sys::O_CREAT | sys::O_EXCL {
        // An O_RDWR open may read before it writes: its bytes are an input to keep.
        let reads = flags & sys::O_ACCMODE == sys::O_RDWR && flags & sys::O_TRUNC == 0;
        before_change_reading(dirfd, path, Change::Content, flags & sys::O_NOFOLLOW == 0, reads);
    }
}

/// The program's own stat of `fd` succeeded: the pending open on it takes it.
#[inline]
unsafe fn stat_seen(fd: c_int, st: *const Stat) {
    if state::pending_fd() == fd && !st.is_null() {
        let e = errno();
        if let Some(mut l) = state::lock_raw() {
            if state::pending_fd() == fd {
                l.settle(Some(&*st));
            }
        }
        set_errno(e);
    }
}

/// Which two-path record to emit.
#[derive(Clone, Copy)]
enum Two {
    Rename,
    Link,
    Symlink,
}

unsafe fn note_two(kind: Two, d1: c_int, p1: *const c_char, d2: c_int, p2: *const c_char) {
    if !active() {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        let cwd = head(&s.cwd, s.cwd_len);
        let n1 = match kind {
            // a symlink's target is raw text, not a path of ours to resolve
            Two::Symlink => {
                let t = cstr(p1 as *const u8);
                let n = t.len().min(s.a.len());
                if let (Some(to), Some(from)) = (s.a.get_mut(..n), t.get(..n)) {
                    to.copy_from_slice(from);
                }
                n
            }
            _ => resolve(cwd, &mut s.tmp, d1, cstr(p1 as *const u8), &mut s.a),
        };
        let n2 = resolve(cwd, &mut s.tmp, d2, cstr(p2 as *const u8), &mut s.b);
        if n1 > 0 && n2 > 0 {
            let (a, b) = (head(&s.a, n1), head(&s.b, n2));
            match kind {
                Two::Rename => {
                    l.out.push(ts, |buf, pid, seq, ts| rec::rename(buf, pid, seq, ts, a, b));
                    // It may have been a directory that cached descriptor paths point into.
                    state::forget_fds(0, i32::MAX);
                }
                Two::Link => l.out.push(ts, |buf, pid, seq, ts| rec::link(buf, pid, seq, ts, a, b, 0)),
                Two::Symlink => l.out.push(ts, |buf, pid, seq, ts| {
                    rec::link(buf, pid, seq, ts, a, b, evflags::LINK_SYMLINK)
                }),
            }
        }
    }
    set_errno(e);
}

#[derive(Clone, Copy)]
enum One {
    Unlink(u32),
    Truncate,
    Chdir,
}

unsafe fn note_one(kind: One, dirfd: c_int, path: *const c_char) {
    if !active() {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        if let One::Chdir = kind {
            s.refresh_cwd();
            let p = head(&s.cwd, s.cwd_len);
            l.out.push(ts, |buf, pid, seq, ts| rec::chdir(buf, pid, seq, ts, p));
        } else {
            let n = resolve(head(&s.cwd, s.cwd_len), &mut s.tmp, dirfd, cstr(path as *const u8), &mut s.a);
            if n > 0 {
                let p = head(&s.a, n);
                match kind {
                    One::Unlink(f) => l.out.push(ts, |buf, pid, seq, ts| rec::unlink(buf, pid, seq, ts, p, f)),
                    _ => l.out.push(ts, |buf, pid, seq, ts| rec::truncate(buf, pid, seq, ts, p)),
                }
            }
        }
    }
    set_errno(e);
}

/// linkat of an O_TMPFILE descriptor gives the anonymous file its name: recorded as a create-open of `to`.
unsafe fn note_linkat(d1: c_int, p1: *const c_char, d2: c_int, p2: *const c_char, flags: c_int) {
    if !active() {
        return;
    }
    let src = cstr(p1 as *const u8);
    let mut target = [0u8; 512];
    // the source descriptor: AT_EMPTY_PATH with dirfd, or "/proc/self/fd/N" followed
    let fd_src = if flags & sys::AT_EMPTY_PATH != 0 && src.is_empty() {
        Some(d1)
    } else if let Some(rest) = src.strip_prefix(b"/proc/self/fd/") {
        parse_int(rest)
    } else {
        None
    };
    if let Some(fd) = fd_src {
        let n = state::fd_path(fd, &mut target);
        if n == 0 || head(&target, n).ends_with(b" (deleted)") {
            let e = errno();
            let mut st = Stat::default();
            let p2r = cstr(p2 as *const u8);
            let has = sys::fstat(fd, &mut st) == 0;
            let ts = now_ns();
            if let Some(l) = lock() {
                let s = &mut *l.scr;
                let n = resolve(head(&s.cwd, s.cwd_len), &mut s.tmp, d2, p2r, &mut s.a);
                if n > 0 {
                    let os = has.then(|| open_stat(&st));
                    let p = head(&s.a, n);
                    let fl = (sys::O_CREAT | sys::O_WRONLY) as u32;
                    l.out.push(ts, |b, pid, seq, ts| rec::open(b, pid, seq, ts, p, fl, -1, os.as_ref()));
                }
            }
            set_errno(e);
            return;
        }
        // a named file linked through its descriptor
        let e = errno();
        let ts = now_ns();
        if let Some(l) = lock() {
            let s = &mut *l.scr;
            let n2 = resolve(head(&s.cwd, s.cwd_len), &mut s.tmp, d2, cstr(p2 as *const u8), &mut s.b);
            if n2 > 0 {
                let (a, b) = (head(&target, n), head(&s.b, n2));
                l.out.push(ts, |buf, pid, seq, ts| rec::link(buf, pid, seq, ts, a, b, 0));
            }
        }
        set_errno(e);
        return;
    }
    note_two(Two::Link, d1, p1, d2, p2);
}

fn parse_int(s: &[u8]) -> Option<c_int> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut v: c_int = 0;
    for &c in s {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as c_int;
    }
    Some(v)
}

unsafe fn note_ftruncate(fd: c_int) {
    if !active() {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        let n = state::fd_path(fd, &mut s.a);
        if n > 0 && s.a.first() == Some(&b'/') {
            let p = head(&s.a, n);
            l.out.push(ts, |buf, pid, seq, ts| rec::truncate(buf, pid, seq, ts, p));
        }
    }
    set_errno(e);
}

fn fopen_flags(mode: *const c_char) -> c_int {
    // SAFETY: fopen's `mode` is a NUL-terminated string by contract (callers checked it is not null).
    let m = unsafe { cstr(mode as *const u8) };
    let mut f = match m.first() {
        Some(b'w') => sys::O_WRONLY | sys::O_CREAT | sys::O_TRUNC,
        Some(b'a') => sys::O_WRONLY | sys::O_CREAT | sys::O_APPEND,
        _ => sys::O_RDONLY,
    };
    for &c in m.iter().skip(1) {
        match c {
            b'+' => f = (f & !3) | sys::O_RDWR,
            b'x' => f |= sys::O_EXCL,
            b'e' => f |= sys::O_CLOEXEC,
            b',' => break,
            _ => {}
        }
    }
    f
}

// ---------------------------------------------------------------------------------------------- opens

/// A hook for a libc function that opens a file and returns its descriptor: `$dirfd`, `$path` and `$flags`
/// (expressions over the arguments) say what it opened. A writing open settles a pending read first.
macro_rules! fd_open_hook {
    ($name:ident: $ty:ty, ($($arg:ident: $t:ty),*), $dirfd:expr, $path:expr, $flags:expr) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $t),*) -> c_int {
            let flags: c_int = $flags;
            if writes(flags) {
                before_write_open($dirfd, $path, flags);
            } else {
                prefetch_read_mark($dirfd, $path, flags);
            }
            let fd = call_real!($name: $ty, -1, ($($arg),*));
            if fd >= 0 {
                note_open($dirfd, $path, flags, fd);
            }
            fd
        }
    };
}

fd_open_hook!(open: OpenFn, (path: *const c_char, flags: c_int, mode: c_uint), AT_FDCWD, path, flags);
fd_open_hook!(open64: OpenFn, (path: *const c_char, flags: c_int, mode: c_uint), AT_FDCWD, path, flags);
fd_open_hook!(__open_2: Open2Fn, (path: *const c_char, flags: c_int), AT_FDCWD, path, flags);
fd_open_hook!(__open64_2: Open2Fn, (path: *const c_char, flags: c_int), AT_FDCWD, path, flags);
fd_open_hook!(openat: OpenatFn, (dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint), dirfd, path, flags);
fd_open_hook!(openat64: OpenatFn, (dirfd: c_int, path: *const c_char, flags: c_int, mode: c_uint), dirfd, path, flags);
fd_open_hook!(__openat_2: Openat2Fn, (dirfd: c_int, path: *const c_char, flags: c_int), dirfd, path, flags);
fd_open_hook!(__openat64_2: Openat2Fn, (dirfd: c_int, path: *const c_char, flags: c_int), dirfd, path, flags);
const CREAT: c_int = sys::O_CREAT | sys::O_WRONLY | sys::O_TRUNC;
fd_open_hook!(creat: CreatFn, (path: *const c_char, mode: c_uint), AT_FDCWD, path, CREAT);
fd_open_hook!(creat64: CreatFn, (path: *const c_char, mode: c_uint), AT_FDCWD, path, CREAT);

// The mkstemp family creates its file with an open inside libc that no hook sees (sed -i, Python's tempfile
// through glibc, editors' atomic saves). Recorded as the exclusive create it is, under the name libc filled in.
type MkstempFn = unsafe extern "C" fn(*mut c_char) -> c_int;
type MkostempFn = unsafe extern "C" fn(*mut c_char, c_int) -> c_int;
type MkstempsFn = unsafe extern "C" fn(*mut c_char, c_int) -> c_int;
type MkostempsFn = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
const TEMP_CREATE: c_int = sys::O_RDWR | sys::O_CREAT | sys::O_EXCL;

fd_open_hook!(mkstemp: MkstempFn, (template: *mut c_char), AT_FDCWD, template, TEMP_CREATE);
fd_open_hook!(mkstemp64: MkstempFn, (template: *mut c_char), AT_FDCWD, template, TEMP_CREATE);
fd_open_hook!(mkostemp: MkostempFn, (template: *mut c_char, flags: c_int), AT_FDCWD, template, TEMP_CREATE | flags);
fd_open_hook!(mkostemp64: MkostempFn, (template: *mut c_char, flags: c_int), AT_FDCWD, template, TEMP_CREATE | flags);
fd_open_hook!(mkstemps: MkstempsFn, (template: *mut c_char, suffix_len: c_int), AT_FDCWD, template, TEMP_CREATE);
fd_open_hook!(mkstemps64: MkstempsFn, (template: *mut c_char, suffix_len: c_int), AT_FDCWD, template, TEMP_CREATE);
fd_open_hook!(
    mkostemps: MkostempsFn,
    (template: *mut c_char, suffix_len: c_int, flags: c_int),
    AT_FDCWD,
    template,
    TEMP_CREATE | flags
);
fd_open_hook!(
    mkostemps64: MkostempsFn,
    (template: *mut c_char, suffix_len: c_int, flags: c_int),
    AT_FDCWD,
    template,
    TEMP_CREATE | flags
);

macro_rules! fopen_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char) -> *mut c_void {
            if writes(fopen_flags(mode)) {
                before_write_open(AT_FDCWD, path, fopen_flags(mode));
            }
            let f = call_real!($name: FopenFn, core::ptr::null_mut(), (path, mode));
            if !f.is_null() && active() {
                note_open(AT_FDCWD, path, fopen_flags(mode), fileno(f));
            }
            f
        }
    };
}
fopen_hook!(fopen);
fopen_hook!(fopen64);

macro_rules! freopen_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: *const c_char, s: *mut c_void) -> *mut c_void {
            settle_pending();
            if !path.is_null() && writes(fopen_flags(mode)) {
                before_write_open(AT_FDCWD, path, fopen_flags(mode));
            }
            let f = call_real!($name: FreopenFn, core::ptr::null_mut(), (path, mode, s));
            if !f.is_null() && !path.is_null() && active() {
                note_open(AT_FDCWD, path, fopen_flags(mode), fileno(f));
            }
            f
        }
    };
}
freopen_hook!(freopen);
freopen_hook!(freopen64);

// ---------------------------------------------------------------------------------------------- renames, links

#[no_mangle]
pub unsafe extern "C" fn rename(from: *const c_char, to: *const c_char) -> c_int {
    before_rename(AT_FDCWD, from, AT_FDCWD, to);
    let r = call_real!(rename: Path2Fn, -1, (from, to));
    if r == 0 {
        note_rename(AT_FDCWD, from, AT_FDCWD, to, false);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn renameat(d1: c_int, from: *const c_char, d2: c_int, to: *const c_char) -> c_int {
    before_rename(d1, from, d2, to);
    let r = call_real!(renameat: At2Fn, -1, (d1, from, d2, to));
    if r == 0 {
        note_rename(d1, from, d2, to, false);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn renameat2(d1: c_int, from: *const c_char, d2: c_int, to: *const c_char, fl: c_uint) -> c_int {
    before_rename(d1, from, d2, to);
    let r = call_real!(renameat2: At2FlFn, -1, (d1, from, d2, to, fl));
    if r == 0 {
        note_rename(d1, from, d2, to, fl & calls::RENAME_EXCHANGE != 0);
    }
    r
}

/// Both names of a rename may lose what they hold (the target is replaced, the source goes away).
unsafe fn before_rename(d1: c_int, from: *const c_char, d2: c_int, to: *const c_char) {
    settle_pending();
    before_change(d1, from, Change::Name, false);
    before_change(d2, to, Change::Name, false);
}

/// A successful rename. With RENAME_EXCHANGE both names stay and now hold each other's content: reported as
/// two write OPENs, as the contract (and the ptrace tracer) has it.
unsafe fn note_rename(d1: c_int, from: *const c_char, d2: c_int, to: *const c_char, exchange: bool) {
    if !exchange {
        return note_two(Two::Rename, d1, from, d2, to);
    }
    if !active() {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        let cwd = head(&s.cwd, s.cwd_len);
        let n1 = resolve(cwd, &mut s.tmp, d1, cstr(from as *const u8), &mut s.a);
        let n2 = resolve(cwd, &mut s.tmp, d2, cstr(to as *const u8), &mut s.b);
        let fl = calls::O_CREAT | calls::O_WRONLY;
        for p in [head(&s.a, n1), head(&s.b, n2)] {
            if !p.is_empty() {
                l.out.push(ts, |b, pid, seq, ts| rec::open(b, pid, seq, ts, p, fl, -1, None));
            }
        }
        // Either may have been a directory that cached descriptor paths point into.
        state::forget_fds(0, i32::MAX);
    }
    set_errno(e);
}

#[no_mangle]
pub unsafe extern "C" fn link(from: *const c_char, to: *const c_char) -> c_int {
    let r = call_real!(link: Path2Fn, -1, (from, to));
    if r == 0 {
        note_two(Two::Link, AT_FDCWD, from, AT_FDCWD, to);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn linkat(d1: c_int, from: *const c_char, d2: c_int, to: *const c_char, fl: c_int) -> c_int {
    let r = call_real!(linkat: LinkatFn, -1, (d1, from, d2, to, fl));
    if r == 0 {
        note_linkat(d1, from, d2, to, fl);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn symlink(target: *const c_char, to: *const c_char) -> c_int {
    let r = call_real!(symlink: Path2Fn, -1, (target, to));
    if r == 0 {
        note_two(Two::Symlink, AT_FDCWD, target, AT_FDCWD, to);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn symlinkat(target: *const c_char, d: c_int, to: *const c_char) -> c_int {
    let r = call_real!(symlinkat: SymlinkatFn, -1, (target, d, to));
    if r == 0 {
        note_two(Two::Symlink, AT_FDCWD, target, d, to);
    }
    r
}

// ---------------------------------------------------------------------------------------------- unlink, truncate

#[no_mangle]
pub unsafe extern "C" fn unlink(path: *const c_char) -> c_int {
    settle_pending();
    before_change(AT_FDCWD, path, Change::Name, false);
    let r = call_real!(unlink: Path1Fn, -1, (path));
    if r == 0 {
        note_one(One::Unlink(0), AT_FDCWD, path);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn rmdir(path: *const c_char) -> c_int {
    settle_pending();
    let r = call_real!(rmdir: Path1Fn, -1, (path));
    if r == 0 {
        note_one(One::Unlink(evflags::UNLINK_DIR), AT_FDCWD, path);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn unlinkat(d: c_int, path: *const c_char, fl: c_int) -> c_int {
    settle_pending();
    if fl & sys::AT_REMOVEDIR == 0 {
        before_change(d, path, Change::Name, false);
    }
    let r = call_real!(unlinkat: At1Fn, -1, (d, path, fl));
    if r == 0 {
        let f = if fl & sys::AT_REMOVEDIR != 0 { evflags::UNLINK_DIR } else { 0 };
        note_one(One::Unlink(f), d, path);
    }
    r
}

macro_rules! truncate_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(path: *const c_char, len: i64) -> c_int {
            settle_pending();
            before_change(AT_FDCWD, path, Change::Content, true);
            let r = call_real!($name: TruncFn, -1, (path, len));
            if r == 0 {
                note_one(One::Truncate, AT_FDCWD, path);
            }
            r
        }
    };
}
truncate_hook!(truncate);
truncate_hook!(truncate64);

macro_rules! ftruncate_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int, len: i64) -> c_int {
            settle_pending();
            before_change_fd(fd);
            let r = call_real!($name: FtruncFn, -1, (fd, len));
            if r == 0 {
                note_ftruncate(fd);
            }
            r
        }
    };
}
ftruncate_hook!(ftruncate);
ftruncate_hook!(ftruncate64);

// ---------------------------------------------------------------------------------------------- cwd

#[no_mangle]
pub unsafe extern "C" fn chdir(path: *const c_char) -> c_int {
    let r = call_real!(chdir: Path1Fn, -1, (path));
    if r == 0 {
        note_one(One::Chdir, AT_FDCWD, path);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn fchdir(fd: c_int) -> c_int {
    let r = call_real!(fchdir: FchdirFn, -1, (fd));
    if r == 0 {
        note_one(One::Chdir, AT_FDCWD, core::ptr::null());
    }
    r
}

// ---------------------------------------------------------------------------------------------- fd reuse

type CloseFn = unsafe extern "C" fn(c_int) -> c_int;
type Dup2Fn = unsafe extern "C" fn(c_int, c_int) -> c_int;
type Dup3Fn = unsafe extern "C" fn(c_int, c_int, c_int) -> c_int;
type CloseRangeFn = unsafe extern "C" fn(c_uint, c_uint, c_int) -> c_int;
type ClosefromFn = unsafe extern "C" fn(c_int);

// These only keep the directory-path cache honest (before and after: another thread may race either way).
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    settle_before_losing(fd, fd);
    state::forget_fds(fd, fd);
    let r = call_real!(close: CloseFn, -1, (fd));
    state::forget_fds(fd, fd);
    r
}

#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    settle_before_losing(new, new);
    state::forget_fds(new, new);
    let r = call_real!(dup2: Dup2Fn, -1, (old, new));
    state::forget_fds(new, new);
    r
}

#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, fl: c_int) -> c_int {
    settle_before_losing(new, new);
    state::forget_fds(new, new);
    let r = call_real!(dup3: Dup3Fn, -1, (old, new, fl));
    state::forget_fds(new, new);
    r
}

#[no_mangle]
pub unsafe extern "C" fn close_range(lo: c_uint, hi: c_uint, fl: c_int) -> c_int {
    let hi_i = hi.min(i32::MAX as c_uint) as c_int;
    settle_before_losing(lo as c_int, hi_i);
    state::forget_fds(lo as c_int, hi_i);
    let r = call_real!(close_range: CloseRangeFn, -1, (lo, hi, fl));
    state::forget_fds(lo as c_int, hi_i);
    r
}

#[no_mangle]
pub unsafe extern "C" fn closefrom(lo: c_int) {
    settle_before_losing(lo, i32::MAX);
    state::forget_fds(lo, i32::MAX);
    if let Some(f) = crate::real::real!(closefrom: ClosefromFn) {
        f(lo);
    }
    state::forget_fds(lo, i32::MAX);
}

type ClosedirFn = unsafe extern "C" fn(*mut c_void) -> c_int;
type FcloseFn = unsafe extern "C" fn(*mut c_void) -> c_int;

extern "C" {
    fn dirfd(d: *mut c_void) -> c_int;
}

/// closedir closes its descriptor inside libc, where the close hook does not see it.
#[no_mangle]
pub unsafe extern "C" fn closedir(d: *mut c_void) -> c_int {
    let fd = if d.is_null() { -1 } else { dirfd(d) };
    if fd >= 0 {
        settle_before_losing(fd, fd);
        state::forget_fds(fd, fd);
    }
    let r = call_real!(closedir: ClosedirFn, -1, (d));
    if fd >= 0 {
        state::forget_fds(fd, fd);
    }
    r
}

/// fclose too (a stream from fopen or fdopen).
#[no_mangle]
pub unsafe extern "C" fn fclose(f: *mut c_void) -> c_int {
    if !f.is_null() && state::pending_fd() >= 0 {
        let fd = fileno(f);
        if fd >= 0 {
            settle_before_losing(fd, fd);
        }
    }
    call_real!(fclose: FcloseFn, -1, (f))
}

// ---------------------------------------------------------------------------------------------- stats
// Only to hand the program's fstat of a just-opened descriptor to its pending OPEN record (see note_open).

type FstatFn = unsafe extern "C" fn(c_int, *mut Stat) -> c_int;
type FstatatFn = unsafe extern "C" fn(c_int, *const c_char, *mut Stat, c_int) -> c_int;
type FxstatFn = unsafe extern "C" fn(c_int, c_int, *mut Stat) -> c_int;
type StatxFn = unsafe extern "C" fn(c_int, *const c_char, c_int, c_uint, *mut sys::Statx) -> c_int;

macro_rules! fstat_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(fd: c_int, st: *mut Stat) -> c_int {
            let r = call_real!($name: FstatFn, -1, (fd, st));
            if r == 0 {
                stat_seen(fd, st);
            }
            r
        }
    };
}
fstat_hook!(fstat);
fstat_hook!(fstat64);

/// glibc before 2.33 exported stat functions as __fxstat (programs built then still call it).
macro_rules! fxstat_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(ver: c_int, fd: c_int, st: *mut Stat) -> c_int {
            let r = call_real!($name: FxstatFn, -1, (ver, fd, st));
            if r == 0 {
                stat_seen(fd, st);
            }
            r
        }
    };
}
fxstat_hook!(__fxstat);
fxstat_hook!(__fxstat64);

macro_rules! fstatat_hook {
    ($name:ident) => {
        #[no_mangle]
        pub unsafe extern "C" fn $name(dirfd: c_int, path: *const c_char, st: *mut Stat, flags: c_int) -> c_int {
            let r = call_real!($name: FstatatFn, -1, (dirfd, path, st, flags));
            if r == 0 && flags & sys::AT_EMPTY_PATH != 0 && !path.is_null() && *path == 0 {
                stat_seen(dirfd, st);
            }
            r
        }
    };
}
fstatat_hook!(fstatat);
fstatat_hook!(fstatat64);

#[no_mangle]
pub unsafe extern "C" fn statx(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, x: *mut sys::Statx) -> c_int {
    let r = call_real!(statx: StatxFn, -1, (dirfd, path, flags, mask, x));
    const NEEDED: u32 = 0x1 | 0x2 | 0x100 | 0x200 | 0x40 | 0x80; // TYPE, MODE, INO, SIZE, MTIME, CTIME
    if r == 0
        && flags & sys::AT_EMPTY_PATH != 0
        && !path.is_null()
        && *path == 0
        && state::pending_fd() == dirfd
        && (*x).mask & NEEDED == NEEDED
    {
        let st = sys::stat_from_statx(&*x);
        stat_seen(dirfd, &st);
    }
    r
}

// ---------------------------------------------------------------------------------------------- syscall()

/// libc's variadic syscall(): declared with seven integer arguments, which is how both supported ABIs pass
/// variadic integers. Decoded by roar-sys's table, the same one the ptrace tracer uses; numbers it does not
/// list (futex through syscall() is hot in some programs) go straight through after one `match`.
#[no_mangle]
pub unsafe extern "C" fn syscall(n: c_long, a1: c_long, a2: c_long, a3: c_long, a4: c_long, a5: c_long, a6: c_long) -> c_long {
    let fwd = || call_real!(syscall: SyscallFn, -1, (n, a1, a2, a3, a4, a5, a6));
    let Some(s) = calls::sys_of(n as usize) else { return fwd() };
    let a = [a1, a2, a3, a4, a5, a6].map(|v| v as usize);
    let Some(call) = calls::decode(s, &a, &calls::OwnMemory) else { return fwd() };
    let ptr = |v: usize| v as *const c_char;
    if let Call::DropFds { lo, hi } = call {
        // Kept up to date even when not recording: the directory cache must never name a closed descriptor.
        settle_before_losing(lo, hi);
        state::forget_fds(lo, hi);
        let r = fwd();
        state::forget_fds(lo, hi);
        return r;
    }
    if !active() {
        return fwd();
    }
    settle_pending(); // cheap when nothing is pending; every file call below may change files
    match call {
        Call::Open { dirfd, path, flags } => {
            let fl = flags as c_int;
            if writes(fl) {
                before_write_open(dirfd, ptr(path), fl);
            }
            let r = fwd();
            if r >= 0 {
                note_open(dirfd, ptr(path), fl, r as c_int);
            }
            r
        }
        Call::Rename { from_dir, from, to_dir, to, exchange } => {
            before_rename(from_dir, ptr(from), to_dir, ptr(to));
            let r = fwd();
            if r == 0 {
                note_rename(from_dir, ptr(from), to_dir, ptr(to), exchange);
            }
            r
        }
        Call::Link { from_dir, from, to_dir, to, flags } => {
            let r = fwd();
            if r == 0 {
                note_linkat(from_dir, ptr(from), to_dir, ptr(to), flags as c_int);
            }
            r
        }
        Call::Symlink { target, to_dir, to } => {
            let r = fwd();
            if r == 0 {
                note_two(Two::Symlink, AT_FDCWD, ptr(target), to_dir, ptr(to));
            }
            r
        }
        Call::Unlink { dirfd, path, dir } => {
            if !dir {
                before_change(dirfd, ptr(path), Change::Name, false);
            }
            let r = fwd();
            if r == 0 {
                note_one(One::Unlink(if dir { evflags::UNLINK_DIR } else { 0 }), dirfd, ptr(path));
            }
            r
        }
        Call::Truncate { path } => {
            before_change(AT_FDCWD, ptr(path), Change::Content, true);
            let r = fwd();
            if r == 0 {
                note_one(One::Truncate, AT_FDCWD, ptr(path));
            }
            r
        }
        Call::Ftruncate { fd } => {
            before_change_fd(fd);
            let r = fwd();
            if r == 0 {
                note_ftruncate(fd);
            }
            r
        }
        Call::Chdir => {
            let r = fwd();
            if r == 0 {
                note_one(One::Chdir, AT_FDCWD, core::ptr::null());
            }
            r
        }
        Call::Exec { path, argv, envp, .. } if s == Sys::Execve => {
            crate::exec::execve(ptr(path), argv as _, envp as _) as c_long
        }
        Call::Exec { dirfd, path, argv, envp, flags } => {
            crate::exec::execveat(dirfd, ptr(path), argv as _, envp as _, flags as c_int) as c_long
        }
        Call::Fork { vfork } if matches!(s, Sys::Fork | Sys::Vfork) => {
            crate::proc::fork_impl(if vfork { evflags::FORK_VFORK } else { 0 }) as c_long
        }
        // a fork-like clone: the child must not inherit unflushed records
        Call::Fork { .. } => crate::proc::forklike(fwd),
        Call::Exit { group: true, code } => {
            crate::proc::write_exit(Some(code));
            fwd()
        }
        Call::Exit { group: false, .. } => {
            // ends only the calling thread (the process too when it is the last one: then the reaper or the
            // spool has the rest)
            state::flush_now();
            fwd()
        }
        Call::Unfollowable { reason, detail } => {
            let r = fwd();
            if r >= 0 {
                crate::proc::incomplete(reason, detail);
            }
            r
        }
        Call::Connect { addr, len, .. } => {
            let r = fwd();
            if crate::net::connected(r) {
                crate::net::note(evflags::NET_CONNECT, addr as *const u8, len);
            }
            r
        }
        Call::Accept { addr, len_ptr, .. } => {
            let r = fwd();
            if r >= 0 {
                crate::net::note_accepted(r as c_int, addr as *const u8, len_ptr as *const u32);
            }
            r
        }
        Call::SharedClone | Call::DropFds { .. } => fwd(),
    }
}
