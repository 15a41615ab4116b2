use super::Sys;

pub const AUDIT_ARCH: u32 = 0xc000_003e;
/// x32 syscalls share AUDIT_ARCH_X86_64 but set this bit in the number.
pub const X32_SYSCALL_BIT: Option<u32> = Some(0x4000_0000);

/// e_machine of the ELF images this tracer's processes can run natively (EM_X86_64).
pub const ELF_MACHINE: u16 = 62;

pub const SYS_SECCOMP: i64 = 317;
pub const SYS_UNLINKAT: i64 = 263;
pub const SYS_KCMP: i64 = 312;

pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;

pub const TRACED: &[(u32, Sys)] = &[
    (257, Sys::OpenAt),
    (2, Sys::Open),
    (59, Sys::Execve),
    (87, Sys::Unlink),
    (263, Sys::UnlinkAt),
    (82, Sys::Rename),
    (264, Sys::RenameAt),
    (316, Sys::RenameAt2),
    (85, Sys::Creat),
    (437, Sys::OpenAt2),
    (86, Sys::Link),
    (265, Sys::LinkAt),
    (88, Sys::Symlink),
    (266, Sys::SymlinkAt),
    (84, Sys::Rmdir),
    (76, Sys::Truncate),
    (77, Sys::Ftruncate),
    (80, Sys::Chdir),
    (81, Sys::Fchdir),
    (322, Sys::ExecveAt),
    (425, Sys::IoUringSetup),
    (303, Sys::NameToHandleAt),
    (304, Sys::OpenByHandleAt),
];
