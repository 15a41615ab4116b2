//! Room for the job: while a traced command runs, roar's own threads (the JavaScript thread, the queue, the
//! engine's helpers, the probes it spawns) keep off one of the CPUs they may use — the one the job's first process
//! is on, once it is known — so that a single-threaded job never waits behind roar's bookkeeping. On 2 vCPUs the io job's command ran 8-11 ms longer beside roar's
//! threads than alone; with them on one CPU it ran as long as with the interposer alone. The job keeps every CPU:
//! it was started before, and a tracer thread starts its processes. The tracers' threads (`roar-ptrace`,
//! `roar-notify`) keep every CPU too, or, under the ptrace backend, where one of them answers each of the job's
//! file system calls, keep to the CPU left to the job: the job and the thread it waits on then share a CPU, with no
//! wake-up across CPUs at every call (the io job under ptrace 0.93x, two parallel readers 0.91x; under hybrid,
//! whose tracer sees only execs, it made no difference or cost 1 %).
//!
//! A job is not kept on its CPU (it keeps every CPU, and may ask which it has), and the scheduler moves it now and
//! then: under ptrace, to the other CPU when that one idles while the tracer thread the job just woke still waits
//! to run beside it, and every call then wakes the tracer across CPUs until the job happens to move back (the io
//! job's trace took either ~400 or ~460 ms, by luck); a job that pins itself (`taskset -c 1 python …`) may pin
//! itself to the CPU roar's threads were kept to, and share it with them for the whole run (the io job so pinned,
//! in twelve runs under auto: 284-391 ms, five of them ~380; in ten under ptrace: five took 1.3 s, the others
//! ~0.44; followed, 259-278 ms and 434-466 ms). So a thread of roar's follows the job
//! (`follow`): every 1-2 ms it reads which CPU the job's first process is on (~3 µs) and, when it moved, makes the
//! room anew there (the rest off it; under ptrace the tracers to it). Paired rounds (bare io job 194 ms): the io
//! job under ptrace 512 -> 457 ms (15 rounds); `make -j2`, whose first process is make itself, and the CPU-bound
//! job unchanged within noise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Threads whose names start so serve the job's stops: never confined.
const TRACER_THREADS: [&[u8]; 2] = [b"roar-ptrace", b"roar-notify"];

/// The affinity roar had before `roar_cpu_room_make`, and the CPU left to the job (None: not confined).
static SAVED: Mutex<Option<(libc::cpu_set_t, usize)>> = Mutex::new(None);
/// Which room is made (a new number each time one is made or ended): a follower ends when its room is over.
static ROOM: AtomicU64 = AtomicU64::new(0);
/// The room a follower was started for (one a room).
static FOLLOWED: AtomicU64 = AtomicU64::new(0);

/// The follower checks where the job is this often at first and after each move; after FOLLOW_CALM checks with
/// no move, twice as seldom, up to FOLLOW_MAX (a long job: 500 reads a second, well under 1 % of a CPU; at 8 ms
/// the io job under ptrace spent more of its run on the wrong CPU).
const FOLLOW_MIN: std::time::Duration = std::time::Duration::from_millis(1);
const FOLLOW_MAX: std::time::Duration = std::time::Duration::from_millis(2);
const FOLLOW_CALM: u32 = 16;

/// The process's threads (ids), each with whether it serves the job's stops.
fn threads() -> std::io::Result<Vec<(libc::pid_t, bool)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task")? {
        let Ok(entry) = entry else { continue };
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse::<libc::pid_t>().ok()) else { continue };
        // A thread gone since the listing has no name: nothing to change on it either.
        let comm = std::fs::read(entry.path().join("comm")).unwrap_or_default();
        out.push((tid, TRACER_THREADS.iter().any(|t| comm.starts_with(t))));
    }
    Ok(out)
}

fn set_affinity(tid: libc::pid_t, set: &libc::cpu_set_t) -> bool {
    // SAFETY: `set` is a whole cpu_set_t of the size given.
    unsafe { libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), set) == 0 }
}

