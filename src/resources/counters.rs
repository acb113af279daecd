//! Instructions retired by the target's threads, from the CPU's hardware counters through
//! `perf_event_open(2)`: a cost per request that the machine's noise barely moves (the same
//! work retires the same instructions however busy the machine is).
//!
//! One counter per thread of the target's tree (user space only, which an unprivileged user
//! may count under the default `perf_event_paranoid = 2`), opened when the thread is first
//! seen; a thread that exits keeps its final count. Where the kernel or the VM offers no
//! hardware counter (`perf stat -e instructions true` says `<not supported>`), the first open
//! fails: one warning line, and `sut.instructions-per-request` is not measurable.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Once;

use super::{Quantity, Readings, Sampler};

/// Opens an instructions counter on one thread: the real one is [`open_instructions`]; tests
/// pass one that fails to check the fallback.
pub type Open = fn(tid: u32) -> Result<OwnedFd, String>;

/// `struct perf_event_attr` up to `config1` (`PERF_ATTR_SIZE_VER0`, 64 bytes): every kernel
/// that has perf events accepts it.
#[repr(C)]
struct Attr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
/// `exclude_kernel` and `exclude_hv` (bits 5 and 6 of the flags).
const USER_ONLY: u64 = (1 << 5) | (1 << 6);
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// Opens a counter of user-space instructions retired by thread `tid`, on any CPU.
pub fn open_instructions(tid: u32) -> Result<OwnedFd, String> {
    let attr = Attr {
        kind: PERF_TYPE_HARDWARE,
        size: std::mem::size_of::<Attr>() as u32,
        config: PERF_COUNT_HW_INSTRUCTIONS,
        sample_period: 0,
        sample_type: 0,
        read_format: 0,
        flags: USER_ONLY,
        wakeup_events: 0,
        bp_type: 0,
        config1: 0,
    };
    let tid = i32::try_from(tid).map_err(|_| format!("thread id {tid} out of range"))?;
    // SAFETY: the attribute struct outlives the call; the kernel reads `size` bytes of it.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const Attr,
            tid,
            -1i32,
            -1i32,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        let hint = match e.raw_os_error() {
            Some(libc::ENOENT | libc::EOPNOTSUPP | libc::ENODEV) => {
                ": this CPU or VM exposes no hardware instruction counter"
            }
            Some(libc::EACCES | libc::EPERM) => {
                ": not allowed (see /proc/sys/kernel/perf_event_paranoid)"
            }
            _ => "",
        };
        return Err(format!("perf_event_open: {e}{hint}"));
    }
    // SAFETY: the syscall returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn read_count(fd: &OwnedFd) -> Option<u64> {
    let mut value: u64 = 0;
    // SAFETY: reads 8 bytes into a u64 we own.
    let n = unsafe {
        libc::read(
            fd.as_raw_fd(),
            (&mut value as *mut u64).cast(),
            std::mem::size_of::<u64>(),
        )
    };
    (n == 8).then_some(value)
}

/// The threads of process `pid` (`/proc/PID/task`).
fn threads(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Counts the instructions of the target's threads (entity `sut`).
pub struct Instructions {
    open: Open,
    counters: BTreeMap<u32, (OwnedFd, u64)>,
    /// Why counting is impossible here, once the first open failed.
    unavailable: Option<String>,
}

impl Instructions {
    /// A sampler that opens counters with `open`.
    pub fn new(open: Open) -> Instructions {
        Instructions {
            open,
            counters: BTreeMap::new(),
            unavailable: None,
        }
    }

    /// Why instructions could not be counted, if they could not.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }
}

impl Sampler for Instructions {
    fn sample(&mut self, out: &mut Readings) {
        if self.unavailable.is_some() {
            return;
        }
        let pids: Vec<u32> = out.sut_pids().to_vec();
        for tid in pids.into_iter().flat_map(threads) {
            if self.counters.contains_key(&tid) {
                continue;
            }
            match (self.open)(tid) {
                Ok(fd) => {
                    self.counters.insert(tid, (fd, 0));
                }
                // A thread that exited between the listing and the open: nothing to count.
                Err(_) if !self.counters.is_empty() => {}
                Err(why) => {
                    warn_once(&why);
                    self.unavailable = Some(why);
                    return;
                }
            }
        }
        if self.counters.is_empty() {
            return;
        }
        for (fd, last) in self.counters.values_mut() {
            if let Some(v) = read_count(fd) {
                *last = v;
            }
        }
        let total: u64 = self.counters.values().map(|(_, v)| *v).sum();
        out.push("sut", Quantity::Instructions, total as f64);
    }
}

/// The run's one line about counters that cannot be read.
fn warn_once(why: &str) {
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        eprintln!(
            "perfspec: instructions cannot be counted here ({why}): sut.instructions-per-request is not measurable"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refuse(_: u32) -> Result<OwnedFd, String> {
        Err("perf_event_open: No such file or directory: this CPU or VM exposes no hardware instruction counter".into())
    }

    #[test]
    fn without_counters_nothing_is_reported_and_the_reason_is_kept() {
        let mut s = Instructions::new(refuse);
        let mut out = Readings::default();
        out.set_sut_pids([std::process::id()]);
        s.sample(&mut out);
        s.sample(&mut out);
        assert_eq!(out.values().count(), 0, "no made-up zero");
        assert!(
            s.unavailable()
                .unwrap()
                .contains("no hardware instruction counter")
        );
    }

    /// On a machine with a PMU the counter counts a busy loop; where there is none (this
    /// development VM) the error says why. Either way the real path runs.
    #[test]
    fn counts_a_busy_thread_or_says_why_not() {
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        match open_instructions(tid) {
            Ok(fd) => {
                let mut x = 1u64;
                for i in 0..1_000_000u64 {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                assert!(read_count(&fd).is_some_and(|n| n > 1_000_000), "{x}");
            }
            Err(why) => assert!(why.starts_with("perf_event_open: "), "{why}"),
        }
    }
}
