//! Paths of tracees' directory fds (the `dirfd` of `openat` & co). Reading /proc/<tid>/fd/<n> on every call
//! was the tracer's most expensive syscall (tar opens every file relative to a directory fd). Instead the
//! tracer keeps its own duplicate of each directory fd (pidfd_getfd) and checks with kcmp(KCMP_FILE) that the
//! tracee's fd still refers to that same open file: a cheap comparison, no path walk.
use crate::{arch, mem, sys};
use std::collections::HashMap;
use std::ffi::c_long;

const MAX_ENTRIES: usize = 128;

pub struct DirCache {
    me: i32,
    /// (tgid, fd) → (path, our duplicate of the tracee's fd)
    entries: HashMap<(i32, i64), (Vec<u8>, i32)>,
    usable: bool,
}

impl DirCache {
    pub fn new() -> DirCache {
        // SAFETY: getpid has no preconditions.
        DirCache { me: unsafe { sys::getpid() }, entries: HashMap::new(), usable: true }
    }

    fn same_file(&self, tid: i32, fd: i64, ours: i32) -> bool {
        // SAFETY: kcmp compares two fds and touches no memory.
        let r = unsafe { sys::syscall(arch::SYS_KCMP, tid as c_long, self.me as c_long, sys::KCMP_FILE, fd as c_long, ours as c_long) };
        r == 0
    }

    pub fn path(&mut self, tid: i32, tgid: i32, fd: i64) -> Option<Vec<u8>> {
        if let Some((path, ours)) = self.entries.get(&(tgid, fd)) {
            if self.same_file(tid, fd, *ours) {
                return Some(path.clone());
            }
            let ours = *ours;
            self.entries.remove(&(tgid, fd));
            // SAFETY: an fd this cache owns, just removed from it.
            unsafe { sys::close(ours) };
        }
        let (path, _) = mem::fd_path(tid, fd)?;
        if self.usable {
            if self.entries.len() >= MAX_ENTRIES {
                self.clear();
            }
            if let Some(ours) = self.duplicate(tid, fd) {
                self.entries.insert((tgid, fd), (path.clone(), ours));
            }
        }
        Some(path)
    }

    fn duplicate(&mut self, tid: i32, fd: i64) -> Option<i32> {
        // SAFETY: pidfd_open touches no memory.
        let pidfd = unsafe { sys::syscall(sys::SYS_PIDFD_OPEN, tid as c_long, 0 as c_long) } as i32;
        if pidfd < 0 {
            self.usable = false; // old kernel: fall back to readlink every time
            return None;
        }
        // pidfd_getfd sets O_CLOEXEC on the new fd.
        // SAFETY: pidfd_getfd touches no memory.
        let ours = unsafe { sys::syscall(sys::SYS_PIDFD_GETFD, pidfd as c_long, fd as c_long, 0 as c_long) } as i32;
        // SAFETY: the pidfd opened above.
        unsafe { sys::close(pidfd) };
        if ours < 0 {
            if sys::errno() == sys::ENOSYS {
                self.usable = false;
            }
            return None;
        }
        Some(ours)
    }

    /// A directory may have been renamed: cached paths could be stale.
    pub fn clear(&mut self) {
        for (_, (_, ours)) in self.entries.drain() {
            // SAFETY: fds this cache owns, drained from it.
            unsafe { sys::close(ours) };
        }
    }

    pub fn forget_process(&mut self, tgid: i32) {
        let stale: Vec<(i32, i64)> = self.entries.keys().filter(|k| k.0 == tgid).copied().collect();
        for k in stale {
            if let Some((_, ours)) = self.entries.remove(&k) {
                // SAFETY: an fd this cache owns, just removed from it.
                unsafe { sys::close(ours) };
            }
        }
    }
}

impl Drop for DirCache {
    fn drop(&mut self) {
        self.clear();
    }
}
