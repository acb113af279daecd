//! The live OpenMetrics endpoint: while trials run, `GET /metrics` on a loopback address
//! shows each run's request rate, latency histograms, errors by kind, dropped arrivals,
//! active users, schedule lateness and the target's CPU and memory, labelled by spec,
//! scenario, request and run id. The load generator never touches it per request: the
//! recorder's once-a-second collection feeds it ([`RunFeed::update`]) and the resource
//! sampler feeds the target's figures ([`RunFeed::sampler`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::histogram::Buckets;
use crate::measure::{Collected, ErrorKind};
use crate::resources::{Quantity, Readings, Sampler};

type Labels = Vec<(String, String)>;

/// The `Content-Type` of the endpoint.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The metric families every run adds its series to.
#[derive(Debug, Default)]
struct Families {
    requests: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    response: Family<Labels, Buckets>,
    dropped: Family<Labels, Counter>,
    users: Family<Labels, Gauge>,
    measuring: Family<Labels, Gauge>,
    lateness: Family<Labels, Buckets>,
    cpu: Family<Labels, Gauge<f64, AtomicU64>>,
    rss: Family<Labels, Gauge<f64, AtomicU64>>,
}

/// The metric names the endpoint exports (as samples, with their suffixes): the Grafana
/// dashboard is built on them.
pub const EXPORTED: &[&str] = &[
    "perfspec_requests_total",
    "perfspec_errors_total",
    "perfspec_response_time_seconds_bucket",
    "perfspec_response_time_seconds_sum",
    "perfspec_response_time_seconds_count",
    "perfspec_dropped_arrivals_total",
    "perfspec_active_users",
    "perfspec_measuring",
    "perfspec_schedule_lateness_seconds_bucket",
    "perfspec_schedule_lateness_seconds_sum",
    "perfspec_schedule_lateness_seconds_count",
    "perfspec_target_cpu_percent",
    "perfspec_target_memory_bytes",
];

impl Families {
    fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("perfspec");
        r.register(
            "requests",
            "Completed requests (successful and failed), by request",
            self.requests.clone(),
        );
        r.register(
            "errors",
            "Failed requests by request and kind",
            self.errors.clone(),
        );
        r.register_with_unit(
            "response_time",
            "Response time of successful requests, from the intended start",
            Unit::Seconds,
            self.response.clone(),
        );
        r.register(
            "dropped_arrivals",
            "Arrivals that found no free user (open model)",
            self.dropped.clone(),
        );
        r.register("active_users", "Users running now", self.users.clone());
        r.register(
            "measuring",
            "1 once the warm-up is over, 0 during it",
            self.measuring.clone(),
        );
        r.register_with_unit(
            "schedule_lateness",
            "Actual minus intended start of sent requests (open model)",
            Unit::Seconds,
            self.lateness.clone(),
        );
        r.register(
            "target_cpu_percent",
            "CPU of the target's processes, percent of one core",
            self.cpu.clone(),
        );
        r.register_with_unit(
            "target_memory",
            "Resident memory of the target's processes",
            Unit::Bytes,
            self.rss.clone(),
        );
        r
    }
}

