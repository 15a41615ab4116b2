//! The supervisor: called from roar's main thread, it starts a supervisor process that starts the command
//! and waits for every descendant (it is a child subreaper), and kills the whole traced tree if roar dies
//! (PR_SET_PDEATHSIG). The supervisor shares roar's memory (CLONE_VM, no copy of Bun's page tables), so it
//! uses raw system calls and its own stack/mmap buffers only: no allocation, no locks, no errno.
//!
//! Protocol, supervisor -> caller, over a CLOEXEC pipe: 16-byte messages `[kind, a, b, 0]` (native i32).

use core::ffi::c_int;
use core::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use roar_events::{join_normalize, rec};

use crate::exec::inspect;
use crate::state::CArgs;
use crate::sys::{self, nr, sc1, sc2, sc3, sc4, syscall6, AT_FDCWD};

const MSG_STARTED: i32 = 1; // a = top pid
const MSG_SPAWN_FAILED: i32 = 2; // a = errno, b = 126/127
const MSG_TOP_EXITED: i32 = 3; // a = raw wait status of the top process
const MSG_DONE: i32 = 4; // every descendant has been reaped

/// What to run. All strings are NUL-terminated; argv/envp are NULL-terminated pointer arrays.
#[repr(C)]
pub struct SpawnSpec {
    pub file: *const u8,
    pub argv: *const *const u8,
    pub envp: *const *const u8,
    pub cwd: *const u8,
    /// PATH used to find `file` when it has no slash (the command's PATH, not roar's).
    pub path_env: *const u8,
    /// The events file: created with the HEADER record if empty.
    pub events_path: *const u8,
}

unsafe fn send(fd: c_int, kind: i32, a: i32, b: i32) {
    let mut m = [0u8; 16];
    m[0..4].copy_from_slice(&kind.to_ne_bytes());
    m[4..8].copy_from_slice(&a.to_ne_bytes());
    m[8..12].copy_from_slice(&b.to_ne_bytes());
    sys::write_all(fd, &m);
}

/// Reads one message; None at end of stream.
unsafe fn recv(fd: c_int) -> Option<[i32; 3]> {
    let mut m = [0u8; 16];
    let mut got = 0;
    while got < 16 {
        let r = sys::read(fd, &mut m[got..]);
        if r == -(sys::EINTR as isize) {
            continue;
        }
        if r <= 0 {
            return None;
        }
        got += r as usize;
    }
    let w = |i: usize| i32::from_ne_bytes([m[i], m[i + 1], m[i + 2], m[i + 3]]);
    Some([w(0), w(4), w(8)])
}

unsafe fn write_header(events: *const u8) -> isize {
    let fd = sys::openat(AT_FDCWD, events, sys::O_WRONLY | sys::O_CREAT | sys::O_APPEND | sys::O_CLOEXEC, 0o600);
    if fd < 0 {
        return fd;
    }
    let mut st = sys::Stat::default();
    if sys::fstat(fd as c_int, &mut st) == 0 && st.st_size == 0 {
        let mut b = [0u8; 64];
        let n = rec::header(&mut b, "preload");
        sys::write_all(fd as c_int, &b[..n]);
    }
    sys::close(fd as c_int);
    0
}