/// The CPUs roar had before the room was made (None: no room made), for threads that may use them anyway.
pub fn unconfined() -> Option<libc::cpu_set_t> {
    SAVED.lock().ok().and_then(|saved| saved.map(|(original, _)| original))
}

/// The CPU a process last ran on (/proc/<pid>/stat, field 39), None when unknown.
fn last_cpu(pid: libc::pid_t) -> Option<usize> {
    cpu_in_stat(&std::fs::read(format!("/proc/{pid}/stat")).ok()?)
}

/// Field 39 of a /proc/<pid>/stat text.
fn cpu_in_stat(stat: &[u8]) -> Option<usize> {
    // After the command name (in parentheses, which may hold anything), field 3 on.
    let rest = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    let field = rest.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty()).nth(39 - 3)?;
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Follows the job's process `pid` from CPU to CPU while room `room` lasts (see the module's comment): one
/// /proc/<pid>/stat kept open and read again, a sleep between reads; ends with the room or the process.
fn follow(pid: libc::pid_t, room: u64, pin_tracers: u32) {
    let Ok(stat) = std::fs::File::open(format!("/proc/{pid}/stat")) else { return };
    let mut buf = [0u8; 1024];
    let (mut period, mut calm) = (FOLLOW_MIN, 0);
    loop {
        std::thread::sleep(period);
        if ROOM.load(Ordering::Acquire) != room {
            return;
        }
        // A process gone (reaped) reads as an error.
        let Ok(n) = std::os::unix::fs::FileExt::read_at(&stat, &mut buf, 0) else { return };
        let Some(cpu) = cpu_in_stat(&buf[..n]) else { return };
        let Ok(mut saved) = SAVED.lock() else { return };
        let Some((original, left)) = *saved else { return };
        // SAFETY: `cpu` is below CPU_SETSIZE (checked first).
        if ROOM.load(Ordering::Acquire) == room
            && cpu != left
            && cpu < libc::CPU_SETSIZE as usize
            && unsafe { libc::CPU_ISSET(cpu, &original) }
        {
            *saved = Some((original, cpu));
            confine(&original, cpu, pin_tracers);
            (period, calm) = (FOLLOW_MIN, 0);
        } else {
            calm += 1;
            if calm >= FOLLOW_CALM {
                (period, calm) = ((period * 2).min(FOLLOW_MAX), 0);
            }
        }
    }
}

/// Confines every thread but the tracers' to `original` less `left`; `pin_tracers`: the tracers' to `left`.
fn confine(original: &libc::cpu_set_t, left: usize, pin_tracers: u32) -> i32 {
    let mut confined = *original;
    // SAFETY: `left` is below CPU_SETSIZE.
    unsafe { libc::CPU_CLR(left, &mut confined) };
    let Ok(threads) = threads() else { return -libc::ENOENT };
    // SAFETY: a zeroed cpu_set_t is the empty set; `left` is below CPU_SETSIZE.
    let mut only_left: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    unsafe { libc::CPU_SET(left, &mut only_left) };
    let mut count = 0;
    for (tid, tracer) in threads {
        if tracer {
            // A tracer thread started later by one pinned is pinned too (threads inherit their creator's CPUs).
            if pin_tracers != 0 {
                set_affinity(tid, &only_left);
            }
        } else if set_affinity(tid, &confined) {
            count += 1;
        }
    }
    count
}

/// Sets the calling thread's affinity (a helper started by a confined thread taking the job's CPUs back).
pub fn set_own_affinity(set: &libc::cpu_set_t) -> bool {
    set_affinity(0, set)
}

