//! Interruptions: Ctrl-C (SIGINT), SIGTERM, and the death of the process that started the
//! harness (`cargo test`, nextest). Each stops every live target at once; the trial that was
//! running ends saying it was interrupted, the trials after it do not run, the reports are
//! written, and the harness exits with 128 + the signal. A second signal, or a run that does
//! not wind down within [`FORCE_AFTER`], exits at once.
//!
//! The parent's death is delivered by `PR_SET_PDEATHSIG` (Linux). The kernel sends it when the
//! *thread* that started us ends, which need not be the parent process ending: a dedicated
//! signal is used and believed only when `getppid()` changed.

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR2};

/// The signal the kernel sends when our parent dies.
const PARENT_DIED: i32 = SIGUSR2;

/// How long a run may take to wind down after an interruption before it is cut short.
const FORCE_AFTER: Duration = Duration::from_secs(15);

/// The signal that interrupted the run, 0 while none did ([`PARENT_DIED`] for the parent).
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// The pid of the process that started the harness.
static PARENT: AtomicI32 = AtomicI32::new(0);

/// Installs the handler once; later calls do nothing.
pub(super) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, PARENT_DIED])
        else {
            say("perfspec: warning: cannot install signal handlers; an interrupted run may leave targets running until their keepers notice");
            return;
        };
        let spawned = std::thread::Builder::new()
            .name("perfspec-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if signal == PARENT_DIED && parent_alive() {
                        continue;
                    }
                    if INTERRUPTED.swap(signal, Ordering::SeqCst) != 0 {
                        say("\nperfspec: interrupted again: killing targets and exiting now");
                        exit_now(signal, Some(Duration::ZERO));
                    }
                    say(&format!(
                        "\nperfspec: {}: stopping targets (interrupt again to exit at once)",
                        describe(signal)
                    ));
                    crate::target::stop_all(None);
                    // The trials and reports wind down by themselves; this bounds how long.
                    let _ = std::thread::Builder::new()
                        .name("perfspec-exit".into())
                        .spawn(move || {
                            std::thread::sleep(FORCE_AFTER);
                            say("perfspec: the run did not wind down: exiting now");
                            exit_now(signal, None);
                        });
                }
            });
        if spawned.is_err() {
            say("perfspec: warning: cannot start the signal thread");
            return;
        }
        watch_parent();
    });
}

/// Asks the kernel to signal us when our parent dies, and checks it did not already.
fn watch_parent() {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    PARENT.store(parent, Ordering::SeqCst);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number; raise sends ourselves one.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, PARENT_DIED, 0, 0, 0);
        // The parent may have died before prctl: then no signal will come.
        if libc::getppid() != parent {
            libc::raise(PARENT_DIED);
        }
    }
}

fn parent_alive() -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() == PARENT.load(Ordering::SeqCst) }
}

/// What interrupted the run, for messages: `interrupted by Ctrl-C (SIGINT)`.
fn describe(signal: i32) -> String {
    match signal {
        SIGINT => "interrupted by Ctrl-C (SIGINT)".into(),
        SIGTERM => "interrupted by SIGTERM".into(),
        PARENT_DIED => format!(
            "interrupted: the process that started the tests (pid {}) is gone",
            PARENT.load(Ordering::SeqCst)
        ),
        other => format!("interrupted by signal {other}"),
    }
}

/// Why the run was interrupted, while it is: `interrupted by Ctrl-C (SIGINT)`.
pub(super) fn interrupted() -> Option<String> {
    match INTERRUPTED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(describe(signal)),
    }
}

/// Exits as the signal handler would if the run was interrupted (after making sure every
/// target is gone); returns otherwise.
pub(super) fn exit_if_interrupted() {
    let signal = INTERRUPTED.load(Ordering::SeqCst);
    if signal != 0 {
        exit_now(signal, None);
    }
}

fn exit_now(signal: i32, grace: Option<Duration>) -> ! {
    crate::target::stop_all(grace);
    // A dead parent is a hangup: 128 + SIGHUP.
    let code = if signal == PARENT_DIED {
        libc::SIGHUP
    } else {
        signal
    };
    std::process::exit(128 + code)
}

/// Writes to stderr without panicking: it may be a pipe nobody reads any more.
fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
