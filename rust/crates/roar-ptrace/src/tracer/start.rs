//! Starting the command: the path lookup and the child's set-up, as `Result`s whose `Failure` is what the
//! run's `Outcome` then says. Clean-up on failure is left to drop guards (`Fd`, `StoppedChild`).
use super::{ptrace_call, Outcome, Request, TRACE_OPTIONS};
use crate::hybrid::{self, Spec};
use crate::notify;
use crate::out::Out;
use crate::setid;
use crate::spawn;
use crate::sys;
use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};

/// Why a run ended without tracing the command.
pub(super) enum Failure {
    /// The command could not be started: 126 / 127, and the message.
    Spawn(i32, String),
    /// The tracer itself failed: errno, and the message.
    Tracer(i32, String),
}

impl Failure {
    pub(super) fn outcome(self) -> Outcome {
        let mut outcome = Outcome::default();
        match self {
            Failure::Spawn(code, message) => {
                outcome.spawn_error = Some(code);
                outcome.message = message;
            }
            Failure::Tracer(errno, message) => {
                outcome.tracer_errno = Some(errno);
                outcome.message = message;
            }
        }
        outcome
    }

    /// The outcome once the events stream (holding no more than its header) is closed.
    pub(super) fn after(self, out: Out) -> Outcome {
        out.finish();
        self.outcome()
    }
}

/// A file descriptor of ours, closed when dropped.
pub(super) struct Fd(pub(super) c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: closing an fd this guard owns; nothing else closes it.
        unsafe { sys::close(self.0) };
    }
}

