//! The exec family and posix_spawn: keep LD_PRELOAD and the roar variables in the new environment (stack
//! buffers only: this can run in a vfork child), record EXEC, flag images the preload cannot enter
//! (static, setuid, runtimes that bypass libc), and flush before the image is replaced.

use core::ffi::{c_char, c_int, c_void};

use roar_events::{flags as evflags, rec};

use crate::real::{call_real, errno, set_errno};
use crate::state::{self, active, cfg, lock, now_ns, resolve, CArgs};
use crate::sys::{self, cstr, Stat, AT_FDCWD};

type Argv = *const *const c_char;
type ExecveFn = unsafe extern "C" fn(*const c_char, Argv, Argv) -> c_int;
type FexecveFn = unsafe extern "C" fn(c_int, Argv, Argv) -> c_int;
type ExecveatFn = unsafe extern "C" fn(c_int, *const c_char, Argv, Argv, c_int) -> c_int;
type SpawnFn = unsafe extern "C" fn(*mut c_int, *const c_char, *const c_void, *const c_void, Argv, Argv) -> c_int;

extern "C" {
    static environ: Argv;
}

// ---------------------------------------------------------------------------------------------- inspection

/// What exec of a file will mean for the preload.
#[derive(Default, Clone, Copy)]
pub struct Insp {
    /// No PT_INTERP (or a foreign ELF class): the dynamic loader, hence the preload, never runs.
    pub static_bin: bool,
    /// Set-user/group-id to another identity: the loader ignores LD_PRELOAD.
    pub setuid: bool,
    /// Go or Bun: loads the preload but does its own file system calls.
    pub bypass: bool,
    /// An ELF of another class or machine (a 32-bit program): this library cannot load in it, and must not
    /// be in its LD_PRELOAD (the loader would print an error into the program's stderr).
    pub foreign: bool,
}

impl Insp {
    /// Why preload will not see (all of) what the new image does: the INCOMPLETE reasons to record, at most
    /// two. `intact`: the exec's environment still carries the preload.
    pub fn reasons(&self, intact: bool) -> impl Iterator<Item = &'static str> {
        let loader = if self.foreign {
            Some("foreign_elf")
        } else if self.static_bin {
            Some("static_binary")
        } else if self.setuid {
            Some("setuid_exec")
        } else if !intact {
            Some("preload_stripped")
        } else {
            None
        };
        loader.into_iter().chain(self.bypass.then_some("libc_bypass"))
    }
}

/// e_machine of the images this library loads into.
#[cfg(target_arch = "x86_64")]
const ELF_MACHINE: usize = 62;
#[cfg(target_arch = "aarch64")]
const ELF_MACHINE: usize = 183;

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn u16le(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}
fn u32le(b: &[u8], o: usize) -> u64 {
    u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as u64
}
fn u64le(b: &[u8], o: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[o..o + 8]);
    u64::from_le_bytes(a)
}

