//! Multi-turn chat steps of flows (`{ request = "chat", turns = 3, prompt = "question" }`):
//! the conversation a user keeps in `{{user.messages}}`, and the `in turn N` checks that read
//! one turn index.

use super::Request;
use super::cx::{Cx, R};
use super::flow::Flow;
use super::flow::request_vars;
use super::raw::{RawScenario, RawSpec, RawStep, S};

/// A multi-turn chat step: `turns` user turns drawn from a data source, each sent with the
/// conversation so far (`{{user.messages}}`), the assistant's streamed reply appended after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    /// User turns per conversation (≥ 1).
    pub turns: u32,
    /// The data source the user turns are drawn from (one row per turn).
    pub prompt: usize,
    /// The slot of `{{user.messages}}` (the conversation) in the rows templates render from.
    pub slot: usize,
    /// A system message that opens every conversation.
    pub system: Option<String>,
}

/// The user variable a chat step keeps the conversation in (an OpenAI `messages` array).
pub const CONVERSATION: &str = "messages";

/// The most turns of one chat step.
pub(super) const MAX_TURNS: i64 = 64;

/// The conversation of a step with `turns`: a streamed request that sends `{{user.messages}}`,
/// user turns from a data source, no captures.
pub(super) fn chat_step(cx: &Cx, flow: &str, s: &RawStep, request: &Request) -> R<Option<Chat>> {
    let name = s.request.get_ref();
    if let (None, Some(system)) = (&s.turns, &s.system) {
        return Err(cx.err(
            system.span(),
            "`system` belongs to a chat step, which needs `turns`",
            Some(format!(
                "e.g. {{ request = \"{name}\", turns = 3, prompt = \"question\", system = \"…\" }}"
            )),
        ));
    }
    let turns = match (&s.turns, &s.prompt) {
        (None, None) => return Ok(None),
        (None, Some(p)) => {
            return Err(cx.err(
                p.span(),
                "`prompt` belongs to a chat step, which needs `turns`",
                Some(format!(
                    "e.g. {{ request = \"{name}\", turns = 3, prompt = \"{}\" }}",
                    p.get_ref()
                )),
            ));
        }
        (Some(t), _) if !(1..=MAX_TURNS).contains(t.get_ref()) => {
            return Err(cx.err(
                t.span(),
                format!(
                    "`turns` must be between 1 and {MAX_TURNS}, not {}",
                    t.get_ref()
                ),
                Some("the user turns of one conversation, e.g. turns = 3".into()),
            ));
        }
        (Some(t), _) => t,
    };
    let Some(prompt) = &s.prompt else {
        return Err(cx.err(
            turns.span(),
            "a chat step needs `prompt`: the [data] source its user turns are drawn from",
            Some(format!("e.g. {{ request = \"{name}\", turns = {}, prompt = \"question\" }} with [data] question = {{ file = \"turns.txt\" }}", turns.get_ref())),
        ));
    };
    let Some(source) = cx.data.iter().position(|d| d.name == *prompt.get_ref()) else {
        let names: Vec<&str> = cx.data.iter().map(|d| d.name.as_str()).collect();
        return Err(cx.err(
            prompt.span(),
            format!("`prompt` names unknown data source `{}`", prompt.get_ref()),
            Some(if names.is_empty() {
                "add one, e.g. [data] question = { file = \"turns.txt\" } (one user turn per line)"
                    .into()
            } else {
                format!("data sources: {}", names.join(", "))
            }),
        ));
    };
    if request.stream.is_none() {
        return Err(cx.err(
            s.request.span(),
            format!("chat step of flow `{flow}`: request `{name}` does not stream"),
            Some("a chat turn appends the assistant's streamed reply: add stream = \"sse\" to the request".into()),
        ));
    }
    let slot = cx.data.len()
        + cx.user_vars
            .iter()
            .position(|v| v == CONVERSATION)
            .expect("user_vars lists the conversation of a chat step");
    if !request_vars(request).contains(&slot) {
        return Err(cx.err(
            s.request.span(),
            format!("chat step of flow `{flow}`: request `{name}` does not send the conversation"),
            Some(format!("send it as its messages: json = {{ …, messages = \"{{{{user.{CONVERSATION}}}}}\" }}")),
        ));
    }
    if let Some((var, _)) = s.capture.first() {
        return Err(cx.err(
            var.span(),
            "a chat step captures nothing: its reply goes into the conversation",
            Some("capture in a step of its own".into()),
        ));
    }
    Ok(Some(Chat {
        turns: *turns.get_ref() as u32,
        prompt: source,
        slot,
        system: s.system.as_ref().map(|t| t.get_ref().clone()),
    }))
}

