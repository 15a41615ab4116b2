//! roar's native BLAKE3 kernel: a C ABI over the reference `blake3` crate, for bun:ffi (src/hash/native.ts).
//!
//! Errors are returned as positive errno values (0 = success) so the caller can report them like node:fs does;
//! nothing here panics across the FFI boundary on bad input (the profile aborts on panic).

use std::io::Read;
use std::mem::ManuallyDrop;
use std::os::unix::io::FromRawFd;

pub mod cpu_room;
pub mod exit_aside;

/// Bumped whenever a signature below changes; src/hash/native.ts refuses a library with another version.
pub const ABI_VERSION: u32 = 6;

/// Below this size a plain read() is cheaper than setting up a mapping.
const MMAP_THRESHOLD: u64 = 256 * 1024;
/// Below this size splitting the work across threads costs more than it saves (the crate's own advice).
const RAYON_THRESHOLD: usize = 128 * 1024;

#[no_mangle]
pub extern "C" fn roar_abi_version() -> u32 {
    ABI_VERSION
}

/// BLAKE3 of `len` bytes at `data` into `out` (32 bytes).
///
/// # Safety
/// `data` must point to `len` readable bytes (or be anything when `len` is 0); `out` to 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn roar_hash_bytes(data: *const u8, len: usize, out: *mut u8) {
    let input = if len == 0 { &[][..] } else { std::slice::from_raw_parts(data, len) };
    write_digest(blake3::hash(input), out);
}

/// A new streaming hasher; free it with `roar_hasher_finalize` or `roar_hasher_free`.
#[no_mangle]
pub extern "C" fn roar_hasher_new() -> *mut blake3::Hasher {
    Box::into_raw(Box::new(blake3::Hasher::new()))
}

/// # Safety
/// `hasher` must come from `roar_hasher_new` and not be freed; `data` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn roar_hasher_update(hasher: *mut blake3::Hasher, data: *const u8, len: usize) {
    if hasher.is_null() || len == 0 {
        return;
    }
    (*hasher).update(std::slice::from_raw_parts(data, len));
}

/// Writes the digest to `out` (32 bytes) and frees the hasher.
///
/// # Safety
/// `hasher` must come from `roar_hasher_new` and not be freed; `out` must point to 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn roar_hasher_finalize(hasher: *mut blake3::Hasher, out: *mut u8) {
    if hasher.is_null() {
        return;
    }
    let hasher = Box::from_raw(hasher);
    write_digest(hasher.finalize(), out);
}

/// # Safety
/// `hasher` must come from `roar_hasher_new` and not be freed yet (null is ignored).
#[no_mangle]
pub unsafe extern "C" fn roar_hasher_free(hasher: *mut blake3::Hasher) {
    if !hasher.is_null() {
        drop(Box::from_raw(hasher));
    }
}

/// BLAKE3 of the whole file open as `fd` (from offset 0, whatever its current position), into `out`; the
/// number of bytes hashed goes to `hashed_len`. Large files are memory-mapped and, when `threads` is not 1,
/// hashed on rayon's global pool (one thread per core). The fd stays open. Returns 0 or an errno.
///
/// A file truncated by another process while it is mapped raises SIGBUS, as with b3sum; callers that hash
/// files still being written can pass `threads` = 1 and `mmap` = 0 to read instead.
///
/// # Safety
/// `out` must point to 32 writable bytes and `hashed_len` to a writable u64.
#[no_mangle]
pub unsafe extern "C" fn roar_hash_fd(fd: i32, threads: u32, use_mmap: u32, out: *mut u8, hashed_len: *mut u64) -> i32 {
    match hash_fd(fd, threads, use_mmap != 0) {
        Ok((hash, len)) => {
            write_digest(hash, out);
            *hashed_len = len;
            0
        }
        Err(err) => err.raw_os_error().unwrap_or(libc::EIO),
    }
}

fn hash_fd(fd: i32, threads: u32, use_mmap: bool) -> std::io::Result<(blake3::Hash, u64)> {
    // SAFETY: fstat only writes into the struct we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if (st.st_mode & libc::S_IFMT) == libc::S_IFDIR {
        return Err(std::io::Error::from_raw_os_error(libc::EISDIR));
    }
    let size = st.st_size as u64;
    let regular = (st.st_mode & libc::S_IFMT) == libc::S_IFREG;
    if use_mmap && regular && size >= MMAP_THRESHOLD && size <= isize::MAX as u64 {
        return hash_mapped(fd, size as usize, threads);
    }
    hash_read(fd)
}

fn hash_mapped(fd: i32, size: usize, threads: u32) -> std::io::Result<(blake3::Hash, u64)> {
    // SAFETY: a private read-only mapping of a file we hold open; unmapped before returning.
    let addr = unsafe { libc::mmap(std::ptr::null_mut(), size, libc::PROT_READ, libc::MAP_PRIVATE, fd, 0) };
    if addr == libc::MAP_FAILED {
        // Some files (procfs, some FUSE mounts) cannot be mapped: read them instead.
        return hash_read(fd);
    }
    unsafe { libc::madvise(addr, size, libc::MADV_SEQUENTIAL) };
    let data = unsafe { std::slice::from_raw_parts(addr as *const u8, size) };
    let mut hasher = blake3::Hasher::new();
    if threads != 1 && size >= RAYON_THRESHOLD {
        hasher.update_rayon(data);
    } else {
        hasher.update(data);
    }
    let hash = hasher.finalize();
    unsafe { libc::munmap(addr, size) };
    Ok((hash, size as u64))
}

const READ_BUFFER_BYTES: usize = 1024 * 1024;

thread_local! {
    /// One read buffer per thread: allocating (and zeroing) 1 MiB for every file cost ~25 µs a small file.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; READ_BUFFER_BYTES]);
}

fn hash_read(fd: i32) -> std::io::Result<(blake3::Hash, u64)> {
    READ_BUFFER.with(|buffer| match buffer.try_borrow_mut() {
        Ok(mut buffer) => hash_read_into(fd, &mut buffer),
        // Not reentrant in practice; a fresh buffer keeps it correct if it ever were.
        Err(_) => hash_read_into(fd, &mut vec![0u8; READ_BUFFER_BYTES]),
    })
}

fn hash_read_into(fd: i32, buffer: &mut [u8]) -> std::io::Result<(blake3::Hash, u64)> {
    // SAFETY: the File only borrows the caller's fd; ManuallyDrop keeps it from being closed here.
    let mut file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let mut hasher = blake3::Hasher::new();
    let mut total = 0u64;
    let mut offset = 0i64;
    loop {
        // pread so the caller's file position does not matter.
        let n = unsafe { libc::pread(fd, buffer.as_mut_ptr() as *mut libc::c_void, buffer.len(), offset) };
        if n < 0 {
            let err = std::io::Error::last_os_error();
            if err.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            if err.raw_os_error() == Some(libc::ESPIPE) && total == 0 {
                // Pipes and FIFOs cannot pread: fall back to sequential reads.
                return hash_stream(&mut *file, buffer);
            }
            return Err(err);
        }
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n as usize]);
        total += n as u64;
        offset += n as i64;
    }
    Ok((hasher.finalize(), total))
}

