//! The ptrace event loop. Stops happen only where the seccomp filter says so (see filter.rs); a syscall-exit
//! stop is requested (PTRACE_SYSCALL from the seccomp stop) only when the record depends on success. Read-only
//! opens are settled at entry: the tracer stats the resolved path itself, which also gives the stat at open.
use crate::arch::{self, Sys};
use crate::dircache::DirCache;
use crate::hybrid::{self, Coverage, Spec};
use crate::inject;
use crate::mem;
use crate::notify;
use crate::out::Out;
use crate::setid;
use crate::spawn;
use crate::sys::{self, SyscallInfo};
use roar_events::{flags as rf, rec, OpenStat};
use roar_sys::calls::{self, Call};
use roar_sys::prewrite;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_long, c_void};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

pub struct Request {
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
    pub cwd: Vec<u8>,
    pub events_path: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// 126 / 127 when the command could not be started.
    pub spawn_error: Option<i32>,
    /// A failure of the tracer itself (errno), with `message`.
    pub tracer_errno: Option<i32>,
    pub message: String,
    /// Records that could not be written to the events file (a full disk).
    pub lost_events: u64,
    /// Hybrid: the coverage log could not be written.
    pub coverage_lost: bool,
}

enum Pending {
    Open { path: Vec<u8>, flags: u32, stat: Option<OpenStat> },
    Rename { from: Vec<u8>, to: Vec<u8>, exchange: bool },
    Link { from: Vec<u8>, to: Vec<u8>, symlink: bool, anonymous: bool },
    Unlink { path: Vec<u8>, dir: bool },
    Truncate { path: Vec<u8> },
    Chdir,
    /// connect: the endpoint, read before the call.
    Connect { sockaddr: Vec<u8> },
    /// accept/accept4: where the call writes the peer (addr may be 0).
    Accept { addr: u64, len_ptr: u64 },
}

struct Task {
    tgid: i32,
    pending: Option<Pending>,
    /// Auto-attached children start with a SIGSTOP that must be swallowed.
    awaiting_initial_stop: bool,
    exec_path: Option<Vec<u8>>,
    /// Hybrid mode: this task is stepped with PTRACE_SYSCALL (every syscall entry and exit stops) because
    /// preload does not cover it and the full filter could not be stacked (yet). Always false in ptrace mode.
    step: bool,
    /// Hybrid mode: this tracer records the task's process (preload does not cover its image).
    owned: bool,
    /// Hybrid mode: the full path-syscall filter is stacked on this task (inherited by its children).
    strict: bool,
    /// Hybrid mode: stack the full filter at the next syscall-exit stop (the one of its execve).
    inject: bool,
    /// Detach at its first stop: a posix_spawn child about to exec a set-id program (see setid.rs).
    detach_at_start: Option<Vec<u8>>,
}

/// Hybrid mode state (see hybrid.rs).
struct Hybrid {
    spec: Spec,
    cov: Coverage,
}

impl Task {
    /// The hybrid-mode flags of a task nothing is known about yet (also the plain ptrace mode values).
    fn idle() -> Task {
        Task {
            tgid: 0,
            pending: None,
            awaiting_initial_stop: false,
            exec_path: None,
            step: false,
            owned: false,
            strict: false,
            inject: false,
            detach_at_start: None,
        }
    }
}

struct Proc {
    ppid: i32,
    /// Cached cwd; None = ask /proc on next use.
    cwd: Option<Vec<u8>>,
    foreign_reported: bool,
}

struct Tracer {
    out: Out,
    tasks: HashMap<i32, Task>,
    procs: HashMap<i32, Proc>,
    /// New tasks whose first stop arrived before their parent's fork event; they stay stopped until then.
    early: HashSet<i32>,
    root: i32,
    root_status: Option<c_int>,
    dirs: DirCache,
    path_a: Vec<u8>,
    path_b: Vec<u8>,
    hybrid: Option<Hybrid>,
    /// Seccomp listeners can be used here (see notify.rs).
    notify_ok: bool,
    /// Hybrid: listeners of filters injected since run_loop last looked, for it to serve.
    new_listeners: Vec<notify::Listener>,
    /// Pre-write captures (see roar-sys prewrite), when roar asked for them.
    pre: Option<PreWrites>,
    /// A traced set-id exec keeps its privilege (see setid.rs).
    privileged: bool,
    /// The root process runs on untraced (a set-id program): its exit still ends the run.
    root_detached: bool,
    /// Processes whose next child is to be detached before it execs this set-id program (posix_spawn).
    detach_next: HashMap<i32, Vec<u8>>,
}

/// Where pre-write captures go, and the paths this tracer already reported (sparing the syscalls).
struct PreWrites {
    dir: Vec<u8>,
    policy: prewrite::Policy,
    seen: HashSet<Vec<u8>>,
    /// The job's shared read filter (roar-sys prewrite), as an address (0 = none): kept only behind the lock.
    reads: usize,
}

impl Drop for PreWrites {
    fn drop(&mut self) {
        if self.reads != 0 {
            // SAFETY: our own mapping of READS_BYTES, no longer used.
            unsafe { sys::munmap(self.reads as *mut c_void, prewrite::READS_BYTES) };
        }
    }
}

