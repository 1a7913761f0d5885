//! What the engine reads: one request, and its headers by name.

/// Request headers, looked up by lower-case name (HTTP/2 and Envoy give lower-case names; other
/// hosts are matched case-insensitively).
pub trait Headers {
    /// The first value of the header `lower_name`.
    fn get(&self, lower_name: &str) -> Option<&str>;
}

impl<K: AsRef<str>, V: AsRef<str>> Headers for [(K, V)] {
    fn get(&self, lower_name: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(lower_name))
            .map(|(_, v)| v.as_ref())
    }
}

/// One request as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a, H: Headers + ?Sized> {
    /// `:method`, as sent.
    pub method: &'a str,
    /// `:path`, raw, with query.
    pub path: &'a str,
    /// `:authority` (or `host`).
    pub authority: &'a str,
    /// All request headers.
    pub headers: &'a H,
    /// The client's IP address (no port); used only for the anonymous application's buckets.
    pub client_ip: Option<&'a str>,
}
