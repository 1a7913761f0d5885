//! The standard Envoy rate limit service protocol (`envoy.service.ratelimit.v3`), as the filter's
//! global rate-limit modes speak it (docs/global-rate-limits.md): the request message, the parts of
//! the answer the filter uses, and the `GrpcService` naming the cluster to call.
//!
//! Protobuf is written and read by hand for the few fields involved, so the filter needs no
//! protobuf runtime; the crate `acepack-ratelimit-service` checks both directions against the
//! generated Envoy types. Decoding never panics and never allocates more than the input's size.
//!
//! Field numbers (envoy/service/ratelimit/v3/rls.proto, envoy/extensions/common/ratelimit/v3):
//! `RateLimitRequest { domain = 1; descriptors = 2; hits_addend = 3 }`,
//! `RateLimitDescriptor { entries = 1 }`, `Entry { key = 1; value = 2 }`,
//! `RateLimitResponse { overall_code = 1; statuses = 2; response_headers_to_add = 3 }`,
//! `DescriptorStatus { code = 1; current_limit = 2; limit_remaining = 3; duration_until_reset = 4 }`,
//! `RateLimit { requests_per_unit = 1; unit = 2 }`, `Duration { seconds = 1; nanos = 2 }`,
//! `HeaderValue { key = 1; value = 2 }`; envoy/config/core/v3/grpc_service.proto:
//! `GrpcService { envoy_grpc = 1 }`, `EnvoyGrpc { cluster_name = 1 }`.

use smallvec::SmallVec;

/// The gRPC service and method the filter calls.
pub const SERVICE: &str = "envoy.service.ratelimit.v3.RateLimitService";
/// The method.
pub const METHOD: &str = "ShouldRateLimit";
/// Descriptor entry key carrying the credential's hash (never the key itself).
pub const CREDENTIAL_KEY: &str = "acepack_credential";
/// Descriptor entry key carrying the bucket: the package id, or `package:operation` for an
/// operation override.
pub const BUCKET_KEY: &str = "acepack_bucket";
/// Descriptor entry key carrying the window in seconds (`1`, `60`, `3600`, `86400`): the filter
/// sends one descriptor per window of the bucket, in the catalog's (ascending) order, because
/// envoyproxy/ratelimit gives one descriptor exactly one limit.
pub const WINDOW_KEY: &str = "acepack_window";

/// Most response headers kept from an answer (the rest are ignored).
const MAX_HEADERS: usize = 8;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Encodes a `RateLimitRequest` with `descriptors`, each a list of entries (key, value), and
/// `hits`.
pub fn encode_request(domain: &str, descriptors: &[&[(&str, &str)]], hits: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(domain.len() + 96 * descriptors.len() + 8);
    field_bytes(&mut out, 1, domain.as_bytes());
    let mut descriptor = Vec::with_capacity(96);
    let mut entry = Vec::with_capacity(48);
    for entries in descriptors {
        descriptor.clear();
        for (key, value) in *entries {
            entry.clear();
            field_bytes(&mut entry, 1, key.as_bytes());
            field_bytes(&mut entry, 2, value.as_bytes());
            field_bytes(&mut descriptor, 1, &entry);
        }
        field_bytes(&mut out, 2, &descriptor);
    }
    if hits > 0 {
        varint(&mut out, 3 << 3);
        varint(&mut out, u64::from(hits));
    }
    out
}

/// Encodes the `GrpcService` that names `cluster` (`envoy_grpc.cluster_name`): what
/// `proxy_grpc_call` takes as its upstream. (A bare cluster name also works in Envoy, unless its
/// bytes happen to parse as a `GrpcService`; the encoded form is never ambiguous.)
pub fn encode_grpc_service(cluster: &str) -> Vec<u8> {
    let mut inner = Vec::with_capacity(cluster.len() + 4);
    field_bytes(&mut inner, 1, cluster.as_bytes());
    let mut out = Vec::with_capacity(inner.len() + 4);
    field_bytes(&mut out, 1, &inner);
    out
}

/// A malformed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError;

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed RateLimitResponse")
    }
}

impl std::error::Error for DecodeError {}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// `OK`: admit.
    Ok,
    /// `OVER_LIMIT`: 429.
    OverLimit,
}

/// What the service said about the (first) descriptor, when it said anything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    /// `current_limit.requests_per_unit`, when a current limit was given.
    pub limit: Option<u32>,
    /// `current_limit.unit` (1 second, 2 minute, 3 hour, 4 day, …).
    pub unit: u32,
    /// `limit_remaining`.
    pub remaining: u32,
    /// `duration_until_reset`, rounded up to whole seconds.
    pub reset_seconds: Option<u64>,
}

