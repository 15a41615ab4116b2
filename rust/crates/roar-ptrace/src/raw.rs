//! Raw system calls for the traced child between clone and exec. It shares the tracer's memory (CLONE_VM:
//! no copy of Bun's page tables, measured ~2 ms per run here), so it must not touch anything another thread
//! could be using: no libc wrappers (they write errno in the tracer thread's TLS), no allocation, no locks.
pub use roar_sys::{clone_on_stack, nr};

/// A system call with up to four arguments; returns the result or -errno.
#[inline(always)]
pub unsafe fn syscall(n: usize, a1: usize, a2: usize, a3: usize, a4: usize) -> isize {
    roar_sys::sc4(n, a1, a2, a3, a4)
}

pub unsafe fn exit_group(code: i32) -> ! {
    syscall(nr::EXIT_GROUP, code as usize, 0, 0, 0);
    unreachable!("exit_group returned")
}