fn hash_stream(reader: &mut impl Read, buffer: &mut [u8]) -> std::io::Result<(blake3::Hash, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut total = 0u64;
    loop {
        match reader.read(buffer) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buffer[..n]);
                total += n as u64;
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
    }
    Ok((hasher.finalize(), total))
}

/// Fields per file in the output of `roar_stat_paths`: errno, st_mode, dev, ino, size, mtime ns, ctime ns.
pub const STAT_FIELDS: usize = 7;
/// Fields per file in the metadata output of `roar_hash_paths`: the stat fields (as fstat saw the file just
/// before it was read), then the wall-clock ns just before it was opened, then 1 when it did not change while
/// it was read.
pub const HASH_FIELDS: usize = STAT_FIELDS + 2;

/// The `count` NUL-terminated paths laid out back to back in the `len` bytes at `paths`.
///
/// # Safety
/// `paths` must point to `len` readable bytes.
unsafe fn split_paths<'a>(paths: *const u8, len: usize, count: u32) -> Vec<&'a std::ffi::CStr> {
    let block = if len == 0 { &[][..] } else { std::slice::from_raw_parts(paths, len) };
    let mut out = Vec::with_capacity(count as usize);
    let mut start = 0;
    while out.len() < count as usize && start < block.len() {
        let end = block[start..].iter().position(|&b| b == 0).map_or(block.len(), |n| start + n);
        if end == block.len() {
            break; // not NUL-terminated: the caller's block is malformed; the rest is reported as EINVAL
        }
        // SAFETY: block[start..=end] ends with its first NUL.
        out.push(std::ffi::CStr::from_bytes_with_nul_unchecked(&block[start..=end]));
        start = end + 1;
    }
    out
}

fn stat_fields(st: &libc::stat, out: &mut [u64]) {
    out[1] = st.st_mode as u64;
    out[2] = st.st_dev;
    out[3] = st.st_ino;
    out[4] = st.st_size as u64;
    out[5] = (st.st_mtime as i64).wrapping_mul(1_000_000_000).wrapping_add(st.st_mtime_nsec as i64) as u64;
    out[6] = (st.st_ctime as i64).wrapping_mul(1_000_000_000).wrapping_add(st.st_ctime_nsec as i64) as u64;
}

fn errno() -> u64 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO) as u64
}

/// stat(2) of many paths in one call (the record step checks every file a job read): for path i,
/// `out[i*7..i*7+7]` = errno (0 = ok), st_mode, dev, ino, size, mtime ns, ctime ns. Follows symlinks, as
/// node's statSync. Returns 0, or EINVAL when the block holds fewer than `count` paths.
///
/// # Safety
/// `paths` must point to `len` readable bytes; `out` to `count * 7` writable u64.
#[no_mangle]
pub unsafe extern "C" fn roar_stat_paths(paths: *const u8, len: usize, count: u32, out: *mut u64) -> i32 {
    let list = split_paths(paths, len, count);
    let out = std::slice::from_raw_parts_mut(out, count as usize * STAT_FIELDS);
    in_parallel(&list, out, STAT_FIELDS, PARALLEL_MIN_STATS, |path, fields| {
        // SAFETY: stat only writes into the struct we own; the path is NUL-terminated.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 {
            fields[0] = errno();
        } else {
            stat_fields(&st, fields);
        }
    });
    if list.len() < count as usize {
        libc::EINVAL
    } else {
        0
    }
}

/// For each path of `list`, whether it is no longer the regular file of the size and mtime in `expected` (2 f64 a
/// path, as `roar_changed_paths` takes them): 1 in `out` when it changed, is gone or is not a regular file. Paths
/// of one directory in a row are stat'ed relative to it (fstatat on an O_PATH descriptor), which spares walking
/// the directory's path again for each: ~25 % of a stat on a job's input list.
fn changed_in(list: &[&std::ffi::CStr], expected: &[f64], out: &mut [u64]) {
    let mut dir: Option<(&[u8], i32)> = None;
    for (i, path) in list.iter().enumerate() {
        let bytes = path.to_bytes_with_nul();
        let slash = bytes.iter().rposition(|&b| b == b'/').filter(|&k| k > 0);
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        let mut rc = -1;
        let mut done = false;
        if let Some(k) = slash {
            let parent = &bytes[..k];
            if dir.map_or(true, |(open, _)| open != parent) {
                if let Some((_, fd)) = dir.take() {
                    // SAFETY: fd was opened below and is not used after this.
                    unsafe { libc::close(fd) };
                }
                if let Ok(name) = std::ffi::CString::new(parent) {
                    // SAFETY: a NUL-terminated name; the descriptor is closed when the directory changes or at the end.
                    let fd = unsafe { libc::open(name.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) };
                    if fd >= 0 {
                        dir = Some((parent, fd));
                    }
                }
            }
            if let Some((_, fd)) = dir {
                // SAFETY: bytes[k+1..] is the file's name, NUL-terminated; fstatat only writes into `st`.
                rc = unsafe { libc::fstatat(fd, bytes[k + 1..].as_ptr().cast(), &mut st, 0) };
                done = true;
            }
        }
        if !done {
            // SAFETY: the path is NUL-terminated; stat only writes into `st`.
            rc = unsafe { libc::stat(path.as_ptr(), &mut st) };
        }
        let same = rc == 0
            && (st.st_mode & libc::S_IFMT) == libc::S_IFREG
            && st.st_size as f64 == expected[2 * i]
            && (st.st_mtime as i64).wrapping_mul(1_000_000_000).wrapping_add(st.st_mtime_nsec as i64) as f64
                == expected[2 * i + 1];
        out[i] = u64::from(!same);
    }
    if let Some((_, fd)) = dir {
        // SAFETY: as above.
        unsafe { libc::close(fd) };
    }
}

