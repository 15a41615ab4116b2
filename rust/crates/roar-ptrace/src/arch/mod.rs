//! Per-architecture facts of the ptrace tracer (audit arch, ELF machine, a few syscall numbers it makes
//! itself). Which calls are traced and what their arguments mean is roar-sys's one table (`roar_sys::calls`).
pub use roar_sys::calls::{sys_of as classify_nr, Sys, O_DIRECTORY, O_NOFOLLOW};

#[cfg(target_arch = "x86_64")]
mod x86_64;
#[cfg(target_arch = "x86_64")]
pub use self::x86_64::*;

#[cfg(target_arch = "aarch64")]
mod aarch64;
#[cfg(target_arch = "aarch64")]
pub use self::aarch64::*;

/// The calls the full seccomp filter sends to the tracer: those that name files.
pub fn traced() -> impl Iterator<Item = (u32, Sys)> {
    roar_sys::calls::TABLE.iter().copied().filter(|(_, s)| s.names_files())
}

pub fn classify(nr: u64) -> Option<Sys> {
    classify_nr(nr as usize).filter(|s| s.names_files())
}