/// Confines every thread of the process but the tracers' to the CPUs it may use less one (not the one the
/// calling thread is on); `pin_tracers` (non-zero): the tracers' threads to that one. Returns how many threads were
/// confined; 0 when there is no CPU to spare (one CPU) or roar is confined already; a negative errno when the
/// affinity cannot be read.
///
/// Called again once the job's process is known (`job_pid` > 0), the CPU left becomes the one the job is on, when
/// that is one roar's threads were confined to: the job keeps every CPU, and the scheduler seldom moves a busy
/// process off a CPU for threads that wake on it briefly (a CPU-bound job ran ~7 ms longer, of ~350, when it
/// had started on the CPU roar's threads kept to). A thread then follows the job while the room lasts (`follow`).
/// Returns how many threads were confined anew (0: none needed).
#[no_mangle]
pub extern "C" fn roar_cpu_room_make(pin_tracers: u32, job_pid: i32) -> i32 {
    let Ok(mut saved) = SAVED.lock() else { return -libc::EIO };
    if let Some((original, left)) = *saved {
        let room = ROOM.load(Ordering::Acquire);
        if job_pid > 0 && FOLLOWED.swap(room, Ordering::AcqRel) != room {
            // Started by a confined thread, the follower is confined with the rest (it is no tracer).
            let _ = std::thread::Builder::new()
                .name("roar-room".into())
                .stack_size(64 * 1024)
                .spawn(move || follow(job_pid, room, pin_tracers));
        }
        let job_cpu = if job_pid > 0 { last_cpu(job_pid) } else { None };
        return match job_cpu {
            // SAFETY: `cpu` is below CPU_SETSIZE (checked first).
            Some(cpu) if cpu != left && cpu < libc::CPU_SETSIZE as usize && unsafe { libc::CPU_ISSET(cpu, &original) } => {
                *saved = Some((original, cpu));
                confine(&original, cpu, pin_tracers).max(0)
            }
            _ => 0,
        };
    }
    if job_pid > 0 {
        return 0; // only a room made before is moved: none was (one CPU, or it has ended)
    }
    // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity fills it.
    let mut original: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut original) } != 0 {
        return -std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO);
    }
    // SAFETY: (every CPU_* call) a whole cpu_set_t, CPU numbers below CPU_SETSIZE.
    if unsafe { libc::CPU_COUNT(&original) } < 2 {
        return 0;
    }
    // SAFETY: no arguments; -1 on failure, handled below.
    let current = unsafe { libc::sched_getcpu() };
    let Some(left) = (0..libc::CPU_SETSIZE as usize)
        .rev()
        .find(|&cpu| cpu as i32 != current && unsafe { libc::CPU_ISSET(cpu, &original) })
    else {
        return 0;
    };
    *saved = Some((original, left));
    ROOM.fetch_add(1, Ordering::AcqRel);
    confine(&original, left, pin_tracers)
}

