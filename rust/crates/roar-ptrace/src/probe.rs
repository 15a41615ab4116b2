//! `roar tracer status`: can this machine run the tracer? Runs the real mechanism end to end on a throwaway
//! child (TRACEME, options, the seccomp filter, one traced syscall) without running any user command.
use crate::{arch, filter, spawn, sys, tracer};
use std::ffi::{c_int, c_long, c_void};

fn reason_for(stage: i32, e: i32) -> String {
    let err = sys::strerror(e);
    match stage {
        spawn::STAGE_TRACEME => {
            let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope").unwrap_or_default();
            if scope.trim() == "3" {
                format!("ptrace is disabled (kernel.yama.ptrace_scope = 3): {err}")
            } else {
                format!("ptrace is not permitted here (a container without CAP_SYS_PTRACE or a seccomp profile that blocks ptrace?): {err}")
            }
        }
        spawn::STAGE_SECCOMP => format!("seccomp filters are unavailable: {err}"),
        _ => format!("probe failed: {err}"),
    }
}

fn wait(pid: i32, st: &mut c_int) -> i32 {
    loop {
        // SAFETY: `st` points to the caller's status word.
        let r = unsafe { sys::waitpid(pid, st, sys::WALL | sys::WNOTHREAD) };
        if r < 0 && sys::errno() == sys::EINTR {
            continue;
        }
        return r;
    }
}

fn reap(pid: i32) {
    let mut st = 0;
    // SAFETY: kill touches no memory.
    unsafe { sys::kill(pid, sys::SIGKILL) };
    while wait(pid, &mut st) == pid && !(sys::wifexited(st) || sys::wifsignaled(st)) {}
}

/// 0 when usable, else a positive errno and the reason.
pub fn probe() -> (i32, String) {
    let prog = filter::build();
    let mut pipe = [0 as c_int; 2];
    // SAFETY: pipe2 writes two fds into the array it is given.
    if unsafe { sys::pipe2(pipe.as_mut_ptr(), sys::O_CLOEXEC) } != 0 {
        let e = sys::errno();
        return (e, format!("pipe2: {}", sys::strerror(e)));
    }
    // SAFETY: getpid has no preconditions.
    let me = unsafe { sys::getpid() };
    // SAFETY: the child of this (threaded) process makes only raw, async-signal-safe calls, then exits.
    let pid = unsafe { sys::fork() };
    if pid == 0 {
        // SAFETY: the forked child makes raw calls only, on its own pipe end and a local message, then exits.
        unsafe {
            if !spawn::child_become_tracee(pipe[1], me) {
                sys::_exit(1);
            }
            if let Err(e) = spawn::child_install_filter(&prog) {
                let mut msg = [0u8; 8];
                msg[..4].copy_from_slice(&spawn::STAGE_SECCOMP.to_ne_bytes());
                msg[4..].copy_from_slice(&e.to_ne_bytes());
                sys::write(pipe[1], msg.as_ptr().cast(), 8);
                sys::_exit(1);
            }
            // A traced syscall that changes nothing: unlinkat of "" fails with ENOENT.
            sys::syscall(arch::SYS_UNLINKAT, sys::AT_FDCWD as c_long, c"".as_ptr(), 0 as c_long);
            sys::_exit(0);
        }
    }
    // SAFETY: the pipe's write end, the child's copy is its own.
    unsafe { sys::close(pipe[1]) };
    if pid < 0 {
        let e = sys::errno();
        // SAFETY: the pipe's read end, unused from here.
        unsafe { sys::close(pipe[0]) };
        return (e, format!("fork: {}", sys::strerror(e)));
    }
    let result = (|| {
        let mut st = 0;
        if wait(pid, &mut st) != pid || !sys::wifstopped(st) {
            return match spawn::read_report(pipe[0]) {
                Some((stage, e)) => (e, reason_for(stage, e)),
                None => (sys::ECHILD, "probe child exited unexpectedly".to_string()),
            };
        }
        // SAFETY: requests on our stopped probe child with no address argument.
        let ptrace = |req: c_int, data: usize| unsafe {
            sys::ptrace(req, pid as c_long, std::ptr::null_mut::<c_void>(), data as *mut c_void)
        };
        if ptrace(sys::PTRACE_SETOPTIONS, tracer::TRACE_OPTIONS as usize) < 0 {
            let e = sys::errno();
            reap(pid);
            return (e, format!("PTRACE_SETOPTIONS is not supported: {}", sys::strerror(e)));
        }
        ptrace(sys::PTRACE_CONT, 0);
        if wait(pid, &mut st) != pid || !sys::wifstopped(st) {
            return match spawn::read_report(pipe[0]) {
                Some((stage, e)) => (e, reason_for(stage, e)),
                None => (sys::ENOSYS, "the seccomp filter did not stop the probe child".to_string()),
            };
        }
        let event = (st >> 16) & 0xff;
        if event != sys::PTRACE_EVENT_SECCOMP {
            reap(pid);
            return (sys::ENOSYS, "no PTRACE_EVENT_SECCOMP stop (seccomp RET_TRACE unsupported?)".to_string());
        }
        let mut info = sys::SyscallInfo::default();
        // SAFETY: GET_SYSCALL_INFO writes at most size_of::<SyscallInfo>() bytes into `info`.
        let r = unsafe {
            sys::ptrace(
                sys::PTRACE_GET_SYSCALL_INFO,
                pid as c_long,
                std::mem::size_of::<sys::SyscallInfo>() as *mut c_void,
                &mut info as *mut _ as *mut c_void,
            )
        };
        if r <= 0 || info.op != sys::PTRACE_SYSCALL_INFO_SECCOMP {
            reap(pid);
            return (sys::ENOSYS, "PTRACE_GET_SYSCALL_INFO is unavailable (Linux >= 5.3 is required)".to_string());
        }
        let mut s = Vec::new();
        if !crate::mem::read_cstr(pid, info.args[1], &mut s) {
            let e = sys::errno();
            reap(pid);
            return (e, format!("process_vm_readv failed: {}", sys::strerror(e)));
        }
        ptrace(sys::PTRACE_CONT, 0);
        reap(pid);
        (0, "ptrace + seccomp tracing is available".to_string())
    })();
    // SAFETY: the pipe's read end, unused from here.
    unsafe { sys::close(pipe[0]) };
    result
}