/// A capture named like the conversation, in a spec with a chat step: the two would share one
/// variable.
pub(super) fn check_conversation_name(cx: &Cx, raw: &RawSpec) -> R<()> {
    let steps = || {
        raw.flow
            .iter()
            .flat_map(|f| f.get_ref().setup.iter().chain(f.get_ref().steps.get_ref()))
    };
    if !steps().any(|s| s.get_ref().turns.is_some()) {
        return Ok(());
    }
    for step in steps() {
        if let Some((var, _)) = step
            .get_ref()
            .capture
            .iter()
            .find(|(v, _)| v.get_ref() == CONVERSATION)
        {
            return Err(cx.err(
                var.span(),
                format!("`{CONVERSATION}` is the conversation of this spec's chat steps"),
                Some("capture into another name".into()),
            ));
        }
    }
    Ok(())
}
/// Checks the `in turn N` assertions and regression metrics of a scenario against the chat
/// steps of its flows: a turn no chat step reaches, or a request that is not sent as a chat
/// turn, is an error.
pub(super) fn check_turns(
    cx: &Cx,
    raw: &S<RawScenario>,
    scenario: &super::Scenario,
    flows: &[&Flow],
    requests: &[Request],
) -> R<()> {
    let chats: Vec<(usize, &Chat)> = flows
        .iter()
        .flat_map(|f| f.setup.iter().chain(&f.steps))
        .filter_map(|s| s.chat.as_ref().map(|c| (s.request, c)))
        .collect();
    let span = |text: &str| super::raw::metric_span(raw, text);
    if let Some(a) = scenario.abort_on.iter().find(|a| a.turn.is_some()) {
        return Err(cx.err(
            span(&a.text),
            "abort conditions read the whole run as it goes, not one turn",
            Some("remove `in turn N` from the condition, or make it an assertion".into()),
        ));
    }
    let turned = scenario
        .assertions
        .iter()
        .map(|a| (&a.text, &a.scope, a.turn))
        .chain(
            scenario
                .regression
                .metrics
                .iter()
                .map(|g| (&g.text, &g.scope, g.turn)),
        );
    for (text, scope, turn) in turned {
        let Some(turn) = turn else { continue };
        let scoped: Vec<&(usize, &Chat)> = chats
            .iter()
            .filter(|(r, _)| scope.as_ref().is_none_or(|n| requests[*r].name == *n))
            .collect();
        if scoped.is_empty() {
            let (message, help) = match (scope, chats.first()) {
                (Some(name), Some((r, _))) => (
                    format!("request `{name}` is not sent as a chat turn in this scenario's flows: it has no turns"),
                    format!("per-turn metrics belong to chat steps' requests, e.g. `{}`", requests[*r].name),
                ),
                _ => (
                    "`in turn N` reads the turns of chat steps, and this scenario's flows have none".to_string(),
                    "run a flow with a chat step, e.g. steps = [{ request = \"chat\", turns = 3, prompt = \"question\" }]".to_string(),
                ),
            };
            return Err(cx.err(span(text), message, Some(help)));
        }
        let most = scoped.iter().map(|(_, c)| c.turns).max().unwrap_or(0);
        if turn > most {
            return Err(cx.err(
                span(text),
                format!("turn {turn} is never reached: the chat steps of this scenario have at most {most} turns"),
                Some(format!("use a turn from 1 to {most}, or raise `turns`")),
            ));
        }
    }
    Ok(())
}
