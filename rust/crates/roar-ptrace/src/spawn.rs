//! Starting the traced child. Everything the child needs (C strings, pointer arrays, the BPF program) is built
//! before fork: the parent is a multithreaded Bun process, so the child may only make async-signal-safe calls.
use crate::{arch, raw, sys};
use std::ffi::{c_char, c_int, c_long, CString};

/// What the child reports through its CLOEXEC pipe when a step before the user's program fails.
pub const STAGE_TRACEME: i32 = 1;
pub const STAGE_CHDIR: i32 = 2;
pub const STAGE_SECCOMP: i32 = 3;
pub const STAGE_EXEC: i32 = 4;
/// Not a failure: the child's number for the seccomp listener fd (-1 = none), sent just before it stops.
pub const STAGE_LISTENER: i32 = 5;

pub struct Prepared {
    exe: CString,
    _argv: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    _envp: Vec<CString>,
    envp_ptrs: Vec<*const c_char>,
    cwd: CString,
    filter: Vec<sys::SockFilter>,
    /// A filter to try first with a user-notification listener (see notify.rs); `filter` is the fallback.
    notify_filter: Option<Vec<sys::SockFilter>>,
    /// Set by `clone_child` for the child: where it reports, and the pid it checks is its parent.
    err_fd: c_int,
    parent: c_int,
    /// Hybrid mode: the filter may be left out rather than set no_new_privs on the whole tree (an unprivileged
    /// user cannot install one otherwise, and no set-id program below could then gain its privilege).
    pub filter_optional: bool,
    /// Run the command untraced (no ptrace, no filter): a set-id program the tracer cannot follow without
    /// taking its privilege away.
    pub untraced: bool,
}

/// Splits a block of NUL-terminated strings (the FFI encoding of argv/envp).
pub fn split_block(block: &[u8]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = block.split(|&c| c == 0).map(|s| s.to_vec()).collect();
    if block.last() == Some(&0) || block.is_empty() {
        v.pop();
    }
    v
}

pub enum Lookup {
    Found(Vec<u8>),
    /// 127: nothing by that name.
    NotFound,
    /// 126: a file exists but cannot be executed.
    NotExecutable,
}

fn executable(path: &[u8]) -> Option<bool> {
    let st = crate::mem::stat_path(path, true)?;
    if st.mode & sys::S_IFMT != sys::S_IFREG {
        return Some(false);
    }
    let c = CString::new(path).ok()?;
    // SAFETY: `c` is a CString.
    Some(unsafe { sys::access(c.as_ptr(), sys::X_OK) } == 0)
}

/// execvp-style lookup done in the tracer, so the caller gets 127 vs 126 exactly and the child makes a
/// single execve (each failed attempt would otherwise be a traced EXEC).
pub fn lookup(argv0: &[u8], env: &[Vec<u8>], cwd: &[u8]) -> Lookup {
    let join = |dir: &[u8], name: &[u8]| {
        let mut p = Vec::new();
        if dir.first() != Some(&b'/') {
            p.extend_from_slice(cwd);
            p.push(b'/');
        }
        p.extend_from_slice(dir);
        if !dir.is_empty() {
            p.push(b'/');
        }
        p.extend_from_slice(name);
        p
    };
    if argv0.contains(&b'/') {
        let full = if argv0[0] == b'/' { argv0.to_vec() } else { join(b"", argv0) };
        return match executable(&full) {
            None => Lookup::NotFound,
            Some(true) => Lookup::Found(argv0.to_vec()),
            Some(false) => Lookup::NotExecutable,
        };
    }
    if argv0.is_empty() {
        return Lookup::NotFound;
    }
    let path_var = env.iter().find_map(|e| e.strip_prefix(b"PATH=")).unwrap_or(b"/usr/local/bin:/usr/bin:/bin");
    let mut denied = false;
    for dir in path_var.split(|&c| c == b':') {
        let cand = join(dir, argv0);
        match executable(&cand) {
            Some(true) => return Lookup::Found(cand),
            Some(false) => denied = true,
            None => {}
        }
    }
    if denied {
        Lookup::NotExecutable
    } else {
        Lookup::NotFound
    }
}

