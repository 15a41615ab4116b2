//! Process lifecycle: the constructor (PROC_START), fork/vfork/clone, exit paths (EXIT) and the
//! __libc_start_main hook that learns main's return value.

use core::ffi::{c_char, c_int, c_long, c_void};
use core::ptr::addr_of_mut;
use core::sync::atomic::Ordering::*;

use roar_events::{flags as evflags, rec};

use crate::exec;
use crate::real::{call_real, errno, real, set_errno};
use crate::state::{self, active, lock, now_ns, CArgs, ACTIVE, CFG, EXITED, EXIT_CODE, PID};
use crate::sys::{self, cstr};

type ForkFn = unsafe extern "C" fn() -> c_int;
type ExitFn = unsafe extern "C" fn(c_int) -> !;
type MainFn = unsafe extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) -> c_int;
type StartMainFn = unsafe extern "C" fn(
    MainFn,
    c_int,
    *mut *mut c_char,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
) -> c_int;
type CloneFn = unsafe extern "C" fn(
    extern "C" fn(*mut c_void) -> c_int,
    *mut c_void,
    c_int,
    *mut c_void,
    *mut c_void,
    *mut c_void,
    *mut c_void,
) -> c_int;

// ---------------------------------------------------------------------------------------------- constructor

#[used]
#[link_section = ".init_array"]
static INIT: extern "C" fn(c_int, *const *const c_char, *const *const c_char) = init;

#[used]
#[link_section = ".fini_array"]
static FINI: extern "C" fn() = fini;

fn env_value<'a>(envp: *const *const c_char, name: &[u8]) -> Option<&'a [u8]> {
    if envp.is_null() {
        return None;
    }
    let mut i = 0;
    loop {
        // SAFETY: `envp` is the NULL-terminated environment glibc passes to constructors; `i` stops at its NULL.
        let e = unsafe { *envp.add(i) };
        if e.is_null() {
            return None;
        }
        // SAFETY: each environment entry is a NUL-terminated string.
        let s = unsafe { cstr(e as *const u8) };
        if s.len() > name.len() && s.starts_with(name) && s[name.len()] == b'=' {
            return Some(&s[name.len() + 1..]);
        }
        i += 1;
    }
}

/// glibc calls .init_array entries of shared objects with (argc, argv, envp).
extern "C" fn init(argc: c_int, argv: *const *const c_char, envp: *const *const c_char) {
    let Some(events) = env_value(envp, b"ROAR_EVENTS_PATH") else { return };
    let lib = env_value(envp, b"ROAR_PRELOAD_LIB").unwrap_or(b"");
    // SAFETY: the constructor runs once, before any hook reads CFG.
    let c = unsafe { &mut *addr_of_mut!(CFG) };
    if sys::cat_z(&mut c.events_path, &[events]).is_none() || lib.len() >= c.lib.len() {
        return;
    }
    c.lib[..lib.len()].copy_from_slice(lib);
    c.lib_len = lib.len();
    let _ = sys::cat_z(&mut c.env_preload, &[b"LD_PRELOAD=", lib]);
    let _ = sys::cat_z(&mut c.env_events, &[b"ROAR_EVENTS_PATH=", events]);
    let _ = sys::cat_z(&mut c.env_lib, &[b"ROAR_PRELOAD_LIB=", lib]);
    if let Some(spool) = env_value(envp, b"ROAR_SPOOL_DIR") {
        if spool.len() < c.spool_dir.len() && sys::cat_z(&mut c.env_spool, &[b"ROAR_SPOOL_DIR=", spool]).is_some() {
            c.spool_dir[..spool.len()].copy_from_slice(spool);
            c.spool_len = spool.len();
        }
    }
    // SAFETY: getpid has no preconditions.
    PID.store(unsafe { sys::getpid() }, Relaxed);
    ACTIVE.store(true, Release);
    let ts = now_ns();
    let mut exe = [0u8; state::PATH_CAP];
    let exe_len = {
        // SAFETY: the path is NUL-terminated and `exe` a local buffer.
        let r = unsafe { sys::readlinkat(sys::AT_FDCWD, c"/proc/self/exe".as_ptr().cast(), &mut exe) };
        if r > 0 {
            r as usize
        } else {
            0
        }
    };
    if let Some(l) = lock() {
        let s = &mut *l.scr;
        s.refresh_cwd();
        let cwd = &s.cwd[..s.cwd_len];
        // SAFETY: getppid has no preconditions.
        let ppid = unsafe { sys::getppid() };
        // SAFETY: `argv` is the NULL-terminated argument vector glibc passes to constructors.
        let args = unsafe { CArgs::new(argv as *const *const u8) }.fit(state::ARGV_BUDGET);
        let _ = argc;
        let e = &exe[..exe_len];
        l.out.push(ts, |b, pid, seq, ts| rec::proc_start(b, pid, seq, ts, ppid, e, args.clone(), cwd));
    }
    // The libraries the loader mapped before we ran (it opens them where no hook sees).
    crate::loaded::report();
    // Runtimes that do their own system calls (Go with cgo, Bun) load us but bypass the hooks.
    if exe_len > 0 && exe_len < exe.len() {
        exe[exe_len] = 0;
        // SAFETY: `exe` was NUL-terminated just above.
        let insp = unsafe { exec::inspect(sys::AT_FDCWD, exe.as_ptr(), 0) };
        if insp.bypass {
            incomplete("libc_bypass", &exe[..exe_len]);
        }
    }
}

