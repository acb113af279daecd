//! The scraping thread: reads the target's `/metrics` once before the load, then whenever the
//! resource sampler ticks (the same clock as CPU and memory), and once after the load. A tick
//! that finds the previous scrape still running is skipped and counted: a slow `/metrics`
//! never delays the resource samples.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::parse::{Kind, parse};
use super::{Attempt, MetricSeries, Scraped};
use crate::resources::{Point, Readings, Sampler, SamplingCost, secs_since, thread_cpu};

/// Where the service's metrics are read.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// The target's address.
    pub addr: SocketAddr,
    /// The Host header.
    pub host: String,
    /// The path, `/metrics`.
    pub path: String,
    /// The target's TLS, asking for HTTP/1.1; `None` for `http://`.
    pub tls: Option<crate::client::Tls>,
}

enum Msg {
    Tick(Instant),
    Final,
}

/// A series as read: name, labels, values with the instant of their read.
type RawSeries = (String, Vec<(String, String)>, Vec<(Instant, f64)>);

#[derive(Default)]
struct Store {
    index: HashMap<String, usize>,
    series: Vec<RawSeries>,
    types: BTreeMap<String, Kind>,
    attempts: Vec<(Instant, Option<String>)>,
}

/// A running scraper; [`Scraping::finish`] takes the last scrape and returns the series.
pub(crate) struct Scraping {
    endpoint: Endpoint,
    tx: Option<SyncSender<Msg>>,
    skipped: Arc<AtomicU64>,
    thread: Option<JoinHandle<(Store, SamplingCost)>>,
}

/// The sampler the resource sampling thread calls at each tick: it asks for a scrape.
struct Ticker {
    tx: SyncSender<Msg>,
    skipped: Arc<AtomicU64>,
}

impl Sampler for Ticker {
    fn sample(&mut self, _out: &mut Readings) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Msg::Tick(Instant::now())) {
            self.skipped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// How long one scrape may take.
fn timeout(interval: Duration) -> Duration {
    (interval * 4).clamp(Duration::from_secs(1), Duration::from_secs(5))
}

/// Starts scraping `endpoint`: the first scrape is done when this returns (or timed out).
pub(crate) fn start(endpoint: Endpoint, interval: Duration) -> Scraping {
    let (tx, rx) = sync_channel::<Msg>(1);
    let (first_tx, first_rx) = sync_channel::<()>(1);
    let limit = timeout(interval);
    let thread = {
        let endpoint = endpoint.clone();
        std::thread::Builder::new()
            .name("perfspec-scrape".into())
            .spawn(move || run(&endpoint, limit, &rx, &first_tx))
            .ok()
    };
    let _ = first_rx.recv_timeout(limit + Duration::from_secs(1));
    Scraping {
        endpoint,
        tx: Some(tx),
        skipped: Arc::default(),
        thread,
    }
}

fn run(
    endpoint: &Endpoint,
    limit: Duration,
    rx: &Receiver<Msg>,
    first: &SyncSender<()>,
) -> (Store, SamplingCost) {
    let cpu0 = thread_cpu();
    let started = Instant::now();
    let mut store = Store::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let mut scrapes = 0;
    let mut once = |store: &mut Store, at: Instant| {
        scrapes += 1;
        let result = match &runtime {
            Ok(rt) => rt.block_on(read(endpoint, limit)),
            Err(e) => Err(format!("cannot start the scraper's runtime: {e}")),
        };
        let error = match result {
            Ok(body) => store.add(at, &body).err(),
            Err(e) => Some(e),
        };
        store.attempts.push((at, error));
    };
    once(&mut store, Instant::now());
    let _ = first.try_send(());
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Tick(at) => once(&mut store, at),
            Msg::Final => {
                once(&mut store, Instant::now());
                break;
            }
        }
    }
    let cost = SamplingCost {
        samples: scrapes,
        cpu: thread_cpu().saturating_sub(cpu0),
        wall: started.elapsed(),
    };
    (store, cost)
}

/// GETs the endpoint: the body of a 2xx answer, as text.
async fn read(e: &Endpoint, limit: Duration) -> Result<String, String> {
    let scheme = if e.tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}{}", e.host, e.path);
    let req = super::fetch::get(&e.path, &e.host)?;
    let res = super::fetch::exchange(e.addr, e.tls.as_ref(), req, limit)
        .await
        .map_err(|err| format!("GET {url}: {err}"))?;
    if !res.status.is_success() {
        return Err(format!("GET {url} answered {}", res.status));
    }
    String::from_utf8(res.body.to_vec()).map_err(|_| {
        format!(
            "GET {url}: the body is not UTF-8 text (Content-Type: {})",
            res.content_type.as_deref().unwrap_or("none")
        )
    })
}

impl Store {
    /// Adds one response's samples taken at `at`; an unreadable body adds nothing.
    fn add(&mut self, at: Instant, body: &str) -> Result<(), String> {
        let exposition = parse(body)?;
        self.types.extend(exposition.types);
        let mut key = String::new();
        for s in exposition.samples {
            key.clear();
            key.push_str(&s.name);
            for (k, v) in &s.labels {
                key.push('\u{1f}');
                key.push_str(k);
                key.push('=');
                key.push_str(v);
            }
            let i = match self.index.get(key.as_str()) {
                Some(&i) => i,
                None => {
                    self.series.push((s.name, s.labels, Vec::new()));
                    self.index.insert(key.clone(), self.series.len() - 1);
                    self.series.len() - 1
                }
            };
            self.series[i].2.push((at, s.value));
        }
        Ok(())
    }
}

impl Scraping {
    /// The sampler that asks for a scrape at each resource tick.
    pub fn ticker(&self) -> Option<Box<dyn Sampler>> {
        let tx = self.tx.clone()?;
        Some(Box::new(Ticker {
            tx,
            skipped: self.skipped.clone(),
        }))
    }

    /// Takes the scrape after the load, stops the thread and returns the series with `t` in
    /// seconds from `measure_from` (the end of the warm-up).
    pub fn finish(mut self, measure_from: Instant, window: Duration) -> Scraped {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Msg::Final);
        }
        let (store, cost) = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        let t = |at: Instant| secs_since(measure_from, at);
        Scraped {
            path: self.endpoint.path.clone(),
            window,
            series: store
                .series
                .into_iter()
                .map(|(name, labels, points)| MetricSeries {
                    name,
                    labels,
                    points: points
                        .into_iter()
                        .map(|(at, v)| Point { t: t(at), v })
                        .collect(),
                })
                .collect(),
            types: store.types,
            scrapes: store
                .attempts
                .into_iter()
                .map(|(at, error)| Attempt { t: t(at), error })
                .collect(),
            skipped: self.skipped.load(Ordering::Relaxed),
            cost,
        }
    }
}

impl Drop for Scraping {
    fn drop(&mut self) {
        // Dropping the sender ends the thread after its current scrape.
        self.tx.take();
    }
}
