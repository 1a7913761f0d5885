//! What a test sends through a VM and what comes back.

use crate::abi::{Action, LogLevel};

/// Header list as the proxy holds it: names (lower-case) with raw byte values
/// (which need not be valid UTF-8), in order, duplicates allowed.
pub type Headers = Vec<(String, Vec<u8>)>;

/// One HTTP request/response exchange to run through a VM with
/// [`Vm::request`](crate::Vm::request).
///
/// `headers` are the request headers including the pseudo-headers
/// (`:method`, `:path`, `:authority`, `:scheme`), in the order Envoy's codec
/// produces them. Header names are lower-cased when the request starts, as
/// Envoy's codecs do; values are passed byte for byte.
///
/// ```
/// use acepack_host_tests::Request;
/// let req = Request::get("/v1/flights")
///     .authority("api.example.com")
///     .header("apikey", "secret")
///     .header("x-raw", vec![0xff, 0xfe]) // invalid UTF-8 is fine
///     .source("10.0.0.7:51000");
/// assert_eq!(req.header_value(":path"), Some(&b"/v1/flights"[..]));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// Request headers, pseudo-headers first.
    pub headers: Headers,
    /// Request body; `None` (the default) means the headers end the stream.
    pub body: Option<Vec<u8>>,
    /// The downstream peer as `ip:port` (property `source.address`; the port
    /// is also `source.port`).
    pub source_address: String,
    /// The listener address as `ip:port` (property `destination.address`).
    pub destination_address: String,
    /// Status of the upstream response, used when the filter lets the request
    /// through.
    pub response_status: u16,
    /// Headers of the upstream response (without `:status`, which is added
    /// from `response_status`).
    pub response_headers: Headers,
    /// Body of the upstream response.
    pub response_body: Option<Vec<u8>>,
    /// Extra properties readable with `proxy_get_property`: the path segments
    /// and the raw value. They override the built-in ones.
    pub properties: Vec<(Vec<String>, Vec<u8>)>,
}

impl Default for Request {
    fn default() -> Self {
        Request::new("GET", "/")
    }
}

impl Request {
    /// A request with `:authority: localhost`, `:path`, `:method`,
    /// `:scheme: http`, from `127.0.0.1:50000`, answered upstream by a `200`
    /// with no headers.
    pub fn new(method: &str, path: impl AsRef<[u8]>) -> Request {
        Request {
            headers: vec![
                (":authority".into(), b"localhost".to_vec()),
                (":path".into(), path.as_ref().to_vec()),
                (":method".into(), method.as_bytes().to_vec()),
                (":scheme".into(), b"http".to_vec()),
            ],
            body: None,
            source_address: "127.0.0.1:50000".into(),
            destination_address: "127.0.0.1:10000".into(),
            response_status: 200,
            response_headers: Vec::new(),
            response_body: None,
            properties: Vec::new(),
        }
    }

    /// `Request::new("GET", path)`.
    pub fn get(path: impl AsRef<[u8]>) -> Request {
        Request::new("GET", path)
    }

    /// Replaces every header called `name` by one with `value` (added at the
    /// end when absent).
    pub fn set_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Request {
        let value = value.into();
        let name_lc = name.to_ascii_lowercase();
        match self.headers.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(i) => {
                self.headers[i].1 = value;
                let mut seen = 0usize;
                self.headers.retain(|(n, _)| {
                    if n.eq_ignore_ascii_case(&name_lc) {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.headers.push((name_lc, value)),
        }
        self
    }

    /// Sets `:authority`.
    pub fn authority(self, authority: &str) -> Request {
        self.set_header(":authority", authority)
    }

    /// Appends a header (duplicates allowed).
    pub fn header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the downstream peer address (`ip:port`).
    pub fn source(mut self, address: &str) -> Request {
        self.source_address = address.to_owned();
        self
    }

    /// Sets the request body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sets the upstream response's status.
    pub fn response_status(mut self, status: u16) -> Request {
        self.response_status = status;
        self
    }

    /// Appends an upstream response header.
    pub fn response_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Request {
        self.response_headers.push((name.to_owned(), value.into()));
        self
    }

    /// Adds a property (path segments, raw value).
    pub fn property(mut self, path: &[&str], value: impl Into<Vec<u8>>) -> Request {
        self.properties
            .push((path.iter().map(|s| (*s).to_owned()).collect(), value.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header_value(&self, name: &str) -> Option<&[u8]> {
        first(&self.headers, name)
    }
}

/// A local response sent by the filter with `proxy_send_local_response`.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalResponse {
    /// The HTTP status code.
    pub status: u32,
    /// The headers the filter asked for (names lower-cased), in its order.
    pub headers: Headers,
    /// The response body.
    pub body: Vec<u8>,
    /// The gRPC status (`-1` for none; the Rust SDK's `send_http_response`
    /// passes -1).
    pub grpc_status: i32,
    /// The "response code details" string.
    pub details: String,
}

impl LocalResponse {
    /// The first value of header `name` (case-insensitive), as the filter set it.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        first(&self.headers, name)
    }

    /// [`LocalResponse::header`] as UTF-8 (`None` when absent or not UTF-8).
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The body as UTF-8 (lossy).
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Where a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogSource {
    /// `proxy_log` (the Rust SDK's `log` macros, and its panic hook at
    /// `Critical`).
    ProxyLog,
    /// WASI `fd_write` to stdout (logged at `Info`, as Envoy does).
    Stdout,
    /// WASI `fd_write` to stderr (logged at `Error`, as Envoy does).
    Stderr,
    /// A note from this host about something Envoy would silently accept
    /// (for example a second local response, or a call to an unknown import).
    Host,
}

/// One recorded log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level.
    pub level: LogLevel,
    /// The message (lossy UTF-8; a trailing newline from stdout/stderr is
    /// removed, as Envoy does).
    pub message: String,
    /// The context the guest was running for (0 for the VM itself, the root
    /// context id during start/configure/tick, the stream's id in a request).
    pub context_id: u32,
    /// Where it came from.
    pub source: LogSource,
}

impl std::fmt::Display for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{:?} ctx {} {:?}] {}",
            self.level, self.context_id, self.source, self.message
        )
    }
}

