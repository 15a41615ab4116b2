//! The seccomp-BPF program: SECCOMP_RET_TRACE only for the path/process syscalls the tracer records, so
//! read/write/mmap/close/stat and everything else never stop. Directory and O_PATH opens are let through in
//! the filter itself by looking at the flags argument (they never name a file's contents). Read-only opens —
//! most of the traffic — can go to a seccomp user-notification listener instead of a ptrace stop (see
//! notify.rs): the tracee waits on the listener while a tracer thread reads its path, with no ptrace stop.
use crate::arch::{self, Sys};
use crate::sys::{
    SockFilter, O_ACCMODE, O_CREAT, O_PATH, O_TMPFILE_BIT, O_TRUNC, SECCOMP_RET_ALLOW, SECCOMP_RET_TRACE,
    SECCOMP_RET_USER_NOTIF,
};

const LD_W_ABS: u16 = 0x20;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;
const JA: u16 = 0x05;

const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
const fn off_arg_low(i: u32) -> u32 {
    // seccomp_data.args[i], low 32 bits (both supported arches are little-endian)
    16 + 8 * i
}

/// RET_DATA for syscalls of a foreign ABI (i386 / x32 on x86_64): the tracer cannot decode them.
pub const DATA_FOREIGN: u32 = 1;

fn ins(code: u16, jt: u8, jf: u8, k: u32) -> SockFilter {
    SockFilter { code, jt, jf, k }
}

/// The argument index holding the open flags, for the open calls whose flags are a plain argument.
fn open_flags_arg(s: Sys) -> Option<u32> {
    match s {
        Sys::Open => Some(1),
        Sys::OpenAt => Some(2),
        _ => None,
    }
}

pub fn build() -> Vec<SockFilter> {
    build_for(|_| true, false)
}

/// As `build`, but read-only opens (open/openat without write access, O_CREAT or O_TRUNC) return
/// SECCOMP_RET_USER_NOTIF: they go to the listener of notify.rs, everything else still stops the tracee.
pub fn build_notify() -> Vec<SockFilter> {
    build_for(|_| true, true)
}

/// The hybrid-mode filter: processes run with the preload library, so only what preload cannot see stops —
/// io_uring_setup, the *_handle_at calls and foreign-ABI syscalls (all rare). Exec/fork/exit come as ptrace
/// events; processes preload does not cover are stepped with PTRACE_SYSCALL instead (see hybrid.rs).
pub fn build_hybrid() -> Vec<SockFilter> {
    build_for(|s| matches!(s, Sys::IoUringSetup | Sys::NameToHandleAt | Sys::OpenByHandleAt), false)
}

fn build_for(traced: impl Fn(Sys) -> bool, notify: bool) -> Vec<SockFilter> {
    let native = section(arch::traced().filter(|(_, s)| traced(*s)), notify, arch::X32_SYSCALL_BIT);
    // 32-bit programs (i386 on x86_64): their own numbers, decoded by the tracer; no listener there.
    let compat = section(arch::compat::traced().filter(|(_, s)| traced(*s)), false, None);
    let mut p = vec![
        ins(LD_W_ABS, 0, 0, OFF_ARCH),
        ins(JEQ_K, 1, 0, arch::AUDIT_ARCH),
        ins(JA, 0, 0, native.len() as u32), // not native: over the native section
    ];
    p.extend(native);
    p.push(ins(JEQ_K, 1, 0, arch::compat::AUDIT_ARCH));
    p.push(ins(RET_K, 0, 0, SECCOMP_RET_TRACE | DATA_FOREIGN));
    p.extend(compat);
    p
}

