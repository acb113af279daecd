//! A real Prometheus for the tests: started on a free loopback port with a generated config
//! and a temporary storage folder, stopped (killed and reaped) when dropped. Without the
//! binary the tests skip with a message, except under `CI`, where it must be there.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `prometheus` binary: `PERFSPEC_PROMETHEUS`, else `prometheus` on PATH.
pub fn binary(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PERFSPEC_PROMETHEUS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH")?)
                .map(|d| d.join("prometheus"))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "prometheus is required under CI: apt-get install -y prometheus (or set PERFSPEC_PROMETHEUS)"
        );
        eprintln!(
            "SKIPPED {test}: no prometheus on PATH (apt-get install -y prometheus, or set PERFSPEC_PROMETHEUS)"
        );
    }
    found
}

/// A running Prometheus.
pub struct Prometheus {
    child: Child,
    /// Its HTTP address.
    pub addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    /// Starts `bin` scraping `target` (if any) every second, with the remote-write receiver
    /// on; waits until it is ready.
    pub fn start(bin: &Path, dir: &Path, target: Option<SocketAddr>) -> Prometheus {
        let scrape = target.map_or(String::new(), |t| {
            format!(
                "scrape_configs:\n  - job_name: perfspec\n    scrape_interval: 1s\n    scrape_timeout: 900ms\n    static_configs:\n      - targets: ['{t}']\n"
            )
        });
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, format!("global:\n  scrape_interval: 1s\n{scrape}")).unwrap();
        // A free port can be taken by someone else before Prometheus binds it: try again.
        for _ in 0..3 {
            let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
            let data = dir.join(format!("data-{}", addr.port()));
            let mut child = Command::new(bin)
                .arg(format!("--config.file={}", config.display()))
                .arg(format!("--storage.tsdb.path={}", data.display()))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--web.enable-remote-write-receiver")
                .arg("--log.level=warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
                .spawn()
                .expect("start prometheus");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if get(addr, "/-/ready").is_some_and(|(status, _)| status == 200) {
                    return Prometheus { child, addr };
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!(
            "prometheus did not become ready; log:\n{}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
    }

    /// The result vector of an instant query.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", encode(promql));
        let (status, body) = get(self.addr, &path).expect("prometheus answers");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
        assert_eq!(status, 200, "{promql}: {body}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `promql` until `done` holds for its result (or panics after `limit`).
    pub fn wait_for(
        &self,
        promql: &str,
        limit: Duration,
        done: impl Fn(&[serde_json::Value]) -> bool,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.query(promql);
            if done(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "{promql} never held; last result: {r:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The value of a vector sample.
pub fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// GET `path` from `addr`: status and body, `None` when nothing answered.
pub fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(async {
        use http_body_util::BodyExt;
        let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .ok()?;
        tokio::spawn(conn);
        let req = http::Request::get(path)
            .header("host", addr.to_string())
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .ok()?;
        let res = tokio::time::timeout(Duration::from_secs(10), sender.send_request(req))
            .await
            .ok()?
            .ok()?;
        let status = res.status().as_u16();
        let body = res.into_body().collect().await.ok()?.to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    })
}
