//! posix_spawn's file actions. glibc runs them in the child between its clone and its exec, with internal calls
//! no hook sees (`__open64_nocancel`, `__chdir`): a `posix_spawn_file_actions_addopen` that redirects a child's
//! stdout to a file would go unrecorded. The parent reads the actions before spawning — it captures files an
//! open action will change (pre-write) — and, once the child runs, records each open as the child's.
//!
//! The actions live in glibc's `posix_spawn_file_actions_t` (`{int allocated; int used; struct __spawn_action
//! *actions; ...}`), whose element layout is internal: the `posix_spawn_file_actions_addopen` hook checks the
//! action it just added against its own arguments, and if the layout ever differs, a spawn with open actions is
//! flagged incomplete instead of being read wrong.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicU8, Ordering::Relaxed};

use roar_events::{join_normalize, rec};
use roar_sys::calls;

use crate::real::{call_real, errno, set_errno};
use crate::state::{self, active, lock, open_stat, PATH_CAP};
use crate::sys::{self, cstr, Stat, AT_FDCWD};

#[repr(C)]
struct FileActions {
    allocated: c_int,
    used: c_int,
    actions: *const Action,
}

/// `struct __spawn_action` on LP64: the tag, then a pointer-aligned union of at most 24 bytes.
#[repr(C)]
struct Action {
    tag: c_int,
    _pad: c_int,
    a: usize,
    b: usize,
    c: usize,
}

const TAG_CLOSE: c_int = 0;
const TAG_DUP2: c_int = 1;
const TAG_OPEN: c_int = 2;
const TAG_CHDIR: c_int = 3;
const TAG_FCHDIR: c_int = 4;
const TAG_CLOSEFROM: c_int = 5;
const TAG_TCSETPGRP: c_int = 6;

/// What the addopen hook found: 0 nothing yet, 1 the layout above, 2 something else.
static LAYOUT: AtomicU8 = AtomicU8::new(0);
const LAYOUT_OK: u8 = 1;
const LAYOUT_OTHER: u8 = 2;

type AddOpenFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_char, c_int, u32) -> c_int;

#[no_mangle]
pub unsafe extern "C" fn posix_spawn_file_actions_addopen(
    fa: *mut c_void,
    fd: c_int,
    path: *const c_char,
    oflag: c_int,
    mode: u32,
) -> c_int {
    let r = call_real!(posix_spawn_file_actions_addopen: AddOpenFn, 22, (fa, fd, path, oflag, mode));
    if r == 0 && !fa.is_null() && !path.is_null() {
        let f = &*(fa as *const FileActions);
        let last = if f.used > 0 && !f.actions.is_null() { Some(&*f.actions.add(f.used as usize - 1)) } else { None };
        let same = last.is_some_and(|x| {
            x.tag == TAG_OPEN
                && x.a as u32 as c_int == fd
                && x.c as u32 as c_int == oflag
                && x.b != 0
                && cstr(x.b as *const u8) == cstr(path as *const u8)
        });
        // A program that builds several sets keeps the first verdict unless one disagrees.
        if !same {
            LAYOUT.store(LAYOUT_OTHER, Relaxed);
        } else {
            let _ = LAYOUT.compare_exchange(0, LAYOUT_OK, Relaxed, Relaxed);
        }
    }
    r
}

