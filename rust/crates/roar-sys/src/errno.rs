//! Linux errno values (the asm-generic numbering, the same on x86_64 and aarch64), shared by the tracer
//! crates. Raw system calls return them negated; the C ABI of the tracer libraries returns them negated too
//! (`-EINVAL`, …), and the TypeScript side names them from `os.constants.errno` (src/trace/ptrace-ffi.ts).
pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ESRCH: i32 = 3;
pub const EINTR: i32 = 4;
pub const EIO: i32 = 5;
pub const ENOEXEC: i32 = 8;
pub const EBADF: i32 = 9;
pub const ECHILD: i32 = 10;
pub const EAGAIN: i32 = 11;
pub const EACCES: i32 = 13;
pub const EEXIST: i32 = 17;
pub const ENOTDIR: i32 = 20;
pub const EISDIR: i32 = 21;
pub const EINVAL: i32 = 22;
pub const ENAMETOOLONG: i32 = 36;
pub const ENOSYS: i32 = 38;
pub const ELOOP: i32 = 40;
pub const EINPROGRESS: i32 = 115;
