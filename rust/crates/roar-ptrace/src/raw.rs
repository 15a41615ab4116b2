//! Raw system calls for the traced child between clone and exec. It shares the tracer's memory (CLONE_VM:
//! no copy of Bun's page tables, measured ~2 ms per run here), so it must not touch anything another thread
//! could be using: no libc wrappers (they write errno in the tracer thread's TLS), no allocation, no locks.
use std::arch::asm;

#[cfg(target_arch = "x86_64")]
pub mod nr {
    pub const WRITE: usize = 1;
    pub const RT_SIGACTION: usize = 13;
    pub const RT_SIGPROCMASK: usize = 14;
    pub const GETPID: usize = 39;
    pub const CLONE: usize = 56;
    pub const EXECVE: usize = 59;
    pub const KILL: usize = 62;
    pub const CHDIR: usize = 80;
    pub const PTRACE: usize = 101;
    pub const GETPPID: usize = 110;
    pub const PRCTL: usize = 157;
    pub const EXIT_GROUP: usize = 231;
    pub const SECCOMP: usize = 317;
    pub const CLOSE_RANGE: usize = 436;
}

#[cfg(target_arch = "aarch64")]
pub mod nr {
    pub const WRITE: usize = 64;
    pub const EXIT_GROUP: usize = 94;
    pub const PTRACE: usize = 117;
    pub const KILL: usize = 129;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const PRCTL: usize = 167;
    pub const GETPID: usize = 172;
    pub const GETPPID: usize = 173;
    pub const CLONE: usize = 220;
    pub const EXECVE: usize = 221;
    pub const SECCOMP: usize = 277;
    pub const CHDIR: usize = 49;
    pub const CLOSE_RANGE: usize = 436;
}

/// A system call; returns the result or -errno.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn syscall(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    asm!("syscall", inlateout("rax") n as isize => ret, in("rdi") a1, in("rsi") a2, in("rdx") a3,
         in("r10") a4, lateout("rcx") _, lateout("r11") _, options(nostack));
    ret
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
pub unsafe fn syscall(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    let ret: isize;
    asm!("svc 0", in("x8") n, inlateout("x0") a1 as isize => ret, in("x1") a2, in("x2") a3, in("x3") a4,
         options(nostack));
    ret
}

/// clone(2) with the child running `f(arg)` on `stack_top`; returns the child's pid (or -errno) in the
/// parent. `f` and `arg` travel in registers the system call preserves: the child never touches the
/// parent's stack.
#[cfg(target_arch = "x86_64")]
pub unsafe fn clone_on_stack(flags: usize, stack_top: *mut u8, f: unsafe extern "C" fn(*mut u8) -> !, arg: *mut u8) -> isize {
    let ret: isize;
    asm!(
        "syscall",
        "test rax, rax",
        "jnz 2f",
        "xor ebp, ebp",
        "mov rdi, r12",
        "call r13",
        "ud2",
        "2:",
        inlateout("rax") nr::CLONE as isize => ret,
        in("rdi") flags,
        in("rsi") stack_top,
        in("rdx") 0usize,
        in("r10") 0usize,
        in("r8") 0usize,
        in("r12") arg,
        in("r13") f,
        lateout("rcx") _,
        lateout("r11") _,
    );
    ret
}

#[cfg(target_arch = "aarch64")]
pub unsafe fn clone_on_stack(flags: usize, stack_top: *mut u8, f: unsafe extern "C" fn(*mut u8) -> !, arg: *mut u8) -> isize {
    let ret: isize;
    asm!(
        "svc 0",
        "cbnz x0, 2f",
        "mov x29, xzr",
        "mov x0, x9",
        "blr x10",
        "brk #0",
        "2:",
        in("x8") nr::CLONE,
        inlateout("x0") flags as isize => ret,
        in("x1") stack_top,
        in("x2") 0usize,
        in("x3") 0usize,
        in("x4") 0usize,
        in("x9") arg,
        in("x10") f,
    );
    ret
}

pub unsafe fn exit_group(code: i32) -> ! {
    syscall(nr::EXIT_GROUP, code as usize, 0, 0, 0);
    loop {}
}
