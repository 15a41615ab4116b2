//! Per-process tracer state: configuration, the record buffer (one per process, shared by its threads under
//! a spinlock), the cwd cache and path resolution. Records are encoded straight into the buffer and written
//! with one `write(2)` of whole records to the `O_APPEND` events file.

use core::ptr::{addr_of, addr_of_mut};
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

use roar_events::{join_normalize, rec, OpenStat};

use crate::sys::{self, Stat};

pub const PATH_CAP: usize = 4096 + 256;
/// The buffer; records are flushed when the next one does not fit.
const BUF_CAP: usize = 64 * 1024;
/// The most an encoded stat takes (array header and five 9-byte integers).
const STAT_ROOM: usize = 48;
/// Room kept free at the end of the buffer for the DROPPED record.
const RESERVE: usize = 64;
/// A process with sparse events still flushes at least this often, so a process killed by a signal loses at
/// most this much history.
const FLUSH_AGE_NS: u64 = 250_000_000;

/// True once the constructor found a configuration (ROAR_EVENTS_PATH): only then do hooks record.
pub static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The cached pid (tgid); refreshed in the child of every fork we see.
pub static PID: AtomicU32 = AtomicU32::new(0);
/// The per-process lock: the holding thread (its `pthread_self`), 0 when free. Holding it tells a hook that
/// re-entered on the same thread (a signal handler inside a hook), which must not wait for itself.
static LOCK: AtomicUsize = AtomicUsize::new(0);
/// Events lost because a hook re-entered (signal handler inside a hook): reported as DROPPED.
static REENTRY_DROPS: AtomicU64 = AtomicU64::new(0);
/// Exit status recorded by the exit()/main-return hooks; the destructor writes it.
pub static EXIT_CODE: AtomicU64 = AtomicU64::new(u64::MAX);
/// Set once EXIT was written: later records are flushed immediately.
pub static EXITED: AtomicBool = AtomicBool::new(false);

pub struct Config {
    /// NUL-terminated events file path.
    pub events_path: [u8; PATH_CAP],
    /// The absolute library path (no NUL) that LD_PRELOAD must contain.
    pub lib: [u8; PATH_CAP],
    pub lib_len: usize,
    /// Whole "NAME=value\0" environment entries to re-insert into an exec's envp.
    pub env_preload: [u8; PATH_CAP + 16],
    pub env_events: [u8; PATH_CAP + 24],
    pub env_lib: [u8; PATH_CAP + 24],
    pub env_spool: [u8; PATH_CAP + 24],
    /// The spool directory (ROAR_SPOOL_DIR: its `slots` file and `lost` counter), empty when unset.
    pub spool_dir: [u8; PATH_CAP],
    pub spool_len: usize,
}

pub static mut CFG: Config = Config {
    events_path: [0; PATH_CAP],
    lib: [0; PATH_CAP],
    lib_len: 0,
    env_preload: [0; PATH_CAP + 16],
    env_events: [0; PATH_CAP + 24],
    env_lib: [0; PATH_CAP + 24],
    env_spool: [0; PATH_CAP + 24],
    spool_dir: [0; PATH_CAP],
    spool_len: 0,
};

pub fn cfg() -> &'static Config {
    // SAFETY: CFG is written only by the constructor, before any hook reads it.
    unsafe { &*addr_of!(CFG) }
}

pub struct Out {
    /// The record buffer: the spool mapping when there is one, else `FALLBACK`.
    data: *mut u8,
    /// The spool file's committed-length word (null without a spool).
    committed: *mut u64,
    /// 0 = no spool yet, 1 = mapped, 2 = unavailable.
    spool: u8,
    /// The spool slot borrowed (NO_SLOT: none).
    slot: u32,
    pub len: usize,
    pub nrec: u64,
    pub seq: u64,
    pub dropped: u64,
    pub last_flush: u64,
    pub fd: i32,
    pub fd_dev: u64,
    pub fd_ino: u64,
}

/// Scratch space used under the lock (keeps hooks' stack frames small).
pub struct Scratch {
    pub cwd: [u8; PATH_CAP],
    pub cwd_len: usize,
    /// The read filter's hash of `cwd` and a slash (prewrite::hash_on): a relative path's is its bytes onto it.
    pub cwd_hash: u64,
    pub a: [u8; PATH_CAP],
    pub b: [u8; PATH_CAP],
    pub tmp: [u8; PATH_CAP],
}

