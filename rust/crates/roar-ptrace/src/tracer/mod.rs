//! The ptrace event loop. Stops happen only where the seccomp filter says so (see filter.rs); a syscall-exit
//! stop is requested (PTRACE_SYSCALL from the seccomp stop) only when the record depends on success. Read-only
//! opens are settled at entry: the tracer stats the resolved path itself, which also gives the stat at open.
//!
//! This file holds the tracer's state and the path helpers every part uses; decode.rs turns syscall stops
//! into records, lifecycle.rs follows processes (fork, exec, exit, signals, set-id detaches), run.rs starts
//! the command and runs the wait loop.
use crate::dircache::DirCache;
use crate::hybrid::{Coverage, Spec};
use crate::mem;
use crate::notify;
use crate::out::Out;
use crate::setid;
use crate::sys::{self, SyscallInfo};
use roar_events::{flags as rf, rec, OpenStat};
use roar_sys::calls;
use roar_sys::prewrite;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_int, c_long, c_void};
use std::sync::{Arc, Mutex};

mod decode;
mod lifecycle;
mod run;
mod start;

pub use run::{run, run_hybrid, TRACE_OPTIONS};

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
    // SAFETY: ptrace requests on our tracees; `addr`/`data` are addresses of ours only for requests that write one, sized for it.
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


/// The EXEC record's flags for the program at `path`: set-id, statically linked.
fn exec_flags(path: &[u8]) -> u32 {
    let mut flags = 0;
    if let Some(st) = mem::stat_path(path, true) {
        if st.mode & (sys::S_ISUID | sys::S_ISGID) != 0 {
            flags |= rf::EXEC_SETUID;
        }
        if mem::is_static_elf(path) {
            flags |= rf::EXEC_STATIC;
        }
    }
    flags
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
    /// The state of a run whose command is `root`; `spec` for hybrid mode.
    fn new(out: Out, root: i32, spec: Option<Spec>, notify_ok: bool, events_path: &[u8]) -> Tracer {
        Tracer {
            out,
            tasks: HashMap::new(),
            procs: HashMap::new(),
            early: HashSet::new(),
            root,
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
            pre: prewrites_for(events_path),
            privileged: setid::tracer_privileged(),
            root_detached: false,
            detach_next: HashMap::new(),
        }
    }

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
}

/// The tracer state, shared by the ptrace thread and the listener thread (see notify.rs). The ptrace thread
/// takes it out at the end: from then on the listener thread only lets calls continue.
type Shared = Arc<Mutex<Option<Tracer>>>;

/// Runs `f` on the tracer state unless the run is over. A thread that panicked while holding the lock left
/// nothing half-written that the other could not use.
fn with<R>(shared: &Shared, f: impl FnOnce(&mut Tracer) -> R) -> Option<R> {
    shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_mut().map(f)
}
