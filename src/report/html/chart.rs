//! A small SVG line chart: lines over a linear, logarithmic or "nines" (percentile) axis,
//! horizontal reference rules (limits, baselines), point markers (percentile limits), a
//! shaded x range (the warm-up), and hover tooltips from SVG `<title>`s (no script).
//! It knows nothing about perfspec's measurements; `figures` turns those into charts.

use std::fmt::Write;

use super::super::escape::{attr, xml};
use super::axis::{Quantity, Scale, Span, along, long, short, ticks};

/// One line.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Legend text.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// `stroke-dasharray`, for baselines and secondary lines.
    pub dash: Option<&'static str>,
    /// Stroke width.
    pub width: f64,
    /// Points in x order; a NaN y breaks the line (no data in between).
    pub points: Vec<(f64, f64)>,
    /// Points with a tooltip.
    pub tips: Vec<(f64, f64, String)>,
}

impl Line {
    pub(crate) fn new(label: impl Into<String>, color: &'static str) -> Line {
        Line {
            label: label.into(),
            color,
            dash: None,
            width: 2.0,
            points: Vec::new(),
            tips: Vec::new(),
        }
    }
}

/// A horizontal reference line across the plot.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// The y value.
    pub y: f64,
    /// Text written along it.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// Label at the left end (baselines) instead of the right (limits), so the two kinds
    /// rarely collide.
    pub left: bool,
}

/// A marked point, labelled (a percentile limit on the distribution).
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    /// Position.
    pub x: f64,
    /// Position.
    pub y: f64,
    /// Label and tooltip.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
}

/// A whole chart.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// Heading above the chart.
    pub title: String,
    /// One sentence under the heading: what is plotted.
    pub about: String,
    /// The x axis.
    pub x: (Scale, Quantity),
    /// The y axis.
    pub y: (Scale, Quantity),
    /// The lines.
    pub lines: Vec<Line>,
    /// Horizontal rules.
    pub rules: Vec<Rule>,
    /// Markers.
    pub markers: Vec<Marker>,
    /// A shaded x range and its label (the warm-up).
    pub shade: Option<(f64, f64, &'static str)>,
    /// Named x ranges, tinted in turn and labelled (the phases of a run).
    pub bands: Vec<(f64, f64, String)>,
}

const W: f64 = 640.0;
const H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 40.0;
/// A rule further above the data than this factor would squash the lines: it is listed
/// under the chart instead.
const RULE_REACH: f64 = 2.5;

/// The chart as a `<figure>`: heading, legend, the SVG, and notes on rules off the scale.
/// An empty chart (no points at all) says so instead of drawing axes around nothing.
pub(crate) fn figure(c: &Chart) -> String {
    let mut out = String::from("<figure class=\"fig\">\n<figcaption>");
    let _ = write!(
        out,
        "<h4>{}</h4><p>{}</p><ul class=\"legend\">",
        xml(&c.title),
        xml(&c.about)
    );
    for l in &c.lines {
        let _ = write!(
            out,
            "<li><i style=\"--c:{}\"{}></i>{}</li>",
            l.color,
            if l.dash.is_some() {
                " class=\"dash\""
            } else {
                ""
            },
            xml(&l.label)
        );
    }
    out.push_str("</ul></figcaption>\n");
    match svg(c) {
        Some((svg, off)) => {
            out.push_str(&svg);
            for r in off {
                let _ = writeln!(
                    out,
                    "<p class=\"off\">↑ {}: {} is above the chart</p>",
                    xml(&r.label),
                    xml(&long(c.y.1, r.y))
                );
            }
        }
        None => out.push_str("<p class=\"nodata\">no data to draw</p>\n"),
    }
    out.push_str("</figure>\n");
    out
}