/// Inspects the file exec would run (raw system calls and stack buffers only: safe after fork in any
/// process). `path` is NUL-terminated.
pub unsafe fn inspect(dirfd: c_int, path: *const u8, depth: u32) -> Insp {
    let mut r = Insp::default();
    let name = cstr(path);
    let base = name.rsplit(|&c| c == b'/').next().unwrap_or(name);
    if base == b"bun" || base == b"bunx" {
        r.bypass = true;
    }
    let fd = sys::openat(dirfd, path, sys::O_RDONLY | sys::O_CLOEXEC, 0);
    if fd < 0 {
        return r;
    }
    let fd = fd as c_int;
    let mut st = Stat::default();
    if sys::fstat(fd, &mut st) == 0 {
        let uid = sys::sc0(sys::nr::GETUID) as u32;
        let gid = sys::sc0(sys::nr::GETGID) as u32;
        let mut cap = [0u8; 64];
        let mut caps = || {
            let name = c"security.capability";
            sys::sc4(sys::nr::FGETXATTR, fd as usize, name.as_ptr() as usize, cap.as_mut_ptr() as usize, cap.len()) > 0
        };
        // File capabilities raise privileges as set-id bits do (and the loader drops LD_PRELOAD for them too).
        r.setuid = (st.st_mode & sys::S_ISUID != 0 && st.st_uid != uid)
            || (st.st_mode & sys::S_ISGID != 0 && st.st_mode & 0o010 != 0 && st.st_gid != gid)
            || (st.st_mode & sys::S_IFMT == sys::S_IFREG && caps());
    }
    let mut head = [0u8; 256];
    let n = sys::pread(fd, &mut head, 0);
    let n = if n > 0 { n as usize } else { 0 };
    if n >= 2 && head[0] == b'#' && head[1] == b'!' {
        sys::close(fd);
        r.setuid = false; // Linux ignores set-id bits on scripts
        if depth >= 4 {
            return r;
        }
        // "#! /path/interp [arg]"
        let mut i = 2;
        while i < n && (head[i] == b' ' || head[i] == b'\t') {
            i += 1;
        }
        let start = i;
        while i < n && !matches!(head[i], b' ' | b'\t' | b'\n' | b'\r' | 0) {
            i += 1;
        }
        let mut interp = [0u8; 258];
        if i > start && sys::cat_z(&mut interp, &[&head[start..i]]).is_some() {
            let ri = inspect(AT_FDCWD, interp.as_ptr(), depth + 1);
            r.static_bin = ri.static_bin;
            r.foreign = ri.foreign;
            r.bypass |= ri.bypass;
        }
        return r;
    }
    if n >= 64 && &head[..4] == b"\x7fELF" {
        if head[4] != 2 || u16le(&head, 18) != ELF_MACHINE {
            // a 32-bit (or other) program cannot load this library
            r.foreign = true;
        } else {
            let phoff = u64le(&head, 32);
            let shoff = u64le(&head, 40);
            let phentsize = u16le(&head, 54);
            let phnum = u16le(&head, 56);
            let shentsize = u16le(&head, 58);
            let shstrndx = u16le(&head, 62);
            let mut ph = [0u8; 4096];
            let want = (phentsize * phnum).min(ph.len());
            let got = sys::pread(fd, &mut ph[..want], phoff);
            if got > 0 && phentsize >= 4 {
                let mut interp = false;
                let mut k = 0;
                while (k + 1) * phentsize <= got as usize {
                    if u32le(&ph, k * phentsize) == 3 {
                        interp = true;
                    }
                    k += 1;
                }
                // the dynamic loader itself (run as a program) has no PT_INTERP but does load the preload
                let is_loader = contains(base, b"ld-linux") || base.starts_with(b"ld.so") || base.starts_with(b"ld-");
                r.static_bin = !interp && !is_loader;
            }
            // Section names: .note.go.buildid / .gopclntab / .go.buildinfo (Go), .bun (Bun)
            if shentsize >= 64 && shoff > 0 {
                let mut sh = [0u8; 64];
                if sys::pread(fd, &mut sh, shoff + (shstrndx * shentsize) as u64) == 64 {
                    let off = u64le(&sh, 24);
                    let size = u64le(&sh, 32) as usize;
                    let mut names = [0u8; 4096];
                    let want = size.min(names.len());
                    let got = sys::pread(fd, &mut names[..want], off);
                    if got > 0 {
                        let names = &names[..got as usize];
                        if contains(names, b"\0.note.go.buildid\0")
                            || contains(names, b"\0.gopclntab\0")
                            || contains(names, b"\0.go.buildinfo\0")
                            || contains(names, b"\0.bun\0")
                        {
                            r.bypass = true;
                        }
                    }
                }
            }
        }
    }
    sys::close(fd);
    r
}

// ---------------------------------------------------------------------------------------------- environment

const ENV_SLOTS: usize = 512;

/// Storage for a rewritten envp. Lives on the caller's stack.
pub struct EnvFix {
    ptrs: [*const c_char; ENV_SLOTS],
    preload: [u8; state::PATH_CAP * 2],
    mapped: *mut c_void,
    mapped_len: usize,
}

impl EnvFix {
    pub fn new() -> Self {
        EnvFix {
            ptrs: [core::ptr::null(); ENV_SLOTS],
            preload: [0; state::PATH_CAP * 2],
            mapped: core::ptr::null_mut(),
            mapped_len: 0,
        }
    }
}

impl Drop for EnvFix {
    fn drop(&mut self) {
        if !self.mapped.is_null() {
            // SAFETY: our own mapping of `mapped_len` bytes, unmapped once.
            unsafe { sys::sc2(sys::nr::MUNMAP, self.mapped as usize, self.mapped_len) };
        }
    }
}

fn has_lib(value: &[u8], lib: &[u8]) -> bool {
    !lib.is_empty() && value.split(|&c| c == b':' || c == b' ').any(|e| e == lib)
}

