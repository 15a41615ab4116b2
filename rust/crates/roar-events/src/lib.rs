//! The tracer event contract shared by roar's tracer backends: msgpack records written without allocating,
//! into a caller-provided buffer (so the preload library can encode inside any process, even a vfork child).
//! See README.md for the record table; `src/schema/events.ts` is the TypeScript mirror.
// Panic policy (roar-preload/README.md, "Panics"): this code runs inside the user's program, built with
// panic = "abort", so a panic would kill it. No explicit panics; tests may unwrap.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented,
        clippy::panic_in_result_fn
    )
)]
#![no_std]

pub const ABI_VERSION: u32 = 4;

pub mod kind {
    pub const HEADER: u8 = 0;
    pub const PROC_START: u8 = 1;
    pub const FORK: u8 = 2;
    pub const EXEC: u8 = 3;
    pub const EXIT: u8 = 4;
    pub const OPEN: u8 = 5;
    pub const RENAME: u8 = 6;
    pub const LINK: u8 = 7;
    pub const UNLINK: u8 = 8;
    pub const TRUNCATE: u8 = 9;
    pub const CHDIR: u8 = 10;
    pub const INCOMPLETE: u8 = 11;
    pub const DROPPED: u8 = 12;
    pub const PREWRITE: u8 = 13;
    pub const NET: u8 = 14;
}

pub mod flags {
    pub const FORK_VFORK: u32 = 1;
    pub const FORK_THREAD: u32 = 2;
    pub const EXEC_STATIC: u32 = 1;
    pub const EXEC_PRELOAD_INTACT: u32 = 2;
    pub const EXEC_SETUID: u32 = 4;
    pub const LINK_SYMLINK: u32 = 1;
    pub const UNLINK_DIR: u32 = 1;
    /// NET: the process connected to the address (connect).
    pub const NET_CONNECT: u32 = 0;
    /// NET: the process accepted a connection from the address (accept, accept4).
    pub const NET_ACCEPT: u32 = 1;
}

/// File identity and state as seen when it was opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenStat {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

/// Appends msgpack values to a fixed buffer. Every method returns `false` once the buffer is full; callers
/// encode a whole record, and only commit it (advance their cursor) when every call succeeded.
pub struct Encoder<'a> {
    buf: &'a mut [u8],
    len: usize,
    ok: bool,
}

impl<'a> Encoder<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Encoder { buf, len: 0, ok: true }
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// True while nothing has overflowed.
    pub fn ok(&self) -> bool {
        self.ok
    }
    fn put(&mut self, bytes: &[u8]) {
        if !self.ok || self.len + bytes.len() > self.buf.len() {
            self.ok = false;
            return;
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }
    pub fn array(&mut self, n: usize) {
        if n < 16 {
            self.put(&[0x90 | n as u8]);
        } else if n <= 0xffff {
            let b = (n as u16).to_be_bytes();
            self.put(&[0xdc, b[0], b[1]]);
        } else {
            let b = (n as u32).to_be_bytes();
            self.put(&[0xdd, b[0], b[1], b[2], b[3]]);
        }
    }
    pub fn nil(&mut self) {
        self.put(&[0xc0]);
    }
    pub fn bool(&mut self, v: bool) {
        self.put(&[if v { 0xc3 } else { 0xc2 }]);
    }
    pub fn uint(&mut self, v: u64) {
        if v < 128 {
            self.put(&[v as u8]);
        } else if v <= 0xff {
            self.put(&[0xcc, v as u8]);
        } else if v <= 0xffff {
            let b = (v as u16).to_be_bytes();
            self.put(&[0xcd, b[0], b[1]]);
        } else if v <= 0xffff_ffff {
            let b = (v as u32).to_be_bytes();
            self.put(&[0xce, b[0], b[1], b[2], b[3]]);
        } else {
            let b = v.to_be_bytes();
            self.put(&[0xcf]);
            self.put(&b);
        }
    }
    pub fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64);
        } else if v >= -32 {
            self.put(&[v as i8 as u8]);
        } else {
            let b = v.to_be_bytes();
            self.put(&[0xd3]);
            self.put(&b);
        }
    }
    pub fn bin(&mut self, v: &[u8]) {
        let n = v.len();
        if n <= 0xff {
            self.put(&[0xc4, n as u8]);
        } else if n <= 0xffff {
            let b = (n as u16).to_be_bytes();
            self.put(&[0xc5, b[0], b[1]]);
        } else {
            let b = (n as u32).to_be_bytes();
            self.put(&[0xc6, b[0], b[1], b[2], b[3]]);
        }
        self.put(v);
    }
    pub fn str(&mut self, v: &str) {
        let n = v.len();
        if n < 32 {
            self.put(&[0xa0 | n as u8]);
        } else if n <= 0xff {
            self.put(&[0xd9, n as u8]);
        } else {
            let b = (n as u32).to_be_bytes();
            self.put(&[0xdb, b[0], b[1], b[2], b[3]]);
        }
        self.put(v.as_bytes());
    }
    /// `[kind, pid, seq, ts_ns` + `extra` payload slots: the caller then writes exactly `extra` values.
    pub fn record(&mut self, kind: u8, pid: u32, seq: u64, ts_ns: u64, extra: usize) {
        self.array(4 + extra);
        self.uint(kind as u64);
        self.uint(pid as u64);
        self.uint(seq);
        self.uint(ts_ns);
    }
    pub fn open_stat(&mut self, st: Option<&OpenStat>) {
        match st {
            None => self.nil(),
            Some(s) => {
                self.array(5);
                self.uint(s.dev);
                self.uint(s.ino);
                self.uint(s.size);
                self.int(s.mtime_ns);
                self.int(s.ctime_ns);
            }
        }
    }
}

