//! In-process components: async Rust functions registered by name in `tests/perf.rs` and
//! loaded like a service (`[target] component = "search"`), with no HTTP in between: the
//! component benchmarks of an AI service's parts (an embedding function, a vector search).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde_json::Value;

type Boxed = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// A registered component: JSON in (the request's `json` rendered), JSON out.
#[derive(Clone)]
pub struct Component(Arc<dyn Fn(Value) -> Boxed + Send + Sync>);

impl std::fmt::Debug for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Component(..)")
    }
}

impl Component {
    /// Wraps an async function; an `Err` counts as a failed request of kind `component`.
    pub fn new<F, Fut, E>(f: F) -> Component
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, E>> + Send + 'static,
        E: std::fmt::Display,
    {
        Component(Arc::new(move |input| {
            let fut = f(input);
            Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
        }))
    }

    /// Calls the component; a panic is caught and reported as an error.
    pub(crate) async fn call(&self, input: Value) -> Result<Value, String> {
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(input))) {
            Ok(fut) => fut,
            Err(p) => return Err(panic_message(p.as_ref())),
        };
        CatchUnwind(fut).await
    }
}

/// Polls a future, turning a panic into an error.
struct CatchUnwind(Boxed);

impl Future for CatchUnwind {
    type Output = Result<Value, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(p) => Poll::Ready(Err(panic_message(p.as_ref()))),
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    let text = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
    format!(
        "the component panicked: {}",
        text.unwrap_or_else(|| "(no message)".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn calls_and_catches_panics() {
        let double = Component::new(|v: Value| async move {
            Ok::<_, String>(json!(v["x"].as_i64().unwrap_or(0) * 2))
        });
        assert_eq!(double.call(json!({"x": 21})).await, Ok(json!(42)));
        let failing = Component::new(|_| async { Err::<Value, _>("no such index") });
        assert_eq!(failing.call(json!(null)).await, Err("no such index".into()));
        let panicking = Component::new(|_| async {
            if true {
                panic!("index out of range");
            }
            Ok::<Value, String>(json!(null))
        });
        let e = panicking.call(json!(null)).await.unwrap_err();
        assert!(e.contains("panicked: index out of range"), "{e}");
    }
}
