//! `[data]`: files or inline values that fill `{{variables}}`.

use std::path::Path;

use super::cx::{Cx, R, check_name, closest, toml_to_json};
use super::raw::{RawData, S};
use crate::data::{self, DataSource, Format, Pick};

pub(super) fn convert_data(
    cx: &Cx,
    key: &S<String>,
    raw: &S<RawData>,
    dir: &Path,
) -> R<DataSource> {
    check_name(cx, key, "data")?;
    let d = raw.get_ref();
    let (rows, lines) = match (&d.file, &d.values) {
        (Some(file), None) => {
            let format = match &d.format {
                None if file.get_ref().ends_with(".jsonl")
                    || file.get_ref().ends_with(".ndjson") =>
                {
                    Format::Jsonl
                }
                None => Format::Lines,
                Some(f) => match f.get_ref().as_str() {
                    "lines" => Format::Lines,
                    "jsonl" => Format::Jsonl,
                    other => {
                        let hint = closest(other, ["lines", "jsonl"])
                            .map_or(String::new(), |c| format!("did you mean `{c}`? "));
                        return Err(cx.err(f.span(), format!("unknown data format {other:?}"), Some(format!("{hint}formats: \"lines\" (one value per line) or \"jsonl\" (one JSON value per line)"))));
                    }
                },
            };
            let full = dir.join(file.get_ref());
            data::load_file(&full, file.get_ref(), format).map_err(|e| {
                let help = e.contains("cannot read").then(|| {
                    format!(
                        "paths are relative to the spec's folder: looked for {}",
                        full.display()
                    )
                });
                cx.err(file.span(), e, help)
            })?
        }
        (None, Some(values)) => {
            if let Some(f) = &d.format {
                return Err(cx.err(
                    f.span(),
                    "`format` applies to `file`",
                    Some("inline `values` are TOML values already".into()),
                ));
            }
            if values.get_ref().is_empty() {
                return Err(cx.err(
                    values.span(),
                    "`values` is empty",
                    Some("give at least one value".into()),
                ));
            }
            (
                values.get_ref().iter().map(toml_to_json).collect(),
                Vec::new(),
            )
        }
        (Some(_), Some(v)) => {
            return Err(cx.err(
                v.span(),
                "data source has both `file` and `values`",
                Some("remove `values` to read the file, or `file` to use the inline values".into()),
            ));
        }
        (None, None) => {
            return Err(cx.err(
                raw.span(),
                format!("data `{}` has neither `file` nor `values`", key.get_ref()),
                Some("e.g. { file = \"queries.txt\" } or { values = [\"a\", \"b\"] }".into()),
            ));
        }
    };
    let pick = match d.pick.as_ref().map(|p| (p.get_ref().as_str(), p.span())) {
        None | Some(("round-robin", _)) => {
            if let Some(s) = &d.seed {
                return Err(cx.err(s.span(), "`seed` applies to pick = \"random\"", Some("round-robin draws rows in file order; remove `seed` or add pick = \"random\"".into())));
            }
            Pick::RoundRobin
        }
        Some(("random", _)) => Pick::Random {
            seed: match &d.seed {
                Some(s) if *s.get_ref() < 0 => {
                    return Err(cx.err(s.span(), "`seed` must not be negative", None));
                }
                Some(s) => *s.get_ref() as u64,
                None => 1,
            },
        },
        Some((other, span)) => {
            let hint = closest(other, ["round-robin", "random"])
                .map_or(String::new(), |c| format!("did you mean `{c}`? "));
            return Err(cx.err(
                span,
                format!("unknown pick {other:?}"),
                Some(format!(
                    "{hint}pick = \"round-robin\" (default) or \"random\" (seeded by `seed`)"
                )),
            ));
        }
    };
    if d.secret.as_ref().is_some_and(|s| *s.get_ref()) {
        let mut secrets = cx.secrets.borrow_mut();
        for row in &rows {
            string_leaves(row, &mut secrets);
        }
    }
    Ok(DataSource {
        name: key.get_ref().clone(),
        rows: rows.into(),
        pick,
        lines,
    })
}

/// The strings of a row (a JSON object's string fields, at any depth): what `secret = true`
/// redacts. Numbers and booleans are left alone: they are rarely credentials, and redacting
/// them would rewrite figures in the reports.
fn string_leaves(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|i| string_leaves(i, out)),
        serde_json::Value::Object(map) => map.values().for_each(|i| string_leaves(i, out)),
        _ => {}
    }
}
