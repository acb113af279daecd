//! The HTML report of a run (`target/perfspec/report.html`): one self-contained page (inline
//! CSS and SVG, no script, nothing fetched: its Content-Security-Policy forbids it) with the
//! verdict of the run, an overview table, and per scenario its problems, its checks, its
//! charts and its per-request statistics.
//!
//! Layout lives here; `figures` decides what each chart shows and `chart` draws SVG.

mod axis;
mod chart;
mod connection;
mod figures;
mod gate;
mod stress;

use std::fmt::Write;

use super::escape::xml;
use super::{Figures, Measured, RunReport, TrialReport, console, describe_load, rfc3339};
use crate::assertion::{Check, Outcome, Stat};
use crate::gate::Decision;
use crate::measure::{Channel, RequestStats, stat_of};
use crate::units::{fmt_count, fmt_percent, fmt_rate, fmt_us};

const STYLE: &str = include_str!("style.css");

/// Renders the page.
pub fn render(run: &RunReport) -> String {
    let mut out = String::new();
    let title = format!("perfspec: {}", run.headline());
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<main>\n",
        xml(&title)
    );
    out.push_str(&header(run));
    out.push_str(&overview(run));
    for t in &run.trials {
        out.push_str(&trial(t));
    }
    for b in &run.broken {
        let _ = writeln!(
            out,
            "<div class=\"card\"><section class=\"trial error\" id=\"{}\"><h2><span class=\"pill error\">ERROR</span> {}</h2>\
             <p class=\"sub\">this spec cannot run</p><pre class=\"error\">{}</pre></section></div>",
            anchor(&b.name),
            xml(&b.name),
            xml(&b.error)
        );
    }
    let _ = write!(
        out,
        "<footer>perfspec {} · {} · a self-contained page: share it as one file</footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        xml(&rfc3339(run.started_at))
    );
    out
}

fn anchor(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("t-{slug}")
}

fn pill(status: &str, label: &str) -> String {
    format!("<span class=\"pill {status}\">{label}</span>")
}

fn header(run: &RunReport) -> String {
    let ok = run.passed();
    format!(
        "<header class=\"run{}\"><div><h1>perfspec report</h1><div class=\"meta\">run started {} · perfspec {}</div></div>\
         <div class=\"verdict\">{} {}</div></header>\n",
        if ok { "" } else { " bad" },
        xml(&rfc3339(run.started_at)),
        env!("CARGO_PKG_VERSION"),
        if ok {
            pill("pass", "PASS")
        } else {
            pill("fail", "FAIL")
        },
        xml(&run.headline())
    )
}

