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

/// The 32-bit ABI this tracer decodes too (i386 on x86_64): its audit arch, and the calls it traces there.
#[cfg(target_arch = "x86_64")]
pub mod compat {
    use super::Sys;
    pub const AUDIT_ARCH: u32 = 0x4000_0003;
    pub fn traced() -> impl Iterator<Item = (u32, Sys)> {
        roar_sys::calls::i386::TABLE.iter().copied().filter(|(_, s)| s.names_files())
    }
    pub fn classify(nr: u64) -> Option<Sys> {
        roar_sys::calls::i386::sys_of(nr as usize).filter(|s| s.names_files())
    }
}

/// No 32-bit ABI is decoded here: its calls are reported as foreign.
#[cfg(not(target_arch = "x86_64"))]
pub mod compat {
    use super::Sys;
    pub const AUDIT_ARCH: u32 = 0;
    pub fn traced() -> impl Iterator<Item = (u32, Sys)> {
        std::iter::empty()
    }
    pub fn classify(_nr: u64) -> Option<Sys> {
        None
    }
}
