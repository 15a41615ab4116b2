//! roar's LD_PRELOAD tracer (see README.md): interposes libc's file-system, exec, fork and exit functions
//! in every process of a traced command and records the events of the roar-events contract into a per-process
//! buffer that is flushed to the shared O_APPEND events file. Also holds the supervisor that starts the
//! command (supervise.rs), called by the TypeScript driver through bun:ffi.
// Panic policy (roar-preload/README.md, "Panics"): this code runs inside the user's program, built with
// panic = "abort", so a panic would kill it. No explicit panics; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::panic_in_result_fn
    )
)]

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

roar_sys::export_sentinel!();
