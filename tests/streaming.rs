//! AI workloads end to end: streamed LLM responses (TTFT, inter-token latency, TPOT, tokens,
//! goodput) from in-process servers that emit tokens at known times, Server-Timing stages,
//! malformed streams, and in-process components.

mod common;

use std::time::Duration;

use common::{measured, run, scratch, spec};
use perfspec::Harness;
use perfspec::assertion::{Outcome, Stat};
use perfspec::compare::Status;
use perfspec::measure::{ErrorKind, stat_of};
use serde_json::{Value, json};
use testkit::{Server, chat_stream, sse, text};

const MS: Duration = Duration::from_millis(1);

fn chat_spec(url: &str, scenario_extra: &str) -> String {
    format!(
        r#"
        [target]
        url = "{url}"
        [[request]]
        name = "chat"
        method = "POST"
        path = "/v1/chat/completions"
        json = {{ model = "m", messages = [{{ role = "user", content = "hi" }}], stream = true }}
        stream = "sse"
        [scenario.s]
        load = {{ model = "closed", users = 2 }}
        duration = "2s"
        {scenario_extra}
        "#
    )
}

#[test]
fn token_timing_matches_a_server_with_known_intervals() {
    // First token at 50 ms, then one every 20 ms, 10 tokens, usage reported.
    let server = Server::http(1, |_| async {
        sse(chat_stream(50 * MS, 20 * MS, 10, true))
    });
    let dir = scratch("stream-timing");
    let s = spec(
        &dir,
        "chat",
        &chat_spec(
            &server.url(),
            r#"assert = ["ttft.p50 < 60ms", "itl.p50 < 25ms", "output-tokens-per-second > 10/s"]"#,
        ),
    );
    let report = run(&dir, &s, "s");
    let m = measured(&report);
    let st = m.measurement.requests[0]
        .stream
        .as_ref()
        .expect("stream stats");
    let ms = |h, stat| stat_of(h, stat).unwrap() / 1000.0;
    let (ttft, itl, tpot) = (
        ms(&st.ttft, Stat::Percentile(50.0)),
        ms(&st.itl, Stat::Percentile(50.0)),
        ms(&st.tpot, Stat::Mean),
    );
    // Exact figures are in the benchmark; here bounds that hold on a busy 2-core machine.
    assert!(
        (49.0..60.0).contains(&ttft),
        "ttft p50 {ttft} ms (truth 50 ms)"
    );
    assert!(
        (19.0..23.0).contains(&itl),
        "itl p50 {itl} ms (truth 20 ms)"
    );
    assert!(
        (19.0..23.0).contains(&tpot),
        "tpot mean {tpot} ms (truth 20 ms)"
    );
    let streams = m.measurement.requests[0].ok;
    assert_eq!(st.output_tokens, 10 * streams, "token counts are exact");
    assert_eq!(st.itl.len(), 9 * streams, "9 gaps per stream of 10 tokens");
    assert_eq!(st.counting(), "usage");
    assert_eq!(
        m.verdict.status(),
        Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
    let table = perfspec::report::console::trial_table(&report);
    assert!(
        table.contains("ttft p50") && table.contains("usage"),
        "{table}"
    );
}

#[test]
fn without_usage_tokens_are_counted_events() {
    let server = Server::http(1, |_| async { sse(chat_stream(5 * MS, 2 * MS, 7, false)) });
    let dir = scratch("stream-events");
    let report = run(
        &dir,
        &spec(&dir, "chat", &chat_spec(&server.url(), "")),
        "s",
    );
    let st = measured(&report).measurement.requests[0]
        .stream
        .clone()
        .unwrap();
    assert_eq!(
        st.output_tokens,
        7 * measured(&report).measurement.requests[0].ok
    );
    assert_eq!(st.counting(), "events");
}

#[test]
fn broken_streams_are_errors_of_their_own_kind() {
    let server = Server::http(1, |req| async move {
        match req.uri().path() {
            "/early" => sse(vec![(
                MS,
                "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n".into(),
            )]),
            "/garbage" => sse(vec![(MS, "data: {\"choices\": [oops\n\n".into())]),
            "/error" => sse(vec![(
                MS,
                "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".into(),
            )]),
            _ => text(200, "{\"not\": \"a stream\"}"),
        }
    });
    let dir = scratch("stream-broken");
    let mut text = String::from("[target]\nurl = \"URL\"\n");
    for name in ["early", "garbage", "error", "json"] {
        text.push_str(&format!(
            "[[request]]\nname = \"{name}\"\npath = \"/{name}\"\nstream = \"sse\"\n"
        ));
    }
    text.push_str("[scenario.s]\nload = { model = \"closed\", users = 2 }\nduration = \"1s\"\n");
    let report = run(
        &dir,
        &spec(&dir, "broken", &text.replace("URL", &server.url())),
        "s",
    );
    let m = &measured(&report).measurement;
    let kinds = |n: &str| {
        m.request(n)
            .unwrap()
            .errors
            .keys()
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(kinds("early"), vec![ErrorKind::StreamIncomplete]);
    assert_eq!(kinds("garbage"), vec![ErrorKind::StreamMalformed]);
    assert_eq!(kinds("error"), vec![ErrorKind::StreamError]);
    assert_eq!(
        kinds("json"),
        vec![ErrorKind::StreamMalformed],
        "a JSON answer where a stream was expected"
    );
}

#[test]
fn goodput_counts_requests_within_every_budget() {
    let server = Server::http(1, |_| async { sse(chat_stream(40 * MS, 5 * MS, 5, true)) });
    let dir = scratch("stream-goodput");
    let lenient = chat_spec(
        &server.url(),
        "goodput = { ttft = \"200ms\", tpot = \"50ms\" }\nassert = [\"goodput > 95%\"]",
    );
    let report = run(&dir, &spec(&dir, "good", &lenient), "s");
    assert_eq!(measured(&report).verdict.checks()[0].outcome, Outcome::Pass);
    assert_eq!(measured(&report).verdict.checks()[0].observed, Some(1.0));
    let strict = chat_spec(
        &server.url(),
        "goodput = { ttft = \"20ms\" }\nassert = [\"goodput > 95%\"]",
    );
    let report = run(&dir, &spec(&dir, "bad", &strict), "s");
    assert_eq!(
        measured(&report).verdict.checks()[0].observed,
        Some(0.0),
        "every TTFT is 40 ms > 20 ms"
    );
}

#[test]
fn server_timing_stages_are_recorded_and_assertable() {
    let server = Server::http(1, |_| async {
        let mut r = text(200, "ok");
        r.headers_mut().insert(
            "server-timing",
            "embed;dur=1.5, search;desc=\"exact\";dur=12.25"
                .parse()
                .unwrap(),
        );
        r
    });
    let dir = scratch("stages");
    let text = format!(
        "[target]\nurl = \"{}\"\n[[request]]\nname = \"q\"\npath = \"/\"\n[scenario.s]\nload = {{ model = \"closed\", users = 1 }}\nduration = \"1s\"\nassert = [\"stage.search.p50 < 13ms\", \"q.stage.embed.max < 2ms\", \"stage.rerank.p50 < 1ms\"]\n",
        server.url()
    );
    let report = run(&dir, &spec(&dir, "stages", &text), "s");
    let m = measured(&report);
    let search = &m.measurement.requests[0].stages["search"];
    // Exact to the histogram's 3 significant figures.
    assert!(
        search.min() >= 12_238 && search.max() <= 12_262,
        "stage durations {}..{} µs (sent 12,250 µs)",
        search.min(),
        search.max()
    );
    assert_eq!(m.verdict.checks()[0].outcome, Outcome::Pass);
    assert_eq!(m.verdict.checks()[1].outcome, Outcome::Pass);
    assert_eq!(m.verdict.checks()[2].outcome, Outcome::Fail);
    assert!(
        m.verdict.checks()[2]
            .note
            .as_deref()
            .unwrap()
            .contains("stages seen: embed, search"),
        "{:?}",
        m.verdict.checks()[2].note
    );
}

#[test]
fn components_are_loaded_in_process() {
    let dir = scratch("component");
    let text = "[target]\ncomponent = \"square\"\n[[request]]\nname = \"sq\"\njson = { x = \"{{n}}\" }\n[data]\nn = { values = [1, 2, 3, -1] }\n[scenario.s]\nload = { model = \"closed\", users = 2 }\niterations = 400\nassert = [\"requests == 400\", \"errors == 100\"]\n";
    let s = spec(&dir, "comp", text);
    let h =
        Harness::new()
            .out_dir(dir.join("out"))
            .component("square", |input: Value| async move {
                let x = input["x"].as_i64().ok_or("x is not a number")?;
                if x < 0 {
                    return Err("negative input".to_string());
                }
                Ok(json!(x * x))
            });
    let report = h.run_scenario(&s, "s").unwrap();
    let m = measured(&report);
    assert_eq!(
        m.verdict.status(),
        Status::Pass,
        "{}",
        perfspec::report::console::trial_table(&report)
    );
    assert_eq!(
        m.measurement.requests[0].errors.get(&ErrorKind::Component),
        Some(&100)
    );

    let unknown = Harness::new()
        .out_dir(dir.join("out"))
        .component("squares", |v: Value| async move { Ok::<_, String>(v) })
        .run_scenario(&s, "s")
        .unwrap();
    let err = unknown.outcome.as_ref().unwrap_err();
    assert!(
        err.contains("unknown component `square`") && err.contains("did you mean `squares`?"),
        "{err}"
    );
}