/// Calls `f(path, flags)` for each open action of `fa`, the path made absolute against the cwd the child has
/// by then (chdir/fchdir actions before it). False when the actions cannot be read (an unknown layout).
unsafe fn each_open(fa: *const c_void, cwd0: &[u8], mut f: impl FnMut(&[u8], u32)) -> bool {
    let fa = &*(fa as *const FileActions);
    if fa.used <= 0 || fa.actions.is_null() {
        return true;
    }
    let mut cwd = [0u8; PATH_CAP];
    let mut cwd_len = cwd0.len().min(PATH_CAP);
    cwd[..cwd_len].copy_from_slice(&cwd0[..cwd_len]);
    let mut path = [0u8; PATH_CAP];
    for i in 0..fa.used as usize {
        let act = &*fa.actions.add(i);
        match act.tag {
            TAG_OPEN | TAG_CHDIR if LAYOUT.load(Relaxed) != LAYOUT_OK => return false,
            TAG_OPEN => {
                let n = join_normalize(&cwd[..cwd_len], cstr(act.b as *const u8), &mut path);
                if n > 0 {
                    f(&path[..n], act.c as u32);
                }
            }
            TAG_CHDIR => {
                let n = join_normalize(&cwd[..cwd_len], cstr(act.a as *const u8), &mut path);
                cwd[..n].copy_from_slice(&path[..n]);
                cwd_len = n;
            }
            TAG_FCHDIR => {
                let n = state::fd_path(act.a as u32 as c_int, &mut path);
                if n == 0 {
                    return false;
                }
                cwd[..n].copy_from_slice(&path[..n]);
                cwd_len = n;
            }
            TAG_CLOSE | TAG_DUP2 | TAG_CLOSEFROM | TAG_TCSETPGRP => {}
            _ => return false,
        }
    }
    true
}

/// The process's cwd (from the cache the hooks keep), into `out`.
fn cwd_into(out: &mut [u8; PATH_CAP]) -> usize {
    let Some(l) = lock() else { return 0 };
    let n = l.scr.cwd_len.min(PATH_CAP);
    out[..n].copy_from_slice(&l.scr.cwd[..n]);
    n
}

/// Before posix_spawn: the files its open actions will change are captured (pre-write), as for any open.
/// False when the actions cannot be read.
pub unsafe fn before_spawn(fa: *const c_void) -> bool {
    if fa.is_null() || !active() {
        return true;
    }
    let mut cwd = [0u8; PATH_CAP];
    let n = cwd_into(&mut cwd);
    let mut z = [0u8; PATH_CAP + 1];
    each_open(fa, &cwd[..n], |path, flags| {
        if calls::writes(flags) && !calls::names_no_content(flags) && path.len() < PATH_CAP {
            z[..path.len()].copy_from_slice(path);
            z[path.len()] = 0;
            crate::hooks::before_write_open(AT_FDCWD, z.as_ptr() as *const c_char, flags as c_int);
        }
    })
}

/// After a successful posix_spawn of `child`: its open actions, recorded as OPENs of the child, timestamped
/// `ts` (just after the parent's FORK record); actions that cannot be read make the trace incomplete.
pub unsafe fn after_spawn(fa: *const c_void, child: u32, ts: u64) {
    if fa.is_null() || !active() {
        return;
    }
    let e = errno();
    let mut cwd = [0u8; PATH_CAP];
    let n = cwd_into(&mut cwd);
    let readable = each_open(fa, &cwd[..n], |path, flags| {
        if calls::names_no_content(flags) {
            return;
        }
        // The child opened it already (posix_spawn returns once it exec'd): a read's stat is the file's now.
        let mut z = [0u8; PATH_CAP + 1];
        let mut st = Stat::default();
        let stat = if !calls::writes(flags) && path.len() < PATH_CAP {
            z[..path.len()].copy_from_slice(path);
            let ok = sys::fstatat(AT_FDCWD, z.as_ptr(), &mut st, 0) == 0;
            (ok && st.st_mode & sys::S_IFMT != sys::S_IFDIR).then(|| open_stat(&st))
        } else {
            None
        };
        if let Some(mut l) = lock() {
            l.push(ts, |b, _pid, seq, ts| rec::open(b, child, seq, ts, path, flags, -1, stat.as_ref()));
        }
    });
    if !readable {
        crate::proc::incomplete("unhandled_syscall", b"posix_spawn file actions (unknown glibc layout)");
    }
    set_errno(e);
}