extern "C" fn fini() {
    if active() {
        let code = EXIT_CODE.load(Relaxed);
        write_exit(if code == u64::MAX { None } else { Some(code as i32) });
    }
}

/// Records an INCOMPLETE event for this process.
pub fn incomplete(reason: &str, detail: &[u8]) {
    let ts = now_ns();
    if let Some(mut l) = lock() {
        l.push(ts, |b, pid, seq, ts| rec::incomplete(b, pid, seq, ts, reason, detail));
    }
}

/// Writes this process's EXIT record (once) and flushes.
pub fn write_exit(code: Option<i32>) {
    if !active() || EXITED.swap(true, AcqRel) {
        return;
    }
    let ts = now_ns();
    if let Some(mut l) = lock() {
        l.push(ts, |b, pid, seq, ts| rec::exit(b, pid, seq, ts, code, None));
        l.flush();
        l.out.give_back(false);
    }
}

// ---------------------------------------------------------------------------------------------- fork

/// Runs a fork-like operation `f` with the buffer flushed and locked, so the child inherits no records and
/// no held lock; the child then starts its own buffer with its own pid. `f` returns like fork().
pub fn forklike(f: impl FnOnce() -> c_long) -> c_long {
    forklike_flags(0, f)
}

fn forklike_flags(flags: u32, f: impl FnOnce() -> c_long) -> c_long {
    let ts = now_ns();
    let Some(mut l) = lock() else { return f() };
    l.flush();
    let r = f();
    if r == 0 {
        // SAFETY: in the child right after fork, holding the lock taken before it: only this thread exists.
        unsafe { state::after_fork_child(&mut l) };
        drop(l);
    } else {
        if r > 0 {
            let child = r as u32;
            l.push(ts, |b, pid, seq, ts| rec::fork(b, pid, seq, ts, child, flags));
        }
        drop(l);
    }
    r
}

pub fn fork_impl(flags: u32) -> c_int {
    forklike_flags(flags, || call_real!(fork: ForkFn, -1, ()) as c_long) as c_int
}

#[no_mangle]
pub unsafe extern "C" fn fork() -> c_int {
    fork_impl(0)
}

/// glibc 2.34's atfork-free fork: same bookkeeping.
#[no_mangle]
pub unsafe extern "C" fn _Fork() -> c_int {
    forklike_flags(0, || call_real!(_Fork: ForkFn, -1, ()) as c_long) as c_int
}