/// A close-on-exec pipe: (read end, write end).
pub(super) fn pipe() -> Result<(Fd, Fd), Failure> {
    let mut ends = [0 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    if unsafe { sys::pipe2(ends.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        let e = sys::errno();
        return Err(Failure::Tracer(e, format!("pipe2: {}", sys::strerror(e))));
    }
    Ok((Fd(ends[0]), Fd(ends[1])))
}

/// A traced child stopped before its exec while the tracer sets it up: killed and reaped when dropped, so a
/// failed set-up never leaves it behind.
struct StoppedChild(i32);

impl StoppedChild {
    /// Set-up done: the run follows the child from now on.
    fn keep(self) -> i32 {
        let pid = self.0;
        std::mem::forget(self);
        pid
    }
}

impl Drop for StoppedChild {
    fn drop(&mut self) {
        let mut st: c_int = 0;
        // SAFETY: plain syscalls on our own child's pid.
        unsafe {
            sys::kill(self.0, sys::SIGKILL);
            sys::waitpid(self.0, &mut st, sys::WALL | sys::WNOTHREAD);
        }
    }
}

/// The command, found and ready to start.
pub(super) struct Plan {
    /// The child's set-up; it reads from this memory until its exec, so it lives until the run is over.
    pub(super) prep: spawn::Prepared,
    /// The normalised absolute working directory.
    pub(super) cwd: Vec<u8>,
    /// The program as exec will find it, absolute.
    pub(super) exe_abs: Vec<u8>,
    /// Seccomp listeners can be used here (see notify.rs).
    pub(super) notify_ok: bool,
}

/// Finds the command and prepares its start; `me` is this process. A set-id command is marked to run
/// untraced (`prep.untraced`): traced, it would lose its privilege.
pub(super) fn prepare(req: &Request, spec: Option<&Spec>, me: i32) -> Result<Plan, Failure> {
    let argv0 = req.argv.first().ok_or_else(|| Failure::Spawn(127, "empty command".into()))?;
    let exe = match spawn::lookup(argv0, &req.envp, &req.cwd) {
        spawn::Lookup::Found(p) => p,
        spawn::Lookup::NotFound => {
            return Err(Failure::Spawn(127, format!("{}: command not found", String::from_utf8_lossy(argv0))));
        }
        spawn::Lookup::NotExecutable => {
            return Err(Failure::Spawn(126, format!("{}: permission denied", String::from_utf8_lossy(argv0))));
        }
    };
    // Hybrid: a command that cannot load the preload (a 32-bit program) must not find it in LD_PRELOAD.
    let stripped;
    let envp = match spec {
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
    let mut prep = spawn::Prepared::with_filter(&exe, &req.argv, envp, &req.cwd, filter, notify_filter)
        .ok_or_else(|| Failure::Tracer(sys::EINVAL, "argv, env or cwd contains a NUL byte".into()))?;
    // Hybrid: without privilege a filter needs no_new_privs, which would keep every set-id program of the
    // tree from gaining its privilege; preload covers what it would stop for (see setid.rs).
    prep.filter_optional = spec.is_some();
    let mut cwd = vec![0u8; req.cwd.len() + 2];
    let n = roar_events::join_normalize(b"/", &req.cwd, &mut cwd);
    cwd.truncate(n);
    let mut exe_abs = vec![0u8; cwd.len() + exe.len() + 2];
    let n = roar_events::join_normalize(&cwd, &exe, &mut exe_abs);
    exe_abs.truncate(n);
    prep.untraced = !setid::tracer_privileged() && setid::changes_identity(me, &exe_abs);
    Ok(Plan { prep, cwd, exe_abs, notify_ok })
}

/// The traced child, stopped in its raise(SIGSTOP) before its exec with its ptrace options set.
pub(super) struct Traced {
    pub(super) pid: i32,
    /// The pipe through which the child reports a failed start (end of file once it has exec'd).
    pub(super) report: Fd,
    /// The child's seccomp listener (see notify.rs), when it made one and it could be taken.
    pub(super) listener: Option<notify::Listener>,
}

/// Starts the traced child on `stack` (which, like `prep`, must outlive its exec) and sets its ptrace
/// options; `me` is this process. At most two attempts: a child whose listener cannot be taken here (no
/// pidfd_getfd before Linux 5.6, a seccomp profile that refuses it) is killed before it execs and started
/// again without one.
pub(super) fn start_traced(prep: &mut spawn::Prepared, me: i32, stack: &mut [u8], pid_out: Option<&AtomicI32>) -> Result<Traced, Failure> {
    // Fields drop in order: on a failure the child is killed before its pipe is closed.
    struct Started(StoppedChild, Fd, Option<notify::Listener>);
    let started = loop {
        let (report, report_w) = pipe()?;
        let cloned = spawn::clone_child(prep, report_w.0, me, stack);
        drop(report_w);
        if cloned < 0 {
            let e = -cloned as i32;
            return Err(Failure::Tracer(e, format!("clone: {}", sys::strerror(e))));
        }
        let pid = cloned as i32;
        let mut st: c_int = 0;
        let r = loop {
            // SAFETY: waits for our own child into a local status word.
            let r = unsafe { sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD) };
            if r < 0 && sys::errno() == sys::EINTR {
                continue;
            }
            break r;
        };
        // Sent just before the stop (so it is there now), whether or not a listener was made.
        let child_listener = spawn::read_report(report.0).filter(|(stage, _)| *stage == spawn::STAGE_LISTENER);
        if r != pid || !sys::wifstopped(st) {
            let failed = if child_listener.is_some() { spawn::read_report(report.0) } else { None };
            return Err(match failed {
                Some((stage, e)) => Failure::Tracer(e, stage_message(stage, e)),
                None => Failure::Tracer(sys::ECHILD, "the traced child exited before it could be traced".into()),
            });
        }
        let child = StoppedChild(pid);
        match child_listener {
            Some((_, fd)) if fd >= 0 => match notify::acquire(pid, fd) {
                Some(l) => break Started(child, report, Some(l)),
                None => {
                    drop(Started(child, report, None));
                    prep.without_listener();
                }
            },
            _ => break Started(child, report, None),
        }
    };
    let pid = started.0 .0;
    if let Some(p) = pid_out {
        p.store(pid, Ordering::SeqCst);
    }
    if ptrace_call(sys::PTRACE_SETOPTIONS, pid, 0, TRACE_OPTIONS as usize) < 0 {
        let e = sys::errno();
        return Err(Failure::Tracer(e, format!("PTRACE_SETOPTIONS: {}", sys::strerror(e))));
    }
    let Started(child, report, listener) = started;
    Ok(Traced { pid: child.keep(), report, listener })
}

/// What a start-up failure the child reported (a stage of spawn.rs and an errno) means.
pub(super) fn stage_message(stage: i32, e: i32) -> String {
    let what = match stage {
        spawn::STAGE_TRACEME => "ptrace(PTRACE_TRACEME) failed",
        spawn::STAGE_CHDIR => "cannot change to the working directory",
        spawn::STAGE_SECCOMP => "cannot install the seccomp filter",
        _ => "exec failed",
    };
    format!("{what}: {}", sys::strerror(e))
}

/// The `spawn_error` of an exec that failed with `e`: 127 when there is no such program, else 126.
pub(super) fn exec_error_code(e: i32) -> i32 {
    if e == sys::ENOENT || e == sys::ENOTDIR {
        127
    } else {
        126
    }
}