/// The traced task's memory, for the shared decoder (openat2's open_how).
struct TraceeMemory(i32);

impl calls::Memory for TraceeMemory {
    fn read_u64(&self, addr: usize) -> Option<u64> {
        mem::read_u64(self.0, addr as u64)
    }
}

fn ptrace_call(req: c_int, pid: i32, addr: usize, data: usize) -> c_long {
    unsafe { sys::ptrace(req, pid as c_long, addr as *mut c_void, data as *mut c_void) }
}

/// `/proc/self/fd/N` and friends name an fd, not a path: the caller resolves them through the fd table.
fn magic_fd(path: &[u8], tid: i32, tgid: i32) -> Option<i64> {
    let rest = if let Some(r) = path.strip_prefix(b"/proc/self/fd/") {
        r
    } else if let Some(r) = path.strip_prefix(b"/proc/thread-self/fd/") {
        r
    } else if let Some(r) = path.strip_prefix(b"/dev/fd/") {
        r
    } else {
        let r = path.strip_prefix(b"/proc/")?;
        let slash = r.iter().position(|&c| c == b'/')?;
        let pid: i32 = std::str::from_utf8(&r[..slash]).ok()?.parse().ok()?;
        if pid != tid && pid != tgid {
            return None;
        }
        r[slash..].strip_prefix(b"/fd/")?
    };
    if rest.is_empty() || !rest.iter().all(u8::is_ascii_digit) || rest.len() > 9 {
        return None;
    }
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// PTRACE_GET_SYSCALL_INFO of a stopped task: the request's result (> 0 when filled) and the info.
fn syscall_info(tid: i32) -> (c_long, SyscallInfo) {
    let mut info = SyscallInfo::default();
    let r = ptrace_call(sys::PTRACE_GET_SYSCALL_INFO, tid, std::mem::size_of::<SyscallInfo>(), &mut info as *mut _ as usize);
    (r, info)
}

fn wait_desc(st: c_int) -> (Option<i32>, Option<i32>) {
    if sys::wifexited(st) {
        (Some(sys::wexitstatus(st)), None)
    } else if sys::wifsignaled(st) {
        (None, Some(sys::wtermsig(st)))
    } else {
        (None, None)
    }
}

impl Tracer {
    fn resume(&mut self, tid: i32, sig: c_int) {
        let want_exit = self.tasks.get(&tid).is_some_and(|t| t.step || t.pending.is_some());
        let req = if want_exit { sys::PTRACE_SYSCALL } else { sys::PTRACE_CONT };
        ptrace_call(req, tid, 0, sig as usize);
    }

    /// Does this tracer write the process records (FORK/PROC_START/EXIT) of `tid`'s process? Always in
    /// ptrace mode; in hybrid mode only for processes preload does not cover.
    fn owns(&self, tid: i32) -> bool {
        self.hybrid.is_none() || self.tasks.get(&tid).is_some_and(|t| t.owned)
    }

    fn tgid_of(&self, tid: i32) -> i32 {
        self.tasks.get(&tid).map_or(tid, |t| t.tgid)
    }

    fn cwd(&mut self, tgid: i32) -> Option<Vec<u8>> {
        if let Some(c) = self.procs.get(&tgid).and_then(|p| p.cwd.clone()) {
            return Some(c);
        }
        let c = mem::cwd_of(tgid)?;
        if let Some(p) = self.procs.get_mut(&tgid) {
            p.cwd = Some(c.clone());
        }
        Some(c)
    }

    /// Absolute, lexically normalised path of `path` as the tracee named it relative to `dirfd`.
    /// The bool is true when the path came from an fd whose file is deleted/anonymous (O_TMPFILE).
    fn resolve(&mut self, tid: i32, dirfd: i64, path: &[u8]) -> Option<(Vec<u8>, bool)> {
        let tgid = self.tgid_of(tid);
        let base = if path.first() == Some(&b'/') {
            if let Some(fd) = magic_fd(path, tid, tgid) {
                return mem::fd_path(tid, fd);
            }
            Vec::new()
        } else if dirfd as i32 == sys::AT_FDCWD {
            self.cwd(tgid)?
        } else {
            self.dirs.path(tid, tgid, dirfd)?
        };
        if path.is_empty() {
            return Some((base, false));
        }
        let mut out = vec![0u8; base.len() + path.len() + 2];
        let n = roar_events::join_normalize(&base, path, &mut out);
        if n == 0 {
            return None;
        }
        out.truncate(n);
        Some((out, false))
    }

    /// Reads the string at `addr` and resolves it against `dirfd`.
    fn arg_path(&mut self, tid: i32, dirfd: i64, addr: u64) -> Option<(Vec<u8>, bool)> {
        let mut raw = std::mem::take(&mut self.path_a);
        let ok = mem::read_cstr(tid, addr, &mut raw);
        let r = if ok { self.resolve(tid, dirfd, &raw) } else { None };
        self.path_a = raw;
        r
    }

    fn raw_string(&mut self, tid: i32, addr: u64) -> Option<Vec<u8>> {
        let mut raw = std::mem::take(&mut self.path_b);
        let ok = mem::read_cstr(tid, addr, &mut raw);
        let r = ok.then(|| raw.clone());
        self.path_b = raw;
        r
    }

    fn incomplete(&mut self, pid: i32, reason: &str, detail: &[u8]) {
        self.out.emit(|b, seq, ts| rec::incomplete(b, pid as u32, seq, ts, reason, detail));
    }

    fn on_seccomp(&mut self, tid: i32) {
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
    fn on_notify(&mut self, n: &notify::Notif) {
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
        let mut flags = 0;
        if let Some(st) = mem::stat_path(&path, true) {
            if st.mode & (sys::S_ISUID | sys::S_ISGID) != 0 {
                flags |= rf::EXEC_SETUID;
            }
            if mem::is_static_elf(&path) {
                flags |= rf::EXEC_STATIC;
            }
        }
        self.out.emit(|b, seq, ts| rec::exec(b, tgid as u32, seq, ts, &path, argv.iter().map(|a| a.as_slice()), flags));
        if !self.privileged && setid::changes_identity(tgid, &path) && self.set_id_exec(tid, &path) {
            return None; // detached: it runs on untraced
        }
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.exec_path = Some(path);
        }
        None
    }

    /// `tid` is about to exec the set-id program `path` and this tracer would take its privilege away: detach
    /// (true), or — where no_new_privs is set and detaching cannot help — say the program ran without it.
    fn set_id_exec(&mut self, tid: i32, path: &[u8]) -> bool {
        let tgid = self.tgid_of(tid);
        if setid::no_new_privs(tid) {
            let detail = [path, b" (ran without its set-id privilege: no_new_privs)"].concat();
            self.incomplete(tgid, "setuid_exec", &detail);
            return false;
        }
        self.detach(tid, path);
        true
    }

    /// Lets `tid` run on untraced (from a ptrace-stop, suppressing any signal), flagging the job with `path`.
    fn detach(&mut self, tid: i32, path: &[u8]) {
        let tgid = self.tgid_of(tid);
        self.incomplete(tgid, "setuid_exec", path);
        ptrace_call(sys::PTRACE_DETACH, tid, 0, 0);
        self.tasks.remove(&tid);
        if tgid == self.root {
            self.root_detached = true;
        }
    }

    /// A detach request from a process the preload library covers (see setid.rs); false when the stop is not one.
    fn detach_request(&mut self, tid: i32, si: &[u8; 128]) -> bool {
        let tgid = self.tgid_of(tid);
        let Some((child, addr)) = setid::request(si, tgid) else { return false };
        let path = self.raw_string(tid, addr).unwrap_or_default();
        if self.privileged {
            self.resume(tid, 0); // the kernel keeps the privilege of a privileged tracer's tracee
        } else if child {
            self.detach_next.insert(tgid, path);
            self.resume(tid, 0);
        } else if !self.set_id_exec(tid, &path) {
            self.resume(tid, 0);
        }
        true
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

    fn on_syscall_exit(&mut self, tid: i32) {
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
        const EINPROGRESS: i64 = 115;
        let under_way = matches!(pending, Pending::Connect { .. }) && rval == -EINPROGRESS;
        if !failed || under_way {
            self.emit_success(tid, tgid, pending, rval);
        }
        self.resume(tid, 0);
    }

    /// Hybrid: at the syscall-exit stop of an uncovered process's execve, stack the full filter so it stops
    /// only on path syscalls from now on; when that fails it stays stepped (slower, equally complete).
    fn inject(&mut self, tid: i32) {
        if let Some(t) = self.tasks.get_mut(&tid) {
            t.inject = false;
        }
        match inject::install_full_filter(tid, self.notify_ok) {
            inject::Injected::Yes(listener) => {
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.strict = true;
                    t.step = false;
                }
                // served from a thread of its own, started by run_loop once this stop is handled
                self.new_listeners.extend(listener);
                self.resume(tid, 0)
            }
            inject::Injected::No(sig) => self.resume(tid, sig.unwrap_or(0)),
            inject::Injected::Gone(st) => self.on_exit(tid, st),
        }
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

    fn on_fork(&mut self, tid: i32, event: c_int) {
        let mut msg: u64 = 0;
        ptrace_call(sys::PTRACE_GETEVENTMSG, tid, 0, &mut msg as *mut u64 as usize);
        let child = msg as i32;
        let parent_tgid = self.tgid_of(tid);
        if child > 0 {
            let thread = event == sys::PTRACE_EVENT_CLONE
                && mem::stat_path(format!("/proc/{parent_tgid}/task/{child}").as_bytes(), true).is_some();
            let flags = match (event, thread) {
                (sys::PTRACE_EVENT_VFORK, _) => rf::FORK_VFORK,
                (_, true) => rf::FORK_THREAD,
                _ => 0,
            };
            let stopped_already = self.early.remove(&child);
            let tgid = if thread { parent_tgid } else { child };
            let detach_at_start = if thread { None } else { self.detach_next.remove(&parent_tgid) };
            let (step, strict) = self.tasks.get(&tid).map_or((false, false), |t| (t.step, t.strict));
            let owned = self.owns(tid);
            let hybrid_owned = owned && self.hybrid.is_some();
            self.tasks.insert(
                child,
                Task {
                    tgid,
                    pending: None,
                    awaiting_initial_stop: !stopped_already,
                    exec_path: None,
                    step,
                    owned: hybrid_owned,
                    strict,
                    inject: false,
                    detach_at_start,
                },
            );
            if !thread {
                // A covered parent's chdirs are not seen here: its cached cwd may be stale.
                let cwd = if owned { self.procs.get(&parent_tgid).and_then(|p| p.cwd.clone()) } else { None };
                self.procs.insert(child, Proc { ppid: parent_tgid, cwd, foreign_reported: false });
                if let Some(h) = self.hybrid.as_mut() {
                    h.cov.fork(child, hybrid_owned, parent_tgid);
                }
            }
            if owned {
                self.out.emit(|b, seq, ts| rec::fork(b, parent_tgid as u32, seq, ts, child as u32, flags));
            }
            if stopped_already {
                match self.tasks.get_mut(&child).and_then(|t| t.detach_at_start.take()) {
                    Some(path) => self.detach(child, &path),
                    None => self.resume(child, 0),
                }
            }
        }
        self.resume(tid, 0);
    }

    fn on_exec(&mut self, tid: i32) {
        let mut msg: u64 = 0;
        ptrace_call(sys::PTRACE_GETEVENTMSG, tid, 0, &mut msg as *mut u64 as usize);
        let former = msg as i32;
        if former > 0 && former != tid {
            // A non-leader thread exec'd: it now has the leader's id, the old leader is gone silently.
            if let Some(mut t) = self.tasks.remove(&former) {
                t.tgid = tid;
                self.tasks.insert(tid, t);
            }
        }
        if let Some(h) = self.hybrid.as_mut() {
            // Hybrid: decide who records the new image before any of it runs.
            let why = hybrid::decide(tid, &h.spec);
            h.cov.exec(tid, why);
            let covered = why.is_none();
            if let Some(t) = self.tasks.get_mut(&tid) {
                t.owned = !covered;
                // Uncovered: stepped until the full filter is stacked at the execve exit stop (unless an
                // ancestor's is already inherited). Covered: free, or its inherited filter's stops ignored.
                t.step = !covered && !t.strict;
                t.inject = t.step;
                t.pending = None;
                if covered {
                    t.exec_path = None;
                }
            }
            if let Some(p) = self.procs.get_mut(&tid) {
                p.cwd = None; // chdirs made under preload were not seen here
            }
            if covered {
                // preload's constructor writes PROC_START; this process now runs without stops
                return self.resume(tid, 0);
            }
        }
        // The image as the kernel resolved it (symlinks followed, a script's interpreter), as the preload
        // library reports it: a venv's `bin/python` is the EXEC path, the real interpreter the PROC_START exe.
        let exec_path = self.tasks.get_mut(&tid).and_then(|t| t.exec_path.take());
        let exe = mem::readlink(format!("/proc/{tid}/exe\0").as_bytes()).or(exec_path).unwrap_or_default();
        let argv = mem::cmdline_of(tid);
        let cwd = self.cwd(tid).unwrap_or_default();
        let ppid = self.procs.get(&tid).map_or(0, |p| p.ppid);
        self.out.emit(|b, seq, ts| {
            rec::proc_start(b, tid as u32, seq, ts, ppid as u32, &exe, argv.iter().map(|a| a.as_slice()), &cwd)
        });
        self.resume(tid, 0);
    }

    fn on_exit(&mut self, tid: i32, st: c_int) {
        self.early.remove(&tid);
        if tid == self.root && self.root_detached && !self.tasks.contains_key(&tid) {
            // The root ran on untraced (a set-id program): it is still our child.
            self.root_status = Some(st);
            let (code, signal) = wait_desc(st);
            self.out.emit(|b, seq, ts| rec::exit(b, tid as u32, seq, ts, code, signal));
            return;
        }
        let Some(task) = self.tasks.remove(&tid) else { return };
        if task.tgid != tid {
            return; // a thread: the process's EXIT comes with its leader
        }
        let (code, signal) = wait_desc(st);
        if let Some(h) = self.hybrid.as_mut() {
            h.cov.exit(tid, st);
        }
        if self.hybrid.is_none() || task.owned {
            self.out.emit(|b, seq, ts| rec::exit(b, tid as u32, seq, ts, code, signal));
        }
        self.procs.remove(&tid);
        self.dirs.forget_process(tid);
        if tid == self.root {
            self.root_status = Some(st);
        }
    }

    fn on_signal_stop(&mut self, tid: i32, sig: c_int) {
        if let Some(t) = self.tasks.get_mut(&tid) {
            if t.awaiting_initial_stop && sig == sys::SIGSTOP {
                t.awaiting_initial_stop = false;
                if let Some(path) = t.detach_at_start.take() {
                    return self.detach(tid, &path);
                }
                return self.resume(tid, 0);
            }
        }
        // Group-stop (GETSIGINFO fails with EINVAL) is resumed, as strace does without PTRACE_SEIZE;
        // a signal-delivery-stop gets its signal re-injected.
        let mut si = [0u8; 128];
        let r = ptrace_call(sys::PTRACE_GETSIGINFO, tid, 0, si.as_mut_ptr() as usize);
        if r >= 0 && sig == setid::DETACH_SIGNAL && self.detach_request(tid, &si) {
            return;
        }
        if r >= 0 {
            self.keep_open_uninterrupted(tid);
        }
        self.resume(tid, if r < 0 { 0 } else { sig });
    }

    /// A read-only open waiting on the listener is interruptible, where a ptrace stop is not: a signal then
    /// makes it fail with EINTR (or run twice). Unless it opens something whose open may really block (a
    /// FIFO, a device, a socket), it is made to restart after the signal, as if it had never waited.
    fn keep_open_uninterrupted(&mut self, tid: i32) {
        let Some((dirfd, addr)) = inject::interrupted_open(tid) else { return };
        let slow = match self.arg_path(tid, dirfd, addr) {
            Some((path, _)) => mem::stat_path(&path, true)
                .is_some_and(|st| !matches!(st.mode & sys::S_IFMT, sys::S_IFREG | sys::S_IFDIR)),
            None => false,
        };
        if !slow {
            inject::restart_after_signal(tid);
        }
    }

    /// Adopts orphaned early tasks; false when nothing is left to trace.
    fn anything_left(&mut self) -> bool {
        if !self.tasks.is_empty() || (self.root_detached && self.root_status.is_none()) {
            return true;
        }
        if self.early.is_empty() {
            return false;
        }
        // Their parents died before reporting the fork: adopt them as they are.
        for tid in std::mem::take(&mut self.early) {
            // In hybrid mode nothing is known about them: step them (ptrace records them).
            let step = self.hybrid.is_some();
            self.tasks.insert(
                tid,
                Task {
                    tgid: tid,
                    pending: None,
                    awaiting_initial_stop: false,
                    exec_path: None,
                    step,
                    owned: step,
                    strict: false,
                    inject: false,
                    detach_at_start: None,
                },
            );
            if let Some(h) = self.hybrid.as_mut() {
                h.cov.fork(tid, true, 0);
            }
            self.procs.insert(tid, Proc { ppid: 0, cwd: None, foreign_reported: false });
            self.resume(tid, 0);
        }
        true
    }

    /// One `waitpid` result.
    fn on_wait(&mut self, tid: i32, st: c_int) {
        if sys::wifexited(st) || sys::wifsignaled(st) {
            return self.on_exit(tid, st);
        }
        if !sys::wifstopped(st) {
            return;
        }
        if !self.tasks.contains_key(&tid) {
            self.early.insert(tid);
            return;
        }
        let sig = sys::wstopsig(st);
        let event = (st >> 16) & 0xff;
        if sig == sys::SIGTRAP | 0x80 {
            self.on_syscall_exit(tid);
        } else if sig == sys::SIGTRAP && event != 0 {
            match event {
                // A stepped task already handled this call at its syscall-entry stop.
                sys::PTRACE_EVENT_SECCOMP if self.tasks.get(&tid).is_some_and(|t| t.step) => self.resume(tid, 0),
                sys::PTRACE_EVENT_SECCOMP => self.on_seccomp(tid),
                sys::PTRACE_EVENT_FORK | sys::PTRACE_EVENT_VFORK | sys::PTRACE_EVENT_CLONE => self.on_fork(tid, event),
                sys::PTRACE_EVENT_EXEC => self.on_exec(tid),
                _ => self.resume(tid, 0),
            }
        } else {
            self.on_signal_stop(tid, sig);
        }
    }
}

/// The tracer state, shared by the ptrace thread and the listener thread (see notify.rs). The ptrace thread
/// takes it out at the end: from then on the listener thread only lets calls continue.
type Shared = Arc<Mutex<Option<Tracer>>>;

/// Runs `f` on the tracer state unless the run is over. A thread that panicked while holding the lock left
/// nothing half-written that the other could not use.
fn with<R>(shared: &Shared, f: impl FnOnce(&mut Tracer) -> R) -> Option<R> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut().map(f)
}

/// The ptrace side: every stop and exit of the traced tree, until nothing is left. The lock is not held
/// while waiting, so the listener thread can record opens meanwhile.
fn run_loop(shared: &Shared, servers: &mut Vec<notify::Server>) {
    while with(shared, |t| t.anything_left()).unwrap_or(false) {
        // Blocking wait only: busy-polling with WNOHANG was measured slower here (2 cores, the spinning
        // tracer competes with the tracees).
        let mut st: c_int = 0;
        // Before blocking, put batched records out: a parallel roar run reads this stream to know which
        // files this job is writing (src/run/in-flight.ts). Only when something waits to be written.
        let mut tid = 0;
        if with(shared, |t| t.out.has_pending()).unwrap_or(false) {
            tid = unsafe { sys::waitpid(-1, &mut st, sys::WALL | sys::WNOTHREAD | sys::WNOHANG) };
            if tid == 0 {
                with(shared, |t| t.out.flush());
            }
        }
        if tid == 0 {
            tid = unsafe { sys::waitpid(-1, &mut st, sys::WALL | sys::WNOTHREAD) };
        }
        if tid < 0 {
            match sys::errno() {
                sys::EINTR => continue,
                _ => break, // ECHILD: nothing left that we trace
            }
        }
        let fresh = with(shared, |t| {
            t.on_wait(tid, st);
            std::mem::take(&mut t.new_listeners)
        });
        for listener in fresh.into_iter().flatten() {
            serve(shared, listener, servers);
        }
    }
}

/// Starts a listener's thread (see notify.rs). When no thread can be started the listener is closed: the
/// tracee's read-only opens then fail with ENOSYS rather than hang.
fn serve(shared: &Shared, listener: notify::Listener, servers: &mut Vec<notify::Server>) -> bool {
    let shared = shared.clone();
    let fd = listener.fd;
    match notify::Server::start(listener, move |n| {
        with(&shared, |t| t.on_notify(n));
    }) {
        Some(server) => {
            servers.push(server);
            true
        }
        None => {
            unsafe { sys::close(fd) };
            false
        }
    }
}

pub const TRACE_OPTIONS: c_long = sys::PTRACE_O_TRACESYSGOOD
    | sys::PTRACE_O_TRACEFORK
    | sys::PTRACE_O_TRACEVFORK
    | sys::PTRACE_O_TRACECLONE
    | sys::PTRACE_O_TRACEEXEC
    | sys::PTRACE_O_TRACESECCOMP
    | sys::PTRACE_O_EXITKILL;

fn stage_message(stage: i32, e: i32) -> String {
    let what = match stage {
        spawn::STAGE_TRACEME => "ptrace(PTRACE_TRACEME) failed",
        spawn::STAGE_CHDIR => "cannot change to the working directory",
        spawn::STAGE_SECCOMP => "cannot install the seccomp filter",
        _ => "exec failed",
    };
    format!("{what}: {}", sys::strerror(e))
}

/// Pre-write capture settings next to the events file, when roar set them up.
fn prewrites_for(events_path: &[u8]) -> Option<PreWrites> {
    let mut dir = vec![0u8; events_path.len() + 8];
    let n = prewrite::dir_for_events(events_path, &mut dir);
    dir.truncate(n);
    // SAFETY: raw reads of a small file.
    let policy = unsafe { prewrite::read_policy(&dir) }?;
    // SAFETY: raw mapping of a small file.
    let reads = unsafe { prewrite::map_reads(events_path) } as usize;
    Some(PreWrites { dir, policy, seen: HashSet::new(), reads })
}

/// Runs a set-id command untraced (see setid.rs): its EXEC, the INCOMPLETE naming it and its EXIT are all the
/// trace says.
fn run_untraced(mut prep: spawn::Prepared, mut out: Out, exe: &[u8], argv: &[Vec<u8>], pid_out: Option<&AtomicI32>) -> Outcome {
    let mut outcome = Outcome::default();
    let mut pipe = [0 as c_int; 2];
    if unsafe { sys::pipe2(pipe.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        let e = sys::errno();
        outcome.tracer_errno = Some(e);
        outcome.message = format!("pipe2: {}", sys::strerror(e));
        out.finish();
        return outcome;
    }
    let me = unsafe { sys::getpid() };
    let mut stack = vec![0u8; 256 * 1024];
    let pid = spawn::clone_child(&mut prep, pipe[1], me, &mut stack) as i32;
    unsafe { sys::close(pipe[1]) };
    if pid < 0 {
        unsafe { sys::close(pipe[0]) };
        outcome.tracer_errno = Some(-pid);
        outcome.message = format!("clone: {}", sys::strerror(-pid));
        out.finish();
        return outcome;
    }
    if let Some(p) = pid_out {
        p.store(pid, Ordering::SeqCst);
    }
    out.emit(|b, seq, ts| rec::exec(b, pid as u32, seq, ts, exe, argv.iter().map(|a| a.as_slice()), rf::EXEC_SETUID));
    // Only an exec failure writes to the pipe; end of file means the program runs.
    let report = spawn::read_report(pipe[0]);
    unsafe { sys::close(pipe[0]) };
    let mut st: c_int = 0;
    while unsafe { sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD) } < 0 && sys::errno() == sys::EINTR {}
    match report {
        Some((_, e)) => {
            outcome.spawn_error = Some(if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
            outcome.message = format!("{}: {}", String::from_utf8_lossy(argv.first().map_or(&[][..], |a| a)), sys::strerror(e));
        }
        None => {
            out.emit(|b, seq, ts| rec::incomplete(b, pid as u32, seq, ts, "setuid_exec", exe));
            let (code, signal) = wait_desc(st);
            out.emit(|b, seq, ts| rec::exit(b, pid as u32, seq, ts, code, signal));
            outcome.exit_code = code;
            outcome.signal = signal;
        }
    }
    outcome.lost_events = out.finish();
    outcome
}

pub fn run(req: Request, pid_out: Option<&AtomicI32>) -> Outcome {
    run_mode(req, None, pid_out)
}

/// Hybrid mode (see hybrid.rs): `req.envp` must already carry the preload variables.
pub fn run_hybrid(req: Request, spec: Spec, pid_out: Option<&AtomicI32>) -> Outcome {
    run_mode(req, Some(spec), pid_out)
}

fn run_mode(req: Request, spec: Option<Spec>, pid_out: Option<&AtomicI32>) -> Outcome {
    let mut outcome = Outcome::default();
    let fail = |o: &mut Outcome, e: i32, msg: String| {
        o.tracer_errno = Some(e);
        o.message = msg;
    };
    let out = match Out::create(&req.events_path) {
        Ok(o) => o,
        Err(e) => {
            fail(&mut outcome, e, format!("cannot create the events file: {}", sys::strerror(e)));
            return outcome;
        }
    };
    let Some(argv0) = req.argv.first() else {
        outcome.spawn_error = Some(127);
        outcome.message = "empty command".into();
        out.finish();
        return outcome;
    };
    let exe = match spawn::lookup(argv0, &req.envp, &req.cwd) {
        spawn::Lookup::Found(p) => p,
        spawn::Lookup::NotFound => {
            outcome.spawn_error = Some(127);
            outcome.message = format!("{}: command not found", String::from_utf8_lossy(argv0));
            out.finish();
            return outcome;
        }
        spawn::Lookup::NotExecutable => {
            outcome.spawn_error = Some(126);
            outcome.message = format!("{}: permission denied", String::from_utf8_lossy(argv0));
            out.finish();
            return outcome;
        }
    };
    // Hybrid: a command that cannot load the preload (a 32-bit program) must not find it in LD_PRELOAD.
    let stripped;
    let envp = match spec.as_ref() {
        Some(sp) if hybrid::is_foreign_elf(&exe) || hybrid::is_foreign_elf(&[&req.cwd[..], b"/", &exe].concat()) => {
            stripped = hybrid::without_preload(&req.envp, &sp.lib);
            &stripped
        }
        _ => &req.envp,
    };
    let filter = if spec.is_some() { crate::filter::build_hybrid() } else { crate::filter::build() };
    // Hybrid mode leaves opens to preload; its injected full filters stay ptrace-only (see inject.rs).
    let notify_ok = notify::usable();
    let notify_filter = (spec.is_none() && notify_ok).then(crate::filter::build_notify);
    let Some(mut prep) = spawn::Prepared::with_filter(&exe, &req.argv, envp, &req.cwd, filter, notify_filter) else {
        fail(&mut outcome, sys::EINVAL, "argv, env or cwd contains a NUL byte".into());
        out.finish();
        return outcome;
    };
    let me = unsafe { sys::getpid() };
    // Hybrid: without privilege a filter needs no_new_privs, which would keep every set-id program of the
    // tree from gaining its privilege; preload covers what it would stop for (see setid.rs).
    prep.filter_optional = spec.is_some();
    let mut cwd = vec![0u8; req.cwd.len() + 2];
    let n = roar_events::join_normalize(b"/", &req.cwd, &mut cwd);
    cwd.truncate(n);
    let mut exe_abs = vec![0u8; cwd.len() + exe.len() + 2];
    let n = roar_events::join_normalize(&cwd, &exe, &mut exe_abs);
    exe_abs.truncate(n);
    if !setid::tracer_privileged() && setid::changes_identity(me, &exe_abs) {
        // The command itself is a set-id program: traced, it would lose its privilege.
        prep.untraced = true;
        return run_untraced(prep, out, &exe_abs, &req.argv, pid_out);
    }
    // The child's stack, in our memory until its exec (or death): kept until the run is over.
    let mut child_stack = vec![0u8; 256 * 1024];
    let mut st: c_int = 0;
    // At most two attempts: a child whose listener cannot be taken here (no pidfd_getfd before Linux 5.6, a
    // seccomp profile that refuses it) is killed before it execs and started again without one.
    let (pid, pipe, listener) = loop {
        let mut pipe = [0 as c_int; 2];
        if unsafe { sys::pipe2(pipe.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
            let e = sys::errno();
            fail(&mut outcome, e, format!("pipe2: {}", sys::strerror(e)));
            out.finish();
            return outcome;
        }
        let cloned = spawn::clone_child(&mut prep, pipe[1], me, &mut child_stack);
        unsafe { sys::close(pipe[1]) };
        let pid = cloned as i32;
        if cloned < 0 {
            let e = -cloned as i32;
            unsafe { sys::close(pipe[0]) };
            fail(&mut outcome, e, format!("clone: {}", sys::strerror(e)));
            out.finish();
            return outcome;
        }
        let r = loop {
            let r = unsafe { sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD) };
            if r < 0 && sys::errno() == sys::EINTR {
                continue;
            }
            break r;
        };
        // Sent just before the stop (so it is there now), whether or not a listener was made.
        let child_listener = spawn::read_report(pipe[0]).filter(|(stage, _)| *stage == spawn::STAGE_LISTENER);
        if r != pid || !sys::wifstopped(st) {
            let report = if child_listener.is_some() { spawn::read_report(pipe[0]) } else { None };
            unsafe { sys::close(pipe[0]) };
            let (e, msg) = match report {
                Some((stage, e)) => (e, stage_message(stage, e)),
                None => (sys::ECHILD, "the traced child exited before it could be traced".into()),
            };
            fail(&mut outcome, e, msg);
            out.finish();
            return outcome;
        }
        match child_listener {
            Some((_, fd)) if fd >= 0 => match notify::acquire(pid, fd) {
                Some(l) => break (pid, pipe, Some(l)),
                None => unsafe {
                    sys::kill(pid, sys::SIGKILL);
                    sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD);
                    sys::close(pipe[0]);
                    prep.without_listener();
                },
            },
            _ => break (pid, pipe, None),
        }
    };
    if let Some(p) = pid_out {
        p.store(pid, Ordering::SeqCst);
    }
    if ptrace_call(sys::PTRACE_SETOPTIONS, pid, 0, TRACE_OPTIONS as usize) < 0 {
        let e = sys::errno();
        unsafe {
            sys::kill(pid, sys::SIGKILL);
            sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD);
            sys::close(pipe[0]);
        }
        fail(&mut outcome, e, format!("PTRACE_SETOPTIONS: {}", sys::strerror(e)));
        out.finish();
        return outcome;
    }
    let mut tracer = Tracer {
        out,
        tasks: HashMap::new(),
        procs: HashMap::new(),
        early: HashSet::new(),
        root: pid,
        root_status: None,
        dirs: DirCache::new(),
        path_a: Vec::with_capacity(4096),
        path_b: Vec::with_capacity(4096),
        hybrid: spec.map(|spec| {
            let cov = Coverage::new(spec.coverage_path.clone());
            Hybrid { spec, cov }
        }),
        notify_ok,
        new_listeners: Vec::new(),
        pre: prewrites_for(&req.events_path),
        privileged: setid::tracer_privileged(),
        root_detached: false,
        detach_next: HashMap::new(),
    };
    if tracer.hybrid.is_some() {
        // Hybrid: the hybrid filter does not stop at execve, and preload's hooks are not yet loaded in the
        // command's own exec — say what was executed, as every other backend does (absolute, as exec found it).
        let abs = &exe_abs;
        let mut flags = 0;
        if let Some(st) = mem::stat_path(abs, true) {
            if st.mode & (sys::S_ISUID | sys::S_ISGID) != 0 {
                flags |= rf::EXEC_SETUID;
            }
            if mem::is_static_elf(abs) {
                flags |= rf::EXEC_STATIC;
            }
        }
        let argv = req.argv.iter().map(|a| a.as_slice());
        tracer.out.emit(|b, seq, ts| rec::exec(b, pid as u32, seq, ts, abs, argv.clone(), flags));
    }
    tracer
        .tasks
        .insert(pid, Task { tgid: pid, pending: None, awaiting_initial_stop: false, exec_path: None, ..Task::idle() });
    tracer.procs.insert(pid, Proc { ppid: me, cwd: Some(cwd), foreign_reported: false });
    let shared: Shared = Arc::new(Mutex::new(Some(tracer)));
    let mut servers: Vec<notify::Server> = Vec::new();
    let mut listener_failed = false;
    if let Some(l) = listener {
        if !serve(&shared, l, &mut servers) {
            // Nobody would answer the child's opens: stop it here rather than let it fail them.
            listener_failed = true;
            unsafe { sys::kill(pid, sys::SIGKILL) };
        }
    }
    // The child is in its raise(SIGSTOP): continue without delivering it.
    with(&shared, |t| t.resume(pid, 0));
    run_loop(&shared, &mut servers);
    let tracer = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
    for server in servers {
        server.stop();
    }
    let Some(tracer) = tracer else {
        fail(&mut outcome, sys::EIO, "the tracer state was lost".into());
        return outcome;
    };
    let report = spawn::read_report(pipe[0]);
    unsafe { sys::close(pipe[0]) };
    if listener_failed {
        tracer.out.finish();
        fail(&mut outcome, sys::EAGAIN, "cannot start the tracer's listener thread".into());
        return outcome;
    }
    let root_status = tracer.root_status;
    outcome.lost_events = tracer.out.finish();
    if let Some(h) = tracer.hybrid.as_ref() {
        // The command ran: a log that cannot be written (a full disk) makes the trace incomplete, not failed.
        outcome.coverage_lost = !h.cov.write();
    }
    match report {
        Some((spawn::STAGE_EXEC, e)) => {
            outcome.spawn_error = Some(if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
            outcome.message = format!("{}: {}", String::from_utf8_lossy(argv0), sys::strerror(e));
        }
        Some((stage, e)) => fail(&mut outcome, e, stage_message(stage, e)),
        None => match root_status.map(wait_desc) {
            Some((code, signal)) => {
                outcome.exit_code = code;
                outcome.signal = signal;
            }
            None => fail(&mut outcome, sys::ECHILD, "lost track of the traced command".into()),
        },
    }
    outcome
}
