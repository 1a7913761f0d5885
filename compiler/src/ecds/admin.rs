//! Just enough of Envoy's admin interface to confirm an ECDS update: the resource's
//! `extension_config_discovery.*.NAME.*` stats (`/stats`) — the applied version (`version_text`)
//! and the counts of applied and refused updates. The version alone is not enough: while Envoy
//! builds a new filter configuration that then fails, `/config_dump` and `version_text` can
//! already name the new version for a few milliseconds (measured); only a grown `update_success`
//! with the new `version_text` means applied. Plain HTTP/1.1 GETs; the admin interface has no TLS.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::EcdsError;

/// How long one admin request may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// An Envoy admin interface, `http://HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    authority: String,
}

impl Admin {
    /// Parses `http://HOST:PORT` (a trailing `/` allowed) or `HOST:PORT`.
    pub fn parse(url: &str) -> Result<Admin, EcdsError> {
        let rest = url.strip_prefix("http://").unwrap_or(url);
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        let valid = !authority.is_empty()
            && !url.contains("://") | url.starts_with("http://")
            && !authority.contains(['/', '?', '#', '@', ' '])
            && authority
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if valid {
            Ok(Admin {
                authority: authority.to_owned(),
            })
        } else {
            Err(EcdsError::AdminUrl(url.to_owned()))
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.authority)
    }

    /// GETs `path`; the body of a 200 response.
    pub fn get(&self, path: &str) -> Result<String, EcdsError> {
        let err = |detail: String| EcdsError::Admin {
            url: self.url(path),
            detail,
        };
        let addr = self
            .authority
            .to_socket_addrs()
            .map_err(|e| err(e.to_string()))?
            .next()
            .ok_or_else(|| err("no address".into()))?;
        let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| err(e.to_string()))?;
        s.set_read_timeout(Some(TIMEOUT)).map_err(|e| err(e.to_string()))?;
        s.set_write_timeout(Some(TIMEOUT)).map_err(|e| err(e.to_string()))?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.authority
        );
        s.write_all(req.as_bytes()).map_err(|e| err(e.to_string()))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(|e| err(e.to_string()))?;
        let (status, body) = parse_response(&raw).ok_or_else(|| err("not an HTTP response".into()))?;
        if status != 200 {
            return Err(err(format!("status {status}")));
        }
        Ok(body)
    }

    /// The ECDS stats of resource `name` (summed over the listeners' stat prefixes).
    pub fn ecds_stats(&self, name: &str) -> Result<EcdsStats, EcdsError> {
        let body = self.get("/stats?filter=%5Eextension_config_discovery%5C.")?;
        let mut stats = EcdsStats::default();
        for (stat, value) in body.lines().filter_map(|l| l.split_once(": ")) {
            let Some(field) = stat
                .strip_prefix("extension_config_discovery.")
                .and_then(|rest| rest.rsplit_once('.'))
                .and_then(|(scope, field)| scope.ends_with(&format!(".{name}")).then_some(field))
            else {
                continue;
            };
            let count = || value.trim().parse::<u64>().unwrap_or(0);
            match field {
                "version_text" => stats.version = Some(value.trim().trim_matches('"').to_owned()),
                "update_success" => stats.applied += count(),
                "update_rejected" | "config_fail" => stats.refused += count(),
                _ => {}
            }
        }
        Ok(stats)
    }
}

/// An ECDS resource's counters as Envoy reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EcdsStats {
    /// `version_text`: the version Envoy last took (`None`: no stats for this name).
    pub version: Option<String>,
    /// `update_success`: updates applied.
    pub applied: u64,
    /// `update_rejected` + `config_fail`: updates refused.
    pub refused: u64,
}

/// Status and body of a complete HTTP/1.1 response (`Content-Length`, chunked, or until close).
fn parse_response(raw: &[u8]) -> Option<(u16, String)> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(raw.get(..split)?).ok()?;
    let body = raw.get(split + 4..)?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("transfer-encoding") && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked { dechunk(body)? } else { body.to_vec() };
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(rest.get(..eol)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = rest.get(eol + 2..)?;
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_urls() {
        assert!(Admin::parse("http://127.0.0.1:9901").is_ok());
        assert!(Admin::parse("http://127.0.0.1:9901/").is_ok());
        assert!(Admin::parse("localhost:9901").is_ok());
        for bad in ["https://h:1", "http://h", "http://h:1/x", "", "http://:1", "ftp://h:1"] {
            assert!(Admin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn responses() {
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"),
            Some((200, "ok".into()))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"),
            Some((200, "abc".into()))
        );
        assert_eq!(parse_response(b"HTTP/1.1 404 NF\r\n\r\n"), Some((404, String::new())));
        assert_eq!(parse_response(b"garbage"), None);
    }
}
