//! The live progress line while a scenario runs: elapsed time, request rate, p95 of the last
//! seconds, errors. Only on a terminal; nothing at all when stderr is a file or a pipe (CI,
//! nextest, `2>log`).
//!
//! libtest prints `test search::steady ... ` and, once the trial ends, `ok` on the same line.
//! So the progress text is written after whatever the line already holds, and the cursor is
//! moved back to where it was (instead of `\r`, which would wipe libtest's text): each update
//! erases to the end of the line and writes again, and the end erases it, leaving the line
//! as libtest left it.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::units::{fmt_count, fmt_percent, fmt_rate, fmt_us};

/// What the line shows, read from the recorder about once a second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Since load started.
    pub elapsed: Duration,
    /// The warm-up.
    pub warmup: Duration,
    /// The measured time after the warm-up.
    pub duration: Duration,
    /// Requests (successful and failed) started in the latest complete second.
    pub rate: Option<f64>,
    /// p95 response time of the latest complete seconds, µs.
    pub p95_us: Option<f64>,
    /// Completed requests since the warm-up ended.
    pub requests: u64,
    /// Failed requests since the warm-up ended.
    pub errors: u64,
    /// Dropped arrivals since the warm-up ended (open model).
    pub dropped: u64,
}

/// The text of the line: `warm-up 1s/2s  812/s  p95 3.4 ms  0 errors` or, once measuring,
/// `12s/20s  1,234/s  p95 3.4 ms  3 errors (0.12%)`; `label` goes first when given.
pub fn line(label: Option<&str>, s: &Snapshot) -> String {
    let secs = |d: Duration| d.as_secs();
    let mut out = String::new();
    if let Some(l) = label {
        out.push_str(l);
        out.push_str("  ");
    }
    if s.elapsed < s.warmup {
        out.push_str(&format!(
            "warm-up {}s/{}s",
            secs(s.elapsed),
            secs(s.warmup).max(1)
        ));
    } else {
        let measured = (s.elapsed - s.warmup).min(s.duration);
        out.push_str(&format!("{}s/{}s", secs(measured), secs(s.duration).max(1)));
    }
    out.push_str(&format!(
        "  {}",
        s.rate.map_or_else(|| "-/s".to_string(), fmt_rate)
    ));
    out.push_str(&format!(
        "  p95 {}",
        s.p95_us.map_or_else(|| "-".to_string(), fmt_us)
    ));
    match s.errors {
        0 => out.push_str("  0 errors"),
        n => out.push_str(&format!(
            "  {} error{} ({})",
            fmt_count(n as f64),
            if n == 1 { "" } else { "s" },
            fmt_percent(n as f64 / s.requests.max(n) as f64)
        )),
    }
    if s.dropped > 0 {
        out.push_str(&format!("  {} dropped", fmt_count(s.dropped as f64)));
    }
    out
}

/// Where and how wide the line may be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Whether to start with the trial's name (when libtest's own `test NAME ...` is not on
    /// the same terminal line: stdout redirected).
    pub label: bool,
    /// Columns the text may take before it would wrap.
    pub width: usize,
}

impl Layout {
    /// The layout on this terminal, or `None` when stderr is not one. `longest_name` is the
    /// longest test name of the run: libtest pads names to it before ` ... `.
    pub fn detect(longest_name: usize) -> Option<Layout> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let beside_libtest = std::io::stdout().is_terminal();
        let start = if beside_libtest {
            "test ".len() + longest_name + " ... ".len()
        } else {
            0
        };
        Some(Layout {
            label: !beside_libtest,
            width: terminal_columns().saturating_sub(start + 1),
        })
    }
}

/// A progress line being shown; clears itself when dropped.
pub struct Progress {
    label: Option<String>,
    width: usize,
    out: Box<dyn Write + Send>,
    shown: bool,
}

impl Progress {
    /// A line on stderr, or `None` when stderr is not a terminal.
    pub fn stderr(name: &str, layout: Layout) -> Option<Progress> {
        Progress::new(
            std::io::stderr().is_terminal(),
            Box::new(std::io::stderr()),
            name,
            layout,
        )
    }

