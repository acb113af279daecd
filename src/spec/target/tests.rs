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

#[test]
fn https_urls_default_to_port_443_and_keep_the_loopback_rule() {
    use crate::spec::{HttpVersion, Target};
    let spec = parse("https://localhost/api", &[], "http = \"2\"").unwrap();
    let Target::Url(u) = &spec.target else {
        panic!("a url target")
    };
    assert_eq!((u.port, u.base_path.as_str()), (443, "/api"));
    assert_eq!(u.protocol.http, HttpVersion::Http2);
    let tls = u.protocol.tls.as_ref().expect("https means TLS");
    assert!(tls.ca.is_none() && tls.server_name.is_none() && !tls.insecure);
    assert!(parse("https://10.0.0.7", &[], "").is_err());
    let e = parse(
        "https://localhost:8443",
        &[],
        "tls = { server-name = \"not a name\" }",
    )
    .unwrap_err();
    assert!(e.contains("not a DNS name or an IP address"), "{e}");
    let plain = parse("http://127.0.0.1:8080", &[], "").unwrap();
    assert_eq!(plain.target.protocol().unwrap().scheme(), "http");
}