/// The running endpoint; it stops when dropped.
#[derive(Debug)]
pub struct LiveServer {
    addr: SocketAddr,
    families: Arc<Families>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl LiveServer {
    /// Binds `addr` and serves `GET /metrics` on a thread of its own.
    pub fn start(addr: SocketAddr) -> Result<LiveServer, String> {
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| format!("cannot serve live metrics on {addr}: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot serve live metrics on {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot serve live metrics on {addr}: {e}"))?;
        let families = Arc::new(Families::default());
        let registry = Arc::new(families.registry());
        let (stop, stopped) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("perfspec-live".into())
            .spawn(move || serve(listener, registry, stopped))
            .map_err(|e| format!("cannot start the live metrics thread: {e}"))?;
        Ok(LiveServer {
            addr,
            families,
            stop: Some(stop),
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The feed of one run: its series carry `spec`, `scenario` and `run_id`.
    pub(crate) fn feed(
        &self,
        spec: &str,
        scenario: &str,
        run_id: &str,
        requests: &[String],
    ) -> Arc<RunFeed> {
        let base: Labels = vec![
            ("spec".into(), spec.into()),
            ("scenario".into(), scenario.into()),
            ("run_id".into(), run_id.into()),
        ];
        let with = |request: &str| {
            let mut l = base.clone();
            l.push(("request".into(), request.into()));
            l
        };
        Arc::new(RunFeed {
            families: self.families.clone(),
            requests: requests.iter().map(|r| with(r)).collect(),
            base,
        })
    }
}

impl Drop for LiveServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn serve(
    listener: std::net::TcpListener,
    registry: Arc<Registry>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        tokio::pin!(stop);
        loop {
            let stream = tokio::select! {
                _ = &mut stop => return,
                accepted = listener.accept() => match accepted {
                    Ok((s, _)) => s,
                    Err(_) => continue,
                },
            };
            let registry = registry.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
                    let registry = registry.clone();
                    async move { Ok::<_, std::convert::Infallible>(answer(&req, &registry)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn answer<B>(req: &http::Request<B>, registry: &Registry) -> http::Response<Full<Bytes>> {
    let mut res = http::Response::new(Full::new(Bytes::new()));
    if req.uri().path() != "/metrics" {
        *res.status_mut() = http::StatusCode::NOT_FOUND;
        *res.body_mut() = Full::new(Bytes::from_static(b"perfspec serves GET /metrics\n"));
        return res;
    }
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, registry);
    *res.body_mut() = Full::new(Bytes::from(text));
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(CONTENT_TYPE),
    );
    res
}

/// One run's series on the live endpoint.
#[derive(Debug)]
pub(crate) struct RunFeed {
    families: Arc<Families>,
    base: Labels,
    /// Labels per request, in spec order.
    requests: Vec<Labels>,
}

impl RunFeed {
    /// Adds what the recorder collected since the last call (about a second's worth).
    pub fn update(&self, c: &Collected, users: u64, measuring: bool) {
        let f = &self.families;
        for (i, labels) in self.requests.iter().enumerate() {
            if let Some(s) = c.second.requests.get(i) {
                f.requests.get_or_create(labels).inc_by(s.ok + s.errors);
                f.response.get_or_create(labels).add(&s.latency);
            }
            if let Some(kinds) = c.errors.get(i) {
                for (kind, &n) in ErrorKind::ALL.iter().zip(kinds) {
                    if n > 0 {
                        let mut l = labels.clone();
                        l.push(("kind".into(), kind.name().into()));
                        f.errors.get_or_create(&l).inc_by(n);
                    }
                }
            }
        }
        f.dropped.get_or_create(&self.base).inc_by(c.second.dropped);
        f.users.get_or_create(&self.base).set(users as i64);
        f.measuring
            .get_or_create(&self.base)
            .set(i64::from(measuring));
        if let Some(l) = &c.lateness {
            f.lateness.get_or_create(&self.base).add(l);
        }
    }

    /// The run is over: no user is active.
    pub fn end(&self) {
        self.families.users.get_or_create(&self.base).set(0);
    }

    /// A sampler for the resource thread: it copies the target's CPU and memory of each
    /// tick to the endpoint.
    pub fn sampler(self: &Arc<Self>) -> Box<dyn Sampler> {
        Box::new(TargetFigures(self.clone()))
    }
}

struct TargetFigures(Arc<RunFeed>);

impl Sampler for TargetFigures {
    fn sample(&mut self, out: &mut Readings) {
        let f = &self.0.families;
        for (entity, q, v) in out.values() {
            match (entity, q) {
                ("sut", Quantity::Cpu) => {
                    f.cpu.get_or_create(&self.0.base).set(v);
                }
                ("sut", Quantity::Rss) => {
                    f.rss.get_or_create(&self.0.base).set(v);
                }
                _ => {}
            }
        }
    }
}

/// Where the live endpoint listens, from `PERFSPEC_LIVE` or `--live`: `1`/`true`/`on` for a
/// free loopback port, a port (`9464`), or `HOST:PORT`. Addresses outside loopback need
/// `allow_remote`.
pub fn parse_addr(text: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let t = text.trim();
    let addr: SocketAddr = match t {
        "" | "1" | "true" | "on" | "yes" => SocketAddr::from(([127, 0, 0, 1], 0)),
        _ => match t.parse::<u16>() {
            Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
            Err(_) => t.parse().map_err(|_| {
                format!("live metrics address {t:?} is not a port or HOST:PORT (e.g. 127.0.0.1:9464, or 1 for a free port)")
            })?,
        },
    };
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "live metrics address {addr} is not a loopback address: set PERFSPEC_ALLOW_REMOTE=1 to serve it there"
        ));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback() {
        assert_eq!(parse_addr("1", false).unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(
            parse_addr("9464", false).unwrap().to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(parse_addr("[::1]:9", false).unwrap().to_string(), "[::1]:9");
        assert!(
            parse_addr("0.0.0.0:9464", false)
                .unwrap_err()
                .contains("PERFSPEC_ALLOW_REMOTE")
        );
        assert!(parse_addr("0.0.0.0:9464", true).is_ok());
        assert!(parse_addr("nine", false).is_err());
    }
}
