//! The Markdown summary of a run (`target/perfspec/summary.md`): what a GitHub step summary
//! and a pull-request comment show. A table of scenarios with their key figures and the
//! change against the baseline, then, for each scenario that did not pass, the checks that
//! did not hold and why, with the full console table folded away.
//!
//! The first line is a hidden marker ([`MARKER`]) so a workflow can find its own comment and
//! update it instead of adding a new one.

use std::fmt::Write;

use super::{BaselineView, Figures, RunReport, TrialReport, console};
use crate::assertion::Outcome;
use crate::gate::Decision;
use crate::units::{fmt_percent, fmt_rate, fmt_us};

/// The first line of every summary, hidden when rendered.
pub const MARKER: &str = "<!-- perfspec-summary -->";

/// GitHub refuses comments over 65,536 characters: past this the folded tables are left out,
/// and past it again whole scenario sections (the table of scenarios stays).
const MAX_CHARS: usize = 60_000;

/// An error block (a spec that cannot run, a trial that could not measure) is cut here; the
/// whole text is in `junit.xml`.
const MAX_BLOCK_CHARS: usize = 4_000;

/// Renders the summary; `html` is where the full report is, relative to the artifact folder
/// (the summary is read in a PR comment, where a runner's path means nothing), for the last
/// line. Never longer than [`MAX_CHARS`] characters.
pub fn render(run: &RunReport, html: Option<&str>) -> String {
    let full = render_with(run, html, true);
    if full.chars() <= MAX_CHARS {
        return full.concat();
    }
    let folded = render_with(run, html, false);
    if folded.chars() <= MAX_CHARS {
        return folded.concat();
    }
    folded.fit(MAX_CHARS)
}

/// A summary in parts, so that it can be cut to fit.
struct Parts {
    head: String,
    sections: Vec<String>,
    foot: String,
}

impl Parts {
    fn chars(&self) -> usize {
        let sections: usize = self.sections.iter().map(|s| s.chars().count()).sum();
        self.head.chars().count() + sections + self.foot.chars().count()
    }

    fn concat(self) -> String {
        let mut out = self.head;
        for s in &self.sections {
            out.push_str(s);
        }
        out.push_str(&self.foot);
        out
    }

    /// Keeps whole sections, in order, while they fit in `max` characters with a note saying
    /// how many were left out and where they are.
    fn fit(self, max: usize) -> String {
        const NOTE: &str = "\n_{} more scenario sections left out: the summary would be too long for a comment; every scenario is in `report.html` and `junit.xml` in the artifact._\n";
        const TABLE_NOTE: &str = "\n_{} more rows of the table left out: the summary would be too long for a comment; every scenario is in `report.html` and `junit.xml` in the artifact._\n";
        let foot = self.foot.chars().count();
        let head_room = max.saturating_sub(foot + TABLE_NOTE.len() + 8);
        let mut out = if self.head.chars().count() <= head_room {
            self.head
        } else {
            // A table of scenarios too long by itself: whole rows, then a note.
            let mut kept = String::new();
            let mut used = 0;
            let mut left_out = 0;
            for line in self.head.split_inclusive('\n') {
                let n = line.chars().count();
                if left_out == 0 && used + n <= head_room {
                    kept.push_str(line);
                    used += n;
                } else {
                    left_out += 1;
                }
            }
            kept.push_str(&TABLE_NOTE.replace("{}", &left_out.to_string()));
            kept.push_str(&self.foot);
            return kept;
        };
        let room = max.saturating_sub(out.chars().count() + foot + NOTE.len() + 8);
        let mut used = 0;
        let mut left_out = 0;
        for s in &self.sections {
            let n = s.chars().count();
            if left_out == 0 && used + n <= room {
                out.push_str(s);
                used += n;
            } else {
                left_out += 1;
            }
        }
        if left_out > 0 {
            out.push_str(&NOTE.replace("{}", &left_out.to_string()));
        }
        out.push_str(&self.foot);
        out
    }
}

fn render_with(run: &RunReport, html: Option<&str>, details: bool) -> Parts {
    let mut head = String::new();
    let _ = writeln!(head, "{MARKER}");
    let icon = if run.passed() { "✅" } else { "❌" };
    let _ = writeln!(head, "### {icon} perfspec: {}\n", run.headline());
    head.push_str(&table(run));
    let mut sections = Vec::new();
    for t in run.trials.iter().filter(|t| t.status_name() != "pass") {
        sections.push(format!("\n{}", trial(t, details)));
    }
    for b in &run.broken {
        sections.push(format!(
            "\n#### {} `{}`: the spec cannot run\n\n{}",
            symbol("error"),
            b.name,
            fenced(&capped(&b.error))
        ));
    }
    let mut foot = String::new();
    if !details {
        foot.push_str("\n_Full tables left out: the summary would be too long for a comment._\n");
    }
    let _ = write!(
        foot,
        "\n<sub>perfspec {} · run started {}",
        env!("CARGO_PKG_VERSION"),
        super::rfc3339(run.started_at)
    );
    if let Some(html) = html {
        let _ = write!(foot, " · charts: `{html}` in the artifact");
    }
    foot.push_str("</sub>\n");
    Parts {
        head,
        sections,
        foot,
    }
}