/// The SVG and the rules that did not fit; `None` without any point.
fn svg(c: &Chart) -> Option<(String, Vec<&Rule>)> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let xs = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().filter(finite).map(|p| p.0));
    let shade = c.shade.iter().flat_map(|s| [s.0, s.1]);
    let x = Span::of(c.x.0, xs.chain(shade), false)?;
    if !c.lines.iter().any(|l| l.points.iter().any(|p| finite(&p))) {
        return None;
    }
    let data_max = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().filter(finite).map(|p| p.1))
        .fold(0.0f64, f64::max);
    let (fits, off): (Vec<&Rule>, Vec<&Rule>) = c
        .rules
        .iter()
        .partition(|r| c.y.0 == Scale::Log || r.y <= data_max.max(f64::MIN_POSITIVE) * RULE_REACH);
    let ys = c
        .lines
        .iter()
        .flat_map(|l| l.points.iter().filter(finite).map(|p| p.1))
        .chain(fits.iter().map(|r| r.y))
        .chain(c.markers.iter().map(|m| m.y));
    let y = Span::of(c.y.0, ys, c.y.0 == Scale::Linear)?;
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let px = |v: f64| x.at(along(c.x.0, v), x0, x1);
    let py = |v: f64| y.at(along(c.y.0, v), y0, y1);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        attr(&c.title)
    );
    if let Some((a, b, label)) = c.shade {
        let (a, b) = (px(a).max(x0), px(b).min(x1));
        if b > a {
            let _ = writeln!(
                s,
                "<rect class=\"shade\" x=\"{a:.1}\" y=\"{y1}\" width=\"{:.1}\" height=\"{:.1}\"/><text class=\"shade-label\" x=\"{:.1}\" y=\"{:.1}\">{label}</text>",
                b - a,
                y0 - y1,
                a + 4.0,
                y1 + 12.0
            );
        }
    }
    for (i, (a, b, label)) in c.bands.iter().enumerate() {
        let (a, b) = (px(*a).max(x0), px(*b).min(x1));
        if b > a {
            let _ = writeln!(
                s,
                "<rect class=\"band band{}\" x=\"{a:.1}\" y=\"{y1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect><text class=\"band-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                i % 2,
                b - a,
                y0 - y1,
                xml(label),
                a + 3.0,
                y0 - 5.0,
                xml(label)
            );
        }
    }
    // Grid and axes.
    s.push_str("<g class=\"grid\">");
    for t in ticks(c.y.0, c.y.1, y) {
        let v = py(t);
        let _ = write!(
            s,
            "<line x1=\"{x0}\" x2=\"{x1}\" y1=\"{v:.1}\" y2=\"{v:.1}\"/><text class=\"yt\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x0 - 6.0,
            v + 3.5,
            xml(&short(c.y.1, t))
        );
    }
    for t in ticks(c.x.0, c.x.1, x) {
        let v = px(t);
        let _ = write!(
            s,
            "<line class=\"v\" x1=\"{v:.1}\" x2=\"{v:.1}\" y1=\"{y1}\" y2=\"{y0}\"/><text class=\"xt\" x=\"{v:.1}\" y=\"{:.1}\">{}</text>",
            y0 + 16.0,
            xml(&short(c.x.1, t))
        );
    }
    let _ = writeln!(
        s,
        "<line class=\"axis\" x1=\"{x0}\" x2=\"{x1}\" y1=\"{y0}\" y2=\"{y0}\"/><text class=\"xlabel\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
        (x0 + x1) / 2.0,
        H - 6.0,
        match c.x.1 {
            Quantity::Seconds => "seconds since the end of the warm-up",
            Quantity::Percentile => "percentile (nines: each step is ten times rarer)",
            Quantity::Of(_) => "",
        }
    );
    // Labels just above their rules, pushed apart (per side) so they never overlap.
    let mut labels: Vec<(&Rule, f64, f64)> =
        fits.iter().map(|r| (*r, py(r.y), py(r.y) - 4.0)).collect();
    labels.sort_by(|a, b| {
        (a.0.left, a.2)
            .partial_cmp(&(b.0.left, b.2))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    spread(labels.iter_mut().filter(|l| l.0.left).map(|l| &mut l.2));
    spread(labels.iter_mut().filter(|l| !l.0.left).map(|l| &mut l.2));
    for (r, v, ly) in labels {
        let (lx, anchor) = if r.left {
            (x0 + 4.0, "start")
        } else {
            (x1 - 4.0, "end")
        };
        let _ = writeln!(
            s,
            "<g class=\"rule\"><line x1=\"{x0}\" x2=\"{x1}\" y1=\"{v:.1}\" y2=\"{v:.1}\" stroke=\"{}\"/><text x=\"{lx:.1}\" y=\"{ly:.1}\" fill=\"{}\" text-anchor=\"{anchor}\">{}</text></g>",
            r.color,
            r.color,
            xml(&r.label)
        );
    }
    for l in &c.lines {
        let d = path(&l.points, &px, &py);
        if d.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<path class=\"line\" d=\"{d}\" stroke=\"{}\" stroke-width=\"{}\"{}><title>{}</title></path>",
            l.color,
            l.width,
            l.dash
                .map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\"")),
            xml(&l.label)
        );
    }
    // Labels left of their markers, pushed apart vertically so they never overlap.
    let mut placed: Vec<(&Marker, f64, f64, f64)> = c
        .markers
        .iter()
        .map(|m| (m, px(m.x), py(m.y), py(m.y) + 4.0))
        .collect();
    placed.sort_by(|a, b| a.2.total_cmp(&b.2));
    spread(placed.iter_mut().map(|p| &mut p.3));
    for (m, cx, cy, ly) in placed {
        let _ = writeln!(
            s,
            "<g class=\"marker\"><path d=\"M{cx:.1} {:.1}l5 5l-5 5l-5 -5z\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\">{}</text><title>{}</title></g>",
            cy - 5.0,
            m.color,
            cx - 8.0,
            ly,
            m.color,
            xml(&m.label),
            xml(&m.label)
        );
    }
    // Tooltips last, so they are on top.
    s.push_str("<g class=\"tips\">");
    for l in &c.lines {
        for (tx, ty, text) in &l.tips {
            if tx.is_finite() && ty.is_finite() {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"><title>{}</title></circle>",
                    px(*tx),
                    py(*ty),
                    l.color,
                    xml(text)
                );
            }
        }
    }
    s.push_str("</g>\n</svg>\n");
    Some((s, off))
}

