//! roar's native BLAKE3 kernel: a C ABI over the reference `blake3` crate, for bun:ffi (src/hash/native.ts).
//!
//! Errors are returned as positive errno values (0 = success) so the caller can report them like node:fs does;
//! nothing here panics across the FFI boundary on bad input (the profile aborts on panic).

use std::io::Read;
use std::mem::ManuallyDrop;
use std::os::unix::io::FromRawFd;

/// Bumped whenever a signature below changes; src/hash/native.ts refuses a library with another version.
pub const ABI_VERSION: u32 = 3;

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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let helpers = cores.min(count / min_per_thread.max(1)).saturating_sub(1);
    if helpers == 0 {
        work();
        return;
    }
    std::thread::scope(|scope| {
        for _ in 0..helpers {
            if std::thread::Builder::new().spawn_scoped(scope, &work).is_err() {
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

/// Hashes one open file as `hashFileSync` (src/hash/file.ts) does: fstat, hash, fstat again when
/// `check_stable`, retried while it keeps changing. `fields` as in `roar_hash_paths`.
fn hash_open(fd: i32, attempts: u32, check_stable: bool, use_mmap: bool, digest: &mut [u8], fields: &mut [u64]) {
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
        fields[STAT_FIELDS] = now_ns();
        // SAFETY: the path is NUL-terminated; the fd is closed below.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC) };
        if fd < 0 {
            fields[0] = errno();
            return;
        }
        hash_open(fd, retries.saturating_add(1), check_stable != 0, use_mmap != 0, digest, fields);
        // SAFETY: fd was opened above and is not used after this.
        unsafe { libc::close(fd) };
    });
    if list.len() < count as usize {
        libc::EINVAL
    } else {
        0
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
    fn abi_version_is_three() {
        assert_eq!(roar_abi_version(), 3);
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
        let dir = std::env::temp_dir().join(format!("roar-hash-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small");
        let large = dir.join("large");
        std::fs::write(&small, b"abc").unwrap();
        std::fs::write(&large, pattern(600 * 1024)).unwrap();
        let missing = dir.join("missing");
        let mut block = Vec::new();
        for p in [&small, &large, &missing, &dir] {
            block.extend_from_slice(p.as_os_str().as_encoded_bytes());
            block.push(0);
        }
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