/// Whether each of many files changed since a tracer saw it: for path i, `expected[2i]` and `expected[2i+1]` are
/// its size and mtime in ns as the tracer reported them (numbers: f64, rounded as JavaScript rounds them), and
/// `out[i]` becomes 0 when it is still a regular file of that size and mtime, 1 otherwise (changed, gone,
/// unreadable, not a regular file). Returns 0, or EINVAL when the block holds fewer than `count` paths.
///
/// # Safety
/// `paths` must point to `len` readable bytes; `expected` to `count * 2` readable f64; `out` to `count` writable
/// u64.
#[no_mangle]
pub unsafe extern "C" fn roar_changed_paths(
    paths: *const u8,
    len: usize,
    count: u32,
    expected: *const f64,
    out: *mut u64,
) -> i32 {
    let list = split_paths(paths, len, count);
    let expected = std::slice::from_raw_parts(expected, count as usize * 2);
    let out = std::slice::from_raw_parts_mut(out, count as usize);
    let n = list.len();
    // A path the block lacks counts as changed.
    out[n..].fill(1);
    // Contiguous shares, one a core: a job's files come grouped by directory, which changed_in makes use of.
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let threads = cores.min(n / PARALLEL_MIN_STATS).max(1);
    let share = n.div_ceil(threads).max(1);
    let shared = SharedOut(out.as_mut_ptr());
    let run = |lo: usize, hi: usize| {
        // SAFETY: each range [lo, hi) of `out` is written by one thread only.
        let flags = unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(lo), hi - lo) };
        changed_in(&list[lo..hi], &expected[2 * lo..2 * hi], flags);
    };
    let run = &run;
    std::thread::scope(|scope| {
        let mut left = Vec::new();
        for t in 1..threads {
            let (lo, hi) = (t * share, ((t + 1) * share).min(n));
            if lo < hi && std::thread::Builder::new().spawn_scoped(scope, move || run(lo, hi)).is_err() {
                left.push((lo, hi)); // no thread: done here
            }
        }
        run(0, share.min(n));
        for (lo, hi) in left {
            run(lo, hi);
        }
    });
    if list.len() < count as usize {
        libc::EINVAL
    } else {
        0
    }
}

/// Files per thread below which `roar_stat_paths` stays in the calling thread (a thread costs ~30 µs to start;
/// a stat ~1.5 µs).
const PARALLEL_MIN_STATS: usize = 2048;
/// Files per thread below which `roar_hash_paths` stays in the calling thread (a small file costs ~5 µs).
const PARALLEL_MIN_HASHES: usize = 512;

/// Files a thread takes at a time in `in_parallel`.
const PARALLEL_CHUNK: usize = 256;

/// The output fields, shared by the threads of `in_parallel`, each writing only the chunks it took.
struct SharedOut(*mut u64);
// SAFETY: threads write disjoint chunks (each chunk index is taken once from an atomic counter).
unsafe impl Sync for SharedOut {}
impl SharedOut {
    /// Through a method, so that closures capture the whole (Sync) wrapper, not its raw pointer field.
    fn ptr(&self) -> *mut u64 {
        self.0
    }
}

/// Runs `each(path, fields)` for every path and its `width` output fields (zeroed first; EINVAL for a path the
/// block lacked), split over the machine's cores when there are at least `min_per_thread` paths for each: the
/// record step stats and hashes tens of thousands of files while the job's other core would sit idle. Threads
/// take chunks from a counter (uneven files even out); a thread that cannot start leaves its share to the rest.
fn in_parallel<F>(list: &[&std::ffi::CStr], out: &mut [u64], width: usize, min_per_thread: usize, each: F)
where
    F: Fn(&std::ffi::CStr, &mut [u64]) + Sync,
{
    let count = out.len() / width;
    let chunks = count.div_ceil(PARALLEL_CHUNK);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let shared = SharedOut(out.as_mut_ptr());
    let work = || loop {
        let chunk = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if chunk >= chunks {
            return;
        }
        let first = chunk * PARALLEL_CHUNK;
        let n = PARALLEL_CHUNK.min(count - first);
        // SAFETY: chunk `chunk` of `out` is written by this thread only (see SharedOut), and lies inside `out`.
        let part = unsafe { std::slice::from_raw_parts_mut(shared.ptr().add(first * width), n * width) };
        for (k, fields) in part.chunks_exact_mut(width).enumerate() {
            fields.fill(0);
            match list.get(first + k) {
                Some(path) => each(path, fields),
                None => fields[0] = libc::EINVAL as u64,
            }
        }
    };
    // Files hashed while the job runs, by roar's confined threads (cpu_room.rs): helpers have every CPU again.
    let unconfined = cpu_room::unconfined();
    let cores = match &unconfined {
        // SAFETY: a whole cpu_set_t.
        Some(set) => (unsafe { libc::CPU_COUNT(set) }) as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let helpers = cores.min(count / min_per_thread.max(1)).saturating_sub(1);
    if helpers == 0 {
        work();
        return;
    }
    let helper = || {
        if let Some(set) = &unconfined {
            cpu_room::set_own_affinity(set);
        }
        work();
    };
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            if std::thread::Builder::new().spawn_scoped(scope, helper).is_err() {
                break;
            }
        }
        work();
    });
}

fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    (ts.tv_sec as i64).wrapping_mul(1_000_000_000).wrapping_add(ts.tv_nsec as i64) as u64
}

/// How `hash_path` hashes a file.
struct HashHow<'a> {
    /// Reads before giving up on a file that keeps changing while read.
    attempts: u32,
    check_stable: bool,
    use_mmap: bool,
    /// A regular file bigger than this is not read: `SKIPPED_BIG` in its errno field (its stat fields are set).
    max_size: u64,
    /// Bytes left to read for a list of files (shared by the threads hashing it): a file that does not fit is not
    /// read either. None: no limit.
    budget: Option<&'a std::sync::atomic::AtomicU64>,
}

/// Opens and hashes one file: `fields` and `digest` as in `roar_hash_paths`.
fn hash_path(path: &std::ffi::CStr, how: &HashHow<'_>, digest: &mut [u8], fields: &mut [u64]) {
    fields[STAT_FIELDS] = now_ns();
    // SAFETY: the path is NUL-terminated; the fd is closed below.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        fields[0] = errno();
        return;
    }
    hash_open(fd, how, digest, fields);
    // SAFETY: fd was opened above and is not used after this.
    unsafe { libc::close(fd) };
}

/// Takes `size` bytes from `budget` (always true without one); false, taking nothing, when fewer are left.
fn take_budget(budget: Option<&std::sync::atomic::AtomicU64>, size: u64) -> bool {
    let Some(budget) = budget else { return true };
    budget
        .fetch_update(std::sync::atomic::Ordering::Relaxed, std::sync::atomic::Ordering::Relaxed, |left| left.checked_sub(size))
        .is_ok()
}

