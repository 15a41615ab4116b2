//! The next definition of an interposed libc function, resolved once with dlsym(RTLD_NEXT).

use core::ffi::{c_char, c_void};

extern "C" {
    pub fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    pub fn __errno_location() -> *mut i32;
}

/// glibc's RTLD_NEXT.
pub const RTLD_NEXT: *mut c_void = -1isize as *mut c_void;

pub fn errno() -> i32 {
    // SAFETY: glibc's errno location is valid for the calling thread's lifetime.
    unsafe { *__errno_location() }
}

pub fn set_errno(e: i32) {
    // SAFETY: glibc's errno location is valid for the calling thread's lifetime.
    unsafe { *__errno_location() = e }
}

/// `real!(name: unsafe extern "C" fn(args) -> ret)` evaluates to `Option<fn pointer>` of the next `name`.
macro_rules! real {
    ($name:ident : $ty:ty) => {{
        static P: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);
        let mut p = P.load(core::sync::atomic::Ordering::Relaxed);
        if p == 0 {
            // SAFETY: dlsym with RTLD_NEXT and a NUL-terminated name.
            p = unsafe {
                $crate::real::dlsym($crate::real::RTLD_NEXT, concat!(stringify!($name), "\0").as_ptr() as *const _)
            } as usize;
            P.store(p, core::sync::atomic::Ordering::Relaxed);
        }
        if p == 0 {
            None
        } else {
            // SAFETY: dlsym found the next definition of this libc function, whose type `$ty` declares.
            Some(unsafe { core::mem::transmute::<usize, $ty>(p) })
        }
    }};
}
pub(crate) use real;

/// Calls the next `name` with `args`, or fails with ENOSYS when libc has no such function.
macro_rules! call_real {
    ($name:ident : $ty:ty, $fail:expr, ($($arg:expr),*)) => {{
        match $crate::real::real!($name: $ty) {
            // SAFETY: the caller's arguments are passed through to libc's own definition unchanged.
            Some(f) => unsafe { f($($arg),*) },
            None => {
                $crate::real::set_errno($crate::sys::ENOSYS);
                $fail
            }
        }
    }};
}
pub(crate) use call_real;