/// Gives every thread of the process back the CPUs roar had before `roar_cpu_room_make` (threads started while
/// confined included). Returns how many threads were changed; 0 when roar was not confined.
#[no_mangle]
pub extern "C" fn roar_cpu_room_end() -> i32 {
    let Ok(mut saved) = SAVED.lock() else { return -libc::EIO };
    let Some((original, _)) = saved.take() else { return 0 };
    ROOM.fetch_add(1, Ordering::AcqRel);
    let Ok(threads) = threads() else { return -libc::ENOENT };
    threads.iter().filter(|(tid, _)| set_affinity(*tid, &original)).count() as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The room is the process's: its tests take turns.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

    /// A job process, killed however the test ends.
    struct Job(std::process::Child);
    impl Drop for Job {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn own_affinity() -> libc::cpu_set_t {
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) }, 0);
        set
    }

    #[test]
    fn confines_by_one_cpu_and_gives_it_back() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let before = own_affinity();
        let cpus = unsafe { libc::CPU_COUNT(&before) };
        let made = roar_cpu_room_make(0, 0);
        if cpus < 2 {
            assert_eq!(made, 0);
            return;
        }
        assert!(made >= 1, "{made}");
        assert_eq!(unsafe { libc::CPU_COUNT(&own_affinity()) }, cpus - 1);
        // A thread started while confined is confined, and given the CPUs back with the rest.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (back_tx, back_rx) = std::sync::mpsc::channel::<i32>();
        let helper = std::thread::spawn(move || {
            back_tx.send(unsafe { libc::CPU_COUNT(&own_affinity()) }).unwrap();
            rx.recv().unwrap();
            back_tx.send(unsafe { libc::CPU_COUNT(&own_affinity()) }).unwrap();
        });
        assert_eq!(back_rx.recv().unwrap(), cpus - 1);
        assert_eq!(roar_cpu_room_make(0, 0), 0, "confined already");
        assert!(roar_cpu_room_end() >= 2);
        tx.send(()).unwrap();
        assert_eq!(back_rx.recv().unwrap(), cpus);
        helper.join().unwrap();
        assert_eq!(unsafe { libc::CPU_COUNT(&own_affinity()) }, cpus);
        assert_eq!(roar_cpu_room_end(), 0, "given back already");

        // Told the job's process, on a CPU roar's threads kept to: that CPU is the one left to it.
        assert!(roar_cpu_room_make(0, 0) >= 1);
        let confined = own_affinity();
        let job_cpu = (0..libc::CPU_SETSIZE as usize).find(|&c| unsafe { libc::CPU_ISSET(c, &confined) }).unwrap();
        let mut only: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(job_cpu, &mut only) };
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("5");
        // SAFETY: sched_setaffinity is async-signal-safe; `only` is copied into the closure.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &only);
                Ok(())
            });
        }
        let mut job = cmd.spawn().unwrap();
        let pid = job.id() as libc::pid_t;
        while last_cpu(pid) != Some(job_cpu) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(roar_cpu_room_make(0, pid) >= 1, "confined anew");
        let now = own_affinity();
        assert!(!unsafe { libc::CPU_ISSET(job_cpu, &now) }, "roar's threads keep off the job's CPU");
        assert_eq!(unsafe { libc::CPU_COUNT(&now) }, cpus - 1);
        assert_eq!(roar_cpu_room_make(0, pid), 0, "already left to it");
        assert!(roar_cpu_room_end() >= 1);
        assert_eq!(roar_cpu_room_make(0, pid), 0, "no room to move once it has ended");
        assert_eq!(unsafe { libc::CPU_COUNT(&own_affinity()) }, cpus);
        job.kill().unwrap();
        job.wait().unwrap();
    }

    fn room_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.starts_with(b"roar-room"))
            .count()
    }

    fn only(cpu: usize) -> libc::cpu_set_t {
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        unsafe { libc::CPU_SET(cpu, &mut set) };
        set
    }

    #[test]
    fn the_room_follows_the_job_to_another_cpu_until_it_ends() {
        let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let before = own_affinity();
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize).filter(|&c| unsafe { libc::CPU_ISSET(c, &before) }).collect();
        if cpus.len() < 2 {
            return;
        }
        let (first, second) = (cpus[0], cpus[1]);
        // A busy job on `first` (a sleeping one would not move when its CPUs change).
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "while :; do :; done"]);
        let on_first = only(first);
        // SAFETY: sched_setaffinity is async-signal-safe; the set is copied into the closure.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, move || {
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &on_first);
                Ok(())
            });
        }
        let job = Job(cmd.spawn().unwrap());
        let pid = job.0.id() as libc::pid_t;
        while last_cpu(pid) != Some(first) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(roar_cpu_room_make(1, 0) >= 1);
        roar_cpu_room_make(1, pid);
        let keeps_off = |cpu: usize| !unsafe { libc::CPU_ISSET(cpu, &own_affinity()) };
        assert!(keeps_off(first), "roar's threads keep off the job's CPU");
        // (A thread names itself once it runs.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while room_threads() == 0 {
            assert!(std::time::Instant::now() < deadline, "no follower");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        roar_cpu_room_make(1, pid);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(room_threads(), 1, "one follower, however often told the job");
        // The job moves (as the scheduler may move it): within milliseconds roar's threads keep off its new CPU.
        let on_second = only(second);
        assert_eq!(unsafe { libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &on_second) }, 0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !keeps_off(second) || keeps_off(first) {
            assert!(std::time::Instant::now() < deadline, "the room did not follow the job");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // The room over, the follower ends and leaves the CPUs as they were given back.
        assert!(roar_cpu_room_end() >= 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while room_threads() > 0 {
            assert!(std::time::Instant::now() < deadline, "the follower outlived its room");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(unsafe { libc::CPU_COUNT(&own_affinity()) }, cpus.len() as i32);
        drop(job);
    }
}