/// Starts the supervised command. `out` (8 i32): [0] supervisor pid, [1] message fd (pass to
/// roar_preload_wait), [2] top pid, [3] exec errno, [4] 126/127. Returns 0 when the command runs, 1 when it
/// could not be executed (see out[3], out[4]), a negative errno on internal failure.
#[no_mangle]
pub unsafe extern "C" fn roar_preload_spawn(spec: *const SpawnSpec, out: *mut i32) -> i32 {
    let spec = &*spec;
    let out = core::slice::from_raw_parts_mut(out, 8);
    let h = write_header(spec.events_path);
    if h < 0 {
        return h as i32;
    }
    let mut p = [0i32; 2];
    let r = sc2(nr::PIPE2, p.as_mut_ptr() as usize, sys::O_CLOEXEC as usize);
    if r < 0 {
        return r as i32;
    }
    let parent = sys::getpid();
    // The supervisor shares our memory (CLONE_VM) on a stack of its own: a fork would copy Bun's page
    // tables (~1 ms here) and every page Bun then writes would fault for copy-on-write while it runs.
    // It reads `spec` only until it sends its first message, which this function waits for.
    let stack = syscall6(nr::MMAP, 0, SUPERVISOR_STACK, 3, 0x22 | 0x20000 /* MAP_STACK */, usize::MAX, 0);
    if stack < 0 {
        sys::close(p[0]);
        sys::close(p[1]);
        return stack as i32;
    }
    let mut start = SupervisorStart { spec, msg: p[1], msg_read: p[0], parent };
    let top = (stack as usize + SUPERVISOR_STACK) as *mut u8;
    // It also shares Bun's signal handlers until it blocks every signal: start it with all blocked, so that
    // no handler of Bun's can ever run on its stack.
    let all: u64 = !0;
    let mut old: u64 = 0;
    sc4(nr::RT_SIGPROCMASK, 2 /* SIG_SETMASK */, &all as *const u64 as usize, &mut old as *mut u64 as usize, 8);
    let s = sys::clone_on_stack(
        sys::CLONE_VM as usize | sys::SIGCHLD as usize,
        top,
        supervisor_entry,
        &mut start as *mut SupervisorStart as *mut u8,
    );
    sc4(nr::RT_SIGPROCMASK, 2, &old as *const u64 as usize, 0, 8);
    if s < 0 {
        sc2(nr::MUNMAP, stack as usize, SUPERVISOR_STACK);
        sys::close(p[0]);
        sys::close(p[1]);
        return s as i32;
    }
    remember_stack(s as i32, stack as usize);
    sys::close(p[1]);
    out[0] = s as i32;
    out[1] = p[0];
    match recv(p[0]) {
        Some([MSG_STARTED, pid, _]) => {
            out[2] = pid;
            0
        }
        Some([MSG_SPAWN_FAILED, e, code]) => {
            out[3] = e;
            out[4] = code;
            1
        }
        _ => -sys::EIO, // the supervisor vanished
    }
}

const SUPERVISOR_STACK: usize = 256 * 1024;

struct SupervisorStart {
    spec: *const SpawnSpec,
    msg: c_int,
    msg_read: c_int,
    parent: u32,
}

unsafe extern "C" fn supervisor_entry(arg: *mut u8) -> ! {
    let s = &*(arg as *const SupervisorStart);
    let (spec, msg, parent) = (&*s.spec, s.msg, s.parent);
    sys::close(s.msg_read);
    supervisor(spec, msg, parent)
}

/// Supervisor stacks by pid, unmapped once the supervisor is reaped (a full table leaks one stack).
static STACKS: [(AtomicI32, AtomicUsize); 16] = [const { (AtomicI32::new(0), AtomicUsize::new(0)) }; 16];

fn remember_stack(pid: i32, addr: usize) {
    for (p, a) in STACKS.iter() {
        if p.compare_exchange(0, -1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            a.store(addr, Ordering::Release);
            p.store(pid, Ordering::Release);
            return;
        }
    }
}

unsafe fn release_stack(pid: i32) {
    for (p, a) in STACKS.iter() {
        if p.load(Ordering::Acquire) == pid {
            sc2(nr::MUNMAP, a.load(Ordering::Acquire), SUPERVISOR_STACK);
            p.store(0, Ordering::Release);
            return;
        }
    }
}

/// Reaps the supervisor once its message pipe reached end of stream (the driver reads the pipe itself);
/// returns its raw wait status or a negative errno. Only this thread's child: __WNOTHREAD.
#[no_mangle]
pub unsafe extern "C" fn roar_preload_reap(sup: i32) -> i32 {
    let mut st = 0;
    loop {
        let r = sys::wait4(sup, &mut st, sys::WALL | sys::WNOTHREAD);
        if r != -(sys::EINTR as isize) {
            if r == sup as isize {
                release_stack(sup);
            }
            return if r < 0 { r as i32 } else { st };
        }
    }
}

