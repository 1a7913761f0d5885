//! Numeric values of the proxy-wasm ABI 0.2.1 and its map serialization.
//!
//! Everything here is plain data: it is what the host and the guest agree on
//! at the boundary, and it can be unit-tested without a wasm module.

use std::fmt;

/// `proxy_status_t`: what every proxy-wasm host function returns.
///
/// The proxy-wasm Rust SDK 0.2.5 has no variant for [`Status::InvalidMemoryAccess`]
/// (6) or [`Status::Unimplemented`] (12) and panics when a host returns them
/// from a call it makes itself. This host only returns 6 for pointers the SDK
/// never produces (a guest bug), and 12 only for imports outside ABI 0.2.1.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// `OK` = 0.
    Ok = 0,
    /// `NOT_FOUND` = 1.
    NotFound = 1,
    /// `BAD_ARGUMENT` = 2.
    BadArgument = 2,
    /// `SERIALIZATION_FAILURE` = 3.
    SerializationFailure = 3,
    /// `PARSE_FAILURE` = 4.
    ParseFailure = 4,
    /// `INVALID_MEMORY_ACCESS` = 6.
    InvalidMemoryAccess = 6,
    /// `EMPTY` = 7.
    Empty = 7,
    /// `CAS_MISMATCH` = 8.
    CasMismatch = 8,
    /// `INTERNAL_FAILURE` = 10.
    InternalFailure = 10,
    /// `UNIMPLEMENTED` = 12.
    Unimplemented = 12,
}

impl Status {
    /// The raw value passed across the ABI.
    pub fn code(self) -> u32 {
        self as u32
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} ({})", self.code())
    }
}

/// `proxy_log_level_t`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// 0
    Trace = 0,
    /// 1
    Debug = 1,
    /// 2
    Info = 2,
    /// 3
    Warn = 3,
    /// 4
    Error = 4,
    /// 5
    Critical = 5,
}

impl LogLevel {
    /// Decodes a raw level; `None` for values outside 0..=5.
    pub fn from_raw(raw: u32) -> Option<LogLevel> {
        Some(match raw {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }
}

/// `proxy_action_t`, as returned by the stream callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `CONTINUE` = 0: the proxy forwards the request (or response).
    Continue,
    /// `PAUSE` = 1: the proxy stops iterating until `proxy_continue_stream`.
    Pause,
    /// Any other value (Envoy maps 2 and 3 to its "stop all iteration" variants).
    Other(u32),
}

impl Action {
    /// Decodes the raw value a callback returned.
    pub fn from_raw(raw: u32) -> Action {
        match raw {
            0 => Action::Continue,
            1 => Action::Pause,
            n => Action::Other(n),
        }
    }
}

/// `proxy_metric_type_t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricKind {
    /// `COUNTER` = 0: only grows.
    Counter,
    /// `GAUGE` = 1: set, incremented or decremented.
    Gauge,
    /// `HISTOGRAM` = 2: records values.
    Histogram,
}

impl MetricKind {
    /// Decodes a raw metric type; `None` for values outside 0..=2.
    pub fn from_raw(raw: u32) -> Option<MetricKind> {
        match raw {
            0 => Some(MetricKind::Counter),
            1 => Some(MetricKind::Gauge),
            2 => Some(MetricKind::Histogram),
            _ => None,
        }
    }

    pub(crate) fn raw(self) -> u32 {
        match self {
            MetricKind::Counter => 0,
            MetricKind::Gauge => 1,
            MetricKind::Histogram => 2,
        }
    }
}

/// `proxy_map_type_t` values.
pub(crate) mod map_type {
    pub const HTTP_REQUEST_HEADERS: u32 = 0;
    pub const HTTP_RESPONSE_HEADERS: u32 = 2;
    /// The largest defined value (`HTTP_CALL_RESPONSE_TRAILERS`).
    pub const MAX: u32 = 7;
}

