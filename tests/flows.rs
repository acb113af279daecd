//! Flows end to end over loopback: captured values are sent on (the server checks them), a
//! capture that finds nothing is counted as `capture-missing` and stops the iteration, and
//! `expect.json` fails a response whose value differs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{measured, request_count as requests, request_errors as errors, run, scratch, spec};
use perfspec::measure::ErrorKind;
use testkit::{Server, text};

/// What the server saw.
#[derive(Default)]
struct Seen {
    logins: AtomicU64,
    creates: AtomicU64,
    gets: AtomicU64,
    /// Requests whose token, session header or item id was not one the server issued.
    wrong: AtomicU64,
}

/// A login issuing a token (body) and a session id (header); items that need both and are
/// answered with their id. `id_key` names the id field of a create's answer (a wrong one makes
/// the capture miss).
fn server(seen: Arc<Seen>, id_key: &'static str) -> Server {
    Server::http(1, move |req| {
        let seen = seen.clone();
        async move {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string()
            };
            let authorized =
                header("authorization") == "Bearer tok-42" && header("x-session") == "s-7";
            let path = req.uri().path().to_string();
            match (req.method().as_str(), path.as_str()) {
                ("POST", "/login") => {
                    seen.logins.fetch_add(1, Ordering::Relaxed);
                    let mut r = text(200, r#"{"token": "tok-42"}"#);
                    r.headers_mut().insert("x-session", "s-7".parse().unwrap());
                    r
                }
                ("POST", "/items") if authorized => {
                    let n = seen.creates.fetch_add(1, Ordering::Relaxed) + 1000;
                    text(201, format!(r#"{{"{id_key}": {n}}}"#))
                }
                ("GET", p) if authorized => {
                    seen.gets.fetch_add(1, Ordering::Relaxed);
                    let id: u64 = p
                        .strip_prefix("/items/")
                        .and_then(|i| i.parse().ok())
                        .unwrap_or(0);
                    if (1000..1000 + seen.creates.load(Ordering::Relaxed)).contains(&id) {
                        text(200, format!(r#"{{"items": [{{"id": {id}}}]}}"#))
                    } else {
                        seen.wrong.fetch_add(1, Ordering::Relaxed);
                        text(404, "no such item")
                    }
                }
                _ => {
                    seen.wrong.fetch_add(1, Ordering::Relaxed);
                    text(401, "unauthorized")
                }
            }
        }
    })
}

fn flow_spec(url: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "login"
        method = "POST"
        path = "/login"
        [[request]]
        name = "create"
        method = "POST"
        path = "/items"
        headers = {{ authorization = "Bearer {{{{user.token}}}}", x-session = "{{{{user.session}}}}" }}
        json = {{ name = "x" }}
        [[request]]
        name = "get"
        path = "/items/{{{{user.id}}}}"
        headers = {{ authorization = "Bearer {{{{user.token}}}}", x-session = "{{{{user.session}}}}" }}
        [[flow]]
        name = "crud"
        setup = [{{ request = "login", capture = {{ token = {{ json = "/token" }}, session = {{ header = "X-Session" }} }} }}]
        steps = [
          {{ request = "create", capture = {{ id = {{ json = "/id" }} }} }},
          {{ request = "get", think = "5ms" }},
        ]
        [scenario.crud]
        load = {{ model = "closed", users = 2 }}
        duration = "1s"
        flows = ["crud"]
        assert = ["errors == 0"]
    "#
    )
}

#[test]
fn captured_values_are_sent_on_and_setup_runs_once_per_user() {
    let seen = Arc::new(Seen::default());
    let server = server(seen.clone(), "id");
    let dir = scratch("flows-captured");
    let s = spec(&dir, "flows", &flow_spec(&server.url()));
    let report = run(&dir, &s, "crud");
    let m = measured(&report);
    assert_eq!(
        seen.wrong.load(Ordering::Relaxed),
        0,
        "a captured value was not sent on"
    );
    assert_eq!(seen.logins.load(Ordering::Relaxed), 2, "one login per user");
    let gets = seen.gets.load(Ordering::Relaxed);
    assert!(gets >= 10, "only {gets} gets in a second");
    for r in ["login", "create", "get"] {
        assert_eq!(errors(m, r), vec![], "{r}");
    }
    // Each step is measured under its request's name; a get follows each create.
    let (creates, got) = (requests(m, "create"), requests(m, "get"));
    assert!(creates.abs_diff(got) <= 2, "create {creates}, get {got}");
    assert_eq!(
        m.verdict.status(),
        perfspec::compare::Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
}

#[test]
fn a_missing_capture_is_counted_and_stops_the_iteration() {
    let seen = Arc::new(Seen::default());
    // The create answers `{"ident": N}`: the `/id` capture finds nothing.
    let server = server(seen.clone(), "ident");
    let dir = scratch("flows-missing");
    let s = spec(&dir, "flows", &flow_spec(&server.url()));
    let report = run(&dir, &s, "crud");
    let m = measured(&report);
    let creates = requests(m, "create");
    assert!(creates >= 10, "only {creates} creates");
    assert_eq!(
        errors(m, "create"),
        vec![(ErrorKind::CaptureMissing, creates)]
    );
    // The get needs the id: it is never sent without it (nor with an empty one).
    assert_eq!(seen.gets.load(Ordering::Relaxed), 0);
    assert_eq!(seen.wrong.load(Ordering::Relaxed), 0);
    assert_eq!(requests(m, "get"), 0);
    assert_eq!(m.verdict.status(), perfspec::compare::Status::Fail);
    let table = perfspec::report::console::trial_table(&report);
    assert!(table.contains("capture-missing"), "{table}");
}

#[test]
fn expect_json_fails_a_response_whose_value_differs() {
    let server = Server::http(1, |req| async move {
        let id = if req.uri().path() == "/three" { 3 } else { 4 };
        text(200, format!(r#"{{"items": [{{"id": {id}}}]}}"#))
    });
    let dir = scratch("flows-expect-json");
    let s = spec(
        &dir,
        "expect",
        &format!(
            r#"
        [target]
        url = "{}"
        [[request]]
        name = "right"
        path = "/three"
        expect = {{ json = {{ "/items/0/id" = 3 }} }}
        [[request]]
        name = "wrong"
        path = "/four"
        expect = {{ json = {{ "/items/0/id" = 3 }} }}
        [scenario.check]
        load = {{ model = "closed", users = 1 }}
        iterations = 40
        duration = "5s"
    "#,
            server.url()
        ),
    );
    let report = run(&dir, &s, "check");
    let m = measured(&report);
    assert_eq!(errors(m, "right"), vec![]);
    let wrong = requests(m, "wrong");
    assert!(wrong > 0);
    assert_eq!(errors(m, "wrong"), vec![(ErrorKind::Expectation, wrong)]);
}

/// The open model with flows: each arrival is a session whose steps follow each other on one
/// user (the second waits for the first's reply, and sends what it captured); sessions beyond
/// `max-users` are dropped, and each step's latency counts from its own intended start.
#[test]
fn open_model_sessions_run_their_steps_in_order_and_are_capped() {
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    let server = Server::http(1, move |req| {
        let seen = s.clone();
        async move {
            if req.uri().path() == "/start" {
                let n = seen.creates.fetch_add(1, Ordering::Relaxed);
                return text(200, format!(r#"{{"id": {n}}}"#));
            }
            // The follow-up: slow, and only for an id the server issued.
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
            let id: u64 = req
                .uri()
                .path()
                .strip_prefix("/next/")
                .and_then(|i| i.parse().ok())
                .unwrap_or(u64::MAX);
            if id < seen.creates.load(Ordering::Relaxed) {
                seen.gets.fetch_add(1, Ordering::Relaxed);
            } else {
                seen.wrong.fetch_add(1, Ordering::Relaxed);
            }
            text(200, "ok")
        }
    });
    let dir = scratch("flows-open");
    let text = format!(
        r#"
        [target]
        url = "{}"
        [[request]]
        name = "start"
        path = "/start"
        [[request]]
        name = "next"
        path = "/next/{{{{user.id}}}}"
        [[flow]]
        name = "session"
        steps = [{{ request = "start", capture = {{ id = {{ json = "/id" }} }} }}, {{ request = "next", think = "150ms" }}]
        [scenario.open]
        load = {{ model = "open", rate = "40/s", max-users = 2 }}
        duration = "2s"
        flows = ["session"]
        inconclusive = "pass"
    "#,
        server.url()
    );
    let s = spec(&dir, "open", &text);
    let report = run(&dir, &s, "open");
    let m = measured(&report);
    assert_eq!(
        seen.wrong.load(Ordering::Relaxed),
        0,
        "a step was sent without its capture"
    );
    let (starts, nexts) = (requests(m, "start"), requests(m, "next"));
    assert!(starts >= 8, "only {starts} sessions");
    // Each session's second step follows its first (the last ones may be cut by the end).
    assert!(starts.abs_diff(nexts) <= 2, "start {starts}, next {nexts}");
    // Two users, each session at least 190 ms: at most about 10 sessions a second of 40.
    assert!(
        m.measurement.generator.dropped > 0,
        "no session was dropped"
    );
    // The second step counts from the first's completion plus its think time, not from the
    // arrival: about 40 ms, not 190.
    let next = m
        .measurement
        .requests
        .iter()
        .find(|r| r.name == "next")
        .unwrap();
    let p50_ms = next.latency.value_at_quantile(0.5) as f64 / 1000.0;
    assert!(
        (40.0..150.0).contains(&p50_ms),
        "next p50 {p50_ms} ms: from its own intended start"
    );
}