fn cstrings(v: &[Vec<u8>]) -> Option<(Vec<CString>, Vec<*const c_char>)> {
    let owned: Vec<CString> = v.iter().map(|s| CString::new(s.clone()).ok()).collect::<Option<_>>()?;
    let mut ptrs: Vec<*const c_char> = owned.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    Some((owned, ptrs))
}

impl Prepared {
    pub fn with_filter(
        exe: &[u8],
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
        cwd: &[u8],
        filter: Vec<sys::SockFilter>,
        notify_filter: Option<Vec<sys::SockFilter>>,
    ) -> Option<Prepared> {
        let (a, ap) = cstrings(argv)?;
        let (e, ep) = cstrings(envp)?;
        Some(Prepared {
            exe: CString::new(exe).ok()?,
            _argv: a,
            argv_ptrs: ap,
            _envp: e,
            envp_ptrs: ep,
            cwd: CString::new(cwd).ok()?,
            filter,
            notify_filter,
            err_fd: -1,
            parent: 0,
            filter_optional: false,
            untraced: false,
        })
    }
}

fn report(fd: c_int, stage: i32, err: i32) {
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&stage.to_ne_bytes());
    msg[4..].copy_from_slice(&err.to_ne_bytes());
    // SAFETY: writes the 8-byte local `msg`.
    unsafe { sys::write(fd, msg.as_ptr().cast(), 8) };
}

/// Reads the child's report (stage, errno); None when the pipe closed on a successful exec.
pub fn read_report(fd: c_int) -> Option<(i32, i32)> {
    let mut msg = [0u8; 8];
    loop {
        // SAFETY: reads into the 8-byte local `msg`.
        let n = unsafe { sys::read(fd, msg.as_mut_ptr().cast(), 8) };
        if n < 0 && sys::errno() == sys::EINTR {
            continue;
        }
        if n != 8 {
            return None;
        }
        return Some((
            i32::from_ne_bytes(msg[..4].try_into().unwrap()),
            i32::from_ne_bytes(msg[4..].try_into().unwrap()),
        ));
    }
}

/// Child side, common to the probe and the real run: die with the tracer thread, reset what Bun changed
/// (ignored SIGXFSZ/SIGPIPE, blocked signals), become a tracee and stop until the tracer has set options.
pub unsafe fn child_become_tracee(err_fd: c_int, parent: c_int) -> bool {
    if !child_traceme(err_fd, parent) {
        return false;
    }
    sys::kill(sys::getpid(), sys::SIGSTOP);
    true
}

/// `child_become_tracee` without the stop.
unsafe fn child_traceme(err_fd: c_int, parent: c_int) -> bool {
    sys::prctl(sys::PR_SET_PDEATHSIG, sys::SIGKILL as c_long, 0 as c_long, 0 as c_long, 0 as c_long);
    if sys::getppid() != parent {
        sys::_exit(126);
    }
    for sig in 1..=64 {
        if sig != sys::SIGKILL && sig != sys::SIGSTOP {
            sys::signal(sig, sys::SIG_DFL);
        }
    }
    let empty = [0u64; 16];
    sys::sigprocmask(sys::SIG_SETMASK, empty.as_ptr().cast(), std::ptr::null_mut());
    if sys::ptrace(sys::PTRACE_TRACEME, 0 as c_long, 0 as c_long, 0 as c_long) < 0 {
        report(err_fd, STAGE_TRACEME, sys::errno());
        return false;
    }
    true
}

/// Installs the filter; without CAP_SYS_ADMIN the kernel requires no_new_privs first. Trying without it
/// first keeps setuid programs working when roar runs privileged.
pub unsafe fn child_install_filter(prog: &[sys::SockFilter]) -> Result<(), i32> {
    install_filter(prog, 0).map(|_| ())
}

