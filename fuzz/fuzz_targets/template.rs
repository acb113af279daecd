//! Request templates: any string compiled with each escape, and as a JSON body; rendering a
//! JSON body always gives valid JSON.

#![no_main]

use libfuzzer_sys::fuzz_target;
use perfspec::template::{Escape, Resolver, Template};
use serde_json::{Value, json};

/// Two sources, `q` (strings) and `doc` (objects with `id` and `vec`), and one variable.
struct Names;

impl Resolver for Names {
    fn source(&self, name: &str) -> Result<usize, String> {
        match name {
            "q" => Ok(0),
            "doc" => Ok(1),
            _ => Err("variables: q, doc".into()),
        }
    }
    fn field(&self, index: usize, field: &str) -> Result<(), String> {
        match (index, field) {
            (1, "id" | "vec") => Ok(()),
            _ => Err(format!("no field `{field}`")),
        }
    }
    fn env(&self, name: &str) -> Result<String, String> {
        match name {
            "TOKEN" => Ok("s3cr\"t {{q}} \u{1F600}".into()),
            _ => Err(format!("`{name}` is not set")),
        }
    }
}

const ESCAPES: [Escape; 5] = [
    Escape::Text,
    Escape::JsonString,
    Escape::JsonValue,
    Escape::Path,
    Escape::Query,
];

fuzz_target!(|bytes: &[u8]| {
    let Some((&pick, rest)) = bytes.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let q = json!("a b/c?d=\"e\"&\u{e9}");
    let doc = json!({"id": 7, "vec": [0.5, -1.0]});
    let rows = [Some(&q), Some(&doc)];
    let escape = ESCAPES[usize::from(pick) % ESCAPES.len()];
    match Template::compile(&text, escape, &Names) {
        Ok(t) => {
            let out = t.render_string(&rows);
            if t.is_static() {
                assert_eq!(out, t.render_string(&[]));
            }
            let _ = t.sources().count();
        }
        Err(e) => {
            assert!(
                e.range.start <= e.range.end && e.range.end <= text.len(),
                "error range {:?} outside {text:?}",
                e.range
            );
        }
    }
    // As a JSON body: the text as one string leaf, and as a document when it is JSON.
    let mut bodies = vec![
        Value::String(text.to_string()),
        json!({"k": text, "n": [text]}),
    ];
    if let Ok(v) = serde_json::from_str::<Value>(&text) {
        bodies.push(v);
    }
    for body in bodies {
        if let Ok(t) = Template::compile_json(&body, &Names) {
            let out = t.render_string(&rows);
            assert!(
                serde_json::from_str::<Value>(&out).is_ok(),
                "body {body} renders to invalid JSON: {out}"
            );
        }
    }
});
