//! Process lifecycle: forks, execs, exits, signal stops, set-id detaches and hybrid filter injection.
use super::{ptrace_call, wait_desc, Proc, Task, Tracer};
use crate::hybrid;
use crate::inject;
use crate::mem;
use crate::setid;
use crate::sys;
use roar_events::{flags as rf, rec};
use std::ffi::c_int;

impl Tracer {
    /// `tid` is about to exec the set-id program `path` and this tracer would take its privilege away: detach
    /// (true), or — where no_new_privs is set and detaching cannot help — say the program ran without it.
    pub(super) fn set_id_exec(&mut self, tid: i32, path: &[u8]) -> bool {
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

    /// Hybrid: at the syscall-exit stop of an uncovered process's execve, stack the full filter so it stops
    /// only on path syscalls from now on; when that fails it stays stepped (slower, equally complete).
    pub(super) fn inject(&mut self, tid: i32) {
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
    pub(super) fn anything_left(&mut self) -> bool {
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
    pub(super) fn on_wait(&mut self, tid: i32, st: c_int) {
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