/// Moves label baselines (sorted top to bottom) down until each is a line below the last.
fn spread<'a>(ys: impl Iterator<Item = &'a mut f64>) {
    let mut last: Option<f64> = None;
    for y in ys {
        if let Some(prev) = last
            && *y < prev + 13.0
        {
            *y = prev + 13.0;
        }
        last = Some(*y);
    }
}

/// `M x y L x y …`; a NaN y ends a segment.
fn path(points: &[(f64, f64)], px: &dyn Fn(f64) -> f64, py: &dyn Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for &(x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            pen_down = false;
            continue;
        }
        let _ = write!(
            d,
            "{}{:.1} {:.1}",
            if pen_down { "L" } else { "M" },
            px(x),
            py(y)
        );
        pen_down = true;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assertion::Unit;

    #[test]
    fn gaps_break_lines_and_empty_charts_say_so() {
        let id = |v: f64| v;
        assert_eq!(
            path(
                &[(0.0, 1.0), (1.0, f64::NAN), (2.0, 3.0), (3.0, 4.0)],
                &id,
                &id
            ),
            "M0.0 1.0M2.0 3.0L3.0 4.0"
        );
        let chart = Chart {
            title: "t".into(),
            about: String::new(),
            x: (Scale::Linear, Quantity::Seconds),
            y: (Scale::Linear, Quantity::Of(Unit::Count)),
            lines: vec![Line::new("a", "#000")],
            rules: vec![],
            markers: vec![],
            shade: None,
            bands: vec![],
        };
        assert!(figure(&chart).contains("no data to draw"));
    }
}