#[repr(C)]
struct KSigaction {
    handler: usize,
    flags: u64,
    restorer: usize,
    mask: u64,
}

#[repr(C)]
struct SigInfo {
    raw: [u64; 16],
}

#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}

unsafe fn supervisor(spec: &SpawnSpec, msg: c_int, parent: u32) -> ! {
    // Only our message pipe stays open (a copy of Bun's descriptors would keep its pipes from closing).
    let msg = if msg != 3 {
        sc3(nr::DUP3, msg as usize, 3, sys::O_CLOEXEC as usize);
        3
    } else {
        msg
    };
    if sc3(nr::CLOSE_RANGE, 4, u32::MAX as usize, 0) < 0 {
        for fd in 4..4096 {
            sys::close(fd);
        }
    }
    sc2(nr::PRCTL, 15 /* PR_SET_NAME */, c"roar-supervisor".as_ptr() as usize);
    sc2(nr::PRCTL, sys::PR_SET_PDEATHSIG, sys::SIGTERM as usize);
    let me = sys::getpid();
    if sys::getppid() != parent {
        kill_tree(me);
        sys::exit_group(1);
    }
    sc2(nr::PRCTL, sys::PR_SET_CHILD_SUBREAPER, 1);
    let all: u64 = !0;
    sc4(nr::RT_SIGPROCMASK, 2 /* SIG_SETMASK */, &all as *const u64 as usize, 0, 8);

    let mut ep = [0i32; 2];
    if sc2(nr::PIPE2, ep.as_mut_ptr() as usize, sys::O_CLOEXEC as usize) < 0 {
        send(msg, MSG_SPAWN_FAILED, 24, 126);
        sys::exit_group(1);
    }
    // The command child shares our memory until it execs (CLONE_VM|CLONE_VFORK, on its own stack): no copy
    // of the (Bun-sized) address space for a process that is about to exec anyway.
    let mut start = ChildStart { spec, msg, errfd: ep[1], errfd_read: ep[0] };
    let stack = syscall6(nr::MMAP, 0, CHILD_STACK, 3, 0x22 | 0x20000 /* MAP_STACK */, usize::MAX, 0);
    let c = if stack < 0 {
        stack
    } else {
        let top = (stack as usize + CHILD_STACK) as *mut u8;
        let flags = (sys::CLONE_VM | sys::CLONE_VFORK) as usize | sys::SIGCHLD as usize;
        sys::clone_on_stack(flags, top, child_entry, &mut start as *mut ChildStart as *mut u8)
    };
    if stack >= 0 {
        sc2(nr::MUNMAP, stack as usize, CHILD_STACK);
    }
    sys::close(ep[1]);
    if c < 0 {
        send(msg, MSG_SPAWN_FAILED, (-c) as i32, 126);
        sys::exit_group(1);
    }
    // exec succeeded when the CLOEXEC pipe closes without data
    let mut eb = [0u8; 8];
    let mut got = 0;
    loop {
        let r = sys::read(ep[0], &mut eb[got..]);
        if r == -(sys::EINTR as isize) {
            continue;
        }
        if r <= 0 {
            break;
        }
        got += r as usize;
        if got == 8 {
            break;
        }
    }
    sys::close(ep[0]);
    if got == 8 {
        let e = i32::from_ne_bytes([eb[0], eb[1], eb[2], eb[3]]);
        let code = i32::from_ne_bytes([eb[4], eb[5], eb[6], eb[7]]);
        let mut st = 0;
        sys::wait4(c as i32, &mut st, sys::WALL);
        send(msg, MSG_SPAWN_FAILED, e, code);
        sys::exit_group(0);
    }
    // EXIT records for reaped processes killed by a signal (they could not write their own). Opened before
    // STARTED: after it, `spec` (the caller's memory) may be gone.
    let events = sys::openat(AT_FDCWD, spec.events_path, sys::O_WRONLY | sys::O_APPEND | sys::O_CLOEXEC, 0) as c_int;
    send(msg, MSG_STARTED, c as i32, 0);
    let mut seq = 0u64;
    let timeout = Timespec { sec: 1, nsec: 0 };
    let mut info = SigInfo { raw: [0; 16] };
    loop {
        let mut st = 0;
        let r = sys::wait4(-1, &mut st, sys::WNOHANG | sys::WALL);
        if r > 0 {
            if r == c {
                send(msg, MSG_TOP_EXITED, st, 0);
            }
            let sig = st & 0x7f;
            if events >= 0 && sig != 0 && sig != 0x7f {
                let mut b = [0u8; 64];
                let n = rec::exit(&mut b, r as u32, seq, crate::state::now_ns(), None, Some(sig));
                seq += 1;
                sys::write_all(events, &b[..n]);
            }
            continue;
        }
        if r == -(sys::ECHILD as isize) {
            break;
        }
        if sys::getppid() != parent {
            // roar is gone: nobody will record this tree, so it must not keep running
            kill_tree(me);
            continue;
        }
        syscall6(
            nr::RT_SIGTIMEDWAIT,
            &all as *const u64 as usize,
            &mut info as *mut SigInfo as usize,
            &timeout as *const Timespec as usize,
            8,
            0,
            0,
        );
    }
    send(msg, MSG_DONE, 0, 0);
    sys::exit_group(0);
}

