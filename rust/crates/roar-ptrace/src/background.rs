//! Runs a trace on a native thread of its own, so the caller (Bun's main thread) neither blocks nor needs a
//! Worker: starting a Worker costs ~10 ms of every `roar run`, a thread ~50 µs. All ptrace requests of a run
//! come from that one thread (the one that forked the tracee), as ptrace requires.
use crate::hybrid::Spec;
use crate::sys;
use std::ffi::c_int;
use crate::tracer::{self, Outcome, Request};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

struct Run {
    pid: AtomicI32,
    done: AtomicBool,
    outcome: Mutex<Option<Outcome>>,
    /// Read end of a pipe whose write end the run's thread closes when it finishes (-1 once handed out).
    done_fd: AtomicI32,
}

/// Runs in flight, by handle (index + 1). Entries are taken out when finished.
static RUNS: Mutex<Vec<Option<Arc<Run>>>> = Mutex::new(Vec::new());

fn lookup(handle: i32) -> Option<Arc<Run>> {
    let runs = RUNS.lock().ok()?;
    runs.get(usize::try_from(handle).ok()?.checked_sub(1)?)?.clone()
}

/// Starts the run; returns its handle (> 0), or a negative errno when no thread could be started.
/// Returns once the command's pid is known (or the run is over): the caller can forward signals at once.
pub fn start(req: Request, spec: Option<Spec>) -> i32 {
    let mut pipe = [-1 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    if unsafe { sys::pipe2(pipe.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        return -sys::errno();
    }
    let run = Arc::new(Run {
        pid: AtomicI32::new(0),
        done: AtomicBool::new(false),
        outcome: Mutex::new(None),
        done_fd: AtomicI32::new(pipe[0]),
    });
    let done_w = pipe[1];
    let handle = {
        let Ok(mut runs) = RUNS.lock() else { return -sys::EIO };
        let slot = runs.iter().position(Option::is_none).unwrap_or_else(|| {
            runs.push(None);
            runs.len() - 1
        });
        runs[slot] = Some(run.clone());
        slot as i32 + 1
    };
    let worker = run.clone();
    let spawned = std::thread::Builder::new().name("roar-ptrace".into()).spawn(move || {
        let outcome = match spec {
            None => tracer::run(req, Some(&worker.pid)),
            Some(spec) => tracer::run_hybrid(req, spec, Some(&worker.pid)),
        };
        if let Ok(mut slot) = worker.outcome.lock() {
            *slot = Some(outcome);
        }
        worker.done.store(true, Ordering::Release);
        // SAFETY: the write end of the done pipe, owned by this thread.
        unsafe { sys::close(done_w) };
    });
    if spawned.is_err() {
        if let Ok(mut runs) = RUNS.lock() {
            runs[(handle - 1) as usize] = None;
        }
        // SAFETY: the done pipe's two ends, never handed out (no thread started).
        unsafe {
            sys::close(pipe[0]);
            sys::close(pipe[1]);
        }
        return -sys::EAGAIN;
    }
    // The pid comes within a fraction of a millisecond (path lookup, clone): wait for it here rather than
    // have the caller poll. A run that never starts ends (done) just as fast.
    for _ in 0..20_000 {
        if run.pid.load(Ordering::Acquire) != 0 || run.done.load(Ordering::Acquire) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_micros(20));
    }
    handle
}

/// Hands out the read end of the run's done pipe (end of file once the run has finished); -1 when already
/// taken or unknown. The caller closes it.
pub fn done_fd(handle: i32) -> i32 {
    lookup(handle).map_or(-1, |r| r.done_fd.swap(-1, Ordering::AcqRel))
}

/// The top process's pid once known (0 before, -1 if it never started).
pub fn pid(handle: i32) -> i32 {
    lookup(handle).map_or(-1, |r| r.pid.load(Ordering::Acquire))
}

/// The outcome when the run has finished (and frees the handle); None while it is still running.
pub fn finish(handle: i32) -> Option<Outcome> {
    let run = lookup(handle)?;
    if !run.done.load(Ordering::Acquire) {
        return None;
    }
    let outcome = run.outcome.lock().ok()?.take().unwrap_or_default();
    let untaken = run.done_fd.swap(-1, Ordering::AcqRel);
    if untaken >= 0 {
        // SAFETY: an fd swapped out of the run, so nobody else closes it.
        unsafe { sys::close(untaken) };
    }
    if let Ok(mut runs) = RUNS.lock() {
        runs[(handle - 1) as usize] = None;
    }
    Some(outcome)
}
