//! A minimal HTTP/1.1 client that sends requests byte for byte.
//!
//! Real clients normalize paths (`//`, `%2F`, `\`, dot-segments); the tests need them to reach Envoy
//! as written. Every request uses its own connection (`Connection: close`), which also spreads a
//! burst over Envoy's workers. A request can be sent from a chosen loopback source address
//! (127.0.0.x) so that per-client-address limits can be observed on one machine.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

/// How long a request may take before it fails.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Largest response accepted (the tests never expect more).
const MAX_RESPONSE: usize = 4 << 20;

/// A request to send: method, raw request target and headers, exactly as written.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method, sent as is (methods are case-sensitive).
    pub method: String,
    /// The request target (path and query), sent as is.
    pub target: String,
    /// Headers in order. A `Host` header is added when none is given.
    pub headers: Vec<(String, String)>,
    /// The body; a `Content-Length` header is added when it is not empty.
    pub body: Vec<u8>,
    /// The source address to bind the client socket to (`None`: the kernel's choice, 127.0.0.1).
    pub source: Option<Ipv4Addr>,
}

impl Request {
    /// A request with the given method and raw target.
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            source: None,
        }
    }

    /// `GET target`.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    /// `POST target`.
    pub fn post(target: &str) -> Request {
        Request::new("POST", target)
    }

    /// Adds a header (sent as written, duplicates allowed).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sends from this loopback address (must be in 127.0.0.0/8).
    ///
    /// # Panics
    /// When the address is not a loopback address.
    pub fn from_addr(mut self, source: Ipv4Addr) -> Request {
        assert!(
            source.is_loopback(),
            "only loopback source addresses are allowed: {source}"
        );
        self.source = Some(source);
        self
    }

    /// The bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !self.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            out.extend_from_slice(b"Host: acepack.test\r\n");
        }
        for (n, v) in &self.headers {
            out.extend_from_slice(n.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(v.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !self.body.is_empty()
            && !self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            out.extend_from_slice(format!("Content-Length: {}\r\n", self.body.len()).as_bytes());
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// Sends the request to `addr` and reads the whole response.
    pub fn send(&self, addr: SocketAddr) -> io::Result<Response> {
        let mut stream = connect(addr, self.source)?;
        stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
        stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
        stream.write_all(&self.to_bytes())?;
        let mut raw = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                // A socket with a receive timeout is not restarted after a signal: read again.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // A reset after the full response (Envoy closing early) is not an error.
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && !raw.is_empty() => 0,
                Err(e) => return Err(e),
            };
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            if raw.len() > MAX_RESPONSE {
                return Err(io::Error::other("response too large"));
            }
            // Stop as soon as the response is complete: Envoy may hold a `Connection: close`
            // connection open for its delayed-close timeout (1 s) before closing it.
            if Response::is_complete(&raw, self.method == "HEAD") {
                break;
            }
        }
        Response::parse(&raw, self.method == "HEAD")
    }
}

/// Connects to `addr`, optionally from a bound loopback source address.
fn connect(addr: SocketAddr, source: Option<Ipv4Addr>) -> io::Result<TcpStream> {
    match source {
        None => TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT),
        Some(src) => {
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
            socket.bind(&SocketAddr::new(IpAddr::V4(src), 0).into())?;
            socket.connect_timeout(&addr.into(), REQUEST_TIMEOUT)?;
            Ok(socket.into())
        }
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in order, names as received.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Response {
    /// Parses a complete HTTP/1.1 response read until the connection closed.
    pub fn parse(raw: &[u8], head: bool) -> io::Result<Response> {
        let bad = |m: &str| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{m}: {:?}", String::from_utf8_lossy(raw)),
            )
        };
        let end = find(raw, b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
        let head_text = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
        let mut lines = head_text.split("\r\n");
        let status_line = lines.next().ok_or_else(|| bad("empty response"))?;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or("");
        if !version.starts_with("HTTP/1.") {
            return Err(bad("not an HTTP/1.x response"));
        }
        let status: u16 = parts
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("bad status line"))?;
        let mut headers = Vec::new();
        for line in lines {
            let (n, v) = line.split_once(':').ok_or_else(|| bad("bad header line"))?;
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let rest = &raw[end + 4..];
        let chunked = headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
        let body = if head {
            Vec::new()
        } else if chunked {
            dechunk(rest).ok_or_else(|| bad("bad chunked body"))?
        } else {
            let len = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse::<usize>().ok());
            match len {
                Some(l) if l <= rest.len() => rest[..l].to_vec(),
                Some(_) => return Err(bad("body shorter than content-length")),
                None => rest.to_vec(),
            }
        };
        Ok(Response { status, headers, body })
    }

    /// Whether `raw` holds a complete response (headers and, by its framing, the whole body).
    /// A response framed by the connection's end is never complete before EOF.
    pub fn is_complete(raw: &[u8], head: bool) -> bool {
        let Some(end) = find(raw, b"\r\n\r\n") else {
            return false;
        };
        let Ok(text) = std::str::from_utf8(&raw[..end]) else {
            return false;
        };
        let mut lines = text.split("\r\n");
        let status: u16 = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if head || status == 204 || status == 304 || (100..200).contains(&status) {
            return true;
        }
        let rest = &raw[end + 4..];
        let mut content_length = None;
        for line in lines {
            let Some((n, v)) = line.split_once(':') else { continue };
            let (n, v) = (n.trim(), v.trim());
            if n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked") {
                return dechunk(rest).is_some();
            }
            if n.eq_ignore_ascii_case("content-length") {
                content_length = v.parse::<usize>().ok();
            }
        }
        content_length.is_some_and(|l| rest.len() >= l)
    }

    /// The first value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// Every value of a header (case-insensitive name), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        all_headers(&self.headers, name)
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    ///
    /// # Panics
    /// When the body is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): status {} body {:?}",
                self.status,
                self.text()
            )
        })
    }

    /// A one-line summary for assertion messages.
    pub fn summary(&self) -> String {
        let hdrs: Vec<String> = self.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!(
            "status {} headers [{}] body {:?}",
            self.status,
            hdrs.join("; "),
            self.text()
        )
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if data.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The first value of header `name` (case-insensitive) in a header list.
pub(crate) fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of header `name` (case-insensitive) in a header list, in order.
pub(crate) fn all_headers<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_content_length_and_chunked() {
        let r = Response::parse(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\ncontent-length: 2\r\n\r\n{}",
            false,
        )
        .unwrap();
        assert_eq!(r.status, 429);
        assert_eq!(r.header("retry-after"), Some("7"));
        assert_eq!(r.body, b"{}");
        let r = Response::parse(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            false,
        )
        .unwrap();
        assert_eq!(r.body, b"abcde");
    }

    #[test]
    fn completeness_follows_the_framing() {
        assert!(!Response::is_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nab",
            false
        ));
        assert!(Response::is_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc",
            false
        ));
        assert!(Response::is_complete(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n",
            true
        ));
        assert!(!Response::is_complete(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n",
            false
        ));
        assert!(Response::is_complete(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            false
        ));
        assert!(!Response::is_complete(b"HTTP/1.1 200 OK\r\n\r\nabc", false));
    }

    #[test]
    fn request_bytes_keep_the_target_verbatim() {
        let b = Request::get("/v1//a%2Fb\\c").header("apikey", "k").to_bytes();
        let s = String::from_utf8(b).unwrap();
        assert!(
            s.starts_with("GET /v1//a%2Fb\\c HTTP/1.1\r\nHost: acepack.test\r\napikey: k\r\n"),
            "{s}"
        );
        assert!(s.ends_with("Connection: close\r\n\r\n"));
    }
}
