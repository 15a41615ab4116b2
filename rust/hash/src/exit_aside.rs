//! Exit without waiting for the memory to be freed. A process's exit frees its address space before its parent
//! is told (do_exit: exit_mm, then exit_notify): for roar after a big job (~100 MB touched) that is 5-7 ms of the
//! `roar run` its caller waits for, after everything is recorded. Just before roar exits, a helper sharing its
//! address space (CLONE_VM, a process of its own) takes a reference to it: roar's exit then only drops one, its
//! caller is told at once, and the helper, woken by roar's end (the pipe it reads from closes), exits in turn and
//! frees the memory beside whatever runs next. The helper keeps none of roar's files open (a caller reading roar's
//! output to its end is not kept waiting), and runs on a small stack of its own, with raw system calls only.
//!
//! The helper outlives roar briefly and is then adopted, like any orphan, by init (or a subreaper), which must reap
//! it: where init does not (a container whose first process is `sleep infinity`), every run would leave a zombie.
//! So `auto` starts it only where init shows it reaps (SIGCHLD caught, ignored, or blocked by a thread that waits
//! for it), and only when there is memory worth freeing aside.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

const HELPER_STACK: usize = 64 * 1024;

static STARTED: AtomicBool = AtomicBool::new(false);
/// Whether init reaps, once asked: 0 not known yet, 1 yes, 2 no.
static INIT_REAPS: AtomicU8 = AtomicU8::new(0);

/// The helper: closes every file but the read end of the pipe (`arg`), waits for the pipe to close (roar gone),
/// exits. System calls only: it shares roar's memory, and runs while roar's threads do.
extern "C" fn helper(arg: *mut libc::c_void) -> libc::c_int {
    let fd = arg as usize as libc::c_long;
    // SAFETY: plain system calls on numbers and a byte of this stack.
    unsafe {
        if fd > 0 {
            libc::syscall(libc::SYS_close_range, 0, fd - 1, 0);
        }
        libc::syscall(libc::SYS_close_range, fd + 1, libc::c_uint::MAX, 0);
        let mut byte = 0u8;
        // End of file once roar has exited (it holds the only write end).
        while libc::syscall(libc::SYS_read, fd, &mut byte as *mut u8, 1) > 0 {}
        libc::syscall(libc::SYS_exit, 0);
    }
    0
}

/// SIGCHLD's bit in /proc's signal masks.
const SIGCHLD_BIT: u64 = 1 << (libc::SIGCHLD - 1);

/// A signal mask line of a /proc status file ("SigBlk:\t0000000000010000"), as a number.
fn mask(status: &str, name: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| u64::from_str_radix(rest.trim_start_matches(':').trim(), 16).ok())
        .unwrap_or(0)
}

/// Whether init reaps orphans: it catches or ignores SIGCHLD, or one of its threads blocks it to wait for it.
fn init_reaps() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/1/status") else { return false };
    if ["SigCgt", "SigIgn", "SigBlk"].iter().any(|name| mask(&status, name) & SIGCHLD_BIT != 0) {
        return true;
    }
    let Ok(tasks) = std::fs::read_dir("/proc/1/task") else { return false };
    tasks.flatten().take(256).any(|task| {
        std::fs::read_to_string(task.path().join("status")).is_ok_and(|s| mask(&s, "SigBlk") & SIGCHLD_BIT != 0)
    })
}

/// init_reaps, asked once (answered ahead by roar_exit_aside_prepare where it was called).
fn init_reaps_known() -> bool {
    match INIT_REAPS.load(Ordering::Acquire) {
        1 => true,
        2 => false,
        _ => {
            let reaps = init_reaps();
            INIT_REAPS.store(if reaps { 1 } else { 2 }, Ordering::Release);
            reaps
        }
    }
}

/// Asks whether init reaps on a thread of its own, so that the exit need not (reading init's threads costs ~1 ms
/// where it has many). Call it while roar waits (for the traced command).
#[no_mangle]
pub extern "C" fn roar_exit_aside_prepare() {
    let _ = std::thread::Builder::new().name("roar-init-check".into()).spawn(init_reaps_known);
}

/// The process's resident memory in bytes (0 when unknown).
fn resident_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|n| n.parse::<u64>().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf reads a constant.
    pages * (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64)
}

/// Starts the helper; call it last thing before the process exits (nothing may be spawned after). `min_resident`:
/// only when at least this much memory is resident, and init reaps (see above); 0: always. Returns the helper's
/// pid, 0 when not started (started already, too little memory, init does not reap, roar is init), or a negative
/// errno (the exit then frees the memory itself, as without it).
#[no_mangle]
pub extern "C" fn roar_exit_aside(min_resident: u64) -> i32 {
    if STARTED.swap(true, Ordering::AcqRel) {
        return 0;
    }
    // SAFETY: getpid cannot fail.
    if unsafe { libc::getpid() } == 1 || (min_resident > 0 && (resident_bytes() < min_resident || !init_reaps_known())) {
        return 0;
    }
    let errno = || -std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    let mut pipe = [-1 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two-int array; mmap asks for a fresh private mapping.
    unsafe {
        if libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return errno();
        }
        let stack = libc::mmap(
            std::ptr::null_mut(),
            HELPER_STACK,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
            -1,
            0,
        );
        if stack == libc::MAP_FAILED {
            let e = errno();
            libc::close(pipe[0]);
            libc::close(pipe[1]);
            return e;
        }
        let top = (stack as *mut u8).add(HELPER_STACK) as *mut libc::c_void;
        // The helper starts with every signal blocked (it inherits this thread's mask): a handler of roar's run
        // there would run roar's code in roar's memory. Only SIGKILL ends it early, which frees the memory too.
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut before);
        // SIGCHLD: once roar is gone the helper is re-parented and reaped like any orphan.
        let pid = libc::clone(helper, top, libc::CLONE_VM | libc::SIGCHLD, pipe[0] as usize as *mut libc::c_void);
        libc::pthread_sigmask(libc::SIG_SETMASK, &before, std::ptr::null_mut());
        if pid < 0 {
            let e = errno();
            libc::close(pipe[0]);
            libc::close(pipe[1]);
            libc::munmap(stack, HELPER_STACK);
            return e;
        }
        // roar keeps the write end only, until it exits (the helper's copy of it is closed by the helper).
        libc::close(pipe[0]);
        pid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_signal_masks_of_a_status_file() {
        let status = "Name:\tinit\nSigBlk:\t0000000000010000\nSigIgn:\t0000000000001000\nSigCgt:\t00000000000004e8\n";
        assert_eq!(mask(status, "SigBlk") & SIGCHLD_BIT, SIGCHLD_BIT);
        assert_eq!(mask(status, "SigIgn"), 0x1000);
        assert_eq!(mask(status, "SigCgt") & SIGCHLD_BIT, 0);
        assert_eq!(mask(status, "SigPnd"), 0, "a missing line is no signal");
    }

    #[test]
    fn measures_resident_memory() {
        assert!(resident_bytes() > 0);
    }
}
