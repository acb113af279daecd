//! The session's steps, captures, conversations and teardown, without a network.
use super::*;
use crate::spec::Capture;
use rand::SeedableRng;

fn step(request: usize, capture: Option<(&str, usize, CaptureFrom)>) -> FlowStep {
    FlowStep {
        request,
        think: Duration::from_millis(request as u64),
        captures: capture
            .into_iter()
            .map(|(name, slot, from)| Capture {
                name: name.into(),
                slot,
                from,
                secret: false,
            })
            .collect(),
        chat: None,
        needs: Vec::new(),
    }
}

/// One flow of weight 1.
fn flow(
    name: &str,
    setup: Vec<FlowStep>,
    steps: Vec<FlowStep>,
    teardown: Vec<FlowStep>,
) -> Vec<Flow> {
    vec![Flow {
        name: name.into(),
        weight: 1,
        setup,
        steps,
        teardown,
    }]
}

fn at() -> Instant {
    Instant::now()
}

fn detail(body: &str) -> Detail {
    Detail {
        body: Some(body.as_bytes().to_vec()),
        ..Detail::default()
    }
}

#[test]
fn setup_once_then_steps_in_order_with_captures() {
    let flows = flow(
        "crud",
        vec![step(
            0,
            Some(("token", 1, CaptureFrom::Header("x-token".into()))),
        )],
        vec![
            step(1, Some(("id", 2, CaptureFrom::Json("/id".into())))),
            step(2, None),
        ],
        vec![],
    );
    let mix = Mix::new(&[1]);
    let mut rng = SmallRng::seed_from_u64(1);
    let secrets = CapturedSecrets::default();
    let mut s = Session::new(&flows, 1);
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 0);
    let login = Detail {
        headers: vec![("x-token".into(), "abc".into())],
        ..Detail::default()
    };
    assert!(s.succeeded(&flows, &login, &secrets));
    assert_eq!(s.pause(&flows), Some(Duration::from_millis(1)));
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 1);
    assert!(s.succeeded(&flows, &detail(r#"{"id": 7}"#), &secrets));
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 2);
    let vars: Vec<_> = s.vars().collect();
    assert_eq!(vars, vec![Some(&Value::from("abc")), Some(&Value::from(7))]);
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    assert_eq!(s.pause(&flows), None, "the iteration ended");
    // The setup is not run again.
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 1);
    // A missing capture ends the iteration: the next step is not taken.
    assert!(!s.succeeded(&flows, &detail(r#"{"other": 1}"#), &secrets));
    assert_eq!(s.pause(&flows), None);
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 1);
    assert!(
        !s.succeeded(&flows, &detail(r#"{"id": ""}"#), &secrets),
        "empty"
    );
    s.failed(&flows);
    assert_eq!(s.next(&flows, &mix, &mut rng, at()).request, 1);
}

#[test]
fn regex_and_stream_text_captures() {
    let re = crate::spec::Pattern(regex::Regex::new(r"id=(\d+)").unwrap());
    let flows = flow(
        "f",
        vec![],
        vec![
            step(0, Some(("id", 0, CaptureFrom::Regex(re)))),
            step(1, Some(("reply", 1, CaptureFrom::StreamText))),
            step(2, None),
        ],
        vec![],
    );
    let mix = Mix::new(&[1]);
    let mut rng = SmallRng::seed_from_u64(1);
    let secrets = CapturedSecrets::default();
    let mut s = Session::new(&flows, 0);
    s.next(&flows, &mix, &mut rng, at());
    assert!(s.succeeded(&flows, &detail("created: id=42, ok"), &secrets));
    s.next(&flows, &mix, &mut rng, at());
    let streamed = Detail {
        stream: Some(crate::client::StreamTiming {
            text: Some("Hello there".into()),
            ..Default::default()
        }),
        ..Detail::default()
    };
    assert!(s.succeeded(&flows, &streamed, &secrets));
    let vars: Vec<_> = s.vars().collect();
    assert_eq!(
        vars,
        vec![Some(&Value::from("42")), Some(&Value::from("Hello there"))]
    );
    // No match: the capture is missing.
    s.next(&flows, &mix, &mut rng, at());
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    s.next(&flows, &mix, &mut rng, at());
    assert!(!s.succeeded(&flows, &detail("no id here"), &secrets));
}

#[test]
fn a_chat_step_keeps_the_conversation_turn_after_turn() {
    let chat = Chat {
        turns: 2,
        prompt: 0,
        slot: 1,
        system: Some("Be brief.".into()),
    };
    let mut chat_step = step(0, None);
    chat_step.chat = Some(chat.clone());
    let flows = flow("f", vec![], vec![chat_step, step(1, None)], vec![]);
    let mix = Mix::new(&[1]);
    let mut rng = SmallRng::seed_from_u64(1);
    let secrets = CapturedSecrets::default();
    let mut s = Session::new(&flows, 1);
    let reply = |text: &str| Detail {
        stream: Some(crate::client::StreamTiming {
            text: Some(text.into()),
            ..Default::default()
        }),
        ..Detail::default()
    };
    assert!(s.next(&flows, &mix, &mut rng, at()).chat.is_some());
    assert_eq!(s.say(&chat, "first".into()), 1);
    assert!(s.succeeded(&flows, &reply("one"), &secrets));
    assert_eq!(
        s.pause(&flows),
        Some(Duration::ZERO),
        "the next turn follows"
    );
    assert!(s.next(&flows, &mix, &mut rng, at()).chat.is_some());
    assert_eq!(s.say(&chat, "second".into()), 2);
    let messages = s.vars().next().flatten().cloned().unwrap();
    assert_eq!(
        messages,
        serde_json::json!([
            { "role": "system", "content": "Be brief." },
            { "role": "user", "content": "first" },
            { "role": "assistant", "content": "one" },
            { "role": "user", "content": "second" },
        ])
    );
    assert!(s.succeeded(&flows, &reply("two"), &secrets));
    assert_eq!(
        s.next(&flows, &mix, &mut rng, at()).request,
        1,
        "after the last turn"
    );
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    // A new iteration starts a new conversation; an empty reply ends it.
    s.next(&flows, &mix, &mut rng, at());
    assert_eq!(s.say(&chat, "again".into()), 1);
    assert!(!s.succeeded(&flows, &reply(""), &secrets));
    assert!(s.starts_iteration());
    s.next(&flows, &mix, &mut rng, at());
    assert_eq!(s.say(&chat, "anew".into()), 1);
    assert_eq!(
        s.vars().next().flatten().unwrap().as_array().unwrap().len(),
        2
    );
}

#[test]
fn teardown_runs_after_a_failed_step_and_skips_what_was_not_captured() {
    let mut delete = step(3, None);
    delete.needs = vec![0];
    let mut logout = step(4, None);
    logout.needs = vec![1];
    let flows = flow(
        "crud",
        vec![step(
            0,
            Some(("token", 1, CaptureFrom::Json("/token".into()))),
        )],
        vec![
            step(1, Some(("id", 0, CaptureFrom::Json("/id".into())))),
            step(2, None),
        ],
        vec![delete, logout],
    );
    let mix = Mix::new(&[1]);
    let mut rng = SmallRng::seed_from_u64(1);
    let secrets = CapturedSecrets::default();
    let mut s = Session::new(&flows, 0);
    let t0 = at();
    assert_eq!(s.next(&flows, &mix, &mut rng, t0).request, 0);
    assert!(s.succeeded(&flows, &detail(r#"{"token": "tok-1"}"#), &secrets));
    assert_eq!(s.take_ended(), None);
    let t1 = t0 + Duration::from_millis(5);
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 1);
    assert!(s.succeeded(&flows, &detail(r#"{"id": 7}"#), &secrets));
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 2);
    // The step fails: the teardown still runs, the delete then the logout.
    s.failed(&flows);
    assert_eq!(
        s.take_ended(),
        None,
        "the teardown is part of the iteration"
    );
    assert_eq!(s.pause(&flows), Some(Duration::from_millis(3)));
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 3);
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 4);
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    let ended = s.take_ended().expect("the iteration ended");
    assert_eq!((ended.flow, ended.ok), (0, false));
    assert_eq!(
        ended.began, t1,
        "timed from its first step, not from the setup"
    );
    assert!(s.starts_iteration());
    // Next iteration: the create finds no id, so the delete (which needs it) is skipped and
    // the logout (the setup's token) runs.
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 1);
    assert!(!s.succeeded(&flows, &detail("{}"), &secrets));
    assert_eq!(s.next(&flows, &mix, &mut rng, t1).request, 4);
    assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    assert!(!s.take_ended().unwrap().ok);
    // A clean iteration succeeds.
    s.next(&flows, &mix, &mut rng, t1);
    assert!(s.succeeded(&flows, &detail(r#"{"id": 8}"#), &secrets));
    for _ in 0..3 {
        s.next(&flows, &mix, &mut rng, t1);
        assert!(s.succeeded(&flows, &Detail::default(), &secrets));
    }
    assert!(s.take_ended().unwrap().ok);
}

#[test]
fn an_abandoned_iteration_has_no_figure_and_secrets_are_kept() {
    let mut token = step(0, Some(("token", 0, CaptureFrom::Json("/token".into()))));
    token.captures[0].secret = true;
    let flows = flow("f", vec![], vec![token, step(1, None)], vec![]);
    let mix = Mix::new(&[1]);
    let mut rng = SmallRng::seed_from_u64(1);
    let secrets = CapturedSecrets::default();
    let mut s = Session::new(&flows, 0);
    s.next(&flows, &mix, &mut rng, at());
    assert!(s.succeeded(&flows, &detail(r#"{"token": "s3cr3t-token"}"#), &secrets));
    assert_eq!(secrets.values(), ["s3cr3t-token"]);
    s.abandon();
    assert_eq!(s.take_ended(), None);
    assert!(s.starts_iteration());
}