/// Hashes one open file as `hashFileSync` (src/hash/file.ts) does: fstat, hash, fstat again when
/// `check_stable`, retried while it keeps changing. `fields` as in `roar_hash_paths`.
fn hash_open(fd: i32, how: &HashHow<'_>, digest: &mut [u8], fields: &mut [u64]) {
    let (attempts, check_stable, use_mmap) = (how.attempts, how.check_stable, how.use_mmap);
    let mut started = fields[STAT_FIELDS];
    for attempt in 1..=attempts {
        // SAFETY: fstat only writes into the struct we own.
        let mut before: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(fd, &mut before) } != 0 {
            fields[0] = errno();
            return;
        }
        stat_fields(&before, fields);
        if (before.st_mode & libc::S_IFMT) != libc::S_IFREG {
            fields[0] = if (before.st_mode & libc::S_IFMT) == libc::S_IFDIR { libc::EISDIR as u64 } else { NOT_REGULAR };
            return;
        }
        // Checked at the first attempt only: a retry re-reads a file whose bytes were counted already.
        if attempt == 1 && (before.st_size as u64 > how.max_size || !take_budget(how.budget, before.st_size as u64)) {
            fields[0] = SKIPPED_BIG;
            return;
        }
        let (hash, len) = match hash_fd(fd, 0, use_mmap) {
            Ok(done) => done,
            Err(err) => {
                fields[0] = err.raw_os_error().unwrap_or(libc::EIO) as u64;
                return;
            }
        };
        digest.copy_from_slice(hash.as_bytes());
        fields[STAT_FIELDS] = started;
        let mut stable = len == before.st_size as u64;
        if check_stable {
            // SAFETY: as above.
            let mut after: libc::stat = unsafe { std::mem::zeroed() };
            if unsafe { libc::fstat(fd, &mut after) } != 0 {
                fields[0] = errno();
                return;
            }
            stable = stable
                && after.st_dev == before.st_dev
                && after.st_ino == before.st_ino
                && after.st_size == before.st_size
                && after.st_mtime == before.st_mtime
                && after.st_mtime_nsec == before.st_mtime_nsec
                && after.st_ctime == before.st_ctime
                && after.st_ctime_nsec == before.st_ctime_nsec;
        }
        // The size reported is what was hashed (a file that grew or shrank meanwhile is not stable anyway).
        fields[4] = len;
        fields[STAT_FIELDS + 1] = stable as u64;
        if stable || attempt == attempts {
            return;
        }
        started = now_ns();
    }
}

/// The errno field's value for a file that is neither regular nor a directory (fifo, device, socket).
pub const NOT_REGULAR: u64 = 1 << 32;
/// The errno field's value for a regular file over the call's size limit (`roar_queue_hash`): not read.
pub const SKIPPED_BIG: u64 = 2 << 32;

/// Hashes many files in one call (what a pool worker does with a batch): for path i, its digest goes to
/// `digests[i*32..]` and `meta[i*9..i*9+9]` = errno (0 = ok; EISDIR; `NOT_REGULAR`), st_mode, dev, ino, size,
/// mtime ns, ctime ns (fstat just before reading), the wall-clock ns just before opening, and 1 when the file
/// did not change while it was read (always checked when `check_stable`, else only the size). A file that
/// changes while read is re-read up to `retries` more times. Large files are mapped when `use_mmap` and hashed
/// on all cores. Returns 0, or EINVAL when the block holds fewer than `count` paths.
///
/// # Safety
/// `paths` must point to `len` readable bytes; `digests` to `count * 32` writable bytes; `meta` to `count * 9`
/// writable u64.
#[no_mangle]
pub unsafe extern "C" fn roar_hash_paths(
    paths: *const u8,
    len: usize,
    count: u32,
    check_stable: u32,
    use_mmap: u32,
    retries: u32,
    digests: *mut u8,
    meta: *mut u64,
) -> i32 {
    let list = split_paths(paths, len, count);
    let digests = SharedDigests(digests);
    let meta = std::slice::from_raw_parts_mut(meta, count as usize * HASH_FIELDS);
    let first_field = meta.as_ptr() as usize;
    in_parallel(&list, meta, HASH_FIELDS, PARALLEL_MIN_HASHES, |path, fields| {
        let i = (fields.as_ptr() as usize - first_field) / (HASH_FIELDS * std::mem::size_of::<u64>());
        // SAFETY: file i's digest is written only by the thread that writes its fields (see in_parallel).
        let digest = unsafe { std::slice::from_raw_parts_mut(digests.ptr().add(i * blake3::OUT_LEN), blake3::OUT_LEN) };
        let how = HashHow { attempts: retries.saturating_add(1), check_stable: check_stable != 0, use_mmap: use_mmap != 0, max_size: u64::MAX, budget: None };
        hash_path(path, &how, digest, fields);
    });
    if list.len() < count as usize {
        libc::EINVAL
    } else {
        0
    }
}

/// What a queued item does with each path.
enum Task {
    /// As `roar_changed_paths`: 2 f64 a path to compare with.
    Changed { expected: Vec<f64> },
    /// As `roar_hash_paths` (stability checked, files read without mapping); files over `max_size`, or over
    /// what is left of the item's byte budget, not read.
    Hash { max_size: u64, budget: std::sync::atomic::AtomicU64, retries: u32 },
}

/// Paths a thread claims at a time from a queued item.
const QUEUE_CHUNK: usize = 64;

/// One queued piece of work: its inputs copied (the caller's buffers need not outlive the call), its outputs
/// written chunk by chunk by whichever thread claims each chunk — the queue's own, or the caller's once it waits
/// for the item (so the caller helps rather than idles).
struct Item {
    task: Task,
    paths: Vec<u8>,
    /// Each path's [start, end] in `paths`, its NUL at `end`: found by the first thread to work on the item, not
    /// by the caller queueing it.
    spans: std::sync::OnceLock<Vec<(usize, usize)>>,
    /// Paths asked for; a path the block lacked gets EINVAL (hash) or counts as changed.
    count: usize,
    next_chunk: std::sync::atomic::AtomicUsize,
    chunks_done: std::sync::Mutex<usize>,
    all_done: std::sync::Condvar,
    /// `count * width` u64 (1 a path for Changed, HASH_FIELDS for Hash), and 32 bytes a path for Hash's digests.
    out: std::cell::UnsafeCell<Vec<u64>>,
    digests: std::cell::UnsafeCell<Vec<u8>>,
}

// SAFETY: `out` and `digests` are written in disjoint chunks, each by the one thread that claimed it (an atomic
// counter hands each chunk out once), and read only after every chunk is done (under `chunks_done`'s lock).
unsafe impl Sync for Item {}

impl Item {
    fn new(task: Task, paths: Vec<u8>, count: u32) -> Item {
        let count = count as usize;
        let (width, digest_bytes) = match task {
            Task::Changed { .. } => (1, 0),
            Task::Hash { .. } => (HASH_FIELDS, count * blake3::OUT_LEN),
        };
        Item {
            task,
            paths,
            spans: std::sync::OnceLock::new(),
            count,
            next_chunk: std::sync::atomic::AtomicUsize::new(0),
            chunks_done: std::sync::Mutex::new(0),
            all_done: std::sync::Condvar::new(),
            out: std::cell::UnsafeCell::new(vec![0u64; count * width]),
            digests: std::cell::UnsafeCell::new(vec![0u8; digest_bytes]),
        }
    }

    fn chunks(&self) -> usize {
        self.count.div_ceil(QUEUE_CHUNK)
    }

    fn spans(&self) -> &[(usize, usize)] {
        self.spans.get_or_init(|| {
            let mut spans = Vec::with_capacity(self.count);
            let mut start = 0;
            while spans.len() < self.count && start < self.paths.len() {
                let Some(nul) = self.paths[start..].iter().position(|&b| b == 0) else { break };
                spans.push((start, start + nul));
                start += nul + 1;
            }
            spans
        })
    }