/// Helpers that encode one whole record each (returns the encoded length, 0 when it did not fit).
pub mod rec {
    use super::*;

    fn done(e: &Encoder) -> usize {
        if e.ok() {
            e.len()
        } else {
            0
        }
    }
    pub fn header(buf: &mut [u8], backend: &str) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::HEADER, 0, 0, 0, 2);
        e.uint(ABI_VERSION as u64);
        e.str(backend);
        done(&e)
    }
    #[allow(clippy::too_many_arguments)]
    pub fn proc_start<'b, I: ExactSizeIterator<Item = &'b [u8]>>(
        buf: &mut [u8], pid: u32, seq: u64, ts: u64, ppid: u32, exe: &[u8], argv: I, cwd: &[u8],
    ) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::PROC_START, pid, seq, ts, 4);
        e.uint(ppid as u64);
        e.bin(exe);
        e.array(argv.len());
        for a in argv {
            e.bin(a);
        }
        e.bin(cwd);
        done(&e)
    }
    pub fn fork(buf: &mut [u8], pid: u32, seq: u64, ts: u64, child: u32, flags: u32) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::FORK, pid, seq, ts, 2);
        e.uint(child as u64);
        e.uint(flags as u64);
        done(&e)
    }
    pub fn exec<'b, I: ExactSizeIterator<Item = &'b [u8]>>(
        buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8], argv: I, flags: u32,
    ) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::EXEC, pid, seq, ts, 3);
        e.bin(path);
        e.array(argv.len());
        for a in argv {
            e.bin(a);
        }
        e.uint(flags as u64);
        done(&e)
    }
    pub fn exit(buf: &mut [u8], pid: u32, seq: u64, ts: u64, code: Option<i32>, signal: Option<i32>) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::EXIT, pid, seq, ts, 2);
        match code {
            Some(c) => e.int(c as i64),
            None => e.nil(),
        }
        match signal {
            Some(s) => e.int(s as i64),
            None => e.nil(),
        }
        done(&e)
    }
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8], oflags: u32, fd: i32, st: Option<&OpenStat>,
    ) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::OPEN, pid, seq, ts, 4);
        e.bin(path);
        e.uint(oflags as u64);
        e.int(fd as i64);
        e.open_stat(st);
        done(&e)
    }
    #[allow(clippy::too_many_arguments)]
    fn two_paths(buf: &mut [u8], k: u8, pid: u32, seq: u64, ts: u64, a: &[u8], b: &[u8], fl: Option<u32>) -> usize {
        let mut e = Encoder::new(buf);
        e.record(k, pid, seq, ts, if fl.is_some() { 3 } else { 2 });
        e.bin(a);
        e.bin(b);
        if let Some(f) = fl {
            e.uint(f as u64);
        }
        done(&e)
    }
    pub fn rename(buf: &mut [u8], pid: u32, seq: u64, ts: u64, from: &[u8], to: &[u8]) -> usize {
        two_paths(buf, kind::RENAME, pid, seq, ts, from, to, None)
    }
    pub fn link(buf: &mut [u8], pid: u32, seq: u64, ts: u64, from: &[u8], to: &[u8], flags: u32) -> usize {
        two_paths(buf, kind::LINK, pid, seq, ts, from, to, Some(flags))
    }
    fn path_flags(buf: &mut [u8], k: u8, pid: u32, seq: u64, ts: u64, p: &[u8], fl: Option<u32>) -> usize {
        let mut e = Encoder::new(buf);
        e.record(k, pid, seq, ts, if fl.is_some() { 2 } else { 1 });
        e.bin(p);
        if let Some(f) = fl {
            e.uint(f as u64);
        }
        done(&e)
    }
    pub fn unlink(buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8], flags: u32) -> usize {
        path_flags(buf, kind::UNLINK, pid, seq, ts, path, Some(flags))
    }
    pub fn truncate(buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8]) -> usize {
        path_flags(buf, kind::TRUNCATE, pid, seq, ts, path, None)
    }
    pub fn chdir(buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8]) -> usize {
        path_flags(buf, kind::CHDIR, pid, seq, ts, path, None)
    }
    pub fn incomplete(buf: &mut [u8], pid: u32, seq: u64, ts: u64, reason: &str, detail: &[u8]) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::INCOMPLETE, pid, seq, ts, 2);
        e.str(reason);
        e.bin(detail);
        done(&e)
    }
    /// A network endpoint the process connected to or accepted from: `op` (flags::NET_*) and the raw
    /// `struct sockaddr` bytes (AF_INET / AF_INET6 only; the reader formats them).
    pub fn net(buf: &mut [u8], pid: u32, seq: u64, ts: u64, op: u32, sockaddr: &[u8]) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::NET, pid, seq, ts, 2);
        e.uint(op as u64);
        e.bin(sockaddr);
        done(&e)
    }
    /// Whether `sockaddr` is an internet address (AF_INET with 16 bytes or more, AF_INET6 with 28): the only
    /// endpoints recorded (unix sockets, netlink… are local).
    pub fn is_inet(sockaddr: &[u8]) -> bool {
        if sockaddr.len() < 2 {
            return false;
        }
        match u16::from_ne_bytes([sockaddr[0], sockaddr[1]]) {
            2 => sockaddr.len() >= 16,
            10 => sockaddr.len() >= 28,
            _ => false,
        }
    }
    /// A file as it was before the job first changed it (see roar-sys prewrite): stat, mode, and the name of
    /// the copy of its bytes in the capture directory (nil: not kept).
    #[allow(clippy::too_many_arguments)]
    pub fn prewrite(
        buf: &mut [u8], pid: u32, seq: u64, ts: u64, path: &[u8], st: &OpenStat, mode: u32, copy: Option<&[u8]>,
    ) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::PREWRITE, pid, seq, ts, 4);
        e.bin(path);
        e.open_stat(Some(st));
        e.uint(mode as u64);
        match copy {
            Some(c) => e.bin(c),
            None => e.nil(),
        }
        done(&e)
    }
    pub fn dropped(buf: &mut [u8], pid: u32, seq: u64, ts: u64, count: u64) -> usize {
        let mut e = Encoder::new(buf);
        e.record(kind::DROPPED, pid, seq, ts, 1);
        e.uint(count);
        done(&e)
    }
}