/// `text` cut to [`MAX_BLOCK_CHARS`] at a line end where there is one, with a note saying how
/// much was cut and where the whole text is.
fn capped(text: &str) -> String {
    let total = text.chars().count();
    if total <= MAX_BLOCK_CHARS {
        return text.to_string();
    }
    let cut = text
        .char_indices()
        .nth(MAX_BLOCK_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let kept = match text[..cut].rfind('\n') {
        Some(line_end) if line_end > cut / 2 => &text[..line_end],
        _ => &text[..cut],
    };
    format!(
        "{kept}\n… {} more characters: the whole text is in `junit.xml` in the artifact",
        total - kept.chars().count()
    )
}

/// The status symbol: ✅ pass, ❌ fail, ⚠️ inconclusive, 💥 could not measure.
pub fn symbol(status: &str) -> &'static str {
    match status {
        "pass" => "✅",
        "fail" => "❌",
        "inconclusive" => "⚠️",
        _ => "💥",
    }
}

fn table(run: &RunReport) -> String {
    let mut out = String::from(
        "| | scenario | p50 | p95 | p99 | throughput | errors | vs baseline |\n\
         |:-:|:--|--:|--:|--:|--:|--:|:--|\n",
    );
    for t in &run.trials {
        let status = t.status_name();
        let cells = match t.measured() {
            Some(m) => {
                let f = Figures::of(m);
                let us = |v: Option<f64>| v.map_or("—".into(), fmt_us);
                [
                    us(f.p50),
                    us(f.p95),
                    us(f.p99),
                    fmt_rate(f.throughput),
                    fmt_percent(f.error_rate),
                ]
            }
            None => ["—", "—", "—", "—", "—"].map(String::from),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} |",
            symbol(status),
            t.name(),
            cells.join(" | "),
            changes(t.baseline.as_ref())
        );
    }
    for b in &run.broken {
        let _ = writeln!(
            out,
            "| {} | `{}` | — | — | — | — | — | — |",
            symbol("error"),
            b.name
        );
    }
    out
}

/// `p95 ↑12.0% 🔴 · throughput ↓1.0%`; `—` without a baseline.
fn changes(b: Option<&BaselineView>) -> String {
    let Some(b) = b.filter(|b| !b.changes.is_empty()) else {
        return "—".into();
    };
    b.changes
        .iter()
        .map(|c| match c.decision() {
            Some(Decision::Regressed) => format!("**{}** 🔴", c.short()),
            Some(Decision::Improved) => format!("{} 🟢", c.short()),
            Some(Decision::Inconclusive) => format!("{} ⚠️", c.short()),
            _ => c.text(),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn trial(t: &TrialReport, details: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#### {} `{}` {}\n\n{}\n",
        symbol(t.status_name()),
        t.name(),
        t.label(),
        super::describe_load(&t.scenario)
    );
    match t.measured() {
        None => {
            let reason = t.outcome.as_ref().err().map_or("", String::as_str);
            let _ = write!(out, "Could not measure:\n\n{}", fenced(&capped(reason)));
            // The table would only repeat the reason.
            return out;
        }
        Some(m) => {
            for p in m.verdict.problems() {
                let first = p.lines().next().unwrap_or_default();
                let _ = writeln!(out, "- ❌ problem: {}", cell(first));
            }
            for d in m.verdict.doubts() {
                let _ = writeln!(out, "- ⚠️ inconclusive: {}", cell(&d.reason));
            }
            if !m.verdict.problems().is_empty() || !m.verdict.doubts().is_empty() {
                out.push('\n');
            }
            let mut gate_lines = Vec::new();
            if let Some(g) = m.verdict.gate() {
                for c in g.changes() {
                    if let Some(t) = c.undecided_text() {
                        gate_lines.push(format!("- ⚠️ {}", cell(&t)));
                    } else if c.decision() == Some(Decision::Regressed) {
                        let interval = c
                            .compared
                            .as_ref()
                            .map_or(String::new(), |cmp| cmp.interval_text());
                        gate_lines.push(format!(
                            "- 🔴 {} (95% interval {})",
                            cell(&c.short()),
                            cell(&interval)
                        ));
                    }
                }
            }
            if !gate_lines.is_empty() {
                let _ = writeln!(
                    out,
                    "{}
",
                    gate_lines.join("\n")
                );
            }
            let missed: Vec<_> = m
                .verdict
                .checks()
                .iter()
                .filter(|c| c.outcome != Outcome::Pass)
                .collect();
            if !missed.is_empty() {
                out.push_str("| check | observed | limit | result |\n|:--|--:|--:|:--|\n");
                for c in missed {
                    let unit = c.unit();
                    let result = match &c.outcome {
                        Outcome::Fail => "❌ FAIL".to_string(),
                        Outcome::Inconclusive(why) => format!("⚠️ undecided: {}", cell(why)),
                        Outcome::NotMeasurable(why) => format!("N/A: {}", cell(why)),
                        Outcome::Pass => String::new(),
                    };
                    let _ = writeln!(
                        out,
                        "| `{}` | {} | {} {} | {result} |",
                        cell(&c.assertion.text),
                        c.observed.map_or("—".into(), |v| unit.format(v)),
                        cell(c.assertion.op.symbol()),
                        unit.format(c.assertion.limit),
                    );
                }
            }
        }
    }
    if details {
        let _ = write!(
            out,
            "\n<details><summary>Full table</summary>\n\n{}\n</details>\n",
            fenced(&console::trial_table(t))
        );
    }
    out
}

/// Text safe inside a table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// A fenced code block longer than any backtick run inside `text`.
fn fenced(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}\n", text.trim_end())
}

#[cfg(test)]
mod tests {
    #[test]
    fn fences_outlast_backticks_inside() {
        assert_eq!(super::fenced("a ``` b"), "````text\na ``` b\n````\n");
        assert_eq!(super::cell("a | b\nc"), "a \\| b c");
    }
}