    fn path(&self, i: usize) -> Option<&std::ffi::CStr> {
        let &(start, nul) = self.spans().get(i)?;
        // SAFETY: paths[start..=nul] ends with its first NUL (see new).
        Some(unsafe { std::ffi::CStr::from_bytes_with_nul_unchecked(&self.paths[start..=nul]) })
    }

    /// Claims and does chunks until none is left to claim.
    fn work(&self) {
        while self.work_one() {}
    }

    /// Claims and does one chunk; false when none was left to claim.
    fn work_one(&self) -> bool {
        use std::sync::atomic::Ordering;
        let chunk = self.next_chunk.fetch_add(1, Ordering::Relaxed);
        if chunk >= self.chunks() {
            return false;
        }
        let (lo, hi) = (chunk * QUEUE_CHUNK, ((chunk + 1) * QUEUE_CHUNK).min(self.count));
        self.do_chunk(lo, hi);
        let mut done = self.chunks_done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *done += 1;
        if *done == self.chunks() {
            self.all_done.notify_all();
        }
        true
    }

    /// Hashing before change checks: the record step takes the created files' digests while it builds the job's
    /// records, and the change check's answers only at the end, just before it stores the job.
    fn urgent(&self) -> bool {
        matches!(self.task, Task::Hash { .. })
    }

    fn do_chunk(&self, lo: usize, hi: usize) {
        // SAFETY: paths lo..hi are this thread's alone (see the Sync impl).
        let out = unsafe { &mut *self.out.get() };
        match &self.task {
            Task::Changed { expected } => {
                let have = hi.min(self.spans().len()).max(lo);
                let list: Vec<&std::ffi::CStr> = (lo..have).filter_map(|i| self.path(i)).collect();
                changed_in(&list, &expected[2 * lo..2 * have], &mut out[lo..have]);
                out[have..hi].fill(1); // a path the block lacks counts as changed
            }
            Task::Hash { max_size, budget, retries } => {
                // SAFETY: as above.
                let digests = unsafe { &mut *self.digests.get() };
                let how = HashHow {
                    attempts: retries.saturating_add(1),
                    check_stable: true,
                    use_mmap: false,
                    max_size: *max_size,
                    budget: Some(budget),
                };
                for i in lo..hi {
                    let fields = &mut out[i * HASH_FIELDS..(i + 1) * HASH_FIELDS];
                    match self.path(i) {
                        Some(path) => hash_path(path, &how, &mut digests[i * blake3::OUT_LEN..(i + 1) * blake3::OUT_LEN], fields),
                        None => fields[0] = libc::EINVAL as u64,
                    }
                }
            }
        }
    }

