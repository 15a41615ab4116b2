//! Shared libraries the dynamic loader maps: it opens them with internal calls no hook sees — the program's own
//! dependencies before this library's constructor runs, and every `dlopen` (Python's extension modules and the
//! libraries they pull in) later. They are reported as read-only OPENs, as the ptrace tracer sees the loader's
//! opens: at the constructor for what is loaded then, and after each successful `dlopen` for what it added. So
//! the Debian packages and Python distributions of a job come out the same whichever backend traced it.

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

use roar_events::rec;

use crate::real::{call_real, errno, set_errno};
use crate::state::{active, cfg, lock, now_ns};
use crate::sys::cstr;

/// `struct dl_phdr_info` (its first four fields).
#[repr(C)]
struct PhdrInfo {
    addr: usize,
    name: *const c_char,
    phdr: *const Phdr,
    phnum: u16,
}

/// `Elf64_Phdr`.
#[repr(C)]
struct Phdr {
    p_type: u32,
    p_flags: u32,
    p_offset: u64,
    p_vaddr: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
    p_align: u64,
}

/// Libraries this library itself needs that a program may not: reported only when another object needs them
/// too (libc is needed by every program it can load into).
const OUR_NEEDS: &[&[u8]] = &[b"libgcc_s.so.1"];
/// Bit i: some object other than ours needs OUR_NEEDS[i].
static NEEDED_BY_PROGRAM: AtomicU64 = AtomicU64::new(0);

/// Calls `f` with each DT_NEEDED name of the object.
unsafe fn each_needed(info: &PhdrInfo, mut f: impl FnMut(&[u8])) {
    const PT_DYNAMIC: u32 = 2;
    const DT_NULL: i64 = 0;
    const DT_NEEDED: i64 = 1;
    const DT_STRTAB: i64 = 5;
    let Some(dynamic) = (0..info.phnum as usize).map(|i| &*info.phdr.add(i)).find(|p| p.p_type == PT_DYNAMIC) else {
        return;
    };
    let dyns = (info.addr + dynamic.p_vaddr as usize) as *const [u64; 2];
    let mut strtab = 0usize;
    let mut i = 0;
    while (*dyns.add(i))[0] as i64 != DT_NULL && i < 4096 {
        if (*dyns.add(i))[0] as i64 == DT_STRTAB {
            strtab = (*dyns.add(i))[1] as usize;
        }
        i += 1;
    }
    // glibc relocates DT_STRTAB in place where the dynamic section is writable; else it is still relative
    if strtab == 0 {
        return;
    }
    if strtab < info.addr {
        strtab += info.addr;
    }
    let mut i = 0;
    while (*dyns.add(i))[0] as i64 != DT_NULL && i < 4096 {
        if (*dyns.add(i))[0] as i64 == DT_NEEDED {
            f(cstr((strtab + (*dyns.add(i))[1] as usize) as *const u8));
        }
        i += 1;
    }
}

fn base_name(p: &[u8]) -> &[u8] {
    p.rsplit(|&c| c == b'/').next().unwrap_or(p)
}

unsafe extern "C" fn note_needs(info: *mut PhdrInfo, _size: usize, _data: *mut c_void) -> c_int {
    let name = cstr((*info).name as *const u8);
    let c = cfg();
    if name == &c.lib[..c.lib_len] {
        return 0;
    }
    each_needed(&*info, |needed| {
        for (bit, ours) in OUR_NEEDS.iter().enumerate() {
            if needed == *ours {
                NEEDED_BY_PROGRAM.fetch_or(1 << bit, Relaxed);
            }
        }
    });
    0
}

type Callback = unsafe extern "C" fn(*mut PhdrInfo, usize, *mut c_void) -> c_int;
type DlopenFn = unsafe extern "C" fn(*const c_char, c_int) -> *mut c_void;

extern "C" {
    fn dl_iterate_phdr(cb: Callback, data: *mut c_void) -> c_int;
}

/// Objects already reported by this process, by path hash (open addressing; 0 = free). A process that loads
/// more than this reports the rest again at each dlopen, which the reader takes as repeated reads.
static SEEN: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];

fn hash(p: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in p {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h | 1
}

/// True the first time `p` is seen (racy between threads at worst reports one twice).
fn first_time(p: &[u8]) -> bool {
    let h = hash(p);
    let n = SEEN.len();
    let mut i = (h as usize >> 1) % n;
    for _ in 0..n {
        match SEEN[i].load(Relaxed) {
            0 => {
                SEEN[i].store(h, Relaxed);
                return true;
            }
            x if x == h => return false,
            _ => i = (i + 1) % n,
        }
    }
    true
}

unsafe extern "C" fn each(info: *mut PhdrInfo, _size: usize, _data: *mut c_void) -> c_int {
    let name = cstr((*info).name as *const u8);
    let c = cfg();
    let ours = &c.lib[..c.lib_len];
    // the main program (""), the vDSO (no slash), the loader itself (the kernel maps it: no open), ourselves
    if name.first() != Some(&b'/') || name == ours || name.windows(8).any(|w| w == b"ld-linux") {
        return 0;
    }
    let needed = NEEDED_BY_PROGRAM.load(Relaxed);
    if OUR_NEEDS.iter().enumerate().any(|(bit, n)| base_name(name) == *n && needed & (1 << bit) == 0) {
        return 0; // loaded only because this library needs it
    }
    if first_time(name) {
        let ts = now_ns();
        if let Some(mut l) = lock() {
            l.push(ts, |b, pid, seq, ts| rec::open(b, pid, seq, ts, name, 0, -1, None));
        }
    }
    0
}

/// Reports every loaded object not reported yet.
pub fn report() {
    if !active() {
        return;
    }
    let e = errno();
    // SAFETY: dl_iterate_phdr calls our callbacks with valid phdr info; they ignore the null data pointer.
    unsafe {
        dl_iterate_phdr(note_needs, core::ptr::null_mut());
        dl_iterate_phdr(each, core::ptr::null_mut());
    }
    set_errno(e);
}

#[no_mangle]
pub unsafe extern "C" fn dlopen(file: *const c_char, mode: c_int) -> *mut c_void {
    let h = call_real!(dlopen: DlopenFn, core::ptr::null_mut(), (file, mode));
    if !h.is_null() && !file.is_null() {
        report();
    }
    h
}