const CHILD_STACK: usize = 256 * 1024;

struct ChildStart<'a> {
    spec: &'a SpawnSpec,
    msg: c_int,
    errfd: c_int,
    errfd_read: c_int,
}

unsafe extern "C" fn child_entry(arg: *mut u8) -> ! {
    let s = &*(arg as *const ChildStart);
    sys::close(s.msg);
    sys::close(s.errfd_read);
    top_child(s.spec, s.errfd)
}

unsafe fn fail(errfd: c_int, e: i32, code: i32) -> ! {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&e.to_ne_bytes());
    b[4..].copy_from_slice(&code.to_ne_bytes());
    sys::write_all(errfd, &b);
    sys::exit_group(code);
}

unsafe fn top_child(spec: &SpawnSpec, errfd: c_int) -> ! {
    sc2(nr::PRCTL, sys::PR_SET_PDEATHSIG, sys::SIGKILL as usize);
    // Bun ignores some signals (SIGPIPE, SIGXFSZ) and ignored dispositions survive exec: reset them all.
    let dfl = KSigaction { handler: 0, flags: 0, restorer: 0, mask: 0 };
    for sig in 1..=64usize {
        if sig != 9 && sig != 19 {
            sc4(nr::RT_SIGACTION, sig, &dfl as *const KSigaction as usize, 0, 8);
        }
    }
    let none: u64 = 0;
    sc4(nr::RT_SIGPROCMASK, 2, &none as *const u64 as usize, 0, 8);
    if !spec.cwd.is_null() {
        let r = sc1(nr::CHDIR, spec.cwd as usize);
        if r < 0 {
            fail(errfd, (-r) as i32, 127);
        }
    }
    let file = sys::cstr(spec.file);
    let mut cand = [0u8; 4096 + 256];
    let path: *const u8;
    if file.is_empty() {
        fail(errfd, sys::ENOENT, 127);
    } else if file.contains(&b'/') {
        // fail before recording anything for a file exec would refuse
        let mut st = sys::Stat::default();
        let r = sys::fstatat(AT_FDCWD, spec.file, &mut st, 0);
        if r < 0 {
            let e = (-r) as i32;
            fail(errfd, e, if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
        }
        if st.st_mode & sys::S_IFMT == sys::S_IFDIR {
            fail(errfd, sys::EISDIR, 126);
        }
        if sc4(nr::FACCESSAT, AT_FDCWD as usize, spec.file as usize, 1, 0) != 0 {
            fail(errfd, sys::EACCES, 126);
        }
        path = spec.file;
    } else {
        let mut found: *const u8 = core::ptr::null();
        let mut eacces = false;
        let pv = if spec.path_env.is_null() { &b"/usr/local/bin:/usr/bin:/bin"[..] } else { sys::cstr(spec.path_env) };
        for dir in pv.split(|&c| c == b':') {
            let parts: [&[u8]; 3] = if dir.is_empty() { [b"", b"", file] } else { [dir, b"/", file] };
            let Some(c) = sys::cat_z(&mut cand, &parts) else { continue };
            let mut st = sys::Stat::default();
            if sys::fstatat(AT_FDCWD, c.as_ptr(), &mut st, 0) != 0 || st.st_mode & sys::S_IFMT == sys::S_IFDIR {
                continue;
            }
            if sc4(nr::FACCESSAT, AT_FDCWD as usize, c.as_ptr() as usize, 1, 0) != 0 {
                eacces = true;
                continue;
            }
            found = c.as_ptr();
            break;
        }
        if found.is_null() {
            fail(errfd, if eacces { sys::EACCES } else { sys::ENOENT }, if eacces { 126 } else { 127 });
        }
        path = found;
    }
    // The new image reports itself (PROC_START); what preload cannot see must be said now.
    let insp = inspect(AT_FDCWD, path, 0);
    {
        let mut buf = [0u8; 16384];
        let mut n = 0;
        let pid = sys::getpid();
        let ts = crate::state::now_ns();
        // The path as exec resolves it, absolute (a relative `./gen` names a file of the cwd set above).
        let mut cwd = [0u8; 4096];
        let mut abs = [0u8; 4096 + 256];
        let cwd_len = sys::getcwd(&mut cwd);
        let n_abs = if cwd_len > 0 { join_normalize(&cwd[..cwd_len as usize - 1], sys::cstr(path), &mut abs) } else { 0 };
        let p = if n_abs > 0 { &abs[..n_abs] } else { sys::cstr(path) };
        let args = CArgs::new(spec.argv).fit(8192);
        let mut fl = if insp.foreign { 0 } else { roar_events::flags::EXEC_PRELOAD_INTACT };
        if insp.static_bin {
            fl |= roar_events::flags::EXEC_STATIC;
        }
        if insp.setuid {
            fl |= roar_events::flags::EXEC_SETUID;
        }
        n += rec::exec(&mut buf[n..], pid, 0, ts, p, args, fl);
        // The supervisor itself put the preload into this exec's environment.
        for (seq, reason) in (1..).zip(insp.reasons(!insp.foreign)) {
            n += rec::incomplete(&mut buf[n..], pid, seq, ts, reason, p);
        }
        let fd = sys::openat(AT_FDCWD, spec.events_path, sys::O_WRONLY | sys::O_APPEND | sys::O_CLOEXEC, 0);
        if fd >= 0 {
            sys::write_all(fd as c_int, &buf[..n]);
            sys::close(fd as c_int);
        }
    }
    // A foreign ELF (a 32-bit program) gets no LD_PRELOAD of ours: its loader would print an error.
    let mut fx = crate::exec::EnvFix::new();
    let envp = if insp.foreign {
        // This process runs inside roar, where the library is inert: its path comes from the command's env.
        let mut lib: &[u8] = &[];
        let mut i = 0;
        while !spec.envp.is_null() && !(*spec.envp.add(i)).is_null() {
            let e = sys::cstr(*spec.envp.add(i));
            if crate::exec::entry_is(e, b"ROAR_PRELOAD_LIB") {
                lib = &e[b"ROAR_PRELOAD_LIB=".len()..];
            }
            i += 1;
        }
        crate::exec::strip_env(spec.envp as _, lib, &mut fx) as usize
    } else {
        spec.envp as usize
    };
    let r = sc3(nr::EXECVE, path as usize, spec.argv as usize, envp);
    let e = (-r) as i32;
    fail(errfd, e, if e == sys::ENOENT || e == sys::ENOTDIR { 127 } else { 126 });
}

// ---------------------------------------------------------------------------------------------- tree kill

const MAX_PROCS: usize = 1 << 18;

/// SIGKILLs every descendant of `me` (found by walking /proc ppid links), repeating until none is left:
/// a process forked during the walk is reparented to us (the subreaper) and found by the next round.
unsafe fn kill_tree(me: u32) {
    let len = MAX_PROCS * 8 + MAX_PROCS;
    let mem = syscall6(nr::MMAP, 0, len, 3, 0x22, usize::MAX, 0);
    if mem < 0 {
        return;
    }
    let table = core::slice::from_raw_parts_mut(mem as *mut [u32; 2], MAX_PROCS);
    let mark = core::slice::from_raw_parts_mut((mem as usize + MAX_PROCS * 8) as *mut u8, MAX_PROCS);
    for _round in 0..100 {
        let n = scan_proc(table);
        for m in mark[..n].iter_mut() {
            *m = 0;
        }
        // mark descendants until stable
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if mark[i] != 0 {
                    continue;
                }
                let pp = table[i][1];
                if pp == me || (0..n).any(|j| mark[j] != 0 && table[j][0] == pp) {
                    mark[i] = 1;
                    changed = true;
                }
            }
        }
        let mut any = false;
        for i in 0..n {
            if mark[i] != 0 {
                any = true;
                sys::kill(table[i][0] as i32, sys::SIGKILL);
            }
        }
        let mut st = 0;
        while sys::wait4(-1, &mut st, sys::WNOHANG | sys::WALL) > 0 {}
        if !any {
            break;
        }
        let ts = Timespec { sec: 0, nsec: 10_000_000 };
        #[cfg(target_arch = "x86_64")]
        const NANOSLEEP: usize = 35;
        #[cfg(target_arch = "aarch64")]
        const NANOSLEEP: usize = 101;
        sc2(NANOSLEEP, &ts as *const Timespec as usize, 0);
    }
    sc2(nr::MUNMAP, mem as usize, len);
}

