//! roar's native BLAKE3 kernel: a C ABI over the reference `blake3` crate, for bun:ffi (src/hash/native.ts).
//!
//! Errors are returned as positive errno values (0 = success) so the caller can report them like node:fs does;
//! nothing here panics across the FFI boundary on bad input (the profile aborts on panic).

use std::io::Read;
use std::mem::ManuallyDrop;
use std::os::unix::io::FromRawFd;

/// Bumped whenever a signature below changes; src/hash/native.ts refuses a library with another version.
pub const ABI_VERSION: u32 = 1;

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

fn hash_read(fd: i32) -> std::io::Result<(blake3::Hash, u64)> {
    // SAFETY: the File only borrows the caller's fd; ManuallyDrop keeps it from being closed here.
    let mut file = ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1024 * 1024];
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
                return hash_stream(&mut *file);
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

fn hash_stream(reader: &mut impl Read) -> std::io::Result<(blake3::Hash, u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buffer = vec![0u8; 1024 * 1024];
    let mut total = 0u64;
    loop {
        match reader.read(&mut buffer) {
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
    fn abi_version_is_one() {
        assert_eq!(roar_abi_version(), 1);
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
}
