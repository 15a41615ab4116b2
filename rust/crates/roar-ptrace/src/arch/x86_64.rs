pub const AUDIT_ARCH: u32 = 0xc000_003e;
/// x32 syscalls share AUDIT_ARCH_X86_64 but set this bit in the number.
pub const X32_SYSCALL_BIT: Option<u32> = Some(0x4000_0000);

/// e_machine of the ELF images this tracer's processes can run natively (EM_X86_64).
pub const ELF_MACHINE: u16 = 62;

pub const SYS_SECCOMP: i64 = 317;
pub const SYS_UNLINKAT: i64 = 263;
pub const SYS_KCMP: i64 = 312;
