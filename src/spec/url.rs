//! A target's url: scheme, host and port, and whether the host is a loopback address.

const URL_HELP: &str = "e.g. url = \"http://127.0.0.1:8080\" or url = \"https://localhost:8443\"";

/// `http[s]://host[:port][/base]` into whether it is https, host, port and base path.
pub(super) fn parse_url(url: &str) -> Result<(bool, String, u16, String), (String, String)> {
    let fail = |m: String| Err((m, URL_HELP.to_string()));
    if url.contains("{port}") {
        return Err((format!("`{url}`: {{port}} is for command targets"), "a `url` target is a service that already runs: write its port, e.g. url = \"http://127.0.0.1:8080\"".into()));
    }
    let (https, rest) = match url.split_once("://") {
        Some(("http", rest)) => (false, rest),
        Some(("https", rest)) => (true, rest),
        _ => return fail(format!("`{url}` is not an http:// or https:// URL")),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((h, after)) = v6.split_once(']') else {
            return fail(format!("`{url}`: unclosed `[` in the host"));
        };
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return fail(format!("`{url}` has no host"));
    }
    let port = match port {
        Some(p) => match p.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => {
                return fail(format!(
                    "`{url}`: port `{p}` is not a number from 1 to 65535"
                ));
            }
        },
        None if https => 443,
        None => 80,
    };
    if path.contains(['?', '#']) {
        return fail(format!(
            "`{url}`: the base URL may not have a query or fragment"
        ));
    }
    if http::uri::PathAndQuery::try_from(if path.is_empty() { "/" } else { path }).is_err() {
        return fail(format!(
            "`{url}`: the path is not valid (percent-encode spaces and special characters)"
        ));
    }
    Ok((https, host, port, path.trim_end_matches('/').to_string()))
}

/// Loopback by name or address: `localhost`, 127.0.0.0/8, ::1.
pub(super) fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