/// Fills `table` with (pid, ppid) of every live (non-zombie) process; returns the count.
unsafe fn scan_proc(table: &mut [[u32; 2]]) -> usize {
    let dfd = sys::openat(AT_FDCWD, c"/proc".as_ptr().cast(), sys::O_RDONLY | sys::O_DIRECTORY | sys::O_CLOEXEC, 0);
    if dfd < 0 {
        return 0;
    }
    let dfd = dfd as c_int;
    let mut n = 0;
    let mut buf = [0u8; 8192];
    loop {
        let got = sc3(nr::GETDENTS64, dfd as usize, buf.as_mut_ptr() as usize, buf.len());
        if got <= 0 {
            break;
        }
        let mut off = 0usize;
        while off < got as usize {
            // struct linux_dirent64 { u64 ino; i64 off; u16 reclen; u8 type; char name[]; }
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let name = sys::cstr(buf.as_ptr().add(off + 19));
            off += reclen;
            if name.is_empty() || !name.iter().all(|c| c.is_ascii_digit()) || n >= table.len() {
                continue;
            }
            let mut path = [0u8; 64];
            let Some(p) = sys::cat_z(&mut path, &[b"/proc/", name, b"/stat"]) else { continue };
            let fd = sys::openat(AT_FDCWD, p.as_ptr(), sys::O_RDONLY | sys::O_CLOEXEC, 0);
            if fd < 0 {
                continue;
            }
            let mut st = [0u8; 512];
            let r = sys::read(fd as c_int, &mut st);
            sys::close(fd as c_int);
            if r <= 0 {
                continue;
            }
            let st = &st[..r as usize];
            // "pid (comm) S ppid ..." — comm may contain anything, so parse after the last ')'
            let Some(close) = st.iter().rposition(|&c| c == b')') else { continue };
            let rest = &st[close + 1..];
            let mut fields = rest.split(|&c| c == b' ').filter(|f| !f.is_empty());
            let state = fields.next().unwrap_or(b"?");
            let ppid = fields.next().map(parse_u32).unwrap_or(0);
            if state == b"Z" || state == b"X" {
                continue;
            }
            table[n] = [parse_u32(name), ppid];
            n += 1;
        }
    }
    sys::close(dfd);
    n
}

fn parse_u32(s: &[u8]) -> u32 {
    s.iter().take_while(|c| c.is_ascii_digit()).fold(0u32, |v, &c| v.wrapping_mul(10).wrapping_add((c - b'0') as u32))
}
