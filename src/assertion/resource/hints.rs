//! What to say when a resource metric is misspelt or cannot hold: the nearest names, whose
//! figures exist, and limits no run could meet.

use super::{EXAMPLES, QUANTITY_WORDS, Reduce, ResourceMetric, listing, resolve};
use crate::assertion::{Op, Unit};

pub(in crate::assertion) fn unknown(
    text: &str,
    segs: &[String],
    help: &str,
) -> Option<(String, String)> {
    if segs.len() < 2 {
        return None;
    }
    if QUANTITY_WORDS.contains(&segs[0].as_str()) {
        return Some((
            format!("unknown metric `{text}`: say whose resources"),
            whose_hint(text, segs),
        ));
    }
    let close = crate::spec::closest_name(text, EXAMPLES.iter().copied())?;
    Some((
        format!("unknown metric `{text}`"),
        format!("did you mean `{close}`? {help}"),
    ))
}

/// "Say whose" for `cpu.mean`, `memory.growth`: only metrics that exist, with the quantity
/// each owner calls it by (the target's memory is `rss`, the machine's `mem`).
fn whose_hint(text: &str, segs: &[String]) -> String {
    const WHOSE: [(&str, &str); 3] = [
        ("sut", "the target's processes"),
        ("system", "the machine"),
        ("generator", "perfspec itself"),
    ];
    let rest = segs[1..].join(".");
    let quantities = match segs[0].as_str() {
        "mem" | "memory" | "rss" => vec!["rss", "mem"],
        q => vec![q],
    };
    let mut valid = Vec::new();
    for (who, what) in WHOSE {
        for q in &quantities {
            let candidate = format!("{who}.{q}.{rest}");
            let parts: Vec<&str> = candidate.split('.').collect();
            if resolve(&candidate, &parts).is_ok() {
                valid.push(format!("`{candidate}` ({what})"));
                break;
            }
        }
    }
    match valid.as_slice() {
        [] => format!(
            "resource metrics say whose they are: sut.…, system.… or generator.… (`{text}` fits none: {})",
            listing("sut")
        ),
        [one] => format!("write {one}"),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Limits that make a resource assertion meaningless.
pub(in crate::assertion) fn impossible(
    r: ResourceMetric,
    op: Op,
    limit: f64,
) -> Option<(String, String)> {
    // Growth and slope go below zero when memory shrinks, and growth may exceed 100 %.
    let signed = matches!(r.reduce, Reduce::Growth | Reduce::Slope);
    if matches!(op, Op::Lt) && limit <= 0.0 && !signed {
        return Some((
            "this can never hold: the metric is never below zero".into(),
            "write a positive limit".into(),
        ));
    }
    if r.bounded_percent() && limit > 100.0 {
        return Some((
            format!(
                "`{}` is a share of the whole: above 100% means nothing",
                r.name()
            ),
            "write a percentage from 0% to 100%".into(),
        ));
    }
    if r.unit() == Unit::Count && limit.fract() != 0.0 {
        return Some((
            "counts are whole numbers".into(),
            format!("e.g. {}", limit.ceil()),
        ));
    }
    None
}
