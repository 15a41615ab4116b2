use super::Sys;

pub const AUDIT_ARCH: u32 = 0xc000_00b7;
pub const X32_SYSCALL_BIT: Option<u32> = None;

/// e_machine of the ELF images this tracer's processes can run natively (EM_AARCH64).
pub const ELF_MACHINE: u16 = 183;

pub const SYS_SECCOMP: i64 = 277;
pub const SYS_UNLINKAT: i64 = 35;
pub const SYS_KCMP: i64 = 272;

// aarch64 uses the asm-generic values, which differ from x86_64 for these two.
pub const O_DIRECTORY: u32 = 0o40000;
pub const O_NOFOLLOW: u32 = 0o100000;

pub const TRACED: &[(u32, Sys)] = &[
    (56, Sys::OpenAt),
    (221, Sys::Execve),
    (35, Sys::UnlinkAt),
    (38, Sys::RenameAt),
    (276, Sys::RenameAt2),
    (437, Sys::OpenAt2),
    (37, Sys::LinkAt),
    (36, Sys::SymlinkAt),
    (45, Sys::Truncate),
    (46, Sys::Ftruncate),
    (49, Sys::Chdir),
    (50, Sys::Fchdir),
    (281, Sys::ExecveAt),
    (425, Sys::IoUringSetup),
    (264, Sys::NameToHandleAt),
    (265, Sys::OpenByHandleAt),
];