/// `proxy_buffer_type_t` values.
pub(crate) mod buffer_type {
    pub const HTTP_REQUEST_BODY: u32 = 0;
    pub const HTTP_RESPONSE_BODY: u32 = 1;
    pub const HTTP_CALL_RESPONSE_BODY: u32 = 4;
    pub const VM_CONFIGURATION: u32 = 6;
    pub const PLUGIN_CONFIGURATION: u32 = 7;
    /// The largest defined value (`FOREIGN_FUNCTION_ARGUMENTS`).
    pub const MAX: u32 = 8;
}

/// `proxy_stream_type_t` values.
pub(crate) mod stream_type {
    pub const HTTP_REQUEST: u32 = 0;
    pub const HTTP_RESPONSE: u32 = 1;
    /// The largest defined value (`UPSTREAM`).
    pub const MAX: u32 = 3;
}

/// `wasi_errno_t` values used by the WASI preview1 imports.
pub(crate) mod errno {
    pub const SUCCESS: i32 = 0;
    pub const BADF: i32 = 8;
    pub const FAULT: i32 = 21;
    pub const INVAL: i32 = 28;
    pub const NOSYS: i32 = 52;
    pub const NOTSUP: i32 = 58;
}

/// A deserialized map: raw `(key, value)` byte pairs in order.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Why [`deserialize_pairs`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairsError {
    /// Fewer than 4 bytes (and not the 1-byte empty form), or the size table
    /// does not fit.
    #[error("serialized map is truncated: {0}")]
    Truncated(&'static str),
    /// A key or value is not followed by a NUL byte.
    #[error("serialized map: missing NUL terminator after entry {0}")]
    MissingTerminator(usize),
}

/// Serializes a map as ABI 0.2.1 specifies: a little-endian `u32` count, then
/// a `(key length, value length)` `u32` pair per entry, then every key and
/// value followed by a NUL byte.
///
/// An empty map serializes to the 4-byte count 0 (as the Rust SDK does).
pub fn serialize_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let data: usize = pairs.iter().map(|(k, v)| k.as_ref().len() + v.as_ref().len() + 2).sum();
    let mut out = Vec::with_capacity(4 + pairs.len() * 8 + data);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (k, v) in pairs {
        out.extend_from_slice(&len_u32(k.as_ref().len()).to_le_bytes());
        out.extend_from_slice(&len_u32(v.as_ref().len()).to_le_bytes());
    }
    for (k, v) in pairs {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses a map serialized by [`serialize_pairs`] (or by a guest).
///
/// The empty value (0 bytes) and the single byte `0x00` are both the empty
/// map, as the specification allows. Bytes after the last entry are ignored
/// (Envoy ignores them too); everything else is bounds-checked, and each key
/// and value must be followed by a NUL byte.
pub fn deserialize_pairs(bytes: &[u8]) -> Result<Pairs, PairsError> {
    if bytes.is_empty() || bytes == [0] {
        return Ok(Vec::new());
    }
    let count = read_u32(bytes, 0).ok_or(PairsError::Truncated("no entry count"))? as usize;
    let table_end = count
        .checked_mul(8)
        .and_then(|n| n.checked_add(4))
        .filter(|&end| end <= bytes.len())
        .ok_or(PairsError::Truncated("size table longer than the map"))?;
    let mut pairs = Vec::with_capacity(count);
    let mut at = table_end;
    for i in 0..count {
        let key_len = read_u32(bytes, 4 + i * 8).ok_or(PairsError::Truncated("size table"))?;
        let value_len = read_u32(bytes, 8 + i * 8).ok_or(PairsError::Truncated("size table"))?;
        let key = take(bytes, &mut at, key_len as usize, i)?;
        let value = take(bytes, &mut at, value_len as usize, i)?;
        pairs.push((key, value));
    }
    Ok(pairs)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(raw))
}