pub fn entry_is(e: &[u8], name: &[u8]) -> bool {
    e.len() > name.len() && e.starts_with(name) && e[name.len()] == b'='
}

/// Returns an envp that carries LD_PRELOAD (with our library) and the roar variables, and whether that
/// worked. The original array is returned unchanged when nothing is missing.
pub unsafe fn fix_env(envp: Argv, fx: &mut EnvFix) -> (Argv, bool) {
    let c = cfg();
    let lib = &c.lib[..c.lib_len];
    let mut n = 0;
    let (mut preload_at, mut preload_ok) = (usize::MAX, false);
    // the roar variables a child needs, with whether envp has each
    let mut vars: [(&[u8], &[u8], bool); 3] = [
        (b"ROAR_EVENTS_PATH", &c.env_events, false),
        (b"ROAR_PRELOAD_LIB", &c.env_lib, false),
        (b"ROAR_SPOOL_DIR", &c.env_spool, c.spool_len == 0),
    ];
    if !envp.is_null() {
        while !(*envp.add(n)).is_null() {
            let e = cstr(*envp.add(n) as *const u8);
            if entry_is(e, b"LD_PRELOAD") {
                preload_at = n;
                preload_ok = has_lib(&e[11..], lib);
            } else if e.starts_with(b"ROAR_") {
                for v in vars.iter_mut() {
                    if entry_is(e, v.0) {
                        v.2 = true;
                    }
                }
            }
            n += 1;
        }
    }
    if preload_ok && vars.iter().all(|v| v.2) {
        return (envp, true);
    }
    let need = n + 5;
    let arr: *mut *const c_char = if need <= ENV_SLOTS {
        fx.ptrs.as_mut_ptr()
    } else {
        // mmap is a plain system call: fine even in a vfork child
        let len = need * 8;
        let p = sys::syscall6(sys::nr::MMAP, 0, len, 3, 0x22, usize::MAX, 0);
        if p < 0 {
            return (envp, preload_ok);
        }
        fx.mapped = p as *mut c_void;
        fx.mapped_len = len;
        p as *mut *const c_char
    };
    let mut k = 0;
    let mut ok = true;
    for i in 0..n {
        let mut e = *envp.add(i);
        if i == preload_at && !preload_ok {
            // keep the program's own preloads after ours
            let old = &cstr(e as *const u8)[11..];
            match sys::cat_z(&mut fx.preload, &[b"LD_PRELOAD=", lib, b":", old]) {
                Some(s) => e = s.as_ptr() as *const c_char,
                None => e = c.env_preload.as_ptr() as *const c_char,
            }
        }
        *arr.add(k) = e;
        k += 1;
    }
    if preload_at == usize::MAX {
        *arr.add(k) = c.env_preload.as_ptr() as *const c_char;
        k += 1;
    }
    for v in vars.iter() {
        if !v.2 {
            *arr.add(k) = v.1.as_ptr() as *const c_char;
            k += 1;
        }
    }
    *arr.add(k) = core::ptr::null();
    if lib.is_empty() {
        ok = false;
    }
    (arr as Argv, ok)
}

// ---------------------------------------------------------------------------------------------- set-id

/// si_errno values of a detach request (roar-ptrace's setid.rs): detach me / detach my next child.
const DETACH_SELF: i32 = 0x524f_4153;
const DETACH_CHILD: i32 = 0x524f_4143;
const SIGURG: usize = 23;

/// Whether a tracer is attached (TracerPid in /proc/self/status): hybrid mode's supervisor.
unsafe fn traced() -> bool {
    let fd = sys::openat(AT_FDCWD, c"/proc/self/status".as_ptr().cast(), sys::O_RDONLY | sys::O_CLOEXEC, 0);
    if fd < 0 {
        return false;
    }
    let mut buf = [0u8; 2048];
    let n = sys::read(fd as c_int, &mut buf);
    sys::close(fd as c_int);
    let text = &buf[..n.max(0) as usize];
    let key = b"TracerPid:";
    let Some(at) = text.windows(key.len()).position(|w| w == key) else { return false };
    text[at + key.len()..].iter().take_while(|&&c| c != b'\n').any(|&c| c.is_ascii_digit() && c != b'0')
}

