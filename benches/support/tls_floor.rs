//! What TLS itself costs per exchange on this machine: a rustls client and server in one
//! thread, their records handed over in memory (no socket, no async runtime, no HTTP), the
//! bench's own request and response. The client's share is a floor, with every cache warm,
//! under what any rustls HTTPS client adds to plain HTTP per request here; the HTTPS goal
//! ("within 15 % of plain HTTP") leaves 0.176× the plain request's CPU for it.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::crypto::CryptoProvider;
use rustls::crypto::ring::{cipher_suite, default_provider};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use rustls::{
    ClientConfig, ClientConnection, RootCertStore, ServerConnection, SupportedCipherSuite,
};

/// What the bench's perfspec sends for `path = "/"` (its length, to within a few bytes).
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: 127.0.0.1:40000\r\n\r\n";
/// What the canned server answers.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

/// One cipher suite's cost.
pub struct Floor {
    /// The suite negotiated.
    pub suite: String,
    /// The client's side of one exchange (encrypt the request, decrypt the response), µs,
    /// the clock's own cost taken off.
    pub client_us: f64,
    /// Both sides of one exchange, µs.
    pub both_us: f64,
}

/// Measures TLS 1.3 over `exchanges` request/response pairs, taken in turn on `connections`
/// connections (as the generator's users take theirs: one connection's state is cold again
/// by its next turn), for the suite rustls's client picks by default (`None`) or for `suite`
/// alone.
pub fn measure(
    cert: &testkit::TestCert,
    suite: Option<SupportedCipherSuite>,
    connections: usize,
    exchanges: u32,
) -> Result<Floor, String> {
    let mut pairs = (0..connections.max(1))
        .map(|_| pair(cert, suite))
        .collect::<Result<Vec<_>, _>>()?;
    let mut wire = Vec::with_capacity(16 * 1024);
    let mut buf = [0u8; 4096];
    let clock = clock_cost();
    let mut client_time = Duration::ZERO;
    let start = Instant::now();
    for i in 0..exchanges {
        let (client, server) = &mut pairs[i as usize % connections.max(1)];
        let t0 = Instant::now();
        client.writer().write_all(REQUEST).map_err(err)?;
        client.write_tls(&mut wire).map_err(err)?;
        let t1 = Instant::now();
        server.read_tls(&mut wire.as_slice()).map_err(err)?;
        wire.clear();
        server.process_new_packets().map_err(err)?;
        let n = server.reader().read(&mut buf).map_err(err)?;
        if n != REQUEST.len() {
            return Err(format!("the server read {n} bytes of a request"));
        }
        server.writer().write_all(RESPONSE).map_err(err)?;
        server.write_tls(&mut wire).map_err(err)?;
        let t2 = Instant::now();
        client.read_tls(&mut wire.as_slice()).map_err(err)?;
        wire.clear();
        client.process_new_packets().map_err(err)?;
        let n = client.reader().read(&mut buf).map_err(err)?;
        let t3 = Instant::now();
        if n != RESPONSE.len() {
            return Err(format!("the client read {n} bytes of a response"));
        }
        client_time += (t1 - t0) + (t3 - t2);
    }
    let both = start.elapsed();
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(exchanges);
    let suite = pairs[0]
        .0
        .negotiated_cipher_suite()
        .map_or("?".into(), |s| format!("{:?}", s.suite()));
    Ok(Floor {
        suite,
        client_us: (per(client_time) - 2.0 * clock).max(0.0),
        both_us: per(both) - 4.0 * clock,
    })
}

/// The suites worth comparing: what rustls's client offers first, then each TLS 1.3 suite.
pub fn suites() -> Vec<Option<SupportedCipherSuite>> {
    vec![
        None,
        Some(cipher_suite::TLS13_AES_128_GCM_SHA256),
        Some(cipher_suite::TLS13_CHACHA20_POLY1305_SHA256),
    ]
}

