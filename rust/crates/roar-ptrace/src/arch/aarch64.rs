pub const AUDIT_ARCH: u32 = 0xc000_00b7;
pub const X32_SYSCALL_BIT: Option<u32> = None;

/// e_machine of the ELF images this tracer's processes can run natively (EM_AARCH64).
pub const ELF_MACHINE: u16 = 183;

pub const SYS_SECCOMP: i64 = 277;
pub const SYS_UNLINKAT: i64 = 35;
pub const SYS_KCMP: i64 = 272;