/// The parts of a `RateLimitResponse` the filter uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// `overall_code`.
    pub code: Code,
    /// The binding descriptor status (fewest remaining) among those with a current limit, else
    /// the first one, if any.
    pub status: Option<Status>,
    /// `response_headers_to_add` (lower-cased names; the first few).
    pub headers: SmallVec<[(String, String); 3]>,
}

/// A protobuf reader over a byte slice.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first().ok_or(DecodeError)?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    /// The next field: number, and its value (a varint, or the bytes of a length-delimited one;
    /// fixed-width values are skipped and returned as `Skipped`).
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, DecodeError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let value = match tag & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Skipped
            }
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| DecodeError)?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Skipped
            }
            _ => return Err(DecodeError),
        };
        Ok(Some((tag >> 3, value)))
    }
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Skipped,
}

fn fields<'a>(
    buf: &'a [u8],
    mut each: impl FnMut(u64, Value<'a>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let mut r = Reader { buf };
    while let Some((n, v)) = r.field()? {
        each(n, v)?;
    }
    Ok(())
}

fn text(bytes: &[u8]) -> Result<String, DecodeError> {
    std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| DecodeError)
}

fn decode_status(buf: &[u8]) -> Result<Status, DecodeError> {
    let mut s = Status::default();
    fields(buf, |n, v| {
        match (n, v) {
            (2, Value::Bytes(limit)) => {
                let (mut per_unit, mut unit) = (0u32, 0u32);
                fields(limit, |n, v| {
                    match (n, v) {
                        (1, Value::Varint(x)) => per_unit = u32::try_from(x).unwrap_or(u32::MAX),
                        (2, Value::Varint(x)) => unit = u32::try_from(x).unwrap_or(0),
                        _ => {}
                    }
                    Ok(())
                })?;
                s.limit = Some(per_unit);
                s.unit = unit;
            }
            (3, Value::Varint(x)) => s.remaining = u32::try_from(x).unwrap_or(u32::MAX),
            (4, Value::Bytes(d)) => {
                let (mut secs, mut nanos) = (0i64, 0i64);
                fields(d, |n, v| {
                    match (n, v) {
                        (1, Value::Varint(x)) => secs = x as i64,
                        (2, Value::Varint(x)) => nanos = i64::from(x as i32),
                        _ => {}
                    }
                    Ok(())
                })?;
                let secs = u64::try_from(secs).unwrap_or(0);
                s.reset_seconds = Some(secs.saturating_add(u64::from(nanos > 0)));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(s)
}

/// Decodes a `RateLimitResponse`. An `overall_code` other than `OK` or `OVER_LIMIT` (`UNKNOWN`,
/// or missing) is an error: the service did not decide.
pub fn decode_response(buf: &[u8]) -> Result<Answer, DecodeError> {
    let mut code = None;
    let mut status = None;
    let mut headers = SmallVec::new();
    fields(buf, |n, v| {
        match (n, v) {
            (1, Value::Varint(1)) => code = Some(Code::Ok),
            (1, Value::Varint(2)) => code = Some(Code::OverLimit),
            (1, Value::Varint(_)) => code = None,
            (2, Value::Bytes(s)) => {
                let next = decode_status(s)?;
                let binds = |s: &Status| (s.limit.is_none(), s.remaining);
                if status.as_ref().is_none_or(|cur| binds(&next) < binds(cur)) {
                    status = Some(next);
                }
            }
            (3, Value::Bytes(h)) if headers.len() < MAX_HEADERS => {
                let (mut key, mut value) = (String::new(), String::new());
                fields(h, |n, v| {
                    match (n, v) {
                        (1, Value::Bytes(k)) => key = text(k)?.to_ascii_lowercase(),
                        (2, Value::Bytes(x)) => value = text(x)?,
                        _ => {}
                    }
                    Ok(())
                })?;
                headers.push((key, value));
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(Answer {
        code: code.ok_or(DecodeError)?,
        status,
        headers,
    })
}

/// The rate-limit figures of a global answer: `limit`, `remaining` and seconds until `reset`,
/// each when the service gave it — in its descriptor status, else in `x-ratelimit-*` headers
/// (Limitador's), else not at all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    /// Requests allowed in the binding window.
    pub limit: Option<u64>,
    /// Requests left in it.
    pub remaining: Option<u64>,
    /// Seconds until it resets.
    pub reset: Option<u64>,
}

impl Figures {
    /// The figures of `answer`.
    pub fn of(answer: &Answer) -> Figures {
        if let Some(s) = answer.status.filter(|s| s.limit.is_some_and(|l| l > 0)) {
            return Figures {
                limit: s.limit.map(u64::from),
                remaining: Some(u64::from(s.remaining)),
                reset: s.reset_seconds,
            };
        }
        let header = |name: &str| {
            answer
                .headers
                .iter()
                .find(|(k, _)| k == name)
                // `x-ratelimit-limit: 10, 10;w=60, 1000;w=86400`: the first number.
                .and_then(|(_, v)| v.split([',', ';']).next()?.trim().parse::<u64>().ok())
        };
        Figures {
            limit: header("x-ratelimit-limit"),
            remaining: header("x-ratelimit-remaining"),
            reset: header("x-ratelimit-reset"),
        }
    }
}

impl Figures {
    /// Calls `emit(name, value)` for the rate-limit headers of a response decided by the service
    /// (docs/enforcement.md#rate-limit-headers): `policy` is the bucket's `RateLimit-Policy` from
    /// the catalog; `r`/`t` (ietf) or remaining/reset (draft03) come from the service's answer
    /// and are left out when it gave none; the draft03 limit falls back to `catalog_limit`.
    pub fn emit(
        &self,
        style: crate::bundle::RateLimitHeaders,
        package_id: &str,
        policy: &str,
        catalog_limit: Option<u64>,
        mut emit: impl FnMut(&'static str, &str),
    ) {
        use crate::bundle::RateLimitHeaders;
        use crate::headers::push_u64;
        let mut v = String::new();
        match style {
            RateLimitHeaders::None => {}
            RateLimitHeaders::Ietf => {
                emit("ratelimit-policy", policy);
                if let (Some(r), Some(t)) = (self.remaining, self.reset) {
                    v.push('"');
                    v.push_str(package_id);
                    v.push_str("\";r=");
                    push_u64(&mut v, r);
                    v.push_str(";t=");
                    push_u64(&mut v, t);
                    emit("ratelimit", &v);
                }
            }
            RateLimitHeaders::Draft03 => {
                for (name, value) in [
                    ("ratelimit-limit", self.limit.or(catalog_limit)),
                    ("ratelimit-remaining", self.remaining),
                    ("ratelimit-reset", self.reset),
                ] {
                    if let Some(x) = value {
                        v.clear();
                        push_u64(&mut v, x);
                        emit(name, &v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_through_the_reader() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut out = Vec::new();
            varint(&mut out, v);
            assert_eq!(Reader { buf: &out }.varint(), Ok(v));
        }
    }

    #[test]
    fn truncated_or_garbage_answers_are_errors_not_panics() {
        let good = [0x08, 0x02, 0x12, 0x02, 0x18, 0x05];
        assert_eq!(decode_response(&good).map(|a| a.code), Ok(Code::OverLimit));
        for cut in 0..good.len() {
            let r = decode_response(&good[..cut]);
            assert!(r.is_err() || cut == 2, "prefix {cut} decoded: {r:?}");
        }
        assert_eq!(decode_response(&[0x0b]), Err(DecodeError));
        assert_eq!(decode_response(&[0xff; 11]), Err(DecodeError));
        assert_eq!(decode_response(&[0x08, 0x00]), Err(DecodeError));
    }

    #[test]
    fn figures_fall_back_to_limitador_headers() {
        let a = Answer {
            code: Code::Ok,
            status: None,
            headers: SmallVec::from_vec(vec![
                ("x-ratelimit-limit".into(), "5, 5;w=60".into()),
                ("x-ratelimit-remaining".into(), "3".into()),
                ("x-ratelimit-reset".into(), "42".into()),
            ]),
        };
        assert_eq!(
            Figures::of(&a),
            Figures {
                limit: Some(5),
                remaining: Some(3),
                reset: Some(42)
            }
        );
    }

    #[test]
    fn headers_come_from_the_answer_else_from_the_catalog() {
        use crate::bundle::RateLimitHeaders;
        let known = Figures {
            limit: Some(5),
            remaining: Some(2),
            reset: Some(40),
        };
        let collect = |f: &Figures, style| {
            let mut out = Vec::new();
            f.emit(style, "gold", "\"gold\";q=5;w=60", Some(5), |k, v| {
                out.push(format!("{k}: {v}"))
            });
            out
        };
        assert_eq!(
            collect(&known, RateLimitHeaders::Ietf),
            ["ratelimit-policy: \"gold\";q=5;w=60", "ratelimit: \"gold\";r=2;t=40"]
        );
        assert_eq!(
            collect(&known, RateLimitHeaders::Draft03),
            ["ratelimit-limit: 5", "ratelimit-remaining: 2", "ratelimit-reset: 40"]
        );
        let unknown = Figures::default();
        assert_eq!(
            collect(&unknown, RateLimitHeaders::Ietf),
            ["ratelimit-policy: \"gold\";q=5;w=60"]
        );
        assert_eq!(collect(&unknown, RateLimitHeaders::Draft03), ["ratelimit-limit: 5"]);
        assert!(collect(&known, RateLimitHeaders::None).is_empty());
    }
}