/// A connected pair, handshake done (and the server's session tickets read by the client, as
/// a kept-alive connection would have by its second request).
fn pair(
    cert: &testkit::TestCert,
    suite: Option<SupportedCipherSuite>,
) -> Result<(ClientConnection, ServerConnection), String> {
    let mut provider = default_provider();
    if let Some(s) = suite {
        provider.cipher_suites = vec![s];
    }
    let mut roots = RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(cert.cert_pem.as_bytes()) {
        roots.add(c.map_err(err)?).map_err(err)?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(provider) as Arc<CryptoProvider>)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(err)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from("localhost").map_err(err)?;
    let mut client = ClientConnection::new(Arc::new(config), name).map_err(err)?;
    let mut server = ServerConnection::new(cert.server_config(&[b"http/1.1"])).map_err(err)?;
    let mut wire = Vec::new();
    for _ in 0..10 {
        client.write_tls(&mut wire).map_err(err)?;
        server.read_tls(&mut wire.as_slice()).map_err(err)?;
        wire.clear();
        server.process_new_packets().map_err(err)?;
        server.write_tls(&mut wire).map_err(err)?;
        client.read_tls(&mut wire.as_slice()).map_err(err)?;
        wire.clear();
        client.process_new_packets().map_err(err)?;
        if !client.is_handshaking() && !server.is_handshaking() && !server.wants_write() {
            return Ok((client, server));
        }
    }
    Err("the in-memory handshake did not finish".into())
}

/// What one `Instant::now()` costs here, µs (each timed interval above carries about one).
fn clock_cost() -> f64 {
    let n = 200_000;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Instant::now());
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The bench's section: each suite's floor against what the goal leaves, given perfspec's
/// plain-HTTP CPU per request (`plain_us`) and its HTTPS one (`https_us`) from the runs above.
pub fn section(cert: &testkit::TestCert, plain_us: Option<f64>, https_us: Option<f64>) -> String {
    let budget = plain_us.map(|p| p / 0.85 - p);
    let mut md = String::from(
        "What TLS 1.3 itself costs here: a rustls client and server in one thread, records handed over in memory (no socket, no runtime), the bench's request and the canned server's response, 200,000 exchanges taken in turn on 1 connection (its state stays in cache) and on 64 (as the generator's users take theirs):\n\n| suite | connections | client's side per exchange | both sides | client's side / what the goal leaves |\n|---|---:|---:|---:|---:|\n",
    );
    for connections in [1, 64] {
        for suite in suites() {
            match measure(cert, suite, connections, 200_000) {
                Ok(f) => md.push_str(&format!(
                    "| {}{} | {connections} | {:.2} µs | {:.2} µs | {} |\n",
                    f.suite,
                    if suite.is_none() {
                        " (rustls's first choice)"
                    } else {
                        ""
                    },
                    f.client_us,
                    f.both_us,
                    budget.map_or("–".into(), |b| format!(
                        "{:.0} %",
                        100.0 * f.client_us / b
                    )),
                )),
                Err(e) => md.push_str(&format!(
                    "| {suite:?} | {connections} | failed: {e} | | |\n"
                )),
            }
        }
    }
    if let (Some(p), Some(b)) = (plain_us, budget) {
        md.push_str(&format!(
            "\nThe goal leaves {b:.2} µs per request for everything TLS adds (plain HTTP: {p:.2} µs; {p:.2} / 0.85 − {p:.2})"
        ));
        if let Some(h) = https_us {
            md.push_str(&format!(
                "; perfspec's HTTPS added {:.2} µs in the runs above (medians: {h:.2} against {p:.2} µs)",
                h - p
            ));
        }
        md.push_str(". The loop above keeps every connection's TLS state in cache; inside the generator, between a connection's requests, other work evicts it, and the same rustls calls cost more (docs/benchmarks.md).\n");
    }
    md
}
