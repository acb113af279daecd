//! Ctrl-C and SIGTERM: tear every live target down before the harness exits, so an
//! interrupted run leaves no process behind.

use std::sync::Once;
use std::time::Duration;

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
                    eprintln!("\nperfspec: interrupted (signal {signal}): stopping targets");
                    crate::target::kill_all_groups(Duration::from_secs(2));
                    std::process::exit(128 + signal);
                }
            })
            .ok();
    });
}
