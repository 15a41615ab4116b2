//! Syscall decoding: what a stopped call is about to do (entry), and what it did (exit).
use super::{exec_flags, syscall_info, Pending, TraceeMemory, Tracer};
use crate::arch::{self, Sys};
use crate::mem;
use crate::notify;
use crate::setid;
use crate::sys::{self, SyscallInfo};
use roar_events::{flags as rf, rec, OpenStat};
use roar_sys::calls::{self, Call};
use roar_sys::prewrite;

impl Tracer {
    pub(super) fn on_seccomp(&mut self, tid: i32) {
        let (r, info) = syscall_info(tid);
        if r <= 0 || info.op != sys::PTRACE_SYSCALL_INFO_SECCOMP {
            return self.resume(tid, 0);
        }
        self.on_call(tid, &info);
    }

    /// A syscall about to run, from a seccomp stop or (stepped hybrid tasks) a syscall-entry stop: the
    /// `entry` and `seccomp` members of ptrace_syscall_info share the nr/args layout.
    fn on_call(&mut self, tid: i32, info: &SyscallInfo) {
        let tgid = self.tgid_of(tid);
        let x32 = arch::X32_SYSCALL_BIT.is_some_and(|bit| info.nr_or_rval & bit as u64 != 0);
        // A 32-bit program (i386 on x86_64): the same calls under other numbers, decoded the same way.
        let compat = info.arch == arch::compat::AUDIT_ARCH && arch::compat::AUDIT_ARCH != 0;
        if (info.arch != arch::AUDIT_ARCH && !compat) || info.ret_data == crate::filter::DATA_FOREIGN || x32 {
            let first = self.procs.get_mut(&tgid).map(|p| !std::mem::replace(&mut p.foreign_reported, true));
            if first.unwrap_or(true) {
                self.incomplete(tgid, "unhandled_syscall", b"foreign syscall ABI (x32 or another architecture)");
            }
            return self.resume(tid, 0);
        }
        let sys_kind = if compat { arch::compat::classify(info.nr_or_rval) } else { arch::classify(info.nr_or_rval) };
        if !self.owns(tid) && !matches!(sys_kind, Some(Sys::IoUringSetup | Sys::NameToHandleAt | Sys::OpenByHandleAt)) {
            // Hybrid: a covered process under an inherited full filter — preload records this call.
            return self.resume(tid, 0);
        }
        let a = info.args.map(|v| if compat { v as u32 as usize } else { v as usize });
        let call = sys_kind.and_then(|s| calls::decode(s, &a, &TraceeMemory(tid)));
        let dir = |d: i32| d as i64;
        let pending = match call {
            None => None,
            Some(Call::Open { dirfd, path, flags }) => self.open(tid, dir(dirfd), path as u64, flags),
            Some(Call::Exec { dirfd, path, argv, flags, .. }) => {
                self.exec(tid, dir(dirfd), path as u64, argv as u64, flags as u64, compat)
            }
            Some(Call::Rename { from_dir, from, to_dir, to, exchange }) => {
                self.rename(tid, dir(from_dir), from as u64, dir(to_dir), to as u64, exchange)
            }
            Some(Call::Link { from_dir, from, to_dir, to, flags }) => {
                self.link(tid, dir(from_dir), from as u64, dir(to_dir), to as u64, flags as u64)
            }
            Some(Call::Symlink { target, to_dir, to }) => self.symlink(tid, target as u64, dir(to_dir), to as u64),
            Some(Call::Unlink { dirfd, path, dir: true }) => {
                self.arg_path(tid, dir(dirfd), path as u64).map(|(path, _)| Pending::Unlink { path, dir: true })
            }
            Some(Call::Unlink { dirfd, path, dir: false }) => self.unlink(tid, dir(dirfd), path as u64),
            Some(Call::Truncate { path }) => self.arg_path(tid, sys::AT_FDCWD as i64, path as u64).map(|(path, _)| {
                self.prewrite(tgid, &path, prewrite::Change::Content, true);
                Pending::Truncate { path }
            }),
            Some(Call::Ftruncate { fd }) => match mem::fd_path(tid, fd as i64) {
                Some((path, false)) => {
                    self.prewrite(tgid, &path, prewrite::Change::Content, true);
                    Some(Pending::Truncate { path })
                }
                _ => None,
            },
            Some(Call::Chdir) => Some(Pending::Chdir),
            Some(Call::Unfollowable { reason, detail }) => {
                self.incomplete(tgid, reason, if reason == "io_uring" { b"" } else { detail });
                None
            }
            Some(Call::Connect { addr, len, .. }) => mem::read_bytes(tid, addr as u64, len)
                .filter(|sa| roar_events::rec::is_inet(sa))
                .map(|sockaddr| Pending::Connect { sockaddr }),
            Some(Call::Accept { addr, len_ptr, .. }) => Some(Pending::Accept { addr: addr as u64, len_ptr: len_ptr as u64 }),
            // Process and descriptor calls never reach here (the filter does not stop them).
            Some(Call::Fork { .. } | Call::SharedClone | Call::Exit { .. } | Call::DropFds { .. }) => None,
        };
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.pending = pending;
        }
        self.resume(tid, 0);
    }

    /// Notes in the job's shared read filter that `path` was opened for reading.
    fn note_read(&mut self, path: &[u8]) {
        if let Some(pre) = self.pre.as_ref() {
            // SAFETY: our live mapping (or 0).
            unsafe { prewrite::mark_read(pre.reads as *mut u64, path) };
        }
    }

    /// Captures `path` before the job's first change to it and reports it (PREWRITE).
    fn prewrite(&mut self, tgid: i32, path: &[u8], change: prewrite::Change, follow: bool) {
        let Some(pre) = self.pre.as_mut() else { return };
        if pre.seen.contains(path) {
            return;
        }
        pre.seen.insert(path.to_vec());
        let mut z = Vec::with_capacity(path.len() + 1);
        z.extend_from_slice(path);
        z.push(0);
        // SAFETY: the read filter is our live mapping (or 0); capture only makes raw system calls.
        let keep = pre.policy.keep_all || unsafe { prewrite::maybe_read(pre.reads as *mut u64, path) };
        // SAFETY: z is NUL-terminated.
        let Some(c) = (unsafe { prewrite::capture(&z, &pre.dir, pre.policy.cap, change, follow, keep) }) else {
            return;
        };
        let st = OpenStat { dev: c.dev, ino: c.ino, size: c.size, mtime_ns: c.mtime_ns, ctime_ns: c.ctime_ns };
        let copy = c.copy;
        self.out.emit(|b, seq, ts| rec::prewrite(b, tgid as u32, seq, ts, path, &st, c.mode, copy.as_ref().map(|n| &n[..])));
    }

    fn open(&mut self, tid: i32, dirfd: i64, addr: u64, flags: u32) -> Option<Pending> {
        // O_TMPFILE files are anonymous until linkat names them (see `link`).
        if calls::names_no_content(flags) {
            return None;
        }
        if !calls::writes(flags) {
            self.read_only_open(tid, dirfd, addr, flags);
            return None;
        }
        let (path, _) = self.arg_path(tid, dirfd, addr)?;
        let follow = flags & arch::O_NOFOLLOW == 0;
        let tgid = self.tgid_of(tid);
        if path.starts_with(b"/dev/") {
            // Devices (/dev/null, ttys): no file identity to track, not worth an exit stop.
            self.out.emit(|b, seq, ts| rec::open(b, tgid as u32, seq, ts, &path, flags, -1, None));
            return None;
        }
        if flags & (sys::O_CREAT | sys::O_EXCL) != sys::O_CREAT | sys::O_EXCL {
            if flags & sys::O_ACCMODE == sys::O_RDWR && flags & sys::O_TRUNC == 0 {
                self.note_read(&path); // it may read before it writes
            }
            self.prewrite(tgid, &path, prewrite::Change::Content, follow);
        }
        // The pre-open stat lets the TS side tell an O_RDWR open that never wrote (size/mtime unchanged).
        let stat = if flags & sys::O_TRUNC == 0 {
            mem::stat_path(&path, follow).filter(|s| !mem::is_dir(s)).map(|s| mem::open_stat(&s))
        } else {
            None
        };
        Some(Pending::Open { path, flags, stat })
    }

    /// Settled at entry, without an exit stop: a read-only open of an existing non-directory succeeds
    /// (barring permissions), and the tracer's own stat is the "stat at open".
    fn read_only_open(&mut self, tid: i32, dirfd: i64, addr: u64, flags: u32) {
        if calls::names_no_content(flags) {
            return;
        }
        let Some((path, _)) = self.arg_path(tid, dirfd, addr) else { return };
        let follow = flags & arch::O_NOFOLLOW == 0;
        let tgid = self.tgid_of(tid);
        if let Some(st) = mem::stat_path(&path, follow) {
            if !mem::is_dir(&st) {
                self.note_read(&path);
                let os = mem::open_stat(&st);
                self.out.emit(|b, seq, ts| rec::open(b, tgid as u32, seq, ts, &path, flags, -1, Some(&os)));
            }
        }
    }

    /// A read-only open sent to the listener (see notify.rs); the tracee waits until this returns.
    pub(super) fn on_notify(&mut self, n: &notify::Notif) {
        let tid = n.pid as i32;
        // Hybrid: a process preload covers, under a filter inherited from an uncovered ancestor, is preload's.
        if n.arch != arch::AUDIT_ARCH || !self.owns(tid) {
            return;
        }
        let a = n.args.map(|v| v as usize);
        let call = arch::classify(n.nr as u32 as u64).and_then(|s| calls::decode(s, &a, &TraceeMemory(tid)));
        if let Some(Call::Open { dirfd, path, flags }) = call {
            self.read_only_open(tid, dirfd as i64, path as u64, flags);
        }
    }

    fn exec(&mut self, tid: i32, dirfd: i64, path_addr: u64, argv_addr: u64, at_flags: u64, compat: bool) -> Option<Pending> {
        let tgid = self.tgid_of(tid);
        let raw = self.raw_string(tid, path_addr).unwrap_or_default();
        let resolved = if raw.is_empty() && at_flags & sys::AT_EMPTY_PATH != 0 {
            mem::fd_path(tid, dirfd).map(|(p, _)| p)
        } else {
            self.resolve(tid, dirfd, &raw).map(|(p, _)| p)
        };
        let path = resolved.unwrap_or(raw);
        let argv = mem::read_argv(tid, argv_addr, if compat { 4 } else { 8 });
        let flags = exec_flags(&path);
        self.out.emit(|b, seq, ts| rec::exec(b, tgid as u32, seq, ts, &path, argv.iter().map(|a| a.as_slice()), flags));
        if !self.privileged && setid::changes_identity(tgid, &path) && self.set_id_exec(tid, &path) {
            return None; // detached: it runs on untraced
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.exec_path = Some(path);
        }
        None
    }

    fn rename(&mut self, tid: i32, ofd: i64, old: u64, nfd: i64, new: u64, exchange: bool) -> Option<Pending> {
        let (from, _) = self.arg_path(tid, ofd, old)?;
        let (to, _) = self.arg_path(tid, nfd, new)?;
        let tgid = self.tgid_of(tid);
        self.prewrite(tgid, &from, prewrite::Change::Name, false);
        self.prewrite(tgid, &to, prewrite::Change::Name, false);
        Some(Pending::Rename { from, to, exchange })
    }

    fn unlink(&mut self, tid: i32, dirfd: i64, addr: u64) -> Option<Pending> {
        let (path, _) = self.arg_path(tid, dirfd, addr)?;
        let tgid = self.tgid_of(tid);
        self.prewrite(tgid, &path, prewrite::Change::Name, false);
        Some(Pending::Unlink { path, dir: false })
    }

    fn link(&mut self, tid: i32, ofd: i64, old: u64, nfd: i64, new: u64, flags: u64) -> Option<Pending> {
        let raw_old = self.raw_string(tid, old)?;
        let (from, anonymous) = if raw_old.is_empty() && flags & sys::AT_EMPTY_PATH != 0 {
            mem::fd_path(tid, ofd)?
        } else {
            self.resolve(tid, ofd, &raw_old)?
        };
        let (to, _) = self.arg_path(tid, nfd, new)?;
        Some(Pending::Link { from, to, symlink: false, anonymous })
    }

    fn symlink(&mut self, tid: i32, target: u64, nfd: i64, new: u64) -> Option<Pending> {
        let from = self.raw_string(tid, target)?;
        let (to, _) = self.arg_path(tid, nfd, new)?;
        Some(Pending::Link { from, to, symlink: true, anonymous: false })
    }

    pub(super) fn on_syscall_exit(&mut self, tid: i32) {
        let (r, info) = syscall_info(tid);
        if r > 0 && info.op == sys::PTRACE_SYSCALL_INFO_ENTRY && self.tasks.get(&tid).is_some_and(|t| t.step) {
            return self.on_call(tid, &info);
        }
        if r > 0 && info.op == sys::PTRACE_SYSCALL_INFO_EXIT && self.tasks.get(&tid).is_some_and(|t| t.inject) {
            if info.arch == arch::AUDIT_ARCH {
                return self.inject(tid);
            }
            // A 32-bit image: the injection speaks the native ABI only; it stays stepped (decoded all the same).
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.inject = false;
            }
        }
        if r <= 0 || info.op != sys::PTRACE_SYSCALL_INFO_EXIT {
            // An entry stop cannot normally happen here (we only ask for exits); keep waiting for the exit.
            return self.resume(tid, 0);
        }
        let rval = info.nr_or_rval as i64;
        let failed = info.args[0] & 0xff != 0;
        let tgid = self.tgid_of(tid);
        let Some(pending) = self.tasks.get_mut(&tid).and_then(|t| t.pending.take()) else {
            return self.resume(tid, 0);
        };
        let under_way = matches!(pending, Pending::Connect { .. }) && rval == -(sys::EINPROGRESS as i64);
        if !failed || under_way {
            self.emit_success(tid, tgid, pending, rval);
        }
        self.resume(tid, 0);
    }

    fn emit_success(&mut self, tid: i32, tgid: i32, p: Pending, rval: i64) {
        let pid = tgid as u32;
        match p {
            Pending::Open { path, flags, stat } => {
                self.out.emit(|b, seq, ts| rec::open(b, pid, seq, ts, &path, flags, rval as i32, stat.as_ref()))
            }
            Pending::Rename { from, to, exchange: false } => {
                self.dirs.clear(); // it may have been a directory that cached dirfd paths point into
                self.out.emit(|b, seq, ts| rec::rename(b, pid, seq, ts, &from, &to))
            }
            Pending::Rename { from, to, exchange: true } => {
                // Both names now hold other content: report both as written.
                self.dirs.clear();
                let fl = sys::O_CREAT | sys::O_WRONLY;
                self.out.emit(|b, seq, ts| rec::open(b, pid, seq, ts, &from, fl, -1, None));
                self.out.emit(|b, seq, ts| rec::open(b, pid, seq, ts, &to, fl, -1, None));
            }
            Pending::Link { to, anonymous: true, .. } => {
                // An O_TMPFILE (or unlinked) file gets a name: to the reader that is a new file written here.
                let fl = sys::O_CREAT | sys::O_WRONLY;
                self.out.emit(|b, seq, ts| rec::open(b, pid, seq, ts, &to, fl, -1, None));
            }
            Pending::Link { from, to, symlink, anonymous: false } => {
                let fl = if symlink { rf::LINK_SYMLINK } else { 0 };
                self.out.emit(|b, seq, ts| rec::link(b, pid, seq, ts, &from, &to, fl));
            }
            Pending::Unlink { path, dir } => {
                let fl = if dir { rf::UNLINK_DIR } else { 0 };
                self.out.emit(|b, seq, ts| rec::unlink(b, pid, seq, ts, &path, fl));
            }
            Pending::Truncate { path } => self.out.emit(|b, seq, ts| rec::truncate(b, pid, seq, ts, &path)),
            Pending::Connect { sockaddr } => {
                self.out.emit(|b, seq, ts| rec::net(b, pid, seq, ts, rf::NET_CONNECT, &sockaddr))
            }
            Pending::Accept { addr, len_ptr } => {
                let written = mem::read_u64(tid, len_ptr).map(|v| v as u32 as usize);
                let peer = match written {
                    Some(len) if addr != 0 => mem::read_bytes(tid, addr, len),
                    _ => mem::peer_of(tgid, rval),
                };
                if let Some(sa) = peer.filter(|sa| roar_events::rec::is_inet(sa)) {
                    self.out.emit(|b, seq, ts| rec::net(b, pid, seq, ts, rf::NET_ACCEPT, &sa));
                }
            }
            Pending::Chdir => {
                // The kernel's view of the new cwd (fchdir has no path; chdir("..") across symlinks is physical).
                if let Some(cwd) = mem::cwd_of(tid) {
                    self.out.emit(|b, seq, ts| rec::chdir(b, pid, seq, ts, &cwd));
                    if let Some(p) = self.procs.get_mut(&tgid) {
                        p.cwd = Some(cwd);
                    }
                }
            }
        }
    }
}