/// Installs `prog` with `flags`; returns the syscall's result (the listener fd with NEW_LISTENER).
unsafe fn install_filter(prog: &[sys::SockFilter], flags: c_long) -> Result<c_long, i32> {
    let fprog = sys::SockFprog { len: prog.len() as u16, filter: prog.as_ptr() };
    let install = || sys::syscall(arch::SYS_SECCOMP, sys::SECCOMP_SET_MODE_FILTER, flags, &fprog as *const _);
    let r = install();
    if r >= 0 {
        return Ok(r);
    }
    let e = sys::errno();
    if e != sys::EACCES {
        return Err(e);
    }
    sys::prctl(sys::PR_SET_NO_NEW_PRIVS, 1 as c_long, 0 as c_long, 0 as c_long, 0 as c_long);
    let r = install();
    if r >= 0 {
        Ok(r)
    } else {
        Err(sys::errno())
    }
}

impl Prepared {
    /// The next child installs only the filter that stops (no user-notification listener).
    pub fn without_listener(&mut self) {
        self.notify_filter = None;
    }
}

/// Starts the traced child: a clone sharing our memory until its execve (see raw.rs) on `stack`, running
/// `child_main`. Returns its pid or -errno. `p` and `stack` must outlive the child's exec.
pub fn clone_child(p: &mut Prepared, err_fd: c_int, parent: c_int, stack: &mut [u8]) -> isize {
    p.err_fd = err_fd;
    p.parent = parent;
    // Stacks grow down; 16-byte alignment as both ABIs require at a call.
    let top = ((stack.as_mut_ptr() as usize + stack.len()) & !15) as *mut u8;
    let arg = p as *mut Prepared as *mut u8;
    // The child shares Bun's memory and, until it resets them, Bun's signal handlers: a signal reaching it
    // that early (a Ctrl-C forwarded at once) would run a handler of Bun's on the child's stack. So it starts
    // with every signal blocked, and unblocks them once the dispositions are back to default.
    let all = !0u64;
    let mut old = 0u64;
    // SAFETY: the masks are locals; the clone child runs `child_entry` on `stack` with `p`, both outliving its exec (caller's contract).
    unsafe {
        raw::syscall(raw::nr::RT_SIGPROCMASK, sys::SIG_SETMASK as usize, &all as *const u64 as usize, &mut old as *mut u64 as usize, 8);
        let r = raw::clone_on_stack(CLONE_VM | sys::SIGCHLD as usize, top, child_entry, arg);
        raw::syscall(raw::nr::RT_SIGPROCMASK, sys::SIG_SETMASK as usize, &old as *const u64 as usize, 0, 8);
        r
    }
}

const CLONE_VM: usize = 0x100;

unsafe extern "C" fn child_entry(arg: *mut u8) -> ! {
    let p = &*(arg as *const Prepared);
    child_main(p, p.err_fd, p.parent)
}

fn raw_report(fd: c_int, stage: i32, err: i32) {
    let mut msg = [0u8; 8];
    msg[..4].copy_from_slice(&stage.to_ne_bytes());
    msg[4..].copy_from_slice(&err.to_ne_bytes());
    // SAFETY: writes the 8-byte local `msg`.
    unsafe { raw::syscall(raw::nr::WRITE, fd as usize, msg.as_ptr() as usize, 8, 0) };
}

/// Installs `prog` with `flags` (raw form of `install_filter`): the result or -errno. `nnp`: when refused for
/// want of privilege, set no_new_privs and try again.
unsafe fn raw_install_filter(prog: &[sys::SockFilter], flags: usize, nnp: bool) -> isize {
    let fprog = sys::SockFprog { len: prog.len() as u16, filter: prog.as_ptr() };
    let install = || raw::syscall(raw::nr::SECCOMP, sys::SECCOMP_SET_MODE_FILTER as usize, flags, &fprog as *const _ as usize, 0);
    let r = install();
    if r != -(sys::EACCES as isize) || !nnp {
        return r;
    }
    raw::syscall(raw::nr::PRCTL, sys::PR_SET_NO_NEW_PRIVS as usize, 1, 0, 0);
    install()
}

