//! A run: starting the traced command, the wait loop, the listener threads, and the outcome.
use super::start::{self, Failure};
use super::{exec_flags, wait_desc, with, Outcome, Proc, Request, Shared, Task, Tracer};
use crate::hybrid::Spec;
use crate::notify;
use crate::out::Out;
use crate::spawn;
use crate::sys;
use roar_events::{flags as rf, rec};
use std::ffi::{c_int, c_long};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

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
            // SAFETY: `st` is a local the kernel writes.
            tid = unsafe { sys::waitpid(-1, &mut st, sys::WALL | sys::WNOTHREAD | sys::WNOHANG) };
            if tid == 0 {
                with(shared, |t| t.out.flush());
            }
        }
        if tid == 0 {
            // SAFETY: `st` is a local the kernel writes.
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
            // SAFETY: the listener's fd, which no server took.
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

/// Runs a set-id command untraced (see setid.rs): its EXEC, the INCOMPLETE naming it and its EXIT are all the
/// trace says.
fn run_untraced(mut prep: spawn::Prepared, mut out: Out, exe: &[u8], argv: &[Vec<u8>], pid_out: Option<&AtomicI32>) -> Outcome {
    let (report, report_w) = match start::pipe() {
        Ok(ends) => ends,
        Err(failure) => return failure.after(out),
    };
    // SAFETY: getpid has no preconditions.
    let me = unsafe { sys::getpid() };
    let mut stack = vec![0u8; 256 * 1024];
    let pid = spawn::clone_child(&mut prep, report_w.0, me, &mut stack) as i32;
    drop(report_w);
    if pid < 0 {
        drop(report);
        return Failure::Tracer(-pid, format!("clone: {}", sys::strerror(-pid))).after(out);
    }
    if let Some(p) = pid_out {
        p.store(pid, Ordering::SeqCst);
    }
    out.emit(|b, seq, ts| rec::exec(b, pid as u32, seq, ts, exe, argv.iter().map(|a| a.as_slice()), rf::EXEC_SETUID));
    // Only an exec failure writes to the pipe; end of file means the program runs.
    let failed = spawn::read_report(report.0);
    drop(report);
    let mut st: c_int = 0;
    // SAFETY: waits for our own child into a local status word.
    while unsafe { sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD) } < 0 && sys::errno() == sys::EINTR {}
    let mut outcome = Outcome::default();
    match failed {
        Some((_, e)) => {
            outcome.spawn_error = Some(start::exec_error_code(e));
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
    let out = match Out::create(&req.events_path) {
        Ok(o) => o,
        Err(e) => return Failure::Tracer(e, format!("cannot create the events file: {}", sys::strerror(e))).outcome(),
    };
    // SAFETY: getpid has no preconditions.
    let me = unsafe { sys::getpid() };
    let mut plan = match start::prepare(&req, spec.as_ref(), me) {
        Ok(plan) => plan,
        Err(failure) => return failure.after(out),
    };
    if plan.prep.untraced {
        return run_untraced(plan.prep, out, &plan.exe_abs, &req.argv, pid_out);
    }
    // The child's stack, in our memory until its exec (or death): kept until the run is over.
    let mut child_stack = vec![0u8; 256 * 1024];
    let child = match start::start_traced(&mut plan.prep, me, &mut child_stack, pid_out) {
        Ok(child) => child,
        Err(failure) => return failure.after(out),
    };
    trace(&req, spec, plan, child, out, me)
}

/// Follows the started command and its descendants to the end, and says how the command ended.
fn trace(req: &Request, spec: Option<Spec>, plan: start::Plan, child: start::Traced, out: Out, me: i32) -> Outcome {
    let pid = child.pid;
    let mut tracer = Tracer::new(out, pid, spec, plan.notify_ok, &req.events_path);
    if tracer.hybrid.is_some() {
        // Hybrid: the hybrid filter does not stop at execve, and preload's hooks are not yet loaded in the
        // command's own exec — say what was executed, as every other backend does (absolute, as exec found it).
        let abs = &plan.exe_abs;
        let flags = exec_flags(abs);
        let argv = req.argv.iter().map(|a| a.as_slice());
        tracer.out.emit(|b, seq, ts| rec::exec(b, pid as u32, seq, ts, abs, argv.clone(), flags));
    }
    tracer.tasks.insert(pid, Task { tgid: pid, ..Task::idle() });
    tracer.procs.insert(pid, Proc { ppid: me, cwd: Some(plan.cwd), foreign_reported: false });
    let shared: Shared = Arc::new(Mutex::new(Some(tracer)));
    let mut servers: Vec<notify::Server> = Vec::new();
    let mut listener_failed = false;
    if let Some(l) = child.listener {
        if !serve(&shared, l, &mut servers) {
            // Nobody would answer the child's opens: stop it here rather than let it fail them.
            listener_failed = true;
            // SAFETY: a plain kill of our own child.
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
        return Failure::Tracer(sys::EIO, "the tracer state was lost".into()).outcome();
    };
    let failed = spawn::read_report(child.report.0);
    drop(child.report);
    if listener_failed {
        return Failure::Tracer(sys::EAGAIN, "cannot start the tracer's listener thread".into()).after(tracer.out);
    }
    let root_status = tracer.root_status;
    let mut outcome = Outcome { lost_events: tracer.out.finish(), ..Outcome::default() };
    if let Some(h) = tracer.hybrid.as_ref() {
        // The command ran: a log that cannot be written (a full disk) makes the trace incomplete, not failed.
        outcome.coverage_lost = !h.cov.write();
    }
    match failed {
        Some((spawn::STAGE_EXEC, e)) => {
            outcome.spawn_error = Some(start::exec_error_code(e));
            outcome.message = format!("{}: {}", String::from_utf8_lossy(req.argv.first().map_or(&[][..], |a| a)), sys::strerror(e));
        }
        Some((stage, e)) => {
            outcome.tracer_errno = Some(e);
            outcome.message = start::stage_message(stage, e);
        }
        None => match root_status.map(wait_desc) {
            Some((code, signal)) => {
                outcome.exit_code = code;
                outcome.signal = signal;
            }
            None => {
                outcome.tracer_errno = Some(sys::ECHILD);
                outcome.message = "lost track of the traced command".into();
            }
        },
    }
    outcome
}
