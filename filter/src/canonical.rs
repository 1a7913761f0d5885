//! The canonical request path (docs/enforcement.md, canonical request): what the filter matches
//! on, and whether the raw `:path` was already canonical. A request that would match an operation
//! but is not canonical is refused with 400 (`non_canonical`) under both match policies, so the
//! filter never authorizes one path while an upstream routes another.
//!
//! # Two readings
//!
//! Upstreams disagree about what a path means, so a raw path that is not canonical is read twice,
//! and if **either** reading matches an operation the request gets 400:
//!
//! - the **resolved** reading ([`CanonicalPath::path`]): everything any common upstream may
//!   decode, strip or resolve is decoded, stripped and resolved (the list below), then dot
//!   segments are resolved and empty segments merged;
//! - the **literal** reading ([`CanonicalPath::alternate`]): the segments as sent, for upstreams
//!   that decode nothing (`/v1/flights/..;` is flight `..;` to them, `/v1` to Tomcat).
//!
//! # Raw forms that are not canonical, and why
//!
//! | raw form | example | why an upstream may route it elsewhere |
//! |---|---|---|
//! | empty segment (other than one trailing `/`) | `//a`, `/a//b` | slashes are merged (Envoy `merge_slashes`, nginx) |
//! | dot segment | `/a/./b`, `/a/../b`, `/a/b/..` | resolved by RFC 3986 `remove_dot_segments` |
//! | encoded dot, any case | `%2E`, `%2e`, `/a/%2e%2e/b` | decoded, then resolved as a dot segment |
//! | encoded `/` or `\`, any case | `%2F`, `%2f`, `%5C`, `%5c` | decoded into a separator (Envoy `UNESCAPE_AND_REDIRECT`/`…FORWARD`, many frameworks) |
//! | backslash | `/a\b` | a separator to IIS, Windows servers, some Java and Node routers |
//! | `;` path parameter in any segment | `/billing;jsessionid=1`, `..;`, `.;x`, `..;jsessionid=1` | servlet containers (Tomcat, Jetty, Spring) drop `;…` up to the next `/`, so `..;` becomes `..` |
//! | double encoding: `%25` followed by two hex digits | `%252F`, `%255C`, `%252E`, `%2541` | decoded twice by frameworks behind a decoding proxy |
//! | invalid percent escape | `%zz`, `%4`, trailing `%` | decoders disagree (kept, dropped, or an error) |
//! | control character, raw or escaped | `%00`, `%0A`, `%09`, a raw tab, DEL | `%00` truncates paths in C-based upstreams; CR/LF/tab inject into logs and headers |
//! | escaped bytes that are not UTF-8 | `%C3` alone, `%FF`, `%ED%A0%80` | lenient decoders substitute or drop them |
//! | overlong UTF-8 | `%C0%AE`, `%E0%80%AE`, `%F0%80%80%AE` (`.`), `%C0%AF` (`/`), `%C1%9C` (`\`) | lenient decoders read the ASCII character they encode |
//! | Unicode look-alikes of path structure, raw or escaped | U+FF0E `．`, U+2024 `․`, U+FE52 `﹒` (dot), U+2025 `‥` (two dots), U+FF0F `／`, U+FF3C `＼`, U+FE68 `﹨` (slashes) | compatibility normalization (NFKC) turns them into `.`, `..`, `/`, `\` |
//! | not starting with `/` | `a/b`, empty | an upstream prefixes `/` or refuses it |
//!
//! Not canonical either, though it is about the method (checked by the engine's match step): a
//! method that is not exactly an operation's upper-case method but equals it ignoring case (`get`,
//! `Get` where the path has a GET operation), because some servers match methods
//! case-insensitively.
//!
//! Canonical and decoded for matching: escapes of printable ASCII without path structure (`%7E`
//! is `~`, `%40` is `@`), as templates are normalized. Canonical and kept escaped: escapes of
//! space, `?`, `#` and valid UTF-8 (`%C3%A9`), and raw UTF-8 (matched as its escapes). A plain
//! `%25` not followed by two hex digits is a literal percent sign.

mod resolve;
mod scan;

use std::borrow::Cow;

use resolve::{literal, resolve};
use scan::plain_end;

/// The result of canonicalizing a `:path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalPath<'a> {
    /// The resolved reading, used for matching: see the module docs. No trailing slash (root
    /// stays `/`), no query or fragment.
    pub path: Cow<'a, str>,
    /// Whether the raw path was canonical (none of the forms in the module docs).
    pub canonical: bool,
    /// For a path that is not canonical, its literal reading when it differs from [`Self::path`]:
    /// a request whose literal reading matches an operation is refused like one whose resolved
    /// reading does.
    pub alternate: Option<String>,
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