/// A set-id program is about to run (exec'd by this process, or — `child` — by the child posix_spawn makes):
/// a tracer that would take its privilege away (hybrid mode's, unprivileged) is asked to detach first, with a
/// signal to ourselves that it intercepts (unblocked for the moment, so it arrives before the exec).
unsafe fn request_detach(path: *const u8, child: bool) {
    if !traced() {
        return;
    }
    let mut info = [0u8; 128];
    let put = |info: &mut [u8; 128], at: usize, v: i32| info[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    put(&mut info, 0, SIGURG as i32);
    put(&mut info, 4, if child { DETACH_CHILD } else { DETACH_SELF });
    put(&mut info, 8, -1); // SI_QUEUE
    put(&mut info, 16, sys::getpid() as i32);
    info[24..32].copy_from_slice(&(path as u64).to_ne_bytes());
    let only_urg: u64 = 1 << (SIGURG - 1);
    let mut old: u64 = 0;
    sys::sc4(sys::nr::RT_SIGPROCMASK, 1 /* SIG_UNBLOCK */, &only_urg as *const u64 as usize, &mut old as *mut u64 as usize, 8);
    let tid = sys::sc0(sys::nr::GETTID) as usize;
    sys::sc4(sys::nr::RT_TGSIGQUEUEINFO, sys::getpid() as usize, tid, SIGURG, info.as_ptr() as usize);
    sys::sc4(sys::nr::RT_SIGPROCMASK, 2 /* SIG_SETMASK */, &old as *const u64 as usize, 0, 8);
}

/// The environment for an exec this library cannot enter (a foreign ELF): `envp` with our library taken out of
/// LD_PRELOAD (the entry dropped when nothing else is left), so the loader has nothing to complain about. The
/// roar variables stay, for a native program it may run in turn (which hybrid mode's tracer covers).
pub unsafe fn strip_env(envp: Argv, lib: &[u8], fx: &mut EnvFix) -> Argv {
    if envp.is_null() || lib.is_empty() {
        return envp;
    }
    let mut n = 0;
    while !(*envp.add(n)).is_null() {
        n += 1;
    }
    // `fx` may hold what fix_env built from the same envp: that is not used any more.
    if !fx.mapped.is_null() {
        sys::sc2(sys::nr::MUNMAP, fx.mapped as usize, fx.mapped_len);
        fx.mapped = core::ptr::null_mut();
    }
    let arr: *mut *const c_char = if n < ENV_SLOTS {
        fx.ptrs.as_mut_ptr()
    } else {
        let len = (n + 1) * 8;
        let p = sys::syscall6(sys::nr::MMAP, 0, len, 3, 0x22, usize::MAX, 0);
        if p < 0 {
            return envp;
        }
        fx.mapped = p as *mut c_void;
        fx.mapped_len = len;
        p as *mut *const c_char
    };
    let mut k = 0;
    for i in 0..n {
        let e = *envp.add(i);
        let text = cstr(e as *const u8);
        if entry_is(text, b"LD_PRELOAD") && has_lib(&text[11..], lib) {
            // the other entries, in order
            let mut len = 0;
            let out = &mut fx.preload;
            let head = b"LD_PRELOAD=";
            out[..head.len()].copy_from_slice(head);
            len += head.len();
            let mut any = false;
            for part in text[11..].split(|&ch| ch == b':' || ch == b' ') {
                if part.is_empty() || part == lib || len + part.len() + 2 > out.len() {
                    continue;
                }
                if any {
                    out[len] = b':';
                    len += 1;
                }
                out[len..len + part.len()].copy_from_slice(part);
                len += part.len();
                any = true;
            }
            out[len] = 0;
            if any {
                *arr.add(k) = out.as_ptr() as *const c_char;
                k += 1;
            }
            continue;
        }
        *arr.add(k) = e;
        k += 1;
    }
    *arr.add(k) = core::ptr::null();
    arr as Argv
}

/// The environment an exec of a file inspected as `insp` gets: ours carried (`fixed`, built in `fx`), or — for
/// a foreign ELF — ours taken out (rebuilt in `fx` from `envp`).
unsafe fn env_for(insp: &Insp, envp: Argv, fixed: Argv, fx: &mut EnvFix) -> Argv {
    if insp.foreign {
        let c = cfg();
        strip_env(envp, &c.lib[..c.lib_len], fx)
    } else {
        fixed
    }
}

// ---------------------------------------------------------------------------------------------- recording

/// Records EXEC (+ INCOMPLETE reasons) for an exec of `path` and flushes everything before the image goes.
unsafe fn note_exec(dirfd: c_int, path: *const c_char, argv: Argv, insp: Insp, intact: bool) {
    let e = errno();
    let ts = now_ns();
    if let Some(mut l) = lock() {
        let s = &mut *l.scr;
        let n = resolve(&s.cwd[..s.cwd_len], &mut s.tmp, dirfd, cstr(path as *const u8), &mut s.a);
        let p = &s.a[..n];
        let args = CArgs::new(argv as *const *const u8).fit(state::ARGV_BUDGET);
        let mut fl = 0;
        if insp.static_bin {
            fl |= evflags::EXEC_STATIC;
        }
        if intact {
            fl |= evflags::EXEC_PRELOAD_INTACT;
        }
        if insp.setuid {
            fl |= evflags::EXEC_SETUID;
        }
        l.out.push(ts, |b, pid, seq, ts| rec::exec(b, pid, seq, ts, p, args.clone(), fl));
        for reason in insp.reasons(intact) {
            l.out.push(ts, |b, pid, seq, ts| rec::incomplete(b, pid, seq, ts, reason, p));
        }
        l.flush();
        // The image goes: its spool slot is free for another process (borrowed again if the exec fails).
        l.out.give_back(true);
    }
    set_errno(e);
}

unsafe fn exec_common(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    if !active() {
        return call_real!(execve: ExecveFn, -1, (path, argv, envp));
    }
    let mut fx = EnvFix::new();
    let (env2, intact) = fix_env(envp, &mut fx);
    let insp = inspect(AT_FDCWD, path as *const u8, 0);
    note_exec(AT_FDCWD, path, argv, insp, intact);
    if insp.setuid {
        request_detach(path as *const u8, false);
    }
    let env2 = env_for(&insp, envp, env2, &mut fx);
    call_real!(execve: ExecveFn, -1, (path, argv, env2))
}

/// The value of PATH in this process, or glibc's default.
unsafe fn path_var() -> &'static [u8] {
    let mut i = 0;
    if !environ.is_null() {
        while !(*environ.add(i)).is_null() {
            let e = cstr(*environ.add(i) as *const u8);
            if entry_is(e, b"PATH") {
                return &e[5..];
            }
            i += 1;
        }
    }
    b"/bin:/usr/bin"
}

