use std::collections::BTreeMap;
use std::path::Path;

use crate::spec::{Context, Spec};

fn parse(url: &str, env: &[(&str, &str)], extra: &str) -> Result<Spec, String> {
    let text = format!(
        "[target]\nurl = \"{url}\"\n{extra}\n[[request]]\nname = \"r\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"1s\"\n"
    );
    let cx = Context {
        env: Some(
            env.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        ),
        ..Default::default()
    };
    Spec::parse(&text, Path::new("remote.toml"), &cx).map_err(|e| e.to_string())
}

#[test]
fn remote_urls_need_the_spec_or_the_environment_to_allow_them() {
    let e = parse("http://10.0.0.7:8080", &[], "").unwrap_err();
    assert!(
        e.contains("not a loopback address") && e.contains("PERFSPEC_ALLOW_REMOTE=1"),
        "{e}"
    );
    assert!(parse("http://api.internal:80", &[], "").is_err());
    assert!(parse("http://10.0.0.7:8080", &[], "allow-remote = true").is_ok());
    for on in ["1", "true"] {
        assert!(parse("http://10.0.0.7:8080", &[("PERFSPEC_ALLOW_REMOTE", on)], "").is_ok());
    }
    assert!(
        parse(
            "http://10.0.0.7:8080",
            &[("PERFSPEC_ALLOW_REMOTE", "0")],
            ""
        )
        .is_err()
    );
    assert!(parse("http://127.0.0.2:8080", &[], "").is_ok());
    assert!(parse("http://[::1]:8080", &[], "").is_ok());
}
