//! How the target is spoken to: `http = "2"` and `tls = { ca, server-name, insecure }` of
//! `[target]`, and the `https://` scheme of a url.

use std::path::{Path, PathBuf};

use super::cx::{Cx, R};
use super::raw::{RawTarget, RawTls, S};

/// The protocol of an HTTP target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Protocol {
    /// TLS settings, for an https target; `None` is plain TCP.
    pub tls: Option<TlsSpec>,
    /// The HTTP version spoken.
    pub http: HttpVersion,
}

/// `tls = { ca = "…", server-name = "…", insecure = false }`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSpec {
    /// PEM file of the certificates to trust (relative paths are relative to the spec's
    /// folder); `None` trusts the system's roots.
    pub ca: Option<PathBuf>,
    /// The name the certificate must hold (and the SNI sent); `None` is the url's host, or
    /// `localhost` for a started command.
    pub server_name: Option<String>,
    /// Accept any certificate (the handshake still happens and is timed).
    pub insecure: bool,
}

/// The HTTP version spoken to the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.1 with keep-alive: one connection per user.
    #[default]
    Http1,
    /// HTTP/2 (prior knowledge over plain TCP, ALPN `h2` over TLS): users are streams over
    /// shared connections.
    Http2,
}

impl Protocol {
    /// The URL scheme: `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    /// The port a url of this scheme means when it names none.
    pub fn default_port(&self) -> u16 {
        if self.tls.is_some() { 443 } else { 80 }
    }
}

const HTTP_HELP: &str = "http = \"1.1\" (the default) or http = \"2\"";

/// The protocol of a command target (`tls` turns on https) or of a url target (`https`).
pub(super) fn convert_protocol(cx: &Cx, t: &RawTarget, https: bool, dir: &Path) -> R<Protocol> {
    let http = match &t.http {
        None => HttpVersion::Http1,
        Some(v) => match v.get_ref() {
            toml::Value::String(s) if matches!(s.as_str(), "1" | "1.1") => HttpVersion::Http1,
            toml::Value::String(s) if s == "2" => HttpVersion::Http2,
            toml::Value::Integer(1) => HttpVersion::Http1,
            toml::Value::Float(f) if *f == 1.1 => HttpVersion::Http1,
            toml::Value::Integer(2) => HttpVersion::Http2,
            other => {
                return Err(cx.err(
                    v.span(),
                    format!("`http` must be \"1.1\" or \"2\", not {other}"),
                    Some(HTTP_HELP.into()),
                ));
            }
        },
    };
    let tls = match (&t.tls, https) {
        (Some(raw), _) => Some(convert_tls(cx, raw, dir)?),
        (None, true) => Some(TlsSpec::default()),
        (None, false) => None,
    };
    Ok(Protocol { tls, http })
}

fn convert_tls(cx: &Cx, raw: &S<RawTls>, dir: &Path) -> R<TlsSpec> {
    let t = raw.get_ref();
    let insecure = t.insecure.as_ref().is_some_and(|v| *v.get_ref());
    if let (true, Some(ca)) = (insecure, &t.ca) {
        return Err(cx.err(
            ca.span(),
            "`ca` and `insecure = true` contradict each other",
            Some("keep `ca` to verify the certificate against it, or `insecure = true` to accept any certificate".into()),
        ));
    }
    let ca = match &t.ca {
        None => None,
        Some(file) => {
            let path = dir.join(file.get_ref());
            let text = std::fs::read_to_string(&path).map_err(|e| {
                cx.err(
                    file.span(),
                    format!("cannot read the CA file `{}`: {e}", path.display()),
                    Some(
                        "`ca` is a PEM file of certificates, relative to the spec's folder".into(),
                    ),
                )
            })?;
            if !text.contains("-----BEGIN CERTIFICATE-----") {
                return Err(cx.err(
                    file.span(),
                    format!("`{}` holds no PEM certificate", file.get_ref()),
                    Some("a PEM certificate starts with -----BEGIN CERTIFICATE-----".into()),
                ));
            }
            Some(path)
        }
    };
    let server_name = match &t.server_name {
        None => None,
        Some(name) => {
            let n = name.get_ref();
            if rustls::pki_types::ServerName::try_from(n.as_str()).is_err() {
                return Err(cx.err(
                    name.span(),
                    format!("`server-name` {n:?} is not a DNS name or an IP address"),
                    Some(
                        "the name in the server's certificate, e.g. server-name = \"localhost\""
                            .into(),
                    ),
                ));
            }
            Some(n.clone())
        }
    };
    Ok(TlsSpec {
        ca,
        server_name,
        insecure,
    })
}