    /// Helps with what is left, then waits for the chunks other threads hold.
    fn finish(&self) {
        self.work();
        let mut done = self.chunks_done.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while *done < self.chunks() {
            done = self.all_done.wait(done).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// Work done by one background thread, while the caller (the record step, on roar's JavaScript thread) goes on
/// with what does not need its results: after a job, the change check of its inputs and the hashing of the files
/// it made run beside the filtering of its trace, on the core the job has left. Hashing goes first (its results
/// are asked for first), then items in the order queued: a chunk at a time, so hashing queued while a long change
/// check runs starts at its next chunk. Taking an item's result makes the caller help with what is left of it.
pub struct Queue {
    work: Option<std::sync::mpsc::Sender<std::sync::Arc<Item>>>,
    worker: Option<std::thread::JoinHandle<()>>,
    /// Items queued and not taken yet, by number.
    pending: std::collections::HashMap<u32, std::sync::Arc<Item>>,
    next: u32,
}

/// A new queue with its thread started; null when no thread can start (the caller then does the work itself).
#[no_mangle]
pub extern "C" fn roar_queue_new() -> *mut Queue {
    let (tx, rx) = std::sync::mpsc::channel::<std::sync::Arc<Item>>();
    let spawned = std::thread::Builder::new().name("roar-queue".into()).spawn(move || {
        let mut items: Vec<std::sync::Arc<Item>> = Vec::new();
        loop {
            // What was queued meanwhile, or (nothing left to do) the next item, or the end of the queue.
            while let Ok(item) = rx.try_recv() {
                items.push(item);
            }
            if items.is_empty() {
                match rx.recv() {
                    Ok(item) => items.push(item),
                    Err(_) => return,
                }
            }
            let next = items.iter().position(|i| i.urgent()).unwrap_or(0);
            if !items[next].work_one() {
                items.remove(next); // every chunk claimed (by this thread or a caller's)
            }
        }
    });
    match spawned {
        Ok(worker) => Box::into_raw(Box::new(Queue {
            work: Some(tx),
            worker: Some(worker),
            pending: std::collections::HashMap::new(),
            next: 1,
        })),
        Err(_) => std::ptr::null_mut(),
    }
}

/// Queues `item`; its number (0: the queue is gone).
fn enqueue(queue: &mut Queue, item: Item) -> u32 {
    let id = queue.next;
    let item = std::sync::Arc::new(item);
    match &queue.work {
        Some(tx) if tx.send(std::sync::Arc::clone(&item)).is_ok() => {
            queue.next += 1;
            queue.pending.insert(id, item);
            id
        }
        _ => 0,
    }
}

/// Takes item `id` once it is done (helping with it first); None for an item not queued, or taken already.
fn take(queue: &mut Queue, id: u32) -> Option<std::sync::Arc<Item>> {
    let item = queue.pending.remove(&id)?;
    item.finish();
    Some(item)
}

/// Queues a change check (arguments as `roar_changed_paths`, copied); its item number, 0 when not queued.
///
/// # Safety
/// `queue` from `roar_queue_new`, not freed; `paths` must point to `len` readable bytes, `expected` to
/// `count * 2` readable f64.
#[no_mangle]
pub unsafe extern "C" fn roar_queue_changed(queue: *mut Queue, paths: *const u8, len: usize, count: u32, expected: *const f64) -> u32 {
    let Some(queue) = queue.as_mut() else { return 0 };
    let paths = if len == 0 { Vec::new() } else { std::slice::from_raw_parts(paths, len).to_vec() };
    let expected = if count == 0 { Vec::new() } else { std::slice::from_raw_parts(expected, count as usize * 2).to_vec() };
    enqueue(queue, Item::new(Task::Changed { expected }, paths, count))
}

/// Takes a queued change check's result into `out` (`count` u64, as `roar_changed_paths` fills it), helping
/// with it and waiting for it. Returns 0, or EINVAL for an item that is not a pending change check of `count`
/// paths.
///
/// # Safety
/// `queue` as above; `out` must point to `count` writable u64.
#[no_mangle]
pub unsafe extern "C" fn roar_queue_take_changed(queue: *mut Queue, id: u32, count: u32, out: *mut u64) -> i32 {
    let Some(queue) = queue.as_mut() else { return libc::EINVAL };
    match take(queue, id) {
        Some(item) if matches!(item.task, Task::Changed { .. }) && item.count == count as usize => {
            // SAFETY: every chunk is done (take waited): nothing writes `out` any more.
            let flags = &*item.out.get();
            std::ptr::copy_nonoverlapping(flags.as_ptr(), out, flags.len());
            0
        }
        _ => libc::EINVAL,
    }
}

/// Queues hashing (the paths as `roar_hash_paths` takes them, copied; stability always checked, files read
/// without mapping): a regular file over `max_size` bytes, or over what is left of `max_total` bytes for the
/// whole list, is not read (`SKIPPED_BIG`). Its item number, 0 when not queued.
///
/// # Safety
/// `queue` as above; `paths` must point to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn roar_queue_hash(
    queue: *mut Queue,
    paths: *const u8,
    len: usize,
    count: u32,
    max_size: u64,
    max_total: u64,
    retries: u32,
) -> u32 {
    let Some(queue) = queue.as_mut() else { return 0 };
    let paths = if len == 0 { Vec::new() } else { std::slice::from_raw_parts(paths, len).to_vec() };
    let task = Task::Hash { max_size, budget: std::sync::atomic::AtomicU64::new(max_total), retries };
    enqueue(queue, Item::new(task, paths, count))
}

/// Takes a queued hashing's result, helping with it and waiting for it: `digests` and `meta` as
/// `roar_hash_paths` fills them. Returns 0, or EINVAL for an item that is not a pending hashing of `count` paths.
///
/// # Safety
/// `queue` as above; `digests` must point to `count * 32` writable bytes, `meta` to `count * 9` writable u64.
#[no_mangle]
pub unsafe extern "C" fn roar_queue_take_hash(queue: *mut Queue, id: u32, count: u32, digests: *mut u8, meta: *mut u64) -> i32 {
    let Some(queue) = queue.as_mut() else { return libc::EINVAL };
    match take(queue, id) {
        Some(item) if matches!(item.task, Task::Hash { .. }) && item.count == count as usize => {
            // SAFETY: as in roar_queue_take_changed.
            let (d, m) = (&*item.digests.get(), &*item.out.get());
            std::ptr::copy_nonoverlapping(d.as_ptr(), digests, d.len());
            std::ptr::copy_nonoverlapping(m.as_ptr(), meta, m.len());
            0
        }
        _ => libc::EINVAL,
    }
}

/// Ends a queue: work still queued is finished (its results dropped), then its thread is joined.
///
/// # Safety
/// `queue` from `roar_queue_new` (or null), freed once.
#[no_mangle]
pub unsafe extern "C" fn roar_queue_free(queue: *mut Queue) {
    if queue.is_null() {
        return;
    }
    let mut queue = Box::from_raw(queue);
    drop(queue.work.take());
    if let Some(worker) = queue.worker.take() {
        let _ = worker.join();
    }
}

/// The digests output of `roar_hash_paths`, shared by the threads of `in_parallel` (each writes its files' only).
struct SharedDigests(*mut u8);
// SAFETY: as SharedOut.
unsafe impl Sync for SharedDigests {}
impl SharedDigests {
    /// As SharedOut::ptr.
    fn ptr(&self) -> *mut u8 {
        self.0
    }
}

unsafe fn write_digest(hash: blake3::Hash, out: *mut u8) {
    std::ptr::copy_nonoverlapping(hash.as_bytes().as_ptr(), out, blake3::OUT_LEN);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn abi_version_is_six() {
        assert_eq!(roar_abi_version(), 6);
    }

    #[test]
    fn streaming_matches_one_shot() {
        let input = pattern(3 * 1024 * 1024 + 7);
        let mut one_shot = [0u8; 32];
        unsafe { roar_hash_bytes(input.as_ptr(), input.len(), one_shot.as_mut_ptr()) };
        let hasher = roar_hasher_new();
        for piece in input.chunks(100_000) {
            unsafe { roar_hasher_update(hasher, piece.as_ptr(), piece.len()) };
        }
        let mut streamed = [0u8; 32];
        unsafe { roar_hasher_finalize(hasher, streamed.as_mut_ptr()) };
        assert_eq!(one_shot, streamed);
        assert_eq!(&one_shot, blake3::hash(&input).as_bytes());
    }

    #[test]
    fn batch_stat_and_hash_match_single_calls() {
        let dir = test_dir("test");
        let small = dir.join("small");
        let large = dir.join("large");
        std::fs::write(&small, b"abc").unwrap();
        std::fs::write(&large, pattern(600 * 1024)).unwrap();
        let missing = dir.join("missing");
        let block = path_block(&[&small, &large, &missing, &dir]);
        let mut stats = vec![0u64; 4 * STAT_FIELDS];
        assert_eq!(unsafe { roar_stat_paths(block.as_ptr(), block.len(), 4, stats.as_mut_ptr()) }, 0);
        assert_eq!(stats[0], 0);
        assert_eq!(stats[4], 3);
        assert_eq!(stats[STAT_FIELDS + 4], 600 * 1024);
        assert_eq!(stats[2 * STAT_FIELDS], libc::ENOENT as u64);
        assert_eq!(stats[3 * STAT_FIELDS + 1] as u32 & libc::S_IFMT, libc::S_IFDIR);
        let mut digests = vec![0u8; 4 * 32];
        let mut meta = vec![0u64; 4 * HASH_FIELDS];
        let rc = unsafe { roar_hash_paths(block.as_ptr(), block.len(), 4, 1, 1, 2, digests.as_mut_ptr(), meta.as_mut_ptr()) };
        assert_eq!(rc, 0);
        assert_eq!(&digests[..32], blake3::hash(b"abc").as_bytes());
        assert_eq!(&digests[32..64], blake3::hash(&pattern(600 * 1024)).as_bytes());
        assert_eq!(meta[0], 0);
        assert_eq!(meta[STAT_FIELDS + 1], 1);
        assert_eq!(meta[HASH_FIELDS + 4], 600 * 1024);
        assert_eq!(meta[2 * HASH_FIELDS], libc::ENOENT as u64);
        assert_eq!(meta[3 * HASH_FIELDS], libc::EISDIR as u64);
        // A block shorter than the count reports EINVAL for the missing entries.
        let rc = unsafe { roar_stat_paths(block.as_ptr(), block.len(), 5, vec![0u64; 5 * STAT_FIELDS].as_mut_ptr()) };
        assert_eq!(rc, libc::EINVAL);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn queued_work_answers_as_the_direct_calls() {
        let dir = test_dir("queue");
        let small = dir.join("small");
        let big = dir.join("big");
        let (small_size, small_mtime) = written(&small, "abc");
        std::fs::write(&big, pattern(300 * 1024)).unwrap();
        let missing = dir.join("missing");
        let block = path_block(&[&small, &big, &missing]);
        let queue = roar_queue_new();
        assert!(!queue.is_null());
        // Hash first, then a change check: taken in the other order, each waits for its own item only.
        let hash = unsafe { roar_queue_hash(queue, block.as_ptr(), block.len(), 3, 64 * 1024, u64::MAX, 2) };
        let expected = [small_size, small_mtime, small_size, small_mtime, 0.0, 0.0];
        let changed = unsafe { roar_queue_changed(queue, block.as_ptr(), block.len(), 3, expected.as_ptr()) };
        assert!(hash != 0 && changed != 0 && hash != changed);
        let mut flags = [9u64; 3];
        assert_eq!(unsafe { roar_queue_take_changed(queue, changed, 3, flags.as_mut_ptr()) }, 0);
        assert_eq!(flags, [0, 1, 1]);
        let mut digests = vec![0u8; 3 * 32];
        let mut meta = vec![0u64; 3 * HASH_FIELDS];
        assert_eq!(unsafe { roar_queue_take_hash(queue, hash, 3, digests.as_mut_ptr(), meta.as_mut_ptr()) }, 0);
        assert_eq!(&digests[..32], blake3::hash(b"abc").as_bytes());
        assert_eq!((meta[0], meta[4], meta[STAT_FIELDS + 1]), (0, 3, 1));
        // Over the size limit: not read, its stat reported.
        assert_eq!((meta[HASH_FIELDS], meta[HASH_FIELDS + 4]), (SKIPPED_BIG, 300 * 1024));
        assert_eq!(meta[2 * HASH_FIELDS], libc::ENOENT as u64);
        // Past the total: the first file is read, the next (small enough alone) is not.
        let small_twice = path_block(&[&small, &small]);
        let two = unsafe { roar_queue_hash(queue, small_twice.as_ptr(), small_twice.len(), 2, 64 * 1024, 4, 2) };
        let mut meta2 = vec![0u64; 2 * HASH_FIELDS];
        assert_eq!(unsafe { roar_queue_take_hash(queue, two, 2, digests.as_mut_ptr(), meta2.as_mut_ptr()) }, 0);
        assert_eq!((meta2[0], meta2[HASH_FIELDS]), (0, SKIPPED_BIG));
        // An item taken already, or never queued, is refused rather than waited for.
        assert_eq!(unsafe { roar_queue_take_hash(queue, hash, 3, digests.as_mut_ptr(), meta.as_mut_ptr()) }, libc::EINVAL);
        assert_eq!(unsafe { roar_queue_take_changed(queue, 77, 3, flags.as_mut_ptr()) }, libc::EINVAL);
        // A count other than the item's is refused (the caller's buffers would not fit).
        let again = unsafe { roar_queue_changed(queue, block.as_ptr(), block.len(), 3, expected.as_ptr()) };
        assert_eq!(unsafe { roar_queue_take_changed(queue, again, 2, flags.as_mut_ptr()) }, libc::EINVAL);
        // Many paths (several chunks, shared by the queue's thread and the caller): the direct calls' answers.
        let mut expected_many = Vec::new();
        let many_paths: Vec<_> = (0..300)
            .map(|i| {
                let path = dir.join(format!("f{i}"));
                let (size, mtime) = written(&path, &"x".repeat(i));
                expected_many.extend_from_slice(&[size, if i % 7 == 0 { mtime + 1e6 } else { mtime }]);
                path
            })
            .collect();
        let many = path_block(&many_paths);
        let hashing = unsafe { roar_queue_hash(queue, many.as_ptr(), many.len(), 300, u64::MAX, u64::MAX, 2) };
        let checking = unsafe { roar_queue_changed(queue, many.as_ptr(), many.len(), 300, expected_many.as_ptr()) };
        let mut queued_flags = vec![0u64; 300];
        assert_eq!(unsafe { roar_queue_take_changed(queue, checking, 300, queued_flags.as_mut_ptr()) }, 0);
        let mut direct_flags = vec![0u64; 300];
        assert_eq!(unsafe { roar_changed_paths(many.as_ptr(), many.len(), 300, expected_many.as_ptr(), direct_flags.as_mut_ptr()) }, 0);
        assert_eq!(queued_flags, direct_flags);
        assert_eq!(queued_flags.iter().filter(|&&f| f == 1).count(), 43);
        let (mut queued_digests, mut queued_meta) = (vec![0u8; 300 * 32], vec![0u64; 300 * HASH_FIELDS]);
        assert_eq!(unsafe { roar_queue_take_hash(queue, hashing, 300, queued_digests.as_mut_ptr(), queued_meta.as_mut_ptr()) }, 0);
        let (mut direct_digests, mut direct_meta) = (vec![0u8; 300 * 32], vec![0u64; 300 * HASH_FIELDS]);
        let rc = unsafe { roar_hash_paths(many.as_ptr(), many.len(), 300, 1, 0, 2, direct_digests.as_mut_ptr(), direct_meta.as_mut_ptr()) };
        assert_eq!(rc, 0);
        assert_eq!(queued_digests, direct_digests);
        for i in 0..300 {
            assert_eq!(queued_meta[i * HASH_FIELDS..i * HASH_FIELDS + STAT_FIELDS], direct_meta[i * HASH_FIELDS..i * HASH_FIELDS + STAT_FIELDS]);
        }
        // Freed with work still queued and never taken: it finishes and the thread is joined.
        unsafe { roar_queue_changed(queue, block.as_ptr(), block.len(), 3, expected.as_ptr()) };
        unsafe { roar_queue_free(queue) };
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn hashing_queued_behind_a_long_change_check_goes_first() {
        let dir = test_dir("queue-order");
        let small = dir.join("small");
        written(&small, "abc");
        // ~1,500 chunks of stats (names that do not exist: each a failed lookup), then one file to hash.
        let names: Vec<_> = (0..100_000).map(|i| dir.join(format!("none/{i}"))).collect();
        let block = path_block(&names);
        let expected = vec![0.0; 2 * names.len()];
        let queue = roar_queue_new();
        assert!(!queue.is_null());
        let count = names.len() as u32;
        let changed = unsafe { roar_queue_changed(queue, block.as_ptr(), block.len(), count, expected.as_ptr()) };
        let one = path_block(&[&small]);
        let hash = unsafe { roar_queue_hash(queue, one.as_ptr(), one.len(), 1, u64::MAX, u64::MAX, 2) };
        // Not taken (taking would do it on this thread): the queue's thread hashes it first, at its next chunk.
        {
            // SAFETY: the queue is live; only its pending items' counters are read here.
            let q = unsafe { &*queue };
            let hashing = q.pending.get(&hash).expect("pending");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while *hashing.chunks_done.lock().unwrap() < hashing.chunks() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let checking = q.pending.get(&changed).expect("pending");
            let claimed = checking.next_chunk.load(std::sync::atomic::Ordering::Relaxed);
            assert!(claimed < checking.chunks(), "the change check was done first");
        }
        let mut digests = vec![0u8; 32];
        let mut meta = vec![0u64; HASH_FIELDS];
        assert_eq!(unsafe { roar_queue_take_hash(queue, hash, 1, digests.as_mut_ptr(), meta.as_mut_ptr()) }, 0);
        assert_eq!(&digests[..], blake3::hash(b"abc").as_bytes());
        let mut flags = vec![0u64; names.len()];
        assert_eq!(unsafe { roar_queue_take_changed(queue, changed, count, flags.as_mut_ptr()) }, 0);
        assert!(flags.iter().all(|&f| f == 1));
        unsafe { roar_queue_free(queue) };
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fresh directory for one test (its name and this process's id).
    fn test_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("roar-hash-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Paths as the kernel's calls take them: NUL-terminated, back to back.
    fn path_block<P: AsRef<std::path::Path>>(paths: &[P]) -> Vec<u8> {
        let mut block = Vec::new();
        for path in paths {
            block.extend_from_slice(path.as_ref().as_os_str().as_encoded_bytes());
            block.push(0);
        }
        block
    }

    /// Writes `text` to `path`; its size and mtime in ns as the tracer reports them (f64).
    fn written(path: &std::path::Path, text: &str) -> (f64, f64) {
        std::fs::write(path, text).unwrap();
        let meta = std::fs::metadata(path).unwrap();
        let mtime = std::os::unix::fs::MetadataExt::mtime(&meta) * 1_000_000_000
            + std::os::unix::fs::MetadataExt::mtime_nsec(&meta);
        (meta.len() as f64, mtime as f64)
    }

    #[test]
    fn changed_paths_compares_size_and_mtime_as_the_tracer_saw_them() {
        let dir = std::env::temp_dir().join(format!("roar-hash-changed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let n = 3 * PARALLEL_MIN_STATS + 5;
        let mut block = Vec::new();
        let mut expected = Vec::new();
        for i in 0..n {
            let path = dir.join(format!("f{i}"));
            let (len, mtime) = written(&path, &format!("file {i}"));
            // Every third expectation is off: by size, by mtime, or the file is gone.
            let (size, mtime) = match i % 3 {
                1 if i % 2 == 0 => (len + 1.0, mtime),
                1 => (len, mtime + 1e9),
                _ => (len, mtime),
            };
            if i % 7 == 6 {
                std::fs::remove_file(&path).unwrap();
            }
            expected.extend([size, mtime]);
            block.extend_from_slice(path.as_os_str().as_encoded_bytes());
            block.push(0);
        }
        block.extend_from_slice(dir.as_os_str().as_encoded_bytes());
        block.push(0);
        expected.extend([0.0, 0.0]);
        let mut out = vec![9u64; n + 1];
        let rc = unsafe { roar_changed_paths(block.as_ptr(), block.len(), n as u32 + 1, expected.as_ptr(), out.as_mut_ptr()) };
        assert_eq!(rc, 0);
        for (i, changed) in out.iter().take(n).enumerate() {
            assert_eq!(*changed, u64::from(i % 3 == 1 || i % 7 == 6), "file {i}");
        }
        assert_eq!(out[n], 1, "a directory is not the regular file the tracer saw");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn changed_paths_by_directory_answers_as_a_stat_of_each_path() {
        // Files over many directories (stat'ed relative to each), in shares for several threads, some off by size
        // or mtime, some gone; a directory, a relative name, a name under a missing directory.
        let root = std::env::temp_dir().join(format!("roar-hash-dirs-{}", std::process::id()));
        let n = 3 * PARALLEL_MIN_STATS + 11;
        let mut block = Vec::new();
        let mut expected = Vec::new();
        let mut want = Vec::new();
        for i in 0..n {
            let dir = root.join(format!("d{}", i / 97));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("f{i}"));
            let (len, mtime) = written(&path, &format!("file {i}"));
            let (size, mtime) = match i % 5 {
                1 => (len + 1.0, mtime),
                2 => (len, mtime - 1e9),
                _ => (len, mtime),
            };
            if i % 13 == 4 {
                std::fs::remove_file(&path).unwrap();
            }
            want.push(u64::from(i % 5 == 1 || i % 5 == 2 || i % 13 == 4));
            expected.extend([size, mtime]);
            block.extend_from_slice(path.as_os_str().as_encoded_bytes());
            block.push(0);
        }
        let missing_dir = root.join("nope/f");
        for extra in [root.as_os_str().as_encoded_bytes(), b"no-such-relative-name", missing_dir.as_os_str().as_encoded_bytes()] {
            block.extend_from_slice(extra);
            block.push(0);
            expected.extend([0.0, 0.0]);
            want.push(1);
        }
        let mut out = vec![9u64; want.len()];
        let rc = unsafe { roar_changed_paths(block.as_ptr(), block.len(), want.len() as u32, expected.as_ptr(), out.as_mut_ptr()) };
        assert_eq!(rc, 0);
        for (i, (got, want)) in out.iter().zip(&want).enumerate() {
            assert_eq!(got, want, "path {i}");
        }
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn batches_split_over_threads_give_each_file_its_own_fields() {
        // Enough files for every core to take chunks (see in_parallel), each with its own content and size,
        // some missing, and a block one path short of the count.
        let dir = std::env::temp_dir().join(format!("roar-hash-par-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let n = 3 * PARALLEL_MIN_STATS + 77;
        let mut block = Vec::new();
        for i in 0..n {
            let path = dir.join(format!("f{i}"));
            if i % 97 != 5 {
                std::fs::write(&path, format!("file {i}").repeat(i % 7 + 1)).unwrap();
            }
            block.extend_from_slice(path.as_os_str().as_encoded_bytes());
            block.push(0);
        }
        let count = n as u32 + 1;
        let mut stats = vec![0u64; (n + 1) * STAT_FIELDS];
        assert_eq!(unsafe { roar_stat_paths(block.as_ptr(), block.len(), count, stats.as_mut_ptr()) }, libc::EINVAL);
        let mut digests = vec![0u8; (n + 1) * 32];
        let mut meta = vec![0u64; (n + 1) * HASH_FIELDS];
        let rc = unsafe { roar_hash_paths(block.as_ptr(), block.len(), count, 1, 1, 2, digests.as_mut_ptr(), meta.as_mut_ptr()) };
        assert_eq!(rc, libc::EINVAL);
        for i in 0..n {
            let (st, m) = (&stats[i * STAT_FIELDS..], &meta[i * HASH_FIELDS..]);
            if i % 97 == 5 {
                assert_eq!((st[0], m[0]), (libc::ENOENT as u64, libc::ENOENT as u64), "file {i}");
                continue;
            }
            let content = format!("file {i}").repeat(i % 7 + 1);
            let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(dir.join(format!("f{i}"))).unwrap());
            assert_eq!((st[0], st[3], st[4]), (0, ino, content.len() as u64), "stat of file {i}");
            assert_eq!((m[0], m[3], m[4]), (0, ino, content.len() as u64), "hash meta of file {i}");
            assert_eq!(&digests[i * 32..i * 32 + 32], blake3::hash(content.as_bytes()).as_bytes(), "digest of file {i}");
        }
        assert_eq!((stats[n * STAT_FIELDS], meta[n * HASH_FIELDS]), (libc::EINVAL as u64, libc::EINVAL as u64));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
