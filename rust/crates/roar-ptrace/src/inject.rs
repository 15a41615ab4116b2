//! Hybrid mode: stacking the full (path-syscall) seccomp filter onto a process preload does not cover, so it
//! stops only where the plain ptrace tracer would instead of at every syscall entry and exit. Done at the
//! syscall-exit stop of its execve (the new image has not run an instruction yet; registers are settled):
//! the BPF program is written below the stack pointer, a `syscall` instruction over the entry point, the
//! tracee runs `seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)` between two syscall stops, then code and
//! registers are put back. Filters are inherited by children, so this happens once per uncovered subtree.
//! Where the kernel allows it the injected filter has a user-notification listener (read-only opens then
//! do not stop the process, as in plain ptrace mode): the tracer takes its copy with pidfd_getfd and closes
//! the tracee's with a second injected call.
//! Any failure leaves the process as it was and the caller keeps stepping it with PTRACE_SYSCALL.
//! x86_64 only for now: other arches always report "not injected" (stepping still records everything).

#[cfg(target_arch = "x86_64")]
mod imp {
    use crate::filter;
    use crate::sys::{self, SockFilter};
    use std::ffi::{c_int, c_long, c_void};

    const PTRACE_PEEKDATA: c_int = 2;
    const PTRACE_POKEDATA: c_int = 5;
    const PTRACE_GETREGS: c_int = 12;
    const PTRACE_SETREGS: c_int = 13;
    const NREGS: usize = 27;
    const RAX: usize = 10;
    const RDX: usize = 12;
    const RSI: usize = 13;
    const RDI: usize = 14;
    const ORIG_RAX: usize = 15;
    const RIP: usize = 16;
    const RSP: usize = 19;
    const SYS_SECCOMP: u64 = 317;
    const SYS_PRCTL: u64 = 157;
    const SYS_CLOSE: u64 = 3;
    const SYS_OPEN: u64 = 2;
    const SYS_OPENAT: u64 = 257;
    const ERESTARTSYS: i64 = 512;
    const ERESTARTNOINTR: i64 = 513;

    fn call(req: c_int, pid: i32, addr: u64, data: usize) -> c_long {
        // SAFETY: ptrace requests on our tracee; `data` is an address of ours only for requests that write one.
        unsafe { sys::ptrace(req, pid as c_long, addr as *mut c_void, data as *mut c_void) }
    }

    fn getregs(pid: i32) -> Option<[u64; NREGS]> {
        let mut r = [0u64; NREGS];
        (call(PTRACE_GETREGS, pid, 0, r.as_mut_ptr() as usize) == 0).then_some(r)
    }

    fn setregs(pid: i32, r: &[u64; NREGS]) -> bool {
        call(PTRACE_SETREGS, pid, 0, r.as_ptr() as usize) == 0
    }

    fn peek(pid: i32, addr: u64) -> Option<u64> {
        // SAFETY: glibc's errno location is valid for this thread.
        unsafe { *sys::__errno_location() = 0 };
        let v = call(PTRACE_PEEKDATA, pid, addr, 0);
        (v != -1 || sys::errno() == 0).then_some(v as u64)
    }

    fn poke(pid: i32, addr: u64, word: u64) -> bool {
        call(PTRACE_POKEDATA, pid, addr, word as usize) == 0
    }

    enum Stop {
        Syscall,
        Signal(c_int),
        Exited(c_int),
    }

    /// Waits for the next stop of `pid`.
    fn wait_stop(pid: i32) -> Stop {
        loop {
            let mut st: c_int = 0;
            // SAFETY: `st` is a local the kernel writes.
            let r = unsafe { sys::waitpid(pid, &mut st, sys::WALL | sys::WNOTHREAD) };
            if r < 0 && sys::errno() == sys::EINTR {
                continue;
            }
            if r != pid || !sys::wifstopped(st) {
                return Stop::Exited(st); // gone: nothing to restore
            }
            let sig = sys::wstopsig(st);
            return if sig == sys::SIGTRAP | 0x80 { Stop::Syscall } else { Stop::Signal(sig) };
        }
    }

