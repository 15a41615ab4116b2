//! roar's ptrace tracer: a seccomp-BPF filter sends only path/process syscalls to the tracer, which resolves
//! paths against the tracee's real cwd/dirfds and writes the roar-events stream. Loaded through `bun:ffi`
//! (src/trace/ptrace.ts): `roar_ptrace_start` runs a trace on a native thread of its own, the caller waits on
//! `roar_ptrace_done_fd` and collects the result with `roar_ptrace_poll`.
mod arch;
mod background;
mod dircache;
mod filter;
mod hybrid;
mod inject;
mod mem;
mod notify;
mod out;
mod probe;
mod raw;
mod setid;
mod spawn;
mod sys;
mod tracer;

use std::ffi::c_char;
use sys::EINVAL;
use std::sync::Mutex;

/// The run result, filled by `roar_ptrace_poll` (layout mirrored in src/trace/ptrace-ffi.ts).
#[repr(C)]
pub struct RoarPtraceResult {
    /// Exit code of the top process, -1 when it did not exit normally.
    pub exit_code: i32,
    /// Terminating signal of the top process, 0 when none.
    pub signal: i32,
    /// 126 / 127 when the command could not be started, else 0.
    pub spawn_error: i32,
    /// errno of a tracer failure (nothing useful ran), else 0.
    pub tracer_errno: i32,
    /// NUL-terminated UTF-8 message for spawn/tracer errors.
    pub message: [u8; 512],
    /// Records that could not be written to the events file (a full disk).
    pub lost_events: u64,
    /// Hybrid: 1 when the coverage log could not be written.
    pub coverage_lost: u32,
    pub reserved: u32,
}

#[no_mangle]
pub extern "C" fn roar_abi_version() -> u32 {
    roar_events::ABI_VERSION
}

static PROBE_REASON: Mutex<String> = Mutex::new(String::new());

/// 0 when ptrace + seccomp tracing works here, else a positive errno (see `roar_ptrace_probe_reason`).
#[no_mangle]
pub extern "C" fn roar_ptrace_probe() -> i32 {
    let (code, reason) = probe::probe();
    if let Ok(mut r) = PROBE_REASON.lock() {
        *r = reason;
    }
    code
}

/// Copies the last probe's reason (NUL-terminated, truncated to `len`); returns its full length.
///
/// # Safety
/// `buf` must point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn roar_ptrace_probe_reason(buf: *mut c_char, len: u32) -> u32 {
    let reason = PROBE_REASON.lock().map(|r| r.clone()).unwrap_or_default();
    copy_message(reason.as_bytes(), buf as *mut u8, len as usize);
    reason.len() as u32
}

unsafe fn copy_message(src: &[u8], dst: *mut u8, len: usize) {
    if dst.is_null() || len == 0 {
        return;
    }
    let n = src.len().min(len - 1);
    std::ptr::copy_nonoverlapping(src.as_ptr(), dst, n);
    *dst.add(n) = 0;
}

/// A block of bytes the caller owns: a pointer and a length (null with length 0 when empty).
#[repr(C)]
pub struct RoarBytes {
    pub ptr: *const u8,
    pub len: u64,
}

/// What `roar_ptrace_start` is asked to run (layout mirrored in src/trace/ptrace-ffi.ts: five 16-byte blocks).
#[repr(C)]
pub struct RoarPtraceRequest {
    /// The command: NUL-terminated strings back to back.
    pub argv: RoarBytes,
    /// Its environment, encoded as `argv`.
    pub envp: RoarBytes,
    /// Its working directory.
    pub cwd: RoarBytes,
    /// Where the event stream goes.
    pub events_path: RoarBytes,
    /// Empty: plain ptrace. Otherwise hybrid mode (see hybrid.rs): three NUL-terminated strings, the preload
    /// library path as it appears in `LD_PRELOAD`, the preload's `ROAR_EVENTS_PATH`, the coverage log path.
    pub spec: RoarBytes,
}

/// A run request copied out of the caller's blocks.
unsafe fn request(req: &RoarPtraceRequest) -> tracer::Request {
    tracer::Request {
        argv: spawn::split_block(bytes(&req.argv)),
        envp: spawn::split_block(bytes(&req.envp)),
        cwd: bytes(&req.cwd).to_vec(),
        events_path: bytes(&req.events_path).to_vec(),
    }
}

