//! roar's LD_PRELOAD tracer (see README.md): interposes libc's file-system, exec, fork and exit functions
//! in every process of a traced command and records the events of the roar-events contract into a per-process
//! buffer that is flushed to the shared O_APPEND events file. Also holds the supervisor that starts the
//! command (supervise.rs), called by the TypeScript driver through bun:ffi.
// Panic policy (roar-preload/README.md, "Panics"): this code runs inside the user's program, built with
// panic = "abort", so a panic would kill it. No explicit panics; tests may unwrap.
// No std outside tests: the library then needs nothing but libc — std's unwinder would make every traced process
// load libgcc_s, whose constructor asks the CPU its features (cpuid, a VM exit each): ~0.1 ms a process here.
#![cfg_attr(not(test), no_std)]
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

// Without std nothing names libc: named here, so that the library needs it (the loader loads it first and binds
// the library's calls to their glibc versions).
#[cfg(not(test))]
#[link(name = "c")]
extern "C" {}

/// Reached only by a bug (the code has no explicit panics): ends the process as panic = "abort" would.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: abort has no preconditions.
    unsafe { abort() }
}