fn overview(run: &RunReport) -> String {
    let mut out = String::from(
        "<div class=\"card\"><table class=\"overview\"><thead><tr><th></th><th>scenario</th>\
         <th class=\"num\">requests</th><th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th>\
         <th class=\"num\">throughput</th><th class=\"num\">errors</th><th class=\"num\">checks</th><th>vs baseline</th></tr></thead><tbody>\n",
    );
    for t in &run.trials {
        let status = t.status_name();
        let figures = t.measured().map(Figures::of);
        let us = |v: Option<f64>| v.map_or("—".into(), fmt_us);
        let cells = match &figures {
            Some(f) => [
                fmt_count(f.requests as f64),
                us(f.p50),
                us(f.p95),
                us(f.p99),
                fmt_rate(f.throughput),
                fmt_percent(f.error_rate),
                format!("{}/{}", f.passed, f.checks),
            ],
            None => ["—", "—", "—", "—", "—", "—", "—"].map(String::from),
        };
        let _ = write!(
            out,
            "<tr class=\"{status}\"><td>{}</td><td class=\"scn\"><a href=\"#{}\">{}</a><div class=\"load\">{}</div></td>",
            pill(status, t.label()),
            anchor(&t.name()),
            xml(&t.name()),
            xml(&describe_load(&t.scenario))
        );
        for c in cells {
            let _ = write!(out, "<td class=\"num\">{}</td>", xml(&c));
        }
        let _ = writeln!(out, "<td>{}</td></tr>", changes(t));
    }
    for b in &run.broken {
        let _ = writeln!(
            out,
            "<tr class=\"error\"><td>{}</td><td class=\"scn\"><a href=\"#{}\">{}</a><div class=\"load\">spec error</div></td>{}<td>—</td></tr>",
            pill("error", "ERROR"),
            anchor(&b.name),
            xml(&b.name),
            "<td class=\"num\">—</td>".repeat(7)
        );
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn changes(t: &TrialReport) -> String {
    let Some(b) = t.baseline.as_ref().filter(|b| !b.changes.is_empty()) else {
        return "—".into();
    };
    b.changes
        .iter()
        .map(|c| {
            let class = match c.decision() {
                Some(Decision::Regressed) => "up",
                Some(Decision::Improved) => "down",
                Some(Decision::Inconclusive) => "undecided",
                _ => "same",
            };
            format!("<span class=\"{class}\">{}</span>", xml(&c.short()))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

fn trial(t: &TrialReport) -> String {
    let status = t.status_name();
    let mut out = format!(
        "<div class=\"card\"><section class=\"trial {status}\" id=\"{}\">\n<h2>{} {}</h2>\n",
        anchor(&t.name()),
        pill(status, t.label()),
        xml(&t.name())
    );
    let mut sub = describe_load(&t.scenario);
    if let Some(m) = t.measured() {
        sub.push_str(&format!(" · started {}", rfc3339(m.measurement.started_at)));
    }
    sub.push_str(&format!(" · {}", t.spec_file));
    if let Some(b) = &t.baseline {
        sub.push_str(&format!(" · baseline {}", b.label));
    }
    let _ = writeln!(out, "<p class=\"sub\">{}</p>", xml(&sub));
    match t.measured() {
        None => {
            let reason = t.outcome.as_ref().err().map_or("", String::as_str);
            let _ = writeln!(
                out,
                "<pre class=\"error\">could not measure: {}</pre>",
                xml(reason)
            );
        }
        Some(m) => out.push_str(&measured(m, t)),
    }
    if let Some(log) = &t.log {
        let _ = writeln!(
            out,
            "<p class=\"gen\">target log: <code>{}</code></p>",
            xml(log)
        );
    }
    out.push_str("</section></div>\n");
    out
}

fn measured(m: &Measured, t: &TrialReport) -> String {
    let mut out = String::new();
    for p in m.verdict.problems() {
        let (first, rest) = p.split_once('\n').unwrap_or((p, ""));
        let _ = write!(
            out,
            "<div class=\"callout problem\"><b>problem:</b> {}",
            xml(first)
        );
        if !rest.is_empty() {
            let _ = write!(out, "<pre>{}</pre>", xml(rest));
        }
        out.push_str("</div>\n");
    }
    for d in m.verdict.doubts() {
        let _ = writeln!(
            out,
            "<div class=\"callout doubt\"><b>inconclusive:</b> {}</div>",
            xml(&d.reason)
        );
    }
    let (distribution, over_time) = figures::charts(m, t);
    // The checks beside the distribution that marks their limits; then time, side by side.
    out.push_str("<div class=\"top\">\n<div>");
    if m.verdict.checks().is_empty() {
        out.push_str("<h3>Checks</h3><p class=\"gen\">no assertions in this scenario</p>");
    } else {
        out.push_str("<h3>Checks</h3>\n");
        out.push_str(&checks(m.verdict.checks()));
    }
    if let Some(g) = m.verdict.gate() {
        out.push_str(&gate::table(g));
    }
    out.push_str("</div>\n");
    out.push_str(&chart::figure(&distribution));
    out.push_str("</div>\n<div class=\"charts\">\n");
    for c in &over_time {
        out.push_str(&chart::figure(c));
    }
    out.push_str("</div>\n<h3>Requests</h3>\n");
    out.push_str(&requests(m));
    out.push_str(&connection::table(&m.measurement));
    let _ = writeln!(
        out,
        "<p class=\"gen\">generator: {}</p>",
        xml(&console::generator_line(&m.measurement))
    );
    if m.measurement.interrupted > 0 {
        let _ = writeln!(
            out,
            "<p class=\"gen\">{} request(s) still in flight at the end of the graceful stop were interrupted (not counted)</p>",
            m.measurement.interrupted
        );
    }
    out
}

fn checks(checks: &[Check]) -> String {
    let mut out = String::from(
        "<table class=\"checks\"><thead><tr><th>check</th><th class=\"num\">observed</th><th class=\"num\">limit</th>\
         <th class=\"num\">margin</th><th>result</th></tr></thead><tbody>\n",
    );
    for c in checks {
        let unit = c.unit();
        let class = match c.outcome {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Inconclusive(_) => "inconclusive",
            Outcome::NotMeasurable(_) => "na",
        };
        let why = match &c.outcome {
            Outcome::Inconclusive(w) | Outcome::NotMeasurable(w) => Some(w.as_str()),
            _ => c.note.as_deref(),
        };
        let margin = c.margin();
        let margin_text = margin.map_or("—".into(), |v| {
            let sign = if v >= 0.0 { "+" } else { "−" };
            let pct = if c.assertion.limit != 0.0 {
                format!(" ({sign}{:.0}%)", (v / c.assertion.limit).abs() * 100.0)
            } else {
                String::new()
            };
            format!("{sign}{}{pct}", unit.format(v.abs()))
        });
        let _ = writeln!(
            out,
            "<tr class=\"{class}\"><td><code>{}</code>{}</td><td class=\"num\">{}</td><td class=\"num\">{} {}</td>\
             <td class=\"num margin{}\">{}</td><td>{}</td></tr>",
            xml(&c.assertion.text),
            why.map_or(String::new(), |w| format!(
                "<span class=\"why\">{}</span>",
                xml(w)
            )),
            xml(&c.observed.map_or("—".into(), |v| unit.format(v))),
            xml(c.assertion.op.symbol()),
            xml(&unit.format(c.assertion.limit)),
            if margin.is_some_and(|v| v < 0.0) {
                " neg"
            } else {
                ""
            },
            xml(&margin_text),
            c.outcome.label(),
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

fn requests(m: &Measured) -> String {
    let me = &m.measurement;
    let two = me.requests.iter().any(|r| r.service.is_some());
    let mut out = String::from(
        "<table class=\"requests\"><thead><tr><th>request</th><th class=\"num\">count</th><th class=\"num\">rate</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">p99</th><th class=\"num\">p99.9</th><th class=\"num\">max</th>",
    );
    if two {
        out.push_str("<th class=\"num\">service p50</th><th class=\"num\">service p99</th>");
    }
    out.push_str("<th class=\"num\">errors</th><th>errors by kind</th></tr></thead><tbody>\n");
    let row = |s: &RequestStats, bold: bool| {
        let stat = |ch, st| stat_of(s.histogram(ch), st).map_or("—".into(), fmt_us);
        let mut cells = vec![fmt_count(s.requests() as f64), fmt_rate(me.throughput(s))];
        for st in [50.0, 95.0, 99.0, 99.9]
            .map(Stat::Percentile)
            .into_iter()
            .chain([Stat::Max])
        {
            cells.push(stat(Channel::Response, st));
        }
        if two {
            cells.push(stat(Channel::Service, Stat::Percentile(50.0)));
            cells.push(stat(Channel::Service, Stat::Percentile(99.0)));
        }
        cells.push(match s.error_count() {
            0 => "0".into(),
            n => format!("{} ({})", fmt_count(n as f64), fmt_percent(s.error_rate())),
        });
        let kinds = s.error_breakdown();
        let mut line = format!(
            "<tr><td>{}{}{}</td>",
            if bold { "<b>" } else { "" },
            xml(&s.name),
            if bold { "</b>" } else { "" }
        );
        for c in cells {
            let _ = write!(line, "<td class=\"num\">{}</td>", xml(&c));
        }
        let _ = writeln!(line, "<td>{}</td></tr>", xml(&kinds.join(", ")));
        line
    };
    for r in &me.requests {
        out.push_str(&row(r, false));
    }
    if me.requests.len() > 1 {
        out.push_str(&row(&me.total(), true));
    }
    out.push_str("</tbody></table>\n");
    out
}