/// vfork is run as fork: a wrapper cannot return into a vfork child (it would clobber the parent's stack),
/// and a vfork child shares our buffer. The observable difference is only performance and memory sharing
/// that POSIX does not allow a vfork child to rely on.
#[no_mangle]
pub unsafe extern "C" fn vfork() -> c_int {
    fork_impl(evflags::FORK_VFORK)
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CloneCall {
    f: extern "C" fn(*mut c_void) -> c_int,
    arg: *mut c_void,
}

/// First code of a fork-like clone child: start a fresh buffer under the child's pid.
extern "C" fn clone_child(p: *mut c_void) -> c_int {
    // SAFETY: `p` is the CloneCall our clone wrapper passed, alive in the parent's frame (CLONE_VM) or copied memory.
    let call = unsafe { *(p as *const CloneCall) };
    if let Some(mut l) = lock() {
        // SAFETY: the first code of a fork-like clone child: only this thread exists.
        unsafe { state::after_fork_child(&mut l) };
    }
    (call.f)(call.arg)
}

#[no_mangle]
pub unsafe extern "C" fn clone(
    f: extern "C" fn(*mut c_void) -> c_int,
    stack: *mut c_void,
    flags: c_int,
    arg: *mut c_void,
    ptid: *mut c_void,
    tls: *mut c_void,
    ctid: *mut c_void,
) -> c_int {
    if !active() || (flags as u64) & sys::CLONE_VM != 0 {
        return call_real!(clone: CloneFn, -1, (f, stack, flags, arg, ptid, tls, ctid));
    }
    // The child gets a copy of this frame, so `call` is readable there.
    let mut call = CloneCall { f, arg };
    let pcall = &mut call as *mut CloneCall as *mut c_void;
    state::flush_now();
    let ts = now_ns();
    let r = call_real!(clone: CloneFn, -1, (clone_child, stack, flags, pcall, ptid, tls, ctid));
    if r > 0 {
        if let Some(mut l) = lock() {
            let child = r as u32;
            l.push(ts, |b, pid, seq, ts| rec::fork(b, pid, seq, ts, child, 0));
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------- exit

#[no_mangle]
pub unsafe extern "C" fn exit(code: c_int) -> ! {
    EXIT_CODE.store(code as u32 as u64, Relaxed);
    if let Some(f) = real!(exit: ExitFn) {
        f(code)
    }
    sys::exit_group(code)
}

#[no_mangle]
pub unsafe extern "C" fn _exit(code: c_int) -> ! {
    write_exit(Some(code));
    if let Some(f) = real!(_exit: ExitFn) {
        f(code)
    }
    sys::exit_group(code)
}

#[no_mangle]
pub unsafe extern "C" fn _Exit(code: c_int) -> ! {
    write_exit(Some(code));
    if let Some(f) = real!(_Exit: ExitFn) {
        f(code)
    }
    sys::exit_group(code)
}

static mut REAL_MAIN: Option<MainFn> = None;

unsafe extern "C" fn main_wrapper(argc: c_int, argv: *mut *mut c_char, envp: *mut *mut c_char) -> c_int {
    let m = *core::ptr::addr_of!(REAL_MAIN);
    let code = match m {
        Some(m) => m(argc, argv, envp),
        None => 0,
    };
    EXIT_CODE.store(code as u32 as u64, Relaxed);
    code
}

/// Wraps main so that a return from main (which glibc turns into an internal exit call) reports its code.
#[no_mangle]
pub unsafe extern "C" fn __libc_start_main(
    main: MainFn,
    argc: c_int,
    argv: *mut *mut c_char,
    init: *mut c_void,
    fini: *mut c_void,
    rtld_fini: *mut c_void,
    stack_end: *mut c_void,
) -> c_int {
    let Some(real) = real!(__libc_start_main: StartMainFn) else { sys::exit_group(127) };
    if !active() {
        return real(main, argc, argv, init, fini, rtld_fini, stack_end);
    }
    *addr_of_mut!(REAL_MAIN) = Some(main);
    real(main_wrapper, argc, argv, init, fini, rtld_fini, stack_end)
}

// ---------------------------------------------------------------------------------------------- reaping

type WaitpidFn = unsafe extern "C" fn(c_int, *mut c_int, c_int) -> c_int;
type Wait4Fn = unsafe extern "C" fn(c_int, *mut c_int, c_int, *mut c_void) -> c_int;
type WaitFn = unsafe extern "C" fn(*mut c_int) -> c_int;
type Wait3Fn = unsafe extern "C" fn(*mut c_int, c_int, *mut c_void) -> c_int;
type WaitidFn = unsafe extern "C" fn(c_int, u32, *mut c_void, c_int) -> c_int;

/// A child killed by a signal could not write its own EXIT: its reaper writes it (the child's buffered
/// records survive in its spool file).
fn note_reaped(child: c_int, status: c_int) {
    let sig = status & 0x7f;
    if child <= 0 || sig == 0 || sig == 0x7f || !active() {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(mut l) = lock() {
        l.push(ts, |b, _pid, seq, ts| rec::exit(b, child as u32, seq, ts, None, Some(sig)));
    }
    set_errno(e);
}

#[no_mangle]
pub unsafe extern "C" fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int {
    let mut st = 0;
    let r = call_real!(waitpid: WaitpidFn, -1, (pid, &mut st, options));
    if r > 0 {
        if !status.is_null() {
            *status = st;
        }
        note_reaped(r, st);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn wait4(pid: c_int, status: *mut c_int, options: c_int, ru: *mut c_void) -> c_int {
    let mut st = 0;
    let r = call_real!(wait4: Wait4Fn, -1, (pid, &mut st, options, ru));
    if r > 0 {
        if !status.is_null() {
            *status = st;
        }
        note_reaped(r, st);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn wait(status: *mut c_int) -> c_int {
    let mut st = 0;
    let r = call_real!(wait: WaitFn, -1, (&mut st));
    if r > 0 {
        if !status.is_null() {
            *status = st;
        }
        note_reaped(r, st);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn wait3(status: *mut c_int, options: c_int, ru: *mut c_void) -> c_int {
    let mut st = 0;
    let r = call_real!(wait3: Wait3Fn, -1, (&mut st, options, ru));
    if r > 0 {
        if !status.is_null() {
            *status = st;
        }
        note_reaped(r, st);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn waitid(idtype: c_int, id: u32, info: *mut c_void, options: c_int) -> c_int {
    let r = call_real!(waitid: WaitidFn, -1, (idtype, id, info, options));
    const WNOWAIT: c_int = 0x0100_0000;
    if r == 0 && !info.is_null() && options & WNOWAIT == 0 {
        // siginfo_t: si_code at 8, si_pid at 16, si_status at 24; CLD_KILLED = 2, CLD_DUMPED = 3
        let b = info as *const u8;
        let code = *(b.add(8) as *const i32);
        let pid = *(b.add(16) as *const i32);
        let sig = *(b.add(24) as *const i32);
        if code == 2 || code == 3 {
            note_reaped(pid, sig & 0x7f);
        }
    }
    r
}