    /// A line written to `out`, or `None` (and nothing ever written) when `out` is not a
    /// terminal.
    pub fn new(
        terminal: bool,
        out: Box<dyn Write + Send>,
        name: &str,
        layout: Layout,
    ) -> Option<Progress> {
        (terminal && layout.width >= 20).then(|| Progress {
            label: layout.label.then(|| name.to_string()),
            width: layout.width,
            out,
            shown: false,
        })
    }

    /// Replaces the line with `s`.
    pub fn show(&mut self, s: &Snapshot) {
        let text: String = line(self.label.as_deref(), s)
            .chars()
            .take(self.width)
            .collect();
        let text = text.trim_end();
        let n = text.chars().count();
        // Erase to the end of the line, write, move the cursor back to where it was.
        let _ = write!(self.out, "\x1b[K{text}");
        if n > 0 {
            let _ = write!(self.out, "\x1b[{n}D");
        }
        let _ = self.out.flush();
        self.shown = true;
    }

    /// Erases the line (also done on drop).
    pub fn clear(&mut self) {
        if std::mem::take(&mut self.shown) {
            let _ = write!(self.out, "\x1b[K");
            let _ = self.out.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Columns of the terminal on stderr: the kernel's window size, else `$COLUMNS`, else 80.
fn terminal_columns() -> usize {
    #[cfg(unix)]
    {
        // SAFETY: TIOCGWINSZ writes a `winsize` into the pointer it is given, nothing else.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
        if ok && ws.ws_col > 0 {
            return usize::from(ws.ws_col);
        }
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn snapshot(elapsed_ms: u64) -> Snapshot {
        Snapshot {
            elapsed: Duration::from_millis(elapsed_ms),
            warmup: Duration::from_secs(2),
            duration: Duration::from_secs(20),
            rate: Some(1234.4),
            p95_us: Some(3_420.0),
            requests: 2_500,
            errors: 3,
            dropped: 0,
        }
    }

    const LAYOUT: Layout = Layout {
        label: false,
        width: 100,
    };

    #[test]
    fn the_line_says_phase_rate_p95_and_errors() {
        assert_eq!(
            line(None, &snapshot(1_500)),
            "warm-up 1s/2s  1,234/s  p95 3.4 ms  3 errors (0.12%)"
        );
        assert_eq!(
            line(Some("search::steady"), &snapshot(14_200)),
            "search::steady  12s/20s  1,234/s  p95 3.4 ms  3 errors (0.12%)"
        );
        let quiet = Snapshot {
            elapsed: Duration::from_secs(40),
            rate: None,
            p95_us: None,
            errors: 0,
            dropped: 7,
            ..snapshot(0)
        };
        assert_eq!(
            line(None, &quiet),
            "20s/20s  -/s  p95 -  0 errors  7 dropped"
        );
    }

    #[test]
    fn updates_in_place_and_clears_at_the_end() {
        let sink = Sink::default();
        let mut p = Progress::new(true, Box::new(sink.clone()), "a::b", LAYOUT).unwrap();
        p.show(&snapshot(500));
        drop(p);
        let text = sink.text();
        let shown = line(None, &snapshot(500));
        assert_eq!(
            text,
            format!("\x1b[K{shown}\x1b[{}D\x1b[K", shown.chars().count())
        );
        assert!(!text.contains('\n'), "never a new line");
    }

    #[test]
    fn long_lines_are_cut_to_the_width() {
        let sink = Sink::default();
        let layout = Layout {
            label: true,
            width: 24,
        };
        let mut p = Progress::new(true, Box::new(sink.clone()), "a::b", layout).unwrap();
        p.show(&snapshot(14_000));
        assert!(
            sink.text()
                .starts_with("\x1b[Ka::b  12s/20s  1,234/s\x1b[22D"),
            "{:?}",
            sink.text()
        );
    }

    #[test]
    fn nothing_is_written_when_not_a_terminal() {
        let sink = Sink::default();
        assert!(Progress::new(false, Box::new(sink.clone()), "a::b", LAYOUT).is_none());
        assert_eq!(sink.text(), "");
    }
}