static mut FALLBACK: [u8; BUF_CAP] = [0; BUF_CAP];
static mut OUT: Out = Out {
    data: core::ptr::null_mut(),
    committed: core::ptr::null_mut(),
    spool: 0,
    slot: NO_SLOT,
    len: 0,
    nrec: 0,
    seq: 0,
    dropped: 0,
    last_flush: 0,
    fd: -1,
    fd_dev: 0,
    fd_ino: 0,
};
static mut SCR: Scratch =
    Scratch { cwd: [0; PATH_CAP], cwd_len: 0, cwd_hash: 0, a: [0; PATH_CAP], b: [0; PATH_CAP], tmp: [0; PATH_CAP] };

/// Scratch::cwd_hash, read without the lock: only to prefetch the filter's word before an open (a hint, which a
/// concurrent chdir can only make useless).
pub static CWD_HASH: AtomicU64 = AtomicU64::new(0);

#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}
extern "C" {
    fn clock_gettime(clk: i32, ts: *mut Timespec) -> i32;
}

pub fn now_ns() -> u64 {
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // CLOCK_MONOTONIC through the vDSO: no system call.
    // SAFETY: `ts` is a local the vDSO writes.
    unsafe { clock_gettime(1, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[inline]
pub fn active() -> bool {
    ACTIVE.load(Relaxed)
}

/// Exclusive access to the buffer and scratch space; dropping it releases the lock.
pub struct Locked {
    pub out: &'static mut Out,
    pub scr: &'static mut Scratch,
}

impl Drop for Locked {
    fn drop(&mut self) {
        LOCK.store(0, Release);
    }
}

/// Takes the per-process lock, or None when tracing is off or this thread is already inside a hook (then the
/// event is counted as dropped rather than deadlocking). A pending open (see `Pending`) is settled first, so
/// records keep the order of the calls.
pub fn lock() -> Option<Locked> {
    let mut l = lock_raw()?;
    l.settle(None);
    Some(l)
}

/// `lock` without settling the pending open (for the stat hooks, which settle it with the program's stat).
pub fn lock_raw() -> Option<Locked> {
    if !active() {
        return None;
    }
    // SAFETY: pthread_self has no preconditions (it reads the thread pointer: no system call).
    let me = unsafe { sys::pthread_self() };
    if LOCK.load(Relaxed) == me {
        REENTRY_DROPS.fetch_add(1, Relaxed);
        return None;
    }
    let mut spins = 0u32;
    while LOCK.compare_exchange_weak(0, me, Acquire, Relaxed).is_err() {
        spins += 1;
        if spins > 64 {
            // SAFETY: sched_yield has no preconditions.
            unsafe { sys::sc0(sys::nr::SCHED_YIELD) };
        } else {
            core::hint::spin_loop();
        }
    }
    // SAFETY: the spin lock above is held: OUT and SCR have a single user until `Locked` drops.
    unsafe { Some(Locked { out: &mut *addr_of_mut!(OUT), scr: &mut *addr_of_mut!(SCR) }) }
}

/// A read-only open whose stat is still to come. Its OPEN record is the last one in the buffer, encoded
/// with a nil stat; the program's own fstat of the descriptor (nearly every reader makes one right after
/// open: stdio, Python, tar, cat) replaces that nil with the stat, sparing the tracer a system call of
/// its own. Anything else that takes the lock first settles it with our fstat, as does closing the fd. A
/// process killed meanwhile leaves the record as it is, without a stat.
static PENDING_FD: AtomicI32 = AtomicI32::new(-1);
/// Where the pending record starts in the buffer (valid while PENDING_FD >= 0, under the lock).
static mut PENDING_START: usize = 0;

/// Forgets the pending open on `fd` without a stat (its record stays, with a nil stat).
pub fn abandon_pending(fd: i32) {
    let _ = PENDING_FD.compare_exchange(fd, -1, Relaxed, Relaxed);
}

/// The descriptor of the pending open, -1 when none (a hint: check again under the lock).
#[inline]
pub fn pending_fd() -> i32 {
    PENDING_FD.load(Relaxed)
}

impl Locked {
    /// Makes the OPEN record just pushed (starting at `start`, nil stat last) pending on `fd`'s stat.
    pub fn set_pending(&mut self, fd: i32, start: usize) {
        // SAFETY: PENDING_START is only touched with the lock held (`&mut self` is a `Locked`).
        unsafe { PENDING_START = start };
        PENDING_FD.store(fd, Relaxed);
    }

    /// Settles the pending open, if any, with `st` (the program's fstat of it) or else our own fstat. A
    /// directory opened without O_DIRECTORY is no file access: its record is taken back.
    pub fn settle(&mut self, st: Option<&Stat>) {
        let fd = PENDING_FD.load(Relaxed);
        if fd < 0 {
            return;
        }
        PENDING_FD.store(-1, Relaxed);
        // SAFETY: PENDING_START is only touched with the lock held (`&mut self` is a `Locked`).
        let start = unsafe { PENDING_START };
        let o = &mut *self.out;
        if o.len <= start || o.data.is_null() {
            return; // not ours any more (cannot happen: every flush settles first)
        }
        let mut own = Stat::default();
        let st = match st {
            Some(s) => s,
            None => {
                let e = crate::real::errno();
                // SAFETY: `own` is a local the kernel writes.
                let ok = unsafe { sys::fstat(fd, &mut own) } == 0;
                crate::real::set_errno(e);
                if !ok {
                    return;
                }
                &own
            }
        };
        if st.st_mode & sys::S_IFMT == sys::S_IFDIR {
            o.len = start;
            o.seq -= 1;
            o.nrec -= 1;
            o.commit();
            return;
        }
        // The record ends with the nil (0xc0) of its stat: put the stat in its place (push_held left room).
        let os = open_stat(st);
        let mut enc = [0u8; STAT_ROOM];
        let mut e = roar_events::Encoder::new(&mut enc);
        e.open_stat(Some(&os));
        let n = if e.ok() { e.len() } else { 0 };
        let end = o.len - 1;
        let buf = o.buf();
        if n == 0 || buf[end] != 0xc0 || end + n > BUF_CAP - RESERVE {
            return;
        }
        buf[end..end + n].copy_from_slice(&enc[..n]);
        o.len = end + n;
        o.commit();
        // As `push` does: a reader that opens files and then computes or waits would otherwise keep its records
        // here until the buffer fills, and roar could not identify its inputs while it runs.
        if now_ns().saturating_sub(o.last_flush) > FLUSH_AGE_NS {
            o.flush();
        }
    }
}

/// Resets the state inherited by a fork child (the lock is held by the forking thread, now ours).
pub unsafe fn after_fork_child(l: &mut Locked) {
    PID.store(sys::getpid(), Relaxed);
    PENDING_FD.store(-1, Relaxed); // settled before the fork by the forking hook
    l.out.len = 0;
    l.out.nrec = 0;
    l.out.seq = 0;
    l.out.dropped = 0;
    // The parent's slot is shared with it: never write there (the child borrows its own).
    if l.out.spool == 1 {
        sys::sc2(sys::nr::MUNMAP, l.out.data.sub(SPOOL_HDR) as usize, SPOOL_HDR + BUF_CAP);
    }
    l.out.data = core::ptr::null_mut();
    l.out.committed = core::ptr::null_mut();
    l.out.spool = 0;
    l.out.slot = NO_SLOT;
    REENTRY_DROPS.store(0, Relaxed);
}

/// The spool: one file, `<ROAR_SPOOL_DIR>/slots`, whose buffers are lent to processes one at a time. A 64 KiB
/// header (a page on every page size): magic, then two bitmaps — slots lent, slots allocated — then slots of
/// 128 KiB, each a 64-byte header (magic, committed length, pid) and the buffer. A process borrows a slot when it
/// first records and gives it back at a clean exit or an exec, everything written; a process killed meanwhile
/// keeps it, committed records and all, for the driver. One file a run, not one a process: no file made,
/// allocated and later removed for each process (~0.15 ms a process on ext4), and a slot given back is lent again
/// with its blocks allocated and its pages cached.
const SLOTS_FILE: &[u8] = b"/slots";
pub const SLOTS_MAGIC: &[u8; 8] = b"ROARSLT1";
const SLOTS_HDR: usize = 64 * 1024;
const SLOT_STRIDE: usize = 128 * 1024;
const LENT_AT: usize = 512;
const READY_AT: usize = 2304;
/// Bitmap words: 224, so 14,336 slots (processes alive at once, or killed); past that, no spool.
const SLOT_WORDS: usize = (READY_AT - LENT_AT) / 8;
const NO_SLOT: u32 = u32::MAX;
/// A slot's layout: 64-byte header (magic, committed length, pid), then the buffer.
const SPOOL_HDR: usize = 64;
pub const SPOOL_MAGIC: &[u8; 8] = b"ROARSPL1";

/// The spool header's mapping in this process (inherited by forks): 0 = not mapped yet, 1 = no spool.
static SLOTS: AtomicUsize = AtomicUsize::new(0);

/// Opens the slots file (None: no spool dir, or no such file).
fn open_slots() -> Option<i32> {
    let c = cfg();
    if c.spool_len == 0 {
        return None;
    }
    let mut name = [0u8; PATH_CAP + 16];
    let path = sys::cat_z(&mut name, &[&c.spool_dir[..c.spool_len], SLOTS_FILE])?;
    // SAFETY: a raw open of a NUL-terminated path.
    let fd = unsafe { sys::openat(sys::AT_FDCWD, path.as_ptr(), sys::O_RDWR | sys::O_CLOEXEC, 0) };
    (fd >= 0).then_some(fd as i32)
}

/// The spool header's bitmaps (lent, allocated) through `fd`, mapped on first use.
fn slot_bitmaps(fd: i32) -> Option<(&'static [AtomicU64], &'static [AtomicU64])> {
    let mut at = SLOTS.load(Acquire);
    if at == 0 {
        // SAFETY: a shared mapping of the file's first page, read before it is trusted.
        let m = unsafe { sys::syscall6(sys::nr::MMAP, 0, 4096, 3, 0x01 /* MAP_SHARED */, fd as usize, 0) };
        at = 1;
        if m >= 0 {
            // SAFETY: the page just mapped.
            if unsafe { core::slice::from_raw_parts(m as *const u8, 8) } == SLOTS_MAGIC {
                at = m as usize;
            } else {
                // SAFETY: our own mapping, unused.
                unsafe { sys::sc2(sys::nr::MUNMAP, m as usize, 4096) };
            }
        }
        // Racing threads: one mapping is kept, another one unused at worst.
        SLOTS.store(at, Release);
    }
    if at == 1 {
        return None;
    }
    // SAFETY: the live header mapping (a page, 8-aligned): the two bitmaps lie inside it.
    unsafe {
        let lent = core::slice::from_raw_parts((at + LENT_AT) as *const AtomicU64, SLOT_WORDS);
        let ready = core::slice::from_raw_parts((at + READY_AT) as *const AtomicU64, SLOT_WORDS);
        Some((lent, ready))
    }
}

/// The lent bitmap, when the header is mapped.
fn lent_bitmap() -> Option<&'static [AtomicU64]> {
    let at = SLOTS.load(Acquire);
    // SAFETY: the live header mapping (see slot_bitmaps).
    (at > 1).then(|| unsafe { core::slice::from_raw_parts((at + LENT_AT) as *const AtomicU64, SLOT_WORDS) })
}

/// Takes the first slot not lent (None: all are).
fn borrow_slot(lent: &[AtomicU64]) -> Option<u32> {
    for (w, word) in lent.iter().enumerate() {
        let mut v = word.load(Relaxed);
        while v != u64::MAX {
            let bit = (!v).trailing_zeros();
            match word.compare_exchange_weak(v, v | 1 << bit, Acquire, Relaxed) {
                Ok(_) => return Some((w * 64) as u32 + bit),
                Err(now) => v = now,
            }
        }
    }
    None
}

fn return_slot(lent: &[AtomicU64], slot: u32) {
    if let Some(word) = lent.get(slot as usize / 64) {
        word.fetch_and(!(1u64 << (slot % 64)), Release);
    }
}

impl Out {
    fn buf(&mut self) -> &mut [u8] {
        if self.data.is_null() {
            self.attach();
        }
        // SAFETY: `data` is our mapping of BUF_CAP bytes, used only with the lock held.
        unsafe { core::slice::from_raw_parts_mut(self.data, BUF_CAP) }
    }

    /// Borrows a spool slot as the buffer (so records of a process killed by a signal survive in the page
    /// cache for the driver to recover), or falls back to the static buffer.
    fn attach(&mut self) {
        self.data = addr_of_mut!(FALLBACK) as *mut u8;
        self.committed = core::ptr::null_mut();
        if self.spool != 0 || self.len != 0 {
            return;
        }
        self.spool = 2;
        let Some(fd) = open_slots() else { return };
        self.borrow(fd);
        // SAFETY: the descriptor opened above.
        unsafe { sys::close(fd) };
    }

    fn borrow(&mut self, fd: i32) {
        let Some((lent, ready)) = slot_bitmaps(fd) else { return };
        let Some(slot) = borrow_slot(lent) else { return };
        let (word, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        let at = SLOTS_HDR + slot as usize * SLOT_STRIDE;
        let size = SPOOL_HDR + BUF_CAP;
        // SAFETY: raw calls on our descriptor; the new shared mapping is `size` bytes of an allocated range,
        // written only inside it.
        unsafe {
            // Allocated, not just sized: a page of a sparse file that cannot get a block (the spool's
            // filesystem is full) would kill the program with SIGBUS at its first write.
            if ready[word].load(Acquire) & bit == 0 {
                if sys::sc4(sys::nr::FALLOCATE, fd as usize, 0, at, size) != 0 {
                    return_slot(lent, slot);
                    return;
                }
                ready[word].fetch_or(bit, Release);
            }
            let m = sys::syscall6(sys::nr::MMAP, 0, size, 3, 0x01 /* MAP_SHARED */, fd as usize, at);
            if m < 0 {
                return_slot(lent, slot);
                return;
            }
            let base = m as *mut u8;
            core::ptr::copy_nonoverlapping(SPOOL_MAGIC.as_ptr(), base, 8);
            core::ptr::write_volatile(base.add(8) as *mut u64, 0);
            *(base.add(16) as *mut u64) = PID.load(Relaxed) as u64;
            self.committed = base.add(8) as *mut u64;
            self.data = base.add(SPOOL_HDR);
            self.slot = slot;
            self.spool = 1;
        }
    }

    /// Gives the spool slot back once everything in it is written (at a clean exit, before an exec): records
    /// made after it go to the static buffer (`again`: or to a slot borrowed anew, after a failed exec). A slot
    /// whose records could not be written is kept, for the driver to recover them.
    pub fn give_back(&mut self, again: bool) {
        if self.spool == 1 {
            if self.len != 0 {
                return;
            }
            // SAFETY: our own slot mapping, not used again; the bitmaps are mapped while a slot is lent.
            unsafe { sys::sc2(sys::nr::MUNMAP, self.data.sub(SPOOL_HDR) as usize, SPOOL_HDR + BUF_CAP) };
            if let Some(lent) = lent_bitmap() {
                return_slot(lent, self.slot);
            }
        }
        self.slot = NO_SLOT;
        self.committed = core::ptr::null_mut();
        self.data = if again { core::ptr::null_mut() } else { addr_of_mut!(FALLBACK) as *mut u8 };
        self.spool = if again { 0 } else { 2 };
    }

    fn commit(&mut self) {
        if !self.committed.is_null() {
            // SAFETY: `committed` points into our live spool mapping.
            unsafe { core::ptr::write_volatile(self.committed, self.len as u64) };
        }
    }
}

impl Locked {
    pub fn push(&mut self, ts: u64, enc: impl Fn(&mut [u8], u32, u64, u64) -> usize) {
        self.out.push(ts, enc)
    }
    pub fn flush(&mut self) {
        self.out.flush()
    }
}

impl Out {
    /// As `push`, but never flushes after encoding (the record may still be rewritten, see `Pending`):
    /// returns where the record starts, None when it was dropped.
    pub fn push_held(&mut self, ts: u64, enc: impl Fn(&mut [u8], u32, u64, u64) -> usize) -> Option<usize> {
        let pid = PID.load(Relaxed);
        for attempt in 0..2 {
            // Leave room for the stat that will replace the record's final nil.
            let cap = BUF_CAP - RESERVE - STAT_ROOM;
            let (len, seq) = (self.len, self.seq);
            let n = if len <= cap { enc(&mut self.buf()[len..cap], pid, seq, ts) } else { 0 };
            if n > 0 {
                self.len += n;
                self.commit();
                self.nrec += 1;
                self.seq += 1;
                return Some(len);
            }
            if attempt == 0 && self.len > 0 {
                self.flush();
            }
        }
        self.dropped += 1;
        None
    }

    /// Encodes one record with `enc(buf, pid, seq, ts)`; flushes and retries when the buffer is full.
    pub fn push(&mut self, ts: u64, enc: impl Fn(&mut [u8], u32, u64, u64) -> usize) {
        let pid = PID.load(Relaxed);
        for attempt in 0..2 {
            let cap = BUF_CAP - RESERVE;
            let (len, seq) = (self.len, self.seq);
            let n = enc(&mut self.buf()[len..cap], pid, seq, ts);
            if n > 0 {
                self.len += n;
                self.commit();
                self.nrec += 1;
                self.seq += 1;
                if EXITED.load(Relaxed) || ts.saturating_sub(self.last_flush) > FLUSH_AGE_NS {
                    self.flush();
                }
                return;
            }
            if attempt == 0 && self.len > 0 {
                self.flush();
            }
        }
        self.dropped += 1; // larger than the whole buffer
    }

    /// Writes the buffered records with one write(2).
    pub fn flush(&mut self) {
        let o = self;
        let reentry = REENTRY_DROPS.swap(0, Relaxed);
        o.dropped += reentry;
        o.last_flush = now_ns();
        if o.len == 0 && o.dropped == 0 {
            return;
        }
        let mut dropped_in_buf = 0;
        if o.dropped > 0 {
            let (len, seq, ts, count) = (o.len, o.seq, o.last_flush, o.dropped);
            let n = rec::dropped(&mut o.buf()[len..], PID.load(Relaxed), seq, ts, count);
            if n > 0 {
                o.len += n;
                o.seq += 1;
                dropped_in_buf = o.dropped;
            }
        }
        let len = o.len;
        // SAFETY: the buffer's fd is ours; the slice is the buffer's filled part.
        let ok = unsafe { ensure_fd(o) } && unsafe { sys::write_all(o.fd, &o.buf()[..len]) };
        if ok {
            o.dropped -= dropped_in_buf;
            o.len = 0;
            o.nrec = 0;
        } else if o.spool == 1 {
            // Nowhere to write (a full disk): the records stay in the spool mapping, whose pages were
            // allocated up front, for the driver to recover (or for a later flush once there is room).
            // What finds no room in it from now on is counted as lost.
            o.dropped -= dropped_in_buf;
            count_lost(o.dropped);
            o.dropped = 0;
        } else {
            count_lost(o.nrec + o.dropped);
            o.dropped = 0;
            o.len = 0;
            o.nrec = 0;
        }
        o.commit();
    }
}

/// Opens the events file on first use, and again whenever our descriptor was closed or replaced by the
/// program (shells and subprocess modules close or dup2 over descriptors they do not know).
unsafe fn ensure_fd(o: &mut Out) -> bool {
    let mut st = Stat::default();
    if o.fd >= 0 && sys::fstat(o.fd, &mut st) == 0 && st.st_dev == o.fd_dev && st.st_ino == o.fd_ino {
        return true;
    }
    let flags = sys::O_WRONLY | sys::O_APPEND | sys::O_CLOEXEC | sys::O_CREAT;
    let fd = sys::openat(sys::AT_FDCWD, cfg().events_path.as_ptr(), flags, 0o600);
    if fd < 0 {
        o.fd = -1;
        return false;
    }
    let mut fd = fd as i32;
    // Move it out of the range programs use and expect to own (bash uses 10+ and 255).
    let high = sys::sc3(sys::nr::FCNTL, fd as usize, sys::F_DUPFD_CLOEXEC as usize, 700);
    if high >= 0 {
        sys::close(fd);
        fd = high as i32;
    }
    if sys::fstat(fd, &mut st) != 0 {
        sys::close(fd);
        return false;
    }
    o.fd = fd;
    o.fd_dev = st.st_dev;
    o.fd_ino = st.st_ino;
    true
}

/// Pre-write capture settings (see roar-sys prewrite), read on first use: the directory next to the events
/// file and the size cap from its `.max`. CAP_UNKNOWN until read, CAP_OFF when roar did not set it up.
static PRE_CAP: AtomicU64 = AtomicU64::new(CAP_UNKNOWN);
const CAP_UNKNOWN: u64 = u64::MAX;
const CAP_OFF: u64 = u64::MAX - 1;
static mut PRE_DIR: [u8; PATH_CAP] = [0; PATH_CAP];
static PRE_DIR_LEN: AtomicU64 = AtomicU64::new(0);

static PRE_KEEP_ALL: AtomicBool = AtomicBool::new(true);

/// The capture directory and policy, or None when capture is off.
pub fn prewrite_cfg() -> Option<(&'static [u8], roar_sys::prewrite::Policy)> {
    let mut cap = PRE_CAP.load(Relaxed);
    if cap == CAP_UNKNOWN {
        let c = cfg();
        let events = &c.events_path[..c.events_path.iter().position(|&b| b == 0).unwrap_or(0)];
        // SAFETY: written once here (racing threads write the same bytes) before PRE_CAP is published.
        unsafe {
            let dir = &mut *addr_of_mut!(PRE_DIR);
            let n = roar_sys::prewrite::dir_for_events(events, dir);
            PRE_DIR_LEN.store(n as u64, Relaxed);
            let policy = if n == 0 { None } else { roar_sys::prewrite::read_policy(&dir[..n]) };
            PRE_KEEP_ALL.store(policy.is_none_or(|p| p.keep_all), Relaxed);
            cap = policy.map_or(CAP_OFF, |p| p.cap.min(CAP_OFF - 1));
        }
        PRE_CAP.store(cap, Release);
    }
    if cap == CAP_OFF {
        return None;
    }
    let n = PRE_DIR_LEN.load(Relaxed) as usize;
    let policy = roar_sys::prewrite::Policy { cap, keep_all: PRE_KEEP_ALL.load(Relaxed) };
    // SAFETY: PRE_DIR is no longer written once PRE_CAP is known.
    Some((unsafe { &(&*addr_of!(PRE_DIR))[..n] }, policy))
}

/// The job's shared read filter (roar-sys prewrite), mapped on first use: 0 = not yet, 1 = none.
static READS: AtomicU64 = AtomicU64::new(0);

/// The read filter's address, or null when the job has none.
pub fn reads_filter() -> *mut u64 {
    let mut at = READS.load(Relaxed);
    if at == 0 {
        let c = cfg();
        let events = &c.events_path[..c.events_path.iter().position(|&b| b == 0).unwrap_or(0)];
        // SAFETY: raw mapping of a small file (racing threads may both map it; one mapping is then unused).
        let m = unsafe { roar_sys::prewrite::map_reads(events) };
        at = if m.is_null() { 1 } else { m as u64 };
        READS.store(at, Relaxed);
    }
    if at == 1 {
        core::ptr::null_mut()
    } else {
        at as *mut u64
    }
}

/// Records that could not be written, counted in `<spool dir>/lost`: a page the driver allocated before the
/// command started, mapped shared by whichever process first loses records, so the count survives a full
/// disk and reaches the driver, which then marks the trace incomplete.
static LOST: AtomicU64 = AtomicU64::new(0); // address of the mapped counter, 0 = not mapped yet

fn count_lost(n: u64) {
    if n == 0 {
        return;
    }
    let mut at = LOST.load(Relaxed);
    if at == 0 {
        let c = cfg();
        if c.spool_len == 0 {
            return;
        }
        let mut name = [0u8; PATH_CAP + 16];
        let Some(path) = sys::cat_z(&mut name, &[&c.spool_dir[..c.spool_len], b"/lost"]) else { return };
        // SAFETY: raw calls on a NUL-terminated path; the mapping is checked before use.
        unsafe {
            let fd = sys::openat(sys::AT_FDCWD, path.as_ptr(), sys::O_RDWR | sys::O_CLOEXEC, 0);
            if fd < 0 {
                return;
            }
            let m = sys::syscall6(sys::nr::MMAP, 0, 4096, 3, 0x01 /* MAP_SHARED */, fd as usize, 0);
            sys::close(fd as i32);
            if m < 0 {
                return;
            }
            at = m as u64;
        }
        LOST.store(at, Relaxed);
    }
    // SAFETY: a live shared mapping of at least 4096 bytes, 8-aligned (page start).
    unsafe { (*(at as *const AtomicU64)).fetch_add(n, SeqCst) };
}

/// Flushes everything buffered (before exec, fork, exit).
pub fn flush_now() {
    if let Some(mut l) = lock() {
        l.flush();
    }
}

impl Scratch {
    pub fn refresh_cwd(&mut self) {
        // SAFETY: `cwd` is our own buffer; getcwd writes at most its length.
        let r = unsafe { sys::getcwd(&mut self.cwd) };
        // getcwd returns the length including the NUL; on failure (deleted cwd) keep the old value
        self.cwd_len = if r > 0 { (r as usize - 1).min(self.cwd.len()) } else { self.cwd_len };
        let cwd = self.cwd.get(..self.cwd_len).unwrap_or(&[]);
        self.cwd_hash = roar_sys::prewrite::hash_on(roar_sys::prewrite::hash_of(cwd), b"/");
        CWD_HASH.store(self.cwd_hash, Relaxed);
    }
}

/// Resolves `path` (relative to `dirfd`, or to the cwd for AT_FDCWD) to an absolute, lexically normalised
/// path in `out`. Returns the length, 0 when it could not be resolved.
pub fn resolve(cwd: &[u8], tmp: &mut [u8], dirfd: i32, path: &[u8], out: &mut [u8]) -> usize {
    if path.first() == Some(&b'/') || dirfd == sys::AT_FDCWD {
        return join_normalize(cwd, path, out);
    }
    if path.is_empty() {
        let n = fd_path(dirfd, tmp);
        return if n == 0 { 0 } else { join_normalize(b"", &tmp[..n], out) };
    }
    let n = dir_path(dirfd, tmp);
    if n == 0 {
        return 0;
    }
    join_normalize(&tmp[..n], path, out)
}

/// Paths of recently used directory descriptors: readlink of /proc/self/fd/N costs more than the open it
/// describes (tar, find and fts walk with openat(dirfd, name)). An entry is trusted without a system call:
/// every way a program can close or replace a descriptor it knows goes through a hook that forgets it
/// (close, dup2, dup3, close_range, closefrom, closedir, syscall()); glibc's internal opens and closes
/// (opendir inside scandir, fts, nftw) never hand their descriptors to the program.
const DIR_CACHE: usize = 8;
struct DirEnt {
    fd: AtomicI32,
    len: usize,
    path: [u8; PATH_CAP],
}
static mut DIRS: [DirEnt; DIR_CACHE] = [const { DirEnt { fd: AtomicI32::new(-1), len: 0, path: [0; PATH_CAP] } }; DIR_CACHE];
static DIR_NEXT: AtomicU32 = AtomicU32::new(0);

/// Called under the lock.
fn dir_path(fd: i32, out: &mut [u8]) -> usize {
    // SAFETY: called under the lock, which every writer of DIRS holds.
    let dirs = unsafe { &*addr_of!(DIRS) };
    for d in dirs.iter() {
        if d.fd.load(Acquire) == fd && d.len <= out.len() {
            out[..d.len].copy_from_slice(&d.path[..d.len]);
            return d.len;
        }
    }
    let n = fd_path(fd, out);
    if n > 0 && out[0] == b'/' {
        remember_dir(fd, &out[..n]);
    }
    n
}

/// Caches `path` as the directory open on `fd` (called under the lock).
pub fn remember_dir(fd: i32, path: &[u8]) {
    if path.len() > PATH_CAP {
        return;
    }
    // SAFETY: DIRS is only written with the lock held.
    let dirs = unsafe { &mut *addr_of_mut!(DIRS) };
    forget_fds(fd, fd);
    let i = DIR_NEXT.fetch_add(1, Relaxed) as usize % DIR_CACHE;
    let d = &mut dirs[i];
    d.fd.store(-1, Release);
    d.path[..path.len()].copy_from_slice(path);
    d.len = path.len();
    d.fd.store(fd, Release);
}

/// Forgets cached directory paths of descriptors in `lo..=hi` (they were closed or replaced).
pub fn forget_fds(lo: i32, hi: i32) {
    // SAFETY: only the entries' atomic fds are touched here; their paths are written under the lock.
    let dirs = unsafe { &*addr_of!(DIRS) };
    for d in dirs.iter() {
        let fd = d.fd.load(Acquire);
        if fd >= lo && fd <= hi {
            d.fd.store(-1, Release);
        }
    }
}

/// The path behind a descriptor (readlink of /proc/self/fd/N), 0 when unknown.
pub fn fd_path(fd: i32, out: &mut [u8]) -> usize {
    let mut p = [0u8; 40];
    let pp = sys::proc_fd_path(fd, &mut p);
    // SAFETY: `pp` is NUL-terminated and `out` our buffer.
    let r = unsafe { sys::readlinkat(sys::AT_FDCWD, pp, out) };
    if r <= 0 || r as usize >= out.len() {
        return 0;
    }
    r as usize
}

pub fn open_stat(st: &Stat) -> OpenStat {
    OpenStat {
        dev: st.st_dev,
        ino: st.st_ino,
        size: st.st_size as u64,
        mtime_ns: st.st_mtime * 1_000_000_000 + st.st_mtime_nsec,
        ctime_ns: st.st_ctime * 1_000_000_000 + st.st_ctime_nsec,
    }
}

/// An argv-style NUL-terminated pointer array as an iterator of byte strings, capped at `limit` entries.
#[derive(Clone)]
pub struct CArgs {
    p: *const *const u8,
    i: usize,
    n: usize,
}

impl CArgs {
    pub unsafe fn new(p: *const *const u8) -> Self {
        let mut n = 0;
        if !p.is_null() {
            while !(*p.add(n)).is_null() {
                n += 1;
            }
        }
        CArgs { p, i: 0, n }
    }
    pub fn len_args(&self) -> usize {
        self.n
    }
    /// Keeps the leading arguments whose encoded size fits in `budget` bytes (huge argv are truncated rather
    /// than dropping the whole record).
    pub fn fit(mut self, budget: usize) -> Self {
        let mut used = 0;
        for k in 0..self.n {
            // SAFETY: `p` holds `n` NUL-terminated strings (see `CArgs::new`).
            let len = unsafe { sys::cstrlen(*self.p.add(k)) } + 5;
            if used + len > budget {
                self.n = k;
                break;
            }
            used += len;
        }
        self
    }
}

impl Iterator for CArgs {
    type Item = &'static [u8];
    fn next(&mut self) -> Option<&'static [u8]> {
        if self.i >= self.n {
            return None;
        }
        // SAFETY: `i` < `n`, and `p` holds `n` NUL-terminated strings (see `CArgs::new`).
        let s = unsafe { sys::cstr(*self.p.add(self.i)) };
        self.i += 1;
        Some(s)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n - self.i, Some(self.n - self.i))
    }
}
impl ExactSizeIterator for CArgs {}

/// Budget for argv in EXEC/PROC_START records.
pub const ARGV_BUDGET: usize = BUF_CAP - RESERVE - 3 * PATH_CAP;
