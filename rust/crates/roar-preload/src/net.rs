//! Network endpoints (NET records): the internet addresses a process connects to, and the peers it accepts
//! connections from. A job that talks to the network is not self-contained; roar says so in `show` and in the
//! reproduce plan. Unix sockets and other local families are not recorded.

use core::ffi::{c_int, c_void};

use roar_events::{flags as evflags, rec};

use crate::real::{call_real, errno, set_errno};
use crate::state::{active, lock, now_ns};
use crate::sys;

type ConnectFn = unsafe extern "C" fn(c_int, *const c_void, u32) -> c_int;
type AcceptFn = unsafe extern "C" fn(c_int, *mut c_void, *mut u32) -> c_int;
type Accept4Fn = unsafe extern "C" fn(c_int, *mut c_void, *mut u32, c_int) -> c_int;

const MAX_SOCKADDR: usize = 128;

/// Records NET for the `len` bytes of sockaddr at `addr` (internet families only).
pub unsafe fn note(op: u32, addr: *const u8, len: usize) {
    if addr.is_null() || !active() {
        return;
    }
    let a = core::slice::from_raw_parts(addr, len.min(MAX_SOCKADDR));
    if !rec::is_inet(a) {
        return;
    }
    let e = errno();
    let ts = now_ns();
    if let Some(mut l) = lock() {
        l.push(ts, |b, pid, seq, ts| rec::net(b, pid, seq, ts, op, a));
    }
    set_errno(e);
}

/// After a successful accept of `fd`: its peer, from the call's own result or else getpeername.
pub unsafe fn note_accepted(fd: c_int, addr: *const u8, len_ptr: *const u32) {
    if !active() {
        return;
    }
    if !addr.is_null() && !len_ptr.is_null() {
        return note(evflags::NET_ACCEPT, addr, *len_ptr as usize);
    }
    let e = errno();
    let mut peer = [0u8; MAX_SOCKADDR];
    let mut len = MAX_SOCKADDR as u32;
    let r = sys::sc3(sys::nr::GETPEERNAME, fd as usize, peer.as_mut_ptr() as usize, &mut len as *mut u32 as usize);
    set_errno(e);
    if r == 0 {
        note(evflags::NET_ACCEPT, peer.as_ptr(), len as usize);
    }
}

/// A connect that succeeded, or is under way on a non-blocking socket.
pub fn connected(r: i64) -> bool {
    r == 0 || (r < 0 && errno() == crate::sys::EINPROGRESS)
}

#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const c_void, len: u32) -> c_int {
    let r = call_real!(connect: ConnectFn, -1, (fd, addr, len));
    if connected(r as i64) {
        note(evflags::NET_CONNECT, addr as *const u8, len as usize);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut c_void, len: *mut u32) -> c_int {
    let r = call_real!(accept: AcceptFn, -1, (fd, addr, len));
    if r >= 0 {
        note_accepted(r, addr as *const u8, len);
    }
    r
}

#[no_mangle]
pub unsafe extern "C" fn accept4(fd: c_int, addr: *mut c_void, len: *mut u32, flags: c_int) -> c_int {
    let r = call_real!(accept4: Accept4Fn, -1, (fd, addr, len, flags));
    if r >= 0 {
        note_accepted(r, addr as *const u8, len);
    }
    r
}
