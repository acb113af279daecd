//! Ctrl-C and SIGTERM: tear every live target down before the harness exits, so an
//! interrupted run leaves no process behind, and exit with 128 + the signal.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// The signal that interrupted the run, 0 while none did.
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// Installs the handler once; later calls do nothing.
pub(super) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]);
        let Ok(mut signals) = signals else {
            eprintln!("perfspec: warning: cannot install signal handlers; an interrupted run may leave targets running");
            return;
        };
        std::thread::Builder::new()
            .name("perfspec-signals".into())
            .spawn(move || {
                if let Some(signal) = signals.forever().next() {
                    // First, so a trial failing because its target was stopped cannot make
                    // the run exit as if it had simply failed.
                    INTERRUPTED.store(signal, Ordering::SeqCst);
                    eprintln!("\nperfspec: interrupted (signal {signal}): stopping targets");
                    crate::target::kill_all_groups(Duration::from_secs(2));
                    std::process::exit(128 + signal);
                }
            })
            .ok();
    });
}

/// Exits as the signal handler would if the run was interrupted (after making sure every
/// target is gone); returns otherwise.
pub(super) fn exit_if_interrupted() {
    let signal = INTERRUPTED.load(Ordering::SeqCst);
    if signal != 0 {
        crate::target::kill_all_groups(Duration::from_secs(2));
        std::process::exit(128 + signal);
    }
}
