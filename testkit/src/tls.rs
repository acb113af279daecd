//! TLS for the test servers: a certificate for `localhost` and 127.0.0.1 generated at test
//! time (rcgen), and a rustls server configuration that offers HTTP/2 and HTTP/1.1 by ALPN.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed certificate and its key, in PEM.
#[derive(Clone)]
pub struct TestCert {
    /// The certificate (also the CA to trust).
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

impl TestCert {
    /// A new certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn localhost() -> TestCert {
        TestCert::for_names(&["localhost", "127.0.0.1", "::1"])
    }

    /// A new certificate for `names` (DNS names or IP addresses).
    pub fn for_names(names: &[&str]) -> TestCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = rcgen::generate_simple_self_signed(names).expect("rcgen makes a certificate");
        TestCert {
            cert_pem: key.cert.pem(),
            key_pem: key.signing_key.serialize_pem(),
        }
    }

    /// Writes `cert.pem` and `key.pem` into `dir`; returns their paths.
    pub fn write_to(&self, dir: &Path) -> (PathBuf, PathBuf) {
        std::fs::create_dir_all(dir).expect("cert dir");
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, &self.cert_pem).expect("write cert.pem");
        std::fs::write(&key, &self.key_pem).expect("write key.pem");
        (cert, key)
    }

    /// Reads a pair written by [`TestCert::write_to`].
    pub fn read_from(cert: &Path, key: &Path) -> std::io::Result<TestCert> {
        Ok(TestCert {
            cert_pem: std::fs::read_to_string(cert)?,
            key_pem: std::fs::read_to_string(key)?,
        })
    }

    /// A server configuration with this certificate; ALPN offers `alpn` in order.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Arc<ServerConfig> {
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(self.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .expect("generated PEM parses");
        let key = PrivateKeyDer::from_pem_slice(self.key_pem.as_bytes()).expect("generated key");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default versions")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("a matching key");
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}
