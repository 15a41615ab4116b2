//! The event stream writer: records are encoded with `roar_events::rec` into a scratch buffer and appended
//! to an in-memory batch that goes out with one `write(2)` per batch (a single writer, so batching keeps the
//! "records never interleave" rule while saving a syscall per record).
use crate::sys;
use std::ffi::CString;

const FLUSH_AT: usize = 256 * 1024;
const MAX_RECORD: usize = 64 * 1024 * 1024;

pub struct Out {
    fd: i32,
    batch: Vec<u8>,
    scratch: Vec<u8>,
    seq: u64,
    /// Records not encoded (larger than MAX_RECORD): reported with a DROPPED record.
    dropped: u64,
    /// Records in `batch`.
    batched: u64,
    /// Records that could not be written (a full disk): reported to the caller by `finish`.
    lost: u64,
}

impl Out {
    pub fn create(path: &[u8]) -> Result<Out, i32> {
        let c = CString::new(path).map_err(|_| sys::EINVAL)?;
        let flags = 0o1 | 0o100 | 0o1000 | 0o2000 | sys::O_CLOEXEC; // WRONLY|CREAT|TRUNC|APPEND
        // SAFETY: `c` is a CString.
        let fd = unsafe { sys::open(c.as_ptr(), flags, 0o600) };
        if fd < 0 {
            return Err(sys::errno());
        }
        let mut out = Out { fd, batch: Vec::with_capacity(FLUSH_AT + 4096), scratch: vec![0; 16 * 1024], seq: 0, dropped: 0, batched: 0, lost: 0 };
        out.emit(|b, _, _| roar_events::rec::header(b, "ptrace"));
        out.flush();
        Ok(out)
    }

    /// Encodes one record; `f` gets (buffer, seq, ts_ns) and returns the encoded length (0 = did not fit).
    pub fn emit(&mut self, mut f: impl FnMut(&mut [u8], u64, u64) -> usize) {
        let ts = sys::monotonic_ns();
        loop {
            let n = f(&mut self.scratch, self.seq, ts);
            if n > 0 {
                self.seq += 1;
                self.batched += 1;
                self.batch.extend_from_slice(&self.scratch[..n]);
                if self.batch.len() >= FLUSH_AT {
                    self.flush();
                }
                return;
            }
            if self.scratch.len() >= MAX_RECORD {
                self.dropped += 1;
                return;
            }
            let grown = self.scratch.len() * 4;
            self.scratch.resize(grown, 0);
        }
    }

    /// Records are batched and not yet written.
    pub fn has_pending(&self) -> bool {
        !self.batch.is_empty()
    }

    pub fn flush(&mut self) {
        let mut off = 0;
        while off < self.batch.len() {
            let rest = &self.batch[off..];
            // SAFETY: writes from `rest`, at most its length.
            let n = unsafe { sys::write(self.fd, rest.as_ptr().cast(), rest.len()) };
            if n < 0 {
                if sys::errno() == sys::EINTR {
                    continue;
                }
                // Records never cut in half: a partial write ends the stream mid-record, which the
                // reader reports as lost too.
                self.lost += self.batched;
                break;
            }
            off += n as usize;
        }
        self.batch.clear();
        self.batched = 0;
    }

    /// Writes what is left and closes the stream; returns how many records could not be written.
    pub fn finish(mut self) -> u64 {
        if self.dropped > 0 {
            let d = self.dropped;
            self.emit(|b, seq, ts| roar_events::rec::dropped(b, 0, seq, ts, d));
        }
        self.flush();
        // SAFETY: the stream's fd, closed once (`finish` consumes the writer).
        unsafe { sys::close(self.fd) };
        self.lost
    }
}
