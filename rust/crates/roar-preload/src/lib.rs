//! roar's LD_PRELOAD tracer (see README.md): interposes libc's file-system, exec, fork and exit functions
//! in every process of a traced command and records the events of the roar-events contract into a per-process
//! buffer that is flushed to the shared O_APPEND events file. Also holds the supervisor that starts the
//! command (supervise.rs), called by the TypeScript driver through bun:ffi.

mod exec;
mod hooks;
mod loaded;
mod net;
mod proc;
mod real;
mod spawn_actions;
mod state;
mod supervise;
mod sys;

/// The event-contract version this library writes; the TS side checks it right after dlopen.
#[no_mangle]
pub extern "C" fn roar_abi_version() -> u32 {
    roar_events::ABI_VERSION
}

/// Starts the signal sentinel (see roar-sys/src/sentinel.rs); returns its pid or -errno. Call `start`,
/// `count` and `stop` from the same thread.
#[no_mangle]
pub unsafe extern "C" fn roar_sentinel_start() -> i32 {
    roar_sys::sentinel::start()
}

/// How many times the sentinel has received signal `sig` (SIGHUP, SIGINT, SIGQUIT or SIGTERM).
#[no_mangle]
pub extern "C" fn roar_sentinel_count(sig: i32) -> u32 {
    roar_sys::sentinel::count(sig)
}

/// Kills and reaps the sentinel.
#[no_mangle]
pub unsafe extern "C" fn roar_sentinel_stop() {
    roar_sys::sentinel::stop()
}