/// What happened to one request run with [`Vm::request`](crate::Vm::request).
#[derive(Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The HTTP context id the host created for this request.
    pub context_id: u32,
    /// What `proxy_on_request_headers` returned.
    pub action: Action,
    /// What `proxy_on_request_body` returned, when the request had a body and
    /// the body was delivered.
    pub body_action: Option<Action>,
    /// The local response, when the filter sent one.
    pub local_response: Option<LocalResponse>,
    /// Whether the request went upstream: no local response, not reset, and
    /// every request callback continued (or the filter called
    /// `proxy_continue_stream`).
    pub forwarded: bool,
    /// Whether the filter reset the stream with `proxy_close_stream`.
    pub reset: bool,
    /// The request headers after the filter's changes (what the upstream
    /// receives when `forwarded`).
    pub request_headers: Headers,
    /// The request body after the filter's changes.
    pub request_body: Option<Vec<u8>>,
    /// What `proxy_on_response_headers` returned, when it was called.
    pub response_action: Option<Action>,
    /// The response the client receives, after the filter's changes:
    /// `:status` first, then the upstream's headers when forwarded, or the
    /// local response's headers. Empty when no response was produced (the
    /// filter paused or reset the request).
    pub response_headers: Headers,
    /// Log lines emitted while this request ran.
    pub logs: Vec<LogLine>,
    /// Fuel (≈ wasm instructions) the guest used for this request, when the
    /// host was created with [`HostOptions::fuel`](crate::HostOptions::fuel).
    pub fuel_consumed: Option<u64>,
}

impl Outcome {
    /// The status the client receives: the local response's, else the
    /// upstream's when forwarded, else `None`.
    pub fn status(&self) -> Option<u32> {
        first(&self.response_headers, ":status")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
    }

    /// The first value of request header `name` after the filter ran.
    pub fn request_header(&self, name: &str) -> Option<&[u8]> {
        first(&self.request_headers, name)
    }

    /// [`Outcome::request_header`] as UTF-8.
    pub fn request_header_str(&self, name: &str) -> Option<&str> {
        self.request_header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The first value of header `name` in the response the client receives.
    pub fn response_header(&self, name: &str) -> Option<&[u8]> {
        first(&self.response_headers, name)
    }

    /// [`Outcome::response_header`] as UTF-8.
    pub fn response_header_str(&self, name: &str) -> Option<&str> {
        self.response_header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// Whether any log line of this request contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.message.contains(needle))
    }
}

/// Shows header values and bodies as escaped text instead of byte lists.
struct Text<'a>(&'a [u8]);

impl std::fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

struct HeaderList<'a>(&'a [(String, Vec<u8>)]);

impl std::fmt::Debug for HeaderList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(k, v)| (k, Text(v))))
            .finish()
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("headers", &HeaderList(&self.headers))
            .field("body", &self.body.as_deref().map(Text))
            .field("source_address", &self.source_address)
            .field("destination_address", &self.destination_address)
            .field("response_status", &self.response_status)
            .field("response_headers", &HeaderList(&self.response_headers))
            .field("response_body", &self.response_body.as_deref().map(Text))
            .field("properties", &self.properties)
            .finish()
    }
}

impl std::fmt::Debug for LocalResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalResponse")
            .field("status", &self.status)
            .field("headers", &HeaderList(&self.headers))
            .field("body", &Text(&self.body))
            .field("grpc_status", &self.grpc_status)
            .field("details", &self.details)
            .finish()
    }
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcome")
            .field("context_id", &self.context_id)
            .field("action", &self.action)
            .field("body_action", &self.body_action)
            .field("local_response", &self.local_response)
            .field("forwarded", &self.forwarded)
            .field("reset", &self.reset)
            .field("request_headers", &HeaderList(&self.request_headers))
            .field("request_body", &self.request_body.as_deref().map(Text))
            .field("response_action", &self.response_action)
            .field("response_headers", &HeaderList(&self.response_headers))
            .field("logs", &self.logs)
            .field("fuel_consumed", &self.fuel_consumed)
            .finish()
    }
}

fn first<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_builder() {
        let r = Request::new("POST", "/a")
            .authority("x.test")
            .header("A", "1")
            .header("a", "2")
            .set_header("a", "3")
            .body("b");
        assert_eq!(r.header_value(":authority"), Some(&b"x.test"[..]));
        assert_eq!(r.header_value(":method"), Some(&b"POST"[..]));
        assert_eq!(r.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case("a")).count(), 1);
        assert_eq!(r.header_value("a"), Some(&b"3"[..]));
        assert_eq!(r.body.as_deref(), Some(&b"b"[..]));
        let r = Request::default().set_header("new", "v");
        assert_eq!(r.headers.last().unwrap().0, "new");
    }
}
