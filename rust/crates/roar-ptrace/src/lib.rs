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

/// A run request from the FFI arguments (NUL-separated argv/envp blocks, cwd, events path), copied.
#[allow(clippy::too_many_arguments)]
unsafe fn request(
    argv: *const u8,
    argv_len: u32,
    envp: *const u8,
    envp_len: u32,
    cwd: *const u8,
    cwd_len: u32,
    events_path: *const u8,
    events_path_len: u32,
) -> tracer::Request {
    tracer::Request {
        argv: spawn::split_block(bytes(argv, argv_len)),
        envp: spawn::split_block(bytes(envp, envp_len)),
        cwd: bytes(cwd, cwd_len).to_vec(),
        events_path: bytes(events_path, events_path_len).to_vec(),
    }
}

/// The hybrid spec block: preload library, preload events path, coverage log path (all non-empty).
unsafe fn hybrid_spec(spec: *const u8, spec_len: u32) -> Option<hybrid::Spec> {
    let mut parts = spawn::split_block(bytes(spec, spec_len)).into_iter();
    let (lib, preload_events, coverage_path) = (parts.next()?, parts.next()?, parts.next()?);
    if lib.is_empty() || preload_events.is_empty() || coverage_path.is_empty() {
        return None;
    }
    Some(hybrid::Spec { lib, preload_events, coverage_path })
}

unsafe fn bytes<'a>(p: *const u8, len: u32) -> &'a [u8] {
    if p.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(p, len as usize)
    }
}

/// Starts a run of `argv` (NUL-terminated strings back to back) with `envp` (same encoding) in `cwd`, writing
/// the event stream to `events_path`, on a native thread of its own (see background.rs), and returns once the
/// command's pid is known (a fraction of a millisecond): a handle > 0, or a negative errno. `spec_len` 0 is
/// plain ptrace; otherwise hybrid mode (see hybrid.rs): `envp` must already carry `LD_PRELOAD`,
/// `ROAR_EVENTS_PATH` and `ROAR_PRELOAD_LIB`, and `spec` is three NUL-terminated strings: the preload library
/// path as it appears in `LD_PRELOAD`, the preload's `ROAR_EVENTS_PATH`, and the coverage log's path. Every
/// input is copied before returning.
///
/// # Safety
/// Each pointer valid for its length (or null with length 0).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn roar_ptrace_start(
    argv: *const u8,
    argv_len: u32,
    envp: *const u8,
    envp_len: u32,
    cwd: *const u8,
    cwd_len: u32,
    events_path: *const u8,
    events_path_len: u32,
    spec: *const u8,
    spec_len: u32,
) -> i32 {
    let req = request(argv, argv_len, envp, envp_len, cwd, cwd_len, events_path, events_path_len);
    let spec = if spec_len == 0 {
        None
    } else {
        match hybrid_spec(spec, spec_len) {
            Some(spec) => Some(spec),
            None => return -EINVAL,
        }
    };
    background::start(req, spec)
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
