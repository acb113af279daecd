use super::*;
use serde_json::json;

struct R;
impl Resolver for R {
    fn source(&self, name: &str) -> Result<usize, String> {
        match name {
            "q" => Ok(0),
            "doc" => Ok(1),
            _ => Err("valid names: q, doc".into()),
        }
    }
    fn field(&self, _: usize, field: &str) -> Result<(), String> {
        if field == "missing" {
            Err("no field `missing`".into())
        } else {
            Ok(())
        }
    }
    fn env(&self, name: &str) -> Result<String, String> {
        if name == "TOKEN" {
            Ok("s3cr\"t".into())
        } else {
            Err(format!("{name} is not set"))
        }
    }
}

#[test]
fn renders_text_and_escapes() {
    let q = json!("a b/c");
    let rows = [Some(&q), None];
    let t = Template::compile("/items/{{q}}", Escape::Path, &R).unwrap();
    assert_eq!(t.render_string(&rows), "/items/a%20b/c");
    let t = Template::compile("{{q}}", Escape::Query, &R).unwrap();
    assert_eq!(t.render_string(&rows), "a%20b%2Fc");
    let t = Template::compile("Bearer {{env:TOKEN}}", Escape::Text, &R).unwrap();
    assert!(t.is_static());
    assert_eq!(t.render_string(&rows), "Bearer s3cr\"t");
}

#[test]
fn json_leaves_take_values() {
    let q = json!("say \"hi\"");
    let doc = json!({"vec": [0.5, 1.0], "id": 7});
    let rows = [Some(&q), Some(&doc)];
    let body = json!({"query": "{{q}}", "vector": "{{doc.vec}}", "note": "id={{doc.id}}!", "k": 5});
    let t = Template::compile_json(&body, &R).unwrap();
    let out = t.render_string(&rows);
    let parsed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        parsed,
        json!({"query": "say \"hi\"", "vector": [0.5, 1.0], "note": "id=7!", "k": 5})
    );
    // serde_json objects keep keys sorted: k, note, query, vector.
    assert_eq!(t.sources().collect::<Vec<_>>(), vec![1, 0, 1]);
}

#[test]
fn json_leaf_with_text_after_its_placeholder_stays_a_string() {
    // Text after the placeholder's `}}` makes the leaf a string, not a raw JSON value.
    let q = json!("v");
    let rows = [Some(&q), None];
    for (leaf, expected) in [("{{q}} }}", "v }}"), ("{{q}}}", "v}"), ("{{q}}x}}", "vx}}")] {
        let t = Template::compile_json(&json!({ "k": leaf }), &R).unwrap();
        let out = t.render_string(&rows);
        let parsed: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{out}: {e}"));
        assert_eq!(parsed, json!({ "k": expected }), "{leaf}");
    }
}

#[test]
fn user_variables_come_after_the_data_rows() {
    struct U;
    impl Resolver for U {
        fn source(&self, _: &str) -> Result<usize, String> {
            Err("none".into())
        }
        fn field(&self, _: usize, _: &str) -> Result<(), String> {
            Ok(())
        }
        fn env(&self, _: &str) -> Result<String, String> {
            Err("none".into())
        }
        fn user(&self, name: &str) -> Result<usize, String> {
            (name == "id").then_some(2).ok_or("only id".into())
        }
    }
    let t = Template::compile("/items/{{user.id}}", Escape::Path, &U).unwrap();
    assert!(!t.is_static());
    assert_eq!(t.sources().count(), 0);
    assert_eq!(t.user_vars().collect::<Vec<_>>(), vec![2]);
    let id = json!(7);
    assert_eq!(t.render_string(&[None, None, Some(&id)]), "/items/7");
    let e = Template::compile("{{user.nope}}", Escape::Text, &U).unwrap_err();
    assert!(e.message.contains("unknown user variable `nope`"), "{e:?}");
    assert!(Template::compile("{{user.id}}", Escape::Text, &R).is_err());
}

#[test]
fn errors_point_at_the_placeholder() {
    let e = Template::compile("/x/{{nope}}", Escape::Path, &R).unwrap_err();
    assert_eq!(e.range, 3..11);
    assert!(e.message.contains("unknown variable `nope`"));
    assert!(
        Template::compile("{{q", Escape::Text, &R)
            .unwrap_err()
            .message
            .contains("unclosed")
    );
    assert!(Template::compile("{{}}", Escape::Text, &R).is_err());
    assert!(Template::compile("{{q.missing}}", Escape::Text, &R).is_err());
    assert!(
        Template::compile("{{env:NOPE}}", Escape::Text, &R)
            .unwrap_err()
            .message
            .contains("NOPE")
    );
}
