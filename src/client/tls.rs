//! The client side of TLS: rustls with the ring provider, roots from the spec's `ca` file or
//! the system, the server name to verify, ALPN for the HTTP version, and an accept-anything
//! verifier for `insecure = true`. One configuration per run, shared by every connection, so
//! its session cache lets later handshakes resume.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::spec::TlsSpec;

/// Builds the client configuration of `spec`; `alpn` is the protocol to ask for (`h2` or
/// `http/1.1`).
pub(super) fn client_config(spec: &TlsSpec, alpn: &[u8]) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let mut config = if spec.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(
                provider.signature_verification_algorithms,
            )))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(spec)?)
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(Arc::new(config))
}

/// The server name to verify and send (SNI).
pub(super) fn server_name(spec: &TlsSpec, default: &str) -> Result<ServerName<'static>, String> {
    let name = spec.server_name.as_deref().unwrap_or(default);
    // An IPv6 host is written in brackets in a url, not in a certificate.
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|_| format!("`{name}` is not a valid TLS server name; set tls.server-name"))
}

fn roots(spec: &TlsSpec) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match &spec.ca {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("cannot read the CA file `{}`: {e}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&bytes) {
                let cert = cert.map_err(|e| {
                    format!("the CA file `{}` is not valid PEM: {e}", path.display())
                })?;
                roots.add(cert).map_err(|e| {
                    format!("a certificate of `{}` is not usable: {e}", path.display())
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(match &spec.ca {
            Some(p) => format!("the CA file `{}` holds no certificate", p.display()),
            None => "no trusted certificates found on this system: set tls.ca to a PEM file".into(),
        });
    }
    Ok(roots)
}

/// `insecure = true`: any certificate is accepted; handshake signatures are still checked,
/// so the handshake costs what a verified one costs, less the chain validation.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