/// The traced child, on its own stack in our memory (raw system calls only, see raw.rs). Never returns.
/// The filter goes on before the stop, so that the tracer can take the listener fd (its number comes
/// through `err_fd`) while the child waits; the listener is CLOEXEC, so the user's program never sees it.
unsafe fn child_main(p: &Prepared, err_fd: c_int, parent: c_int) -> ! {
    use raw::{nr, syscall};
    syscall(nr::PRCTL, sys::PR_SET_PDEATHSIG as usize, sys::SIGKILL as usize, 0, 0);
    if syscall(nr::GETPPID, 0, 0, 0, 0) != parent as isize {
        raw::exit_group(126);
    }
    // Reset what Bun changed: ignored SIGXFSZ/SIGPIPE (ignored dispositions survive exec), blocked signals.
    // The kernel's struct sigaction: handler, flags, restorer, mask — all zero is SIG_DFL.
    let dfl = [0u64; 4];
    for sig in 1..=64usize {
        if sig != sys::SIGKILL as usize && sig != sys::SIGSTOP as usize {
            syscall(nr::RT_SIGACTION, sig, dfl.as_ptr() as usize, 0, 8);
        }
    }
    let empty = 0u64;
    syscall(nr::RT_SIGPROCMASK, sys::SIG_SETMASK as usize, &empty as *const u64 as usize, 0, 8);
    let r = if p.untraced { 0 } else { syscall(nr::PTRACE, sys::PTRACE_TRACEME as usize, 0, 0, 0) };
    if r < 0 {
        raw_report(err_fd, STAGE_TRACEME, -r as i32);
        raw::exit_group(126);
    }
    let r = syscall(nr::CHDIR, p.cwd.as_ptr() as usize, 0, 0, 0);
    if r < 0 {
        raw_report(err_fd, STAGE_CHDIR, -r as i32);
        raw::exit_group(126);
    }
    // Bun's own fds (event loop, sockets) must not leak into the user's command.
    syscall(nr::CLOSE_RANGE, 3, u32::MAX as usize, sys::CLOSE_RANGE_CLOEXEC as usize, 0);
    if p.untraced {
        let r = syscall(nr::EXECVE, p.exe.as_ptr() as usize, p.argv_ptrs.as_ptr() as usize, p.envp_ptrs.as_ptr() as usize, 0);
        let e = -r as i32;
        raw_report(err_fd, STAGE_EXEC, e);
        raw::exit_group(if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
    }
    // A kernel before 5.0 lacks listeners; one is refused (EBUSY) when a filter above us has one already.
    let mut listener = -1isize;
    if let Some(prog) = &p.notify_filter {
        // Killable-only waits once a notification is received keep signals from interrupting the open
        // (before that, see Tracer::keep_open_uninterrupted); kernels before 5.19 refuse the flag.
        let killable = (sys::SECCOMP_FILTER_FLAG_NEW_LISTENER | sys::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) as usize;
        listener = raw_install_filter(prog, killable, true);
        if listener == -(sys::EINVAL as isize) {
            listener = raw_install_filter(prog, sys::SECCOMP_FILTER_FLAG_NEW_LISTENER as usize, true);
        }
    }
    if listener < 0 {
        let r = raw_install_filter(&p.filter, 0, !p.filter_optional);
        if r < 0 && !(p.filter_optional && r == -(sys::EACCES as isize)) {
            raw_report(err_fd, STAGE_SECCOMP, -r as i32);
            raw::exit_group(126);
        }
    }
    raw_report(err_fd, STAGE_LISTENER, if listener < 0 { -1 } else { listener as i32 });
    syscall(nr::KILL, syscall(nr::GETPID, 0, 0, 0, 0) as usize, sys::SIGSTOP as usize, 0, 0);
    let r = syscall(nr::EXECVE, p.exe.as_ptr() as usize, p.argv_ptrs.as_ptr() as usize, p.envp_ptrs.as_ptr() as usize, 0);
    let e = -r as i32;
    raw_report(err_fd, STAGE_EXEC, e);
    raw::exit_group(if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
}
