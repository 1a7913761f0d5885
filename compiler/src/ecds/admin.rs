//! Just enough of Envoy's admin interface to confirm an ECDS update: the applied version of one
//! resource (`/config_dump?resource=ecds_filters`, only its `version_info`, so a multi-megabyte
//! bundle is not transferred at every poll) and its `config_fail` counter (`/stats`). Plain
//! HTTP/1.1 GETs over a loopback-or-LAN TCP connection; the admin interface has no TLS.

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

    /// The `version_info` Envoy reports for ECDS resource `name` (`None`: not known yet).
    pub fn applied_version(&self, name: &str) -> Result<Option<String>, EcdsError> {
        let path = format!(
            "/config_dump?resource=ecds_filters&name_regex=%5E{}%24&mask=version_info",
            escape_regex(name)
        );
        let body = self.get(&path)?;
        let v: serde_json::Value = serde_json::from_str(&body).map_err(|e| EcdsError::Admin {
            url: self.url(&path),
            detail: format!("not JSON: {e}"),
        })?;
        let configs = v.get("configs").and_then(|c| c.as_array());
        Ok(configs
            .and_then(|c| c.iter().find_map(|e| e.get("version_info")?.as_str()))
            .map(str::to_owned))
    }

    /// The sum of the `extension_config_discovery.*.NAME.config_fail` counters.
    pub fn config_failures(&self, name: &str) -> Result<u64, EcdsError> {
        let body = self.get("/stats?filter=%5Eextension_config_discovery%5C.")?;
        let suffix = format!(".{name}.config_fail");
        Ok(body
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(n, _)| n.ends_with(&suffix))
            .filter_map(|(_, v)| v.trim().parse::<u64>().ok())
            .sum())
    }
}

/// Percent-encoded regex-escaped `name` (resource names are `[A-Za-z0-9._-]`: only `.` needs it).
fn escape_regex(name: &str) -> String {
    name.replace('.', "%5C.")
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
