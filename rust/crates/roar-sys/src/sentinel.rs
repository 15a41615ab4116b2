//! The signal sentinel: a tiny process in roar's process group that blocks every signal and counts the
//! termination signals it receives. roar forwards a signal it gets to the traced command only when the
//! sentinel did not get it too: a signal sent to the whole process group (a terminal's Ctrl-C, `timeout`,
//! `kill -- -PGID`) already reached the command, and must not arrive twice.
//!
//! The sentinel shares roar's memory (`clone(CLONE_VM)`, like the preload supervisor): no copy of Bun's page
//! tables, and the counters below are read directly. It uses raw system calls only, on a stack of its own.
use crate::{nr, sc2, sc4, syscall6};
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

const STACK: usize = 64 * 1024;
const SIGKILL: usize = 9;
const SIGCHLD: usize = 17;
const CLONE_VM: usize = 0x100;
const PR_SET_PDEATHSIG: usize = 1;
const WALL: usize = 0x4000_0000;
const WNOTHREAD: usize = 0x2000_0000;

/// Signals counted: SIGHUP, SIGINT, SIGQUIT, SIGTERM (the ones roar forwards).
pub const WATCHED: [usize; 4] = [1, 2, 3, 15];

static COUNTS: [AtomicU32; 65] = [const { AtomicU32::new(0) }; 65];
static PID: AtomicI32 = AtomicI32::new(0);
static mut STACK_BASE: usize = 0;

unsafe extern "C" fn sentinel_main(_: *mut u8) -> ! {
    // Every signal is blocked (inherited from the parent's mask at clone): only these are waited for.
    sc2(nr::PRCTL, PR_SET_PDEATHSIG, SIGKILL);
    // Keep no descriptor of roar's open: a pipe held here would never see its end of file.
    syscall6(nr::CLOSE_RANGE, 0, u32::MAX as usize, 0, 0, 0, 0);
    let mut set: u64 = 0;
    for s in WATCHED {
        set |= 1 << (s - 1);
    }
    loop {
        let r = sc4(nr::RT_SIGTIMEDWAIT, &set as *const u64 as usize, 0, 0, 8);
        if r > 0 && (r as usize) < COUNTS.len() {
            COUNTS[r as usize].fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Starts the sentinel (once; later calls return the running one's pid). Returns its pid or -errno.
///
/// # Safety
/// Must be called from the thread that will also call [`stop`] (it is that thread's child).
pub unsafe fn start() -> i32 {
    let running = PID.load(Ordering::SeqCst);
    if running > 0 {
        return running;
    }
    let stack = syscall6(nr::MMAP, 0, STACK, 3, 0x22 | 0x20000 /* MAP_PRIVATE|ANONYMOUS|STACK */, usize::MAX, 0);
    if stack < 0 {
        return stack as i32;
    }
    for c in COUNTS.iter() {
        c.store(0, Ordering::SeqCst);
    }
    // The child shares the memory where Bun's signal handlers live: it must start with every signal blocked.
    let all: u64 = !0;
    let mut old: u64 = 0;
    sc4(nr::RT_SIGPROCMASK, 2 /* SIG_SETMASK */, &all as *const u64 as usize, &mut old as *mut u64 as usize, 8);
    let pid = crate::clone_on_stack(CLONE_VM | SIGCHLD, (stack as usize + STACK) as *mut u8, sentinel_main, core::ptr::null_mut());
    sc4(nr::RT_SIGPROCMASK, 2, &old as *const u64 as usize, 0, 8);
    if pid < 0 {
        sc2(nr::MUNMAP, stack as usize, STACK);
        return pid as i32;
    }
    STACK_BASE = stack as usize;
    PID.store(pid as i32, Ordering::SeqCst);
    pid as i32
}

/// How many times the sentinel has received `sig` since it started.
pub fn count(sig: i32) -> u32 {
    COUNTS.get(sig as usize).map_or(0, |c| c.load(Ordering::SeqCst))
}

/// Kills and reaps the sentinel and frees its stack.
///
/// # Safety
/// Same thread as [`start`].
pub unsafe fn stop() {
    let pid = PID.swap(0, Ordering::SeqCst);
    if pid <= 0 {
        return;
    }
    sc2(nr::KILL, pid as usize, SIGKILL);
    let mut status: i32 = 0;
    loop {
        let r = sc4(nr::WAIT4, pid as usize, &mut status as *mut i32 as usize, WALL | WNOTHREAD, 0);
        if r != -(crate::errno::EINTR as isize) {
            break; // reaped, or not ours any more (EINTR retried)
        }
    }
    // Its stack is unused once it is reaped.
    sc2(nr::MUNMAP, STACK_BASE, STACK);
}