/// execvp-style search (glibc semantics: try each PATH entry, remember EACCES, run ENOEXEC files with sh).
unsafe fn exec_search(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let f = cstr(file as *const u8);
    if f.is_empty() {
        set_errno(sys::ENOENT);
        return -1;
    }
    if f.contains(&b'/') {
        return exec_try(file, argv, envp);
    }
    let mut eacces = false;
    let mut cand = [0u8; state::PATH_CAP];
    for dir in path_var().split(|&c| c == b':') {
        let parts: [&[u8]; 3] = if dir.is_empty() { [b"", b"", f] } else { [dir, b"/", f] };
        let Some(c) = sys::cat_z(&mut cand, &parts) else { continue };
        // only real candidates get an EXEC record
        if sys::sc4(sys::nr::FACCESSAT, AT_FDCWD as usize, c.as_ptr() as usize, 1, 0) != 0 {
            let mut st = Stat::default();
            if sys::fstatat(AT_FDCWD, c.as_ptr(), &mut st, 0) == 0 {
                eacces = true;
            }
            continue;
        }
        exec_try(c.as_ptr() as *const c_char, argv, envp);
        match errno() {
            sys::EACCES => eacces = true,
            sys::ENOENT | sys::ENOTDIR | 116 /* ESTALE */ | 19 /* ENODEV */ | 110 /* ETIMEDOUT */ => {}
            _ => return -1,
        }
    }
    set_errno(if eacces { sys::EACCES } else { sys::ENOENT });
    -1
}

/// execve, falling back to /bin/sh for a file without a #! line (as execvp does).
unsafe fn exec_try(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    let r = exec_common(path, argv, envp);
    if errno() != sys::ENOEXEC {
        return r;
    }
    let argc = CArgs::new(argv as *const *const u8).len_args();
    let mut v: [*const c_char; 256] = [core::ptr::null(); 256];
    if argc + 2 > v.len() {
        set_errno(sys::ENOEXEC);
        return -1;
    }
    v[0] = c"/bin/sh".as_ptr();
    v[1] = path;
    for i in 1..argc {
        v[i + 1] = *argv.add(i);
    }
    exec_common(v[0], v.as_ptr(), envp)
}