fn take(bytes: &[u8], at: &mut usize, len: usize, entry: usize) -> Result<Vec<u8>, PairsError> {
    let end = at.checked_add(len).ok_or(PairsError::Truncated("entry"))?;
    let data = bytes.get(*at..end).ok_or(PairsError::Truncated("entry data"))?;
    match bytes.get(end) {
        Some(0) => {}
        Some(_) => return Err(PairsError::MissingTerminator(entry)),
        None => return Err(PairsError::Truncated("entry terminator")),
    }
    *at = end + 1;
    Ok(data.to_vec())
}

/// Splits a serialized property path into its segments the way Envoy does:
/// segments are separated by NUL bytes, and a NUL at the very end is
/// ignored (so `"source\0address"` and `"source\0address\0"` are the same
/// path; the Rust SDK sends the first form, hand-written guests often the
/// second).
pub fn split_property_path(path: &[u8]) -> Vec<String> {
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        segments.push(String::from_utf8_lossy(&rest[..end]).into_owned());
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_round_trips() {
        // {{"a": "1"}, {"b": "22"}} from the ABI specification.
        let bytes = serialize_pairs(&[("a", "1"), ("b", "22")]);
        let expected: Vec<u8> = [
            &2u32.to_le_bytes()[..],
            &1u32.to_le_bytes(),
            &1u32.to_le_bytes(),
            &1u32.to_le_bytes(),
            &2u32.to_le_bytes(),
            b"a\x001\x00b\x0022\x00",
        ]
        .concat();
        assert_eq!(bytes, expected);
        assert_eq!(
            deserialize_pairs(&bytes).unwrap(),
            vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"22".to_vec())]
        );
    }

    #[test]
    fn empty_forms() {
        assert_eq!(serialize_pairs::<&str, &str>(&[]), vec![0, 0, 0, 0]);
        assert!(deserialize_pairs(&[]).unwrap().is_empty());
        assert!(deserialize_pairs(&[0]).unwrap().is_empty());
        assert!(deserialize_pairs(&[0, 0, 0, 0]).unwrap().is_empty());
    }

    #[test]
    fn malformed_maps_are_rejected() {
        assert!(deserialize_pairs(&[1, 0]).is_err());
        // count 1 but no size table
        assert!(deserialize_pairs(&[1, 0, 0, 0]).is_err());
        // huge count must not overflow or allocate
        assert!(deserialize_pairs(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]).is_err());
        // missing terminator
        let mut bytes = serialize_pairs(&[("k", "v")]);
        let last = bytes.len() - 1;
        bytes[last] = b'x';
        assert_eq!(deserialize_pairs(&bytes), Err(PairsError::MissingTerminator(0)));
        // truncated data
        let bytes = serialize_pairs(&[("key", "value")]);
        for cut in 1..bytes.len() {
            assert!(deserialize_pairs(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn binary_values_and_nul_inside_values_survive() {
        let pairs = vec![
            (b"x-bin".to_vec(), vec![0xff, 0x00, 0xfe]),
            (b"".to_vec(), b"".to_vec()),
        ];
        let bytes = serialize_pairs(&pairs);
        assert_eq!(deserialize_pairs(&bytes).unwrap(), pairs);
    }

    #[test]
    fn property_paths() {
        assert_eq!(split_property_path(b"source\0address"), ["source", "address"]);
        assert_eq!(split_property_path(b"plugin_name"), ["plugin_name"]);
        assert!(split_property_path(b"").is_empty());
        assert_eq!(split_property_path(b"source\0address\0"), ["source", "address"]);
        assert_eq!(split_property_path(b"a\0\0b"), ["a", "", "b"]);
    }

    proptest::proptest! {
        #[test]
        fn round_trip(pairs in proptest::collection::vec(
            (proptest::collection::vec(proptest::num::u8::ANY, 0..20),
             proptest::collection::vec(proptest::num::u8::ANY, 0..40)), 0..20)) {
            let bytes = serialize_pairs(&pairs);
            proptest::prop_assert_eq!(deserialize_pairs(&bytes).unwrap(), pairs);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = deserialize_pairs(&bytes);
        }
    }
}
