//! The connection-phases table of a trial: per request, how many connections were opened and
//! the connect, TLS, time-to-first-byte and transfer times (p50 / p99), as curl reports them.

use std::fmt::Write;

use hdrhistogram::Histogram;

use super::super::escape::xml;
use crate::assertion::Stat;
use crate::measure::{Measurement, RequestStats, stat_of};
use crate::units::{fmt_count, fmt_us};

/// The table, or nothing when no request had phases (in-process components).
pub(super) fn table(m: &Measurement) -> String {
    if m.requests.iter().all(|r| r.phases.is_empty()) {
        return String::new();
    }
    let mut out = String::from(
        "<h3>Connection phases</h3>\n<table class=\"requests\"><thead><tr><th>request</th>\
         <th class=\"num\">connections</th><th class=\"num\">connect p50 / p99</th>\
         <th class=\"num\">TLS p50 / p99</th><th class=\"num\">resumed</th>\
         <th class=\"num\">TTFB p50 / p99</th><th class=\"num\">transfer p50 / p99</th></tr></thead><tbody>\n",
    );
    let row = |s: &RequestStats, bold: bool| {
        let p = &s.phases;
        let cells = [
            fmt_count(p.connect.len() as f64),
            pair(&p.connect),
            pair(&p.tls),
            if p.tls.is_empty() {
                "—".into()
            } else {
                fmt_count(p.resumed as f64)
            },
            pair(&p.ttfb),
            pair(&p.transfer),
        ];
        let (b, nb) = if bold { ("<b>", "</b>") } else { ("", "") };
        let mut line = format!("<tr><td>{b}{}{nb}</td>", xml(&s.name));
        for c in cells {
            let _ = write!(line, "<td class=\"num\">{}</td>", xml(&c));
        }
        line.push_str("</tr>\n");
        line
    };
    for r in &m.requests {
        out.push_str(&row(r, false));
    }
    if m.requests.len() > 1 {
        out.push_str(&row(&m.total(), true));
    }
    out.push_str(
        "</tbody></table>\n<p class=\"gen\">connect and TLS are timed once per connection opened in the measured window \
         (requests on kept-alive connections have neither); TTFB is from the start of a request to the first byte of its \
         response, transfer from that byte to the last (successful responses)</p>\n",
    );
    out
}

fn pair(h: &Histogram<u64>) -> String {
    match (
        stat_of(h, Stat::Percentile(50.0)),
        stat_of(h, Stat::Percentile(99.0)),
    ) {
        (Some(a), Some(b)) => format!("{} / {}", fmt_us(a), fmt_us(b)),
        _ => "—".into(),
    }
}