// ---------------------------------------------------------------------------------------------- exec family

#[no_mangle]
pub unsafe extern "C" fn execve(path: *const c_char, argv: Argv, envp: Argv) -> c_int {
    exec_common(path, argv, envp)
}

#[no_mangle]
pub unsafe extern "C" fn execv(path: *const c_char, argv: Argv) -> c_int {
    exec_common(path, argv, environ)
}

#[no_mangle]
pub unsafe extern "C" fn execvp(file: *const c_char, argv: Argv) -> c_int {
    exec_search(file, argv, environ)
}

#[no_mangle]
pub unsafe extern "C" fn execvpe(file: *const c_char, argv: Argv, envp: Argv) -> c_int {
    exec_search(file, argv, envp)
}

#[no_mangle]
pub unsafe extern "C" fn fexecve(fd: c_int, argv: Argv, envp: Argv) -> c_int {
    if !active() {
        return call_real!(fexecve: FexecveFn, -1, (fd, argv, envp));
    }
    let mut fx = EnvFix::new();
    let (env2, intact) = fix_env(envp, &mut fx);
    let mut p = [0u8; 40];
    let pp = sys::proc_fd_path(fd, &mut p);
    let insp = inspect(AT_FDCWD, pp, 0);
    let mut real_path = [0u8; state::PATH_CAP];
    let n = state::fd_path(fd, &mut real_path[..state::PATH_CAP - 1]);
    real_path[n] = 0;
    note_exec(AT_FDCWD, real_path.as_ptr() as *const c_char, argv, insp, intact);
    if insp.setuid {
        request_detach(real_path.as_ptr(), false);
    }
    let env2 = env_for(&insp, envp, env2, &mut fx);
    call_real!(fexecve: FexecveFn, -1, (fd, argv, env2))
}

#[no_mangle]
pub unsafe extern "C" fn execveat(dirfd: c_int, path: *const c_char, argv: Argv, envp: Argv, flags: c_int) -> c_int {
    if !active() {
        return call_real!(execveat: ExecveatFn, -1, (dirfd, path, argv, envp, flags));
    }
    let mut fx = EnvFix::new();
    let (env2, intact) = fix_env(envp, &mut fx);
    let empty = path.is_null() || *path == 0;
    let insp = if empty && flags & sys::AT_EMPTY_PATH != 0 {
        let mut p = [0u8; 40];
        inspect(AT_FDCWD, sys::proc_fd_path(dirfd, &mut p), 0)
    } else {
        inspect(dirfd, path as *const u8, 0)
    };
    note_exec(dirfd, if path.is_null() { c"".as_ptr() } else { path }, argv, insp, intact);
    if insp.setuid && !path.is_null() {
        request_detach(path as *const u8, false);
    }
    let env2 = env_for(&insp, envp, env2, &mut fx);
    call_real!(execveat: ExecveatFn, -1, (dirfd, path, argv, env2, flags))
}

const EXECL: u32 = 0;
const EXECLE: u32 = 1;
const EXECLP: u32 = 2;

/// Called by the execl* trampolines with a pointer to the variadic arguments laid out as an array.
unsafe extern "C" fn execl_impl(path: *const c_char, args: Argv, kind: u32) -> c_int {
    match kind {
        EXECLE => {
            let mut n = 0;
            while !(*args.add(n)).is_null() {
                n += 1;
            }
            let envp = *args.add(n + 1) as Argv;
            exec_common(path, args, envp)
        }
        EXECLP => exec_search(path, args, environ),
        _ => exec_common(path, args, environ),
    }
}

// execl(path, arg0, ..., NULL): the trampolines spill the register arguments next to the stack-passed ones so
// that all of arg0.. form one contiguous array (stable Rust cannot define C-variadic functions).
#[cfg(target_arch = "x86_64")]
macro_rules! execl_tramp {
    ($name:ident, $kind:expr) => {
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name() {
            core::arch::naked_asm!(
                "pop rax",
                "push r9",
                "push r8",
                "push rcx",
                "push rdx",
                "push rsi",
                "mov rsi, rsp",
                "push rax",
                "mov edx, {k}",
                "call {f}",
                "pop rcx",
                "add rsp, 40",
                "push rcx",
                "ret",
                k = const $kind,
                f = sym execl_impl,
            )
        }
    };
}