    pub enum Injected {
        /// Installed; with the tracer's own copy of the filter's user-notification listener when it has one
        /// (read-only opens then reach the tracer without stopping the process, see notify.rs).
        Yes(Option<crate::notify::Listener>),
        /// Not installed; the process is as before. `Some(sig)`: a signal stop interrupted the attempt and
        /// must be delivered when the caller resumes the process.
        No(Option<c_int>),
        /// The process disappeared during the attempt (its wait status, already reaped).
        Gone(c_int),
    }

    /// Runs one system call in the tracee, stopped at a syscall-exit stop with `saved` registers: a `syscall`
    /// instruction is written over the code at the instruction pointer, the call runs between its entry and
    /// exit stops, then code and registers are put back. Returns the call's result (rax).
    fn inject_syscall(pid: i32, saved: &[u64; NREGS], nr: u64, args: [u64; 3]) -> Result<u64, Injected> {
        let ip = saved[RIP];
        let Some(code) = peek(pid, ip) else { return Err(Injected::No(None)) };
        if !poke(pid, ip, (code & !0xffff) | 0x050f) {
            return Err(Injected::No(None));
        }
        let restore = |pid: i32| poke(pid, ip, code) && setregs(pid, saved);
        let mut r = *saved;
        r[RAX] = nr;
        r[ORIG_RAX] = u64::MAX;
        r[RDI] = args[0];
        r[RSI] = args[1];
        r[RDX] = args[2];
        if !setregs(pid, &r) {
            restore(pid);
            return Err(Injected::No(None));
        }
        // entry stop of the injected call, then its exit stop
        for _ in 0..2 {
            if call(sys::PTRACE_SYSCALL, pid, 0, 0) < 0 {
                restore(pid);
                return Err(Injected::No(None));
            }
            match wait_stop(pid) {
                Stop::Syscall => {}
                Stop::Exited(st) => return Err(Injected::Gone(st)),
                Stop::Signal(sig) => {
                    // A signal arrived first: undo, let the caller deliver it (the call did not complete
                    // unless the exit stop was reached).
                    restore(pid);
                    return Err(Injected::No(Some(sig)));
                }
            }
        }
        let result = getregs(pid).map(|r| r[RAX]);
        if !restore(pid) {
            return Err(Injected::No(None));
        }
        result.ok_or(Injected::No(None))
    }

    /// `seccomp(args)` in the tracee; refused for want of privilege (EACCES), it sets no_new_privs first (for
    /// this process and its children only: a set-id program they run then runs without its privilege, which
    /// the tracer flags) and tries again.
    fn inject_seccomp(pid: i32, saved: &[u64; NREGS], args: [u64; 3]) -> Result<u64, Injected> {
        let r = inject_syscall(pid, saved, SYS_SECCOMP, args)?;
        if r as i64 != -(sys::EACCES as i64) {
            return Ok(r);
        }
        inject_syscall(pid, saved, SYS_PRCTL, [sys::PR_SET_NO_NEW_PRIVS as u64, 1, 0])?;
        inject_syscall(pid, saved, SYS_SECCOMP, args)
    }

    /// A signal-delivery stop of a task whose open/openat was interrupted while it waited on a seccomp
    /// listener: the call returns -ERESTARTSYS, which a handler without SA_RESTART turns into EINTR (an error
    /// no program expects from opening a regular file). Returns (dirfd, path address) of that open.
    pub fn interrupted_open(pid: i32) -> Option<(i64, u64)> {
        let r = getregs(pid)?;
        if r[RAX] as i64 != -ERESTARTSYS {
            return None;
        }
        match r[ORIG_RAX] {
            SYS_OPEN => Some((sys::AT_FDCWD as i64, r[RDI])),
            SYS_OPENAT => Some((r[RDI] as i32 as i64, r[RSI])),
            _ => None,
        }
    }