/// The instructions for one ABI: load the number, then one block per traced call; allow the rest.
fn section(calls: impl Iterator<Item = (u32, Sys)>, notify: bool, x32_bit: Option<u32>) -> Vec<SockFilter> {
    let mut p = vec![ins(LD_W_ABS, 0, 0, OFF_NR)];
    if let Some(bit) = x32_bit {
        p.push(ins(JSET_K, 0, 1, bit));
        p.push(ins(RET_K, 0, 0, SECCOMP_RET_TRACE | DATA_FOREIGN));
    }
    for (nr, sys) in calls {
        let block: Vec<SockFilter> = match open_flags_arg(sys) {
            Some(i) if notify => vec![
                ins(LD_W_ABS, 0, 0, off_arg_low(i)),
                ins(JSET_K, 4, 0, O_TMPFILE_BIT),
                ins(JSET_K, 2, 0, arch::O_DIRECTORY | O_PATH),
                ins(JSET_K, 2, 0, O_ACCMODE | O_CREAT | O_TRUNC),
                ins(RET_K, 0, 0, SECCOMP_RET_USER_NOTIF),
                ins(RET_K, 0, 0, SECCOMP_RET_ALLOW),
                ins(RET_K, 0, 0, SECCOMP_RET_TRACE),
            ],
            Some(i) => vec![
                ins(LD_W_ABS, 0, 0, off_arg_low(i)),
                ins(JSET_K, 2, 0, O_TMPFILE_BIT),
                ins(JSET_K, 0, 1, arch::O_DIRECTORY | O_PATH),
                ins(RET_K, 0, 0, SECCOMP_RET_ALLOW),
                ins(RET_K, 0, 0, SECCOMP_RET_TRACE),
            ],
            None => vec![ins(RET_K, 0, 0, SECCOMP_RET_TRACE)],
        };
        p.push(ins(JEQ_K, 0, block.len() as u8, nr));
        p.extend(block);
    }
    p.push(ins(RET_K, 0, 0, SECCOMP_RET_ALLOW));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny interpreter for the instructions `build` emits, to check the jump offsets.
    fn run(prog: &[SockFilter], arch_v: u32, nr: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch_v.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let mut acc = 0u32;
        let mut pc = 0usize;
        loop {
            let f = &prog[pc];
            match f.code {
                LD_W_ABS => {
                    let o = f.k as usize;
                    acc = u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
                    pc += 1;
                }
                JA => pc += 1 + f.k as usize,
                JEQ_K => pc += 1 + if acc == f.k { f.jt } else { f.jf } as usize,
                JSET_K => pc += 1 + if acc & f.k != 0 { f.jt } else { f.jf } as usize,
                RET_K => return f.k,
                _ => panic!("unknown op"),
            }
        }
    }

    #[test]
    fn filter_decisions() {
        let p = build();
        let a = arch::AUDIT_ARCH;
        let openat = arch::traced().find(|t| t.1 == Sys::OpenAt).unwrap().0;
        let unlinkat = arch::traced().find(|t| t.1 == Sys::UnlinkAt).unwrap().0;
        assert_eq!(run(&p, a, openat, [0, 0, 0, 0, 0, 0]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, openat, [0, 0, arch::O_DIRECTORY as u64, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, a, openat, [0, 0, O_PATH as u64, 0, 0, 0]), SECCOMP_RET_ALLOW);
        let tmp = (O_TMPFILE_BIT | arch::O_DIRECTORY | 2) as u64;
        assert_eq!(run(&p, a, openat, [0, 0, tmp, 0, 0, 0]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, unlinkat, [0; 6]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, 0, [0; 6]), SECCOMP_RET_ALLOW); // read / io_setup
        #[cfg(target_arch = "x86_64")]
        {
            // i386: its own numbers (openat 295, read 3), traced without the foreign mark
            assert_eq!(run(&p, 0x4000_0003, 295, [0; 6]), SECCOMP_RET_TRACE);
            assert_eq!(run(&p, 0x4000_0003, 295, [0, 0, arch::O_DIRECTORY as u64, 0, 0, 0]), SECCOMP_RET_ALLOW);
            assert_eq!(run(&p, 0x4000_0003, 3, [0; 6]), SECCOMP_RET_ALLOW);
            assert_eq!(run(&p, 0x4000_0003, 11, [0; 6]), SECCOMP_RET_TRACE); // execve
        }
        assert_eq!(run(&p, 0x4000_0028, 5, [0; 6]), SECCOMP_RET_TRACE | DATA_FOREIGN); // arm
    }

    #[test]
    fn notify_filter_decisions() {
        let p = build_notify();
        let a = arch::AUDIT_ARCH;
        let nr = |s: Sys| arch::traced().find(|t| t.1 == s).unwrap().0;
        let openat = nr(Sys::OpenAt);
        let flags = |f: u32| [0, 0, f as u64, 0, 0, 0];
        assert_eq!(run(&p, a, openat, flags(0)), SECCOMP_RET_USER_NOTIF);
        assert_eq!(run(&p, a, openat, flags(crate::sys::O_CLOEXEC as u32)), SECCOMP_RET_USER_NOTIF);
        assert_eq!(run(&p, a, openat, flags(crate::sys::O_WRONLY)), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, openat, flags(crate::sys::O_RDWR)), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, openat, flags(O_CREAT)), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, openat, flags(O_TRUNC)), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, openat, flags(arch::O_DIRECTORY)), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, a, openat, flags(O_TMPFILE_BIT | arch::O_DIRECTORY | 2)), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, nr(Sys::OpenAt2), [0; 6]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, nr(Sys::RenameAt), [0; 6]), SECCOMP_RET_TRACE);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(run(&p, a, nr(Sys::Open), [0, 0, 0, 0, 0, 0]), SECCOMP_RET_USER_NOTIF);
    }

    #[test]
    fn hybrid_filter_decisions() {
        let p = build_hybrid();
        let a = arch::AUDIT_ARCH;
        let nr = |s: Sys| arch::traced().find(|t| t.1 == s).unwrap().0;
        assert_eq!(run(&p, a, nr(Sys::OpenAt), [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, a, nr(Sys::Execve), [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, a, nr(Sys::UnlinkAt), [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&p, a, nr(Sys::IoUringSetup), [0; 6]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, a, nr(Sys::OpenByHandleAt), [0; 6]), SECCOMP_RET_TRACE);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(run(&p, 0x4000_0003, 425, [0; 6]), SECCOMP_RET_TRACE);
        assert_eq!(run(&p, 0x4000_0028, 5, [0; 6]), SECCOMP_RET_TRACE | DATA_FOREIGN);
    }
}
