//! In-process components: async Rust functions registered by name in `tests/perf.rs` and
//! loaded like a service (`[target] component = "search"`), with no HTTP in between: the
//! component benchmarks of an AI service's parts (an embedding function, a vector search).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use serde_json::Value;

type Boxed = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// A registered component: JSON in (the request's `json` rendered), JSON out. It keeps the
/// CPU time its calls spent being polled, the component's own cost (`sut.cpu-per-request`).
#[derive(Clone)]
pub struct Component(Arc<dyn Fn(Value) -> Boxed + Send + Sync>, Arc<AtomicU64>);

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
        Component(
            Arc::new(move |input| {
                let fut = f(input);
                Box::pin(async move { fut.await.map_err(|e| e.to_string()) })
            }),
            Arc::default(),
        )
    }

    /// The CPU time (ns) every call so far spent being polled, on whichever thread polled it.
    /// Work the component hands to other tasks or threads (`tokio::spawn`, `spawn_blocking`,
    /// a thread pool) is not in it.
    pub(crate) fn cpu_meter(&self) -> Arc<AtomicU64> {
        self.1.clone()
    }

    /// Calls the component; a panic is caught and reported as an error.
    pub(crate) async fn call(&self, input: Value) -> Result<Value, String> {
        let t0 = thread_cpu_ns();
        let made = std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(input)));
        self.1
            .fetch_add(thread_cpu_ns().saturating_sub(t0), Ordering::Relaxed);
        let fut = match made {
            Ok(fut) => fut,
            Err(p) => return Err(panic_message(p.as_ref())),
        };
        CatchUnwind(fut, self.1.clone()).await
    }
}

/// Polls a future, turning a panic into an error and adding the thread CPU time of each poll
/// to the meter.
struct CatchUnwind(Boxed, Arc<AtomicU64>);

impl Future for CatchUnwind {
    type Output = Result<Value, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let t0 = thread_cpu_ns();
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx)));
        self.1
            .fetch_add(thread_cpu_ns().saturating_sub(t0), Ordering::Relaxed);
        match polled {
            Ok(p) => p,
            Err(p) => Poll::Ready(Err(panic_message(p.as_ref()))),
        }
    }
}

/// CPU time of the calling thread, ns (0 where the clock cannot be read).
fn thread_cpu_ns() -> u64 {
    crate::resources::cpu_clock(libc::CLOCK_THREAD_CPUTIME_ID)
        .map_or(0, |t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX))
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

    #[tokio::test]
    async fn the_cpu_time_of_polls_is_metered() {
        let busy = Component::new(|_| async {
            let mut x = 1u64;
            for i in 0..5_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            Ok::<_, String>(json!(x))
        });
        let idle = Component::new(|_| async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            Ok::<_, String>(json!(null))
        });
        busy.call(json!(null)).await.unwrap();
        idle.call(json!(null)).await.unwrap();
        let (b, i) = (
            busy.cpu_meter().load(Ordering::Relaxed),
            idle.cpu_meter().load(Ordering::Relaxed),
        );
        // 5 million multiply-adds take milliseconds; a 50 ms sleep costs next to nothing.
        assert!(b > 500_000, "{b} ns");
        assert!(i < 5_000_000, "sleeping is not CPU: {i} ns");
    }
}