    /// Makes the interrupted call restart after the signal whatever the handler's SA_RESTART, as the kernel
    /// does for calls that must not fail with EINTR (-ERESTARTNOINTR).
    pub fn restart_after_signal(pid: i32) -> bool {
        let Some(mut r) = getregs(pid) else { return false };
        r[RAX] = (-ERESTARTNOINTR) as u64;
        setregs(pid, &r)
    }

    /// Writes `prog` and its sock_fprog below the red zone (16-byte aligned); returns the sock_fprog address.
    fn write_program(pid: i32, saved: &[u64; NREGS], prog: &[SockFilter]) -> Option<u64> {
        let bytes = 16 + prog.len() * 8;
        let base = (saved[RSP] - 4096 - bytes as u64) & !15;
        let mut words: Vec<u64> = vec![prog.len() as u64, base + 16];
        words.extend(prog.iter().map(|f| {
            f.code as u64 | (f.jt as u64) << 16 | (f.jf as u64) << 24 | (f.k as u64) << 32
        }));
        words.iter().enumerate().all(|(i, w)| poke(pid, base + 8 * i as u64, *w)).then_some(base)
    }

    /// Stacks the full filter on `pid`: the one with a user-notification listener when `listener` and the
    /// kernel allow it (the tracee's copy of the listener fd is then taken and closed), else the one that
    /// stops on every path syscall.
    pub fn install_full_filter(pid: i32, listener: bool) -> Injected {
        let Some(saved) = getregs(pid) else { return Injected::No(None) };
        if listener {
            let prog = filter::build_notify();
            let Some(fprog) = write_program(pid, &saved, &prog) else { return Injected::No(None) };
            let mode = sys::SECCOMP_SET_MODE_FILTER as u64;
            let listener = sys::SECCOMP_FILTER_FLAG_NEW_LISTENER as u64;
            let killable = listener | sys::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as u64;
            let installed = match inject_seccomp(pid, &saved, [mode, killable, fprog]) {
                Ok(r) if r as i64 == -(sys::EINVAL as i64) => inject_seccomp(pid, &saved, [mode, listener, fprog]),
                other => other,
            };
            match installed {
                Ok(fd) if (fd as i64) >= 0 => {
                    let ours = crate::notify::acquire(pid, fd as i32);
                    // The tracee must not keep (or see) the listener: close its copy.
                    return match inject_syscall(pid, &saved, SYS_CLOSE, [fd, 0, 0]) {
                        Err(Injected::Gone(st)) => {
                            if let Some(l) = ours {
                                // SAFETY: the listener fd taken above, not handed to a server.
                                unsafe { sys::close(l.fd) };
                            }
                            Injected::Gone(st)
                        }
                        // Installed either way; a copy left open in the tracee is CLOEXEC.
                        _ => Injected::Yes(ours),
                    };
                }
                Ok(_) => {} // refused (EBUSY: a listener above; EINVAL: an old kernel): the plain filter
                Err(e) => return e,
            }
        }
        let prog = filter::build();
        let Some(fprog) = write_program(pid, &saved, &prog) else { return Injected::No(None) };
        match inject_seccomp(pid, &saved, [sys::SECCOMP_SET_MODE_FILTER as u64, 0, fprog]) {
            Ok(0) => Injected::Yes(None),
            Ok(_) => Injected::No(None),
            Err(e) => e,
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    pub enum Injected {
        No(Option<std::ffi::c_int>),
        #[allow(dead_code)]
        Yes(Option<crate::notify::Listener>),
        #[allow(dead_code)]
        Gone(std::ffi::c_int),
    }

    pub fn install_full_filter(_pid: i32, _listener: bool) -> Injected {
        Injected::No(None)
    }

    /// Not implemented here (no register access on this arch yet): an open interrupted on the listener
    /// keeps the kernel's -ERESTARTSYS semantics.
    pub fn interrupted_open(_pid: i32) -> Option<(i64, u64)> {
        None
    }

    pub fn restart_after_signal(_pid: i32) -> bool {
        false
    }
}

pub use imp::{install_full_filter, interrupted_open, restart_after_signal, Injected};
