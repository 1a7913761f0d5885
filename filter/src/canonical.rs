//! The canonical request path of docs/enforcement.md#canonical-request: what the filter matches on, and whether the raw
//! `:path` was already canonical (if not, a request that would match is refused with 400 so the
//! filter never authorizes one path while an upstream routes another).

use std::borrow::Cow;

/// The result of canonicalizing a `:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath<'a> {
    /// The form used for matching: dot-segments resolved, empty segments merged, `\` read as `/`,
    /// escapes of printable characters decoded (`%2F` too, so an upstream that decodes it cannot be
    /// reached by a different route), no trailing slash (root stays `/`), no query or fragment.
    pub path: Cow<'a, str>,
    /// Whether the raw path was canonical (no `//`, `.`/`..` segment, encoded `/` `\` `.`, `\`,
    /// control character or invalid escape).
    pub canonical: bool,
    /// The raw query string (without `?`), or `""`.
    pub query: &'a str,
}

/// Whether the escape `%XX` of byte `b` is decoded for matching: printable ASCII that carries no
/// path structure. Path templates are normalized with the same rule, so both sides meet.
pub fn decodes_escape(b: u8) -> bool {
    matches!(b, 0x21..=0x7e) && !matches!(b, b'%' | b'/' | b'\\' | b'?' | b'#')
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn push_hex(out: &mut Vec<u8>, b: u8) {
    out.push(b'%');
    out.push(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
    out.push(HEX.get(usize::from(b & 0xf)).copied().unwrap_or(b'0'));
}

/// Splits `raw` (a `:path` value) into canonical path and query. O(len), one allocation at most.
pub fn canonicalize(raw: &str) -> CanonicalPath<'_> {
    if let Some(end) = plain_end(raw.as_bytes()) {
        // `end` is at `?`, `#` or the end: ASCII, so on a character boundary.
        let path = raw.get(..end).unwrap_or("");
        let trimmed = if path.len() > 1 {
            path.strip_suffix('/').unwrap_or(path)
        } else {
            path
        };
        return CanonicalPath {
            path: Cow::Borrowed(trimmed),
            canonical: true,
            query: query_of(raw.get(end..).unwrap_or("")),
        };
    }
    // A byte scan: `?` and `#` are ASCII, so the split lands on a character boundary.
    let split = raw.bytes().position(|b| b == b'?' || b == b'#');
    let (path, rest) = match split {
        Some(i) => (raw.get(..i).unwrap_or(""), raw.get(i..).unwrap_or("")),
        None => (raw, ""),
    };
    let (path, canonical) = slow_path(path);
    CanonicalPath {
        path: Cow::Owned(path),
        canonical,
        query: query_of(rest),
    }
}

/// The query of what follows the path (`?query#fragment`, `#fragment` or nothing): a fragment never
/// reaches the upstream, so it is dropped from the query too.
fn query_of(rest: &str) -> &str {
    let q = rest.strip_prefix('?').unwrap_or("");
    match q.bytes().position(|b| b == b'#') {
        Some(j) => q.get(..j).unwrap_or(""),
        None => q,
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of every byte of `w` that is zero, and no other bit (exact, no borrow between bytes).
fn zero_bytes(w: u64) -> u64 {
    !(((w & LOW7).wrapping_add(LOW7)) | w | LOW7)
}

/// The high bit of every byte of `w` equal to `b`.
fn bytes_eq(w: u64, b: u8) -> u64 {
    zero_bytes(w ^ (ONES * u64::from(b)))
}

/// Where the path part of `raw` ends (the first `?` or `#`, else the length) when that part needs no
/// rewriting at all — the common case —, else `None`. Eight bytes at a time: a path is plain when it
/// starts with `/` and has no `%`, `\`, control, DEL or non-ASCII byte and no `//` or `/.` (the
/// latter is conservative: `/.well-known` takes the general path, which handles every case).
fn plain_end(raw: &[u8]) -> Option<usize> {
    if raw.first() != Some(&b'/') {
        return None;
    }
    let mut offset = 0;
    // The previous chunk ended with `/`: a `/` or `.` first in this chunk makes a pair.
    let mut carry = false;
    while offset < raw.len() {
        let chunk = raw.get(offset..).unwrap_or_default();
        // The tail is padded with an ordinary byte.
        let w = crate::bytes::word_le(chunk, b'a');
        let special = (w & HIGH)
            | (!((w & LOW7).wrapping_add(ONES * (0x80 - 0x20))) & HIGH) // below 0x20
            | bytes_eq(w, 0x7f)
            | bytes_eq(w, b'%')
            | bytes_eq(w, b'\\');
        let next = w >> 8; // byte i + 1 at position i (the top byte becomes 0: no match)
        let pair = bytes_eq(w, b'/') & (bytes_eq(next, b'/') | bytes_eq(next, b'.'));
        let first = w & 0xff;
        let carried = if carry && (first == u64::from(b'/') || first == u64::from(b'.')) {
            0x80
        } else {
            0
        };
        let bad = special | pair | carried;
        let stop = bytes_eq(w, b'?') | bytes_eq(w, b'#');
        if stop != 0 {
            // Only bytes before the terminator count.
            let at = stop.trailing_zeros() as usize / 8;
            let before = (1u64 << (at * 8)).wrapping_sub(1);
            return (bad & before == 0).then_some(offset + at);
        }
        if bad != 0 {
            return None;
        }
        carry = (w >> 56) == u64::from(b'/');
        offset += 8;
    }
    Some(raw.len())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The general case: decode, split into segments, resolve dots, rejoin.
fn slow_path(path: &str) -> (String, bool) {
    let mut canonical = path.starts_with('/');
    // 1. Decode escapes of printable ASCII and read `\` as `/`, noting what makes the raw form
    //    non-canonical. Escapes of other bytes stay encoded (they cannot form structure).
    let b = path.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(b.len() + 1);
    if !path.starts_with('/') {
        decoded.push(b'/');
    }
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => match (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    let v = h * 16 + l;
                    match v {
                        b'/' | b'\\' => {
                            canonical = false;
                            decoded.push(b'/');
                        }
                        b'.' => {
                            canonical = false;
                            decoded.push(b'.');
                        }
                        v if decodes_escape(v) => decoded.push(v),
                        0x00..=0x1f | 0x7f => {
                            canonical = false;
                            push_hex(&mut decoded, v);
                        }
                        // Kept encoded, in upper-case hex like normalized templates.
                        v => push_hex(&mut decoded, v),
                    }
                    i += 3;
                    continue;
                }
                _ => {
                    canonical = false;
                    decoded.extend_from_slice(b"%25");
                }
            },
            b'\\' => {
                canonical = false;
                decoded.push(b'/');
            }
            c if c < 0x20 || c == 0x7f => {
                canonical = false;
                decoded.push(c);
            }
            // Raw non-ASCII bytes match their escaped form (templates hold them escaped).
            c if c >= 0x80 => push_hex(&mut decoded, c),
            c => decoded.push(c),
        }
        i += 1;
    }
    // 2. Segments: drop empty ones and `.`, pop on `..` (never above the root).
    let mut segments: Vec<&[u8]> = Vec::new();
    let parts: Vec<&[u8]> = decoded.split(|&c| c == b'/').skip(1).collect();
    let count = parts.len();
    for (n, seg) in parts.into_iter().enumerate() {
        match seg {
            // A single trailing slash is allowed; any other empty segment is `//`.
            b"" => {
                if n + 1 != count {
                    canonical = false;
                }
            }
            b"." => canonical = false,
            b".." => {
                canonical = false;
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = String::with_capacity(decoded.len());
    if segments.is_empty() {
        out.push('/');
    }
    for s in segments {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(s));
    }
    (out, canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test {
        raw: &'static str,
        path: &'static str,
        canonical: bool,
    }

    impl Test {
        fn run(&self) {
            let c = canonicalize(self.raw);
            assert_eq!(
                (c.path.as_ref(), c.canonical),
                (self.path, self.canonical),
                "raw {:?}",
                self.raw
            );
        }
    }

    #[test]
    fn canonical_forms() {
        let tests = [
            Test {
                raw: "/",
                path: "/",
                canonical: true,
            },
            Test {
                raw: "/a/b",
                path: "/a/b",
                canonical: true,
            },
            Test {
                raw: "/a/b/",
                path: "/a/b",
                canonical: true,
            },
            Test {
                raw: "/a/b?x=1/../",
                path: "/a/b",
                canonical: true,
            },
            Test {
                raw: "/a/%7Euser",
                path: "/a/~user",
                canonical: true,
            },
            Test {
                raw: "/a/%40me",
                path: "/a/@me",
                canonical: true,
            },
            Test {
                raw: "/a/%20b",
                path: "/a/%20b",
                canonical: true,
            },
            Test {
                raw: "/a/%C3%A9",
                path: "/a/%C3%A9",
                canonical: true,
            },
            Test {
                raw: "//a",
                path: "/a",
                canonical: false,
            },
            Test {
                raw: "/a//b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/./b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/../b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/../../b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a/%2e%2e/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a/%2E/b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%2Fb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%2fb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%5Cb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%5cb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a\\b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/%zz",
                path: "/a/%25zz",
                canonical: false,
            },
            Test {
                raw: "/a/%4",
                path: "/a/%254",
                canonical: false,
            },
            Test {
                raw: "/a/b%",
                path: "/a/b%25",
                canonical: false,
            },
            Test {
                raw: "/a/\tb",
                path: "/a/\tb",
                canonical: false,
            },
            Test {
                raw: "/a/%00b",
                path: "/a/%00b",
                canonical: false,
            },
            Test {
                raw: "/a/%25",
                path: "/a/%25",
                canonical: true,
            },
            Test {
                raw: "/a/b/.",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/b/..",
                path: "/a",
                canonical: false,
            },
            Test {
                raw: "a/b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "",
                path: "/",
                canonical: false,
            },
        ];
        for t in tests {
            t.run();
        }
    }

    #[test]
    fn query_and_fragment_are_split_off() {
        let c = canonicalize("/a?apikey=x&b=2#frag");
        assert_eq!(c.query, "apikey=x&b=2");
        assert_eq!(c.path, "/a");
        let c = canonicalize("/a#x?y");
        assert_eq!((c.path.as_ref(), c.query), ("/a", ""));
    }

    #[test]
    fn overlong_paths_are_linear_and_do_not_panic() {
        let raw = "/..".repeat(20_000) + &"%2F".repeat(20_000);
        let c = canonicalize(&raw);
        assert!(!c.canonical);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod fast_path {
    use super::*;
    use proptest::prelude::*;

    /// What the eight-bytes-at-a-time scan must agree with: split, then the general case.
    fn general(raw: &str) -> (String, bool, &str) {
        let split = raw.bytes().position(|b| b == b'?' || b == b'#');
        let (path, rest) = match split {
            Some(i) => (&raw[..i], &raw[i..]),
            None => (raw, ""),
        };
        let (path, canonical) = slow_path(path);
        (path, canonical, query_of(rest))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Paths built from the bytes that matter (separators, dots, escapes, terminators, controls,
        /// DEL, non-ASCII), at every length and alignment: the fast path answers exactly like the
        /// general case whenever it answers.
        #[test]
        fn fast_path_agrees_with_the_general_case(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("/"), Just("."), Just("a"), Just("%2F"), Just("%41"), Just("\\\\"), Just("?"),
                    Just("#"), Just("\u{1}"), Just("\u{7f}"), Just("é"), Just("-"), Just("~"),
                ],
                0..40,
            ),
            lead_slash in any::<bool>(),
        ) {
            let raw = format!("{}{}", if lead_slash { "/" } else { "" }, parts.concat());
            let got = canonicalize(&raw);
            let want = general(&raw);
            prop_assert_eq!((got.path.as_ref(), got.canonical, got.query), (want.0.as_str(), want.1, want.2), "{:?}", raw);
            if let Some(end) = plain_end(raw.as_bytes()) {
                prop_assert!(got.canonical && matches!(got.path, Cow::Borrowed(_)), "{:?} at {}", raw, end);
            }
        }
    }

    #[test]
    fn pairs_across_chunk_boundaries_take_the_general_case() {
        for pad in 0..16 {
            let a = "a".repeat(pad);
            for tail in ["//x", "/./x", "/../x", "/.well-known"] {
                let raw = format!("/{a}{tail}");
                assert_eq!(plain_end(raw.as_bytes()), None, "{raw}");
            }
            let raw = format!("/x{a}/b?q=//./");
            assert_eq!(plain_end(raw.as_bytes()), Some(raw.find('?').unwrap()), "{raw}");
        }
    }
}