/// Lexically normalises an absolute path in place (`.`/`..`/`//`), without touching the filesystem.
/// `cwd` is joined in front when `path` is relative. Returns the length written to `out`, 0 on overflow.
pub fn join_normalize(cwd: &[u8], path: &[u8], out: &mut [u8]) -> usize {
    let mut len = 0usize;
    let push_comp = |out: &mut [u8], len: &mut usize, comp: &[u8]| -> bool {
        if comp.is_empty() || comp == b"." {
            return true;
        }
        if comp == b".." {
            // drop the last component (never above the root)
            while *len > 0 && out[*len - 1] != b'/' {
                *len -= 1;
            }
            if *len > 0 {
                *len -= 1;
            }
            return true;
        }
        if *len + 1 + comp.len() > out.len() {
            return false;
        }
        out[*len] = b'/';
        out[*len + 1..*len + 1 + comp.len()].copy_from_slice(comp);
        *len += 1 + comp.len();
        true
    };
    let sources: [&[u8]; 2] = if path.first() == Some(&b'/') { [b"", path] } else { [cwd, path] };
    for src in sources {
        for comp in src.split(|&c| c == b'/') {
            if !push_comp(out, &mut len, comp) {
                return 0;
            }
        }
    }
    if len == 0 {
        if out.is_empty() {
            return 0;
        }
        out[0] = b'/';
        len = 1;
    }
    len
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    fn norm(cwd: &str, p: &str) -> std::string::String {
        let mut out = [0u8; 256];
        let n = join_normalize(cwd.as_bytes(), p.as_bytes(), &mut out);
        std::string::String::from_utf8(out[..n].to_vec()).unwrap()
    }

    #[test]
    fn normalizes() {
        assert_eq!(norm("/a/b", "c"), "/a/b/c");
        assert_eq!(norm("/a/b", "../c"), "/a/c");
        assert_eq!(norm("/a/b", "/x//y/./z/.."), "/x/y");
        assert_eq!(norm("/", ".."), "/");
        assert_eq!(norm("/a", "."), "/a");
    }

    #[test]
    fn encodes_open() {
        let mut buf = [0u8; 128];
        let n = rec::open(&mut buf, 42, 1, 1000, b"/tmp/x", 0, 3, None);
        assert!(n > 0);
        assert_eq!(buf[0], 0x98); // array of 8
    }
}