/// The hybrid spec block: preload library, preload events path, coverage log path (all non-empty).
unsafe fn hybrid_spec(spec: &RoarBytes) -> Option<hybrid::Spec> {
    let mut parts = spawn::split_block(bytes(spec)).into_iter();
    let (lib, preload_events, coverage_path) = (parts.next()?, parts.next()?, parts.next()?);
    if lib.is_empty() || preload_events.is_empty() || coverage_path.is_empty() {
        return None;
    }
    Some(hybrid::Spec { lib, preload_events, coverage_path })
}

/// # Safety
/// `b.ptr` valid for `b.len` bytes, or null.
unsafe fn bytes(b: &RoarBytes) -> &[u8] {
    match usize::try_from(b.len) {
        Ok(len) if !b.ptr.is_null() && len > 0 => {
            // SAFETY: the caller's block, valid for its length (this function's contract).
            unsafe { std::slice::from_raw_parts(b.ptr, len) }
        }
        _ => &[],
    }
}

/// Starts the run `req` describes, on a native thread of its own (see background.rs), and returns once the
/// command's pid is known (a fraction of a millisecond): a handle > 0, or a negative errno (-EINVAL for a
/// malformed hybrid spec, -EAGAIN when no thread can be started). In hybrid mode `envp` must already carry
/// `LD_PRELOAD`, `ROAR_EVENTS_PATH` and `ROAR_PRELOAD_LIB`. Every input is copied before returning.
///
/// # Safety
/// `req` points to a valid request whose blocks are each valid for their length (or null with length 0).
#[no_mangle]
pub unsafe extern "C" fn roar_ptrace_start(req: *const RoarPtraceRequest) -> i32 {
    // SAFETY: the caller's request (this function's contract).
    let Some(req) = (unsafe { req.as_ref() }) else { return -EINVAL };
    // SAFETY: as above, for each block.
    let (run, spec) = unsafe { (request(req), req.spec.len) };
    let spec = if spec == 0 {
        None
    } else {
        // SAFETY: as above.
        match unsafe { hybrid_spec(&req.spec) } {
            Some(spec) => Some(spec),
            None => return -EINVAL,
        }
    };
    background::start(run, spec)
}

/// The read end of a pipe that reaches end of file when the run started by `roar_ptrace_start` has
/// finished, so the caller can wait without polling; -1 when already taken or for an unknown handle. The
/// caller closes it.
#[no_mangle]
pub extern "C" fn roar_ptrace_done_fd(handle: i32) -> i32 {
    background::done_fd(handle)
}

unsafe fn fill_result(o: &tracer::Outcome, result: *mut RoarPtraceResult) {
    let r = &mut *result;
    r.exit_code = o.exit_code.unwrap_or(-1);
    r.signal = o.signal.unwrap_or(0);
    r.spawn_error = o.spawn_error.unwrap_or(0);
    r.tracer_errno = o.tracer_errno.unwrap_or(0);
    copy_message(o.message.as_bytes(), r.message.as_mut_ptr(), r.message.len());
    r.lost_events = o.lost_events;
    r.coverage_lost = o.coverage_lost as u32;
}

/// Polls a run started by `roar_ptrace_start`: writes the top pid (0 = not yet, -1 = never started) to
/// `pid_out`; returns 1 and fills `result` (freeing the handle) once the run has finished, 0 while it runs,
/// -22 for an unknown handle.
///
/// # Safety
/// `pid_out` and `result` valid or null.
#[no_mangle]
pub unsafe extern "C" fn roar_ptrace_poll(handle: i32, pid_out: *mut i32, result: *mut RoarPtraceResult) -> i32 {
    if !pid_out.is_null() {
        *pid_out = background::pid(handle);
    }
    match background::finish(handle) {
        Some(o) => {
            if !result.is_null() {
                fill_result(&o, result);
            }
            1
        }
        None if background::pid(handle) == -1 && !pid_out.is_null() && *pid_out == -1 => -EINVAL,
        None => 0,
    }
}

roar_sys::export_sentinel!();