#[cfg(target_arch = "aarch64")]
macro_rules! execl_tramp {
    ($name:ident, $kind:expr) => {
        #[unsafe(naked)]
        #[no_mangle]
        pub unsafe extern "C" fn $name() {
            core::arch::naked_asm!(
                "sub sp, sp, #64",
                "str x30, [sp]",
                "stp x1, x2, [sp, #8]",
                "stp x3, x4, [sp, #24]",
                "stp x5, x6, [sp, #40]",
                "str x7, [sp, #56]",
                "add x1, sp, #8",
                "mov x2, #{k}",
                "bl {f}",
                "ldr x30, [sp]",
                "add sp, sp, #64",
                "ret",
                k = const $kind,
                f = sym execl_impl,
            )
        }
    };
}

execl_tramp!(execl, EXECL);
execl_tramp!(execle, EXECLE);
execl_tramp!(execlp, EXECLP);

// ---------------------------------------------------------------------------------------------- posix_spawn

unsafe fn spawn_common(
    pid: *mut c_int,
    path: *const c_char,
    fa: *const c_void,
    attr: *const c_void,
    argv: Argv,
    envp: Argv,
    search: bool,
) -> c_int {
    macro_rules! real_spawn {
        ($e:expr) => {
            if search {
                call_real!(posix_spawnp: SpawnFn, 38, (pid, path, fa, attr, argv, $e))
            } else {
                call_real!(posix_spawn: SpawnFn, 38, (pid, path, fa, attr, argv, $e))
            }
        };
    }
    if !active() {
        return real_spawn!(envp);
    }
    let mut fx = EnvFix::new();
    let (env2, intact) = fix_env(envp, &mut fx);
    // glibc's posix_spawn execs with an internal execve our hooks never see: inspect the target here
    let f = cstr(path as *const u8);
    let mut cand = [0u8; state::PATH_CAP];
    let mut target: *const u8 = path as *const u8;
    if search && !f.contains(&b'/') {
        target = core::ptr::null();
        for dir in path_var().split(|&c| c == b':') {
            let parts: [&[u8]; 3] = if dir.is_empty() { [b"", b"", f] } else { [dir, b"/", f] };
            if let Some(c) = sys::cat_z(&mut cand, &parts) {
                if sys::sc4(sys::nr::FACCESSAT, AT_FDCWD as usize, c.as_ptr() as usize, 1, 0) == 0 {
                    target = cand.as_ptr();
                    break;
                }
            }
        }
    }
    let insp = if target.is_null() { Insp::default() } else { inspect(AT_FDCWD, target, 0) };
    // Files the child's open actions will change are captured before it runs them.
    crate::spawn_actions::before_spawn(fa);
    if insp.setuid {
        request_detach(target, true);
    }
    let env2 = env_for(&insp, envp, env2, &mut fx);
    let ts = now_ns();
    if let Some(mut l) = lock() {
        l.flush();
    }
    let r = real_spawn!(env2);
    if r == 0 && !pid.is_null() {
        let e = errno();
        let child = *pid as u32;
        if let Some(mut l) = lock() {
            l.push(ts, |b, pid, seq, ts| rec::fork(b, pid, seq, ts, child, 0));
            // What preload cannot see in the new image is the child's, as an exec of its own would record it.
            if !target.is_null() {
                let s = &mut *l.scr;
                let n = resolve(&s.cwd[..s.cwd_len], &mut s.tmp, AT_FDCWD, cstr(target), &mut s.a);
                let p = &s.a[..n];
                for reason in insp.reasons(intact) {
                    l.out.push(ts + 1, |b, _pid, seq, ts| rec::incomplete(b, child, seq, ts, reason, p));
                }
            }
        }
        crate::spawn_actions::after_spawn(fa, child, ts + 1);
        set_errno(e);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut c_int,
    path: *const c_char,
    fa: *const c_void,
    attr: *const c_void,
    argv: Argv,
    envp: Argv,
) -> c_int {
    spawn_common(pid, path, fa, attr, argv, envp, false)
}

#[no_mangle]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut c_int,
    file: *const c_char,
    fa: *const c_void,
    attr: *const c_void,
    argv: Argv,
    envp: Argv,
) -> c_int {
    spawn_common(pid, file, fa, attr, argv, envp, true)
}