/// Splits `raw` (a `:path` value) into canonical path and query. O(len); no allocation for a plain
/// path, a few for one that is not.
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
            alternate: None,
            query: query_of(raw.get(end..).unwrap_or("")),
        };
    }
    // A byte scan: `?` and `#` are ASCII, so the split lands on a character boundary.
    let split = raw.bytes().position(|b| b == b'?' || b == b'#');
    let (path, rest) = match split {
        Some(i) => (raw.get(..i).unwrap_or(""), raw.get(i..).unwrap_or("")),
        None => (raw, ""),
    };
    let (resolved, canonical) = resolve(path);
    let alternate = if canonical {
        None
    } else {
        Some(literal(path)).filter(|l| *l != resolved)
    };
    CanonicalPath {
        path: Cow::Owned(resolved),
        canonical,
        alternate,
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
            Test {
                raw: "/a/..;",
                path: "/",
                canonical: false,
            },
            Test {
                raw: "/a/b/..;",
                path: "/a",
                canonical: false,
            },
            Test {
                raw: "/billing;jsessionid=1",
                path: "/billing",
                canonical: false,
            },
            Test {
                raw: "/a/.;x/b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/..;jsessionid=1/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a;x\\b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%252Fb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%252fb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/%252E%252E/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a%255Cb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/%2541",
                path: "/a/A",
                canonical: false,
            },
            Test {
                raw: "/a/%C0%AE%C0%AE/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a/%E0%80%AE",
                path: "/a",
                canonical: false,
            },
            Test {
                raw: "/a/%F0%80%80%AE%F0%80%80%AE/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a%C0%AFb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a%C1%9Cb",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/%C0%80",
                path: "/a/%00",
                canonical: false,
            },
            Test {
                raw: "/a/%C3",
                path: "/a/%C3",
                canonical: false,
            },
            Test {
                raw: "/a/%FF",
                path: "/a/%FF",
                canonical: false,
            },
            Test {
                raw: "/a/%ED%A0%80",
                path: "/a/%ED%A0%80",
                canonical: false,
            },
            Test {
                raw: "/a/%C3%A9%C3",
                path: "/a/%C3%A9%C3",
                canonical: false,
            },
            Test {
                raw: "/a/\u{FF0E}\u{FF0E}/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a/%EF%BC%8E%EF%BC%8E/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a\u{FF0F}b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a\u{FF3C}b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/\u{2025}/b",
                path: "/b",
                canonical: false,
            },
            Test {
                raw: "/a/\u{2024}",
                path: "/a",
                canonical: false,
            },
            Test {
                raw: "/a\u{FE68}b",
                path: "/a/b",
                canonical: false,
            },
            Test {
                raw: "/a/%09",
                path: "/a/%09",
                canonical: false,
            },
            Test {
                raw: "/a/%7F",
                path: "/a/%7F",
                canonical: false,
            },
            Test {
                raw: "/a/%25zz",
                path: "/a/%25zz",
                canonical: true,
            },
            Test {
                raw: "/a/é",
                path: "/a/%C3%A9",
                canonical: true,
            },
            Test {
                raw: "/a/%e2%82%ac",
                path: "/a/%E2%82%AC",
                canonical: true,
            },
            Test {
                raw: "/a/%3B",
                path: "/a/;",
                canonical: true,
            },
        ];
        for t in tests {
            t.run();
        }
    }

    #[test]
    fn the_literal_reading_is_kept_when_it_differs() {
        let c = canonicalize("/v1/flights/..;?x=1");
        assert_eq!(
            (c.path.as_ref(), c.alternate.as_deref(), c.query),
            ("/v1", Some("/v1/flights/..;"), "x=1")
        );
        let c = canonicalize("/v1/flights/a%2Fb");
        assert_eq!(
            (c.path.as_ref(), c.alternate.as_deref()),
            ("/v1/flights/a/b", Some("/v1/flights/a%2Fb"))
        );
        let c = canonicalize("/v1/flights/%2E%2E/");
        assert_eq!(
            (c.path.as_ref(), c.alternate.as_deref()),
            ("/v1", Some("/v1/flights/.."))
        );
        let c = canonicalize("/v1/flights/%41%2541");
        assert_eq!(c.alternate.as_deref(), Some("/v1/flights/A%2541"));
        // Nothing to add when both readings agree, or the path is canonical.
        assert_eq!(canonicalize("/a//b").alternate.as_deref(), Some("/a//b"));
        assert_eq!(canonicalize("/a/%0A").alternate, None);
        assert_eq!(canonicalize("/a/%7Eb").alternate, None);
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
    use super::scan::plain_end;
    use super::*;
    use proptest::prelude::*;

    /// What the fast scan must agree with: split, then the general case.
    fn general(raw: &str) -> (String, bool, &str) {
        let split = raw.bytes().position(|b| b == b'?' || b == b'#');
        let (path, rest) = match split {
            Some(i) => (&raw[..i], &raw[i..]),
            None => (raw, ""),
        };
        let (path, canonical) = resolve(path);
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
                    Just("#"), Just(";"), Just("%25"), Just("%2E"), Just("%C0%AE"), Just("%C3"), Just("%C3%A9"),
                    Just("\u{FF0E}"), Just("%41"), Just("\u{1}"), Just("\u{7f}"), Just("é"), Just("-"), Just("~"),
                ],
                0..40,
            ),
            lead_slash in any::<bool>(),
        ) {
            let raw = format!("{}{}", if lead_slash { "/" } else { "" }, parts.concat());
            let got = canonicalize(&raw);
            let want = general(&raw);
            prop_assert_eq!((got.path.as_ref(), got.canonical, got.query), (want.0.as_str(), want.1, want.2), "{:?}", raw);
            // A canonical path reads the same literally and resolved: nothing was there to decode,
            // strip or resolve.
            if got.canonical {
                let path = &raw[..raw.find(['?', '#']).unwrap_or(raw.len())];
                prop_assert_eq!(super::resolve::literal(path), got.path.as_ref(), "{:?}", raw);
                prop_assert_eq!(got.alternate, None);
            }
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
