//! The general case: the two readings of a raw path that is not plain (see the parent module).

use super::{decodes_escape, push_hex};

/// The value of an ASCII hex digit.
fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The byte of the escape `%XX` at `b[at..]`, if there is a valid one.
fn escape_at(b: &[u8], at: usize) -> Option<u8> {
    match (
        b.get(at),
        b.get(at + 1).copied().and_then(hex),
        b.get(at + 2).copied().and_then(hex),
    ) {
        (Some(b'%'), Some(h), Some(l)) => Some(h * 16 + l),
        _ => None,
    }
}

/// Appends a decoded ASCII byte as the resolved reading reads it: `/` and `\` separate segments,
/// printable bytes without structure are themselves, the rest stays escaped. Returns whether that
/// was canonical for an escaped byte (an escaped separator, dot or control character is not).
fn push_decoded(out: &mut Vec<u8>, v: u8) -> bool {
    match v {
        b'/' | b'\\' => {
            out.push(b'/');
            false
        }
        b'.' => {
            out.push(b'.');
            false
        }
        0x00..=0x1f | 0x7f => {
            push_hex(out, v);
            false
        }
        v if decodes_escape(v) => {
            out.push(v);
            true
        }
        // Space, `?`, `#` and non-ASCII stay escaped, in upper-case hex like normalized templates.
        v => {
            push_hex(out, v);
            true
        }
    }
}

/// Characters that Unicode compatibility normalization (NFKC) turns into a dot, two dots, a slash
/// or a backslash, for upstreams that normalize paths.
fn lookalike(c: char) -> Option<&'static [u8]> {
    match c {
        '\u{FF0E}' | '\u{2024}' | '\u{FE52}' => Some(b"."),
        '\u{2025}' => Some(b".."),
        '\u{FF0F}' | '\u{FF3C}' | '\u{FE68}' => Some(b"/"),
        _ => None,
    }
}

/// An overlong UTF-8 encoding of an ASCII character at the start of `b`: the character and the
/// sequence's length. Lenient decoders read these as the character itself.
fn overlong_ascii(b: &[u8]) -> Option<(u8, usize)> {
    let cont = |x: u8| (0x80..=0xbf).contains(&x);
    let (cp, len) = match *b {
        [b0 @ (0xc0 | 0xc1), b1, ..] if cont(b1) => ((u32::from(b0 & 0x1f) << 6) | u32::from(b1 & 0x3f), 2),
        [0xe0, b1 @ 0x80..=0x9f, b2, ..] if cont(b2) => ((u32::from(b1 & 0x3f) << 6) | u32::from(b2 & 0x3f), 3),
        [0xf0, b1 @ 0x80..=0x8f, b2, b3, ..] if cont(b2) && cont(b3) => (
            (u32::from(b1 & 0x3f) << 12) | (u32::from(b2 & 0x3f) << 6) | u32::from(b3 & 0x3f),
            4,
        ),
        _ => return None,
    };
    u8::try_from(cp).ok().filter(u8::is_ascii).map(|c| (c, len))
}

/// Appends a run of non-ASCII bytes (raw or escaped) and empties it. Valid UTF-8 stays escaped
/// (templates hold it escaped) except look-alikes of path structure; anything else is read
/// leniently, overlong forms of ASCII as that character. Returns whether the run was canonical.
fn flush(run: &mut Vec<u8>, out: &mut Vec<u8>) -> bool {
    if run.is_empty() {
        return true;
    }
    let mut canonical = true;
    match std::str::from_utf8(run) {
        Ok(s) => {
            for c in s.chars() {
                match lookalike(c) {
                    Some(ascii) => {
                        canonical = false;
                        out.extend_from_slice(ascii);
                    }
                    None => {
                        let mut buf = [0u8; 4];
                        for &b in c.encode_utf8(&mut buf).as_bytes() {
                            push_hex(out, b);
                        }
                    }
                }
            }
        }
        Err(_) => {
            canonical = false;
            let mut rest: &[u8] = run;
            while let Some((&first, tail)) = rest.split_first() {
                match overlong_ascii(rest) {
                    Some((c, len)) => {
                        push_decoded(out, c);
                        rest = rest.get(len..).unwrap_or_default();
                    }
                    None => {
                        push_hex(out, first);
                        rest = tail;
                    }
                }
            }
        }
    }
    run.clear();
    canonical
}

/// The resolved reading of a raw path (no query): every form an upstream may decode, strip or
/// resolve is decoded, stripped and resolved — escaped and double-escaped separators and dots,
/// `\`, `;` path parameters, overlong UTF-8 and look-alikes, dot segments, empty segments — and
/// whether the raw path needed none of it.
pub(super) fn resolve(path: &str) -> (String, bool) {
    let mut canonical = path.starts_with('/');
    let b = path.as_bytes();
    let mut decoded: Vec<u8> = Vec::with_capacity(b.len() + 1);
    if !canonical {
        decoded.push(b'/');
    }
    // Non-ASCII bytes, raw or escaped, waiting to be read as UTF-8 together.
    let mut run: Vec<u8> = Vec::new();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if let Some(v) = escape_at(b, i) {
            i += 3;
            if v >= 0x80 {
                run.push(v);
                continue;
            }
            canonical &= flush(&mut run, &mut decoded);
            if v == b'%' {
                // `%25XX`: an upstream that decodes twice reads the escape `%XX`.
                if let (Some(h), Some(l)) = (b.get(i).copied().and_then(hex), b.get(i + 1).copied().and_then(hex)) {
                    canonical = false;
                    i += 2;
                    push_decoded(&mut decoded, h * 16 + l);
                    continue;
                }
                decoded.extend_from_slice(b"%25");
                continue;
            }
            canonical &= push_decoded(&mut decoded, v);
            continue;
        }
        if c >= 0x80 {
            run.push(c);
            i += 1;
            continue;
        }
        canonical &= flush(&mut run, &mut decoded);
        match c {
            b'%' => {
                canonical = false;
                decoded.extend_from_slice(b"%25");
            }
            b'\\' => {
                canonical = false;
                decoded.push(b'/');
            }
            b';' => {
                // A path parameter: servlet containers drop it up to the next separator.
                canonical = false;
                let skip = b
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&x| x == b'/' || x == b'\\')
                    .unwrap_or(b.len() - i);
                i += skip;
                continue;
            }
            c if c < 0x20 || c == 0x7f => {
                canonical = false;
                decoded.push(c);
            }
            c => decoded.push(c),
        }
        i += 1;
    }
    canonical &= flush(&mut run, &mut decoded);
    // Segments: drop empty ones and `.`, pop on `..` (never above the root).
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

/// The literal reading of a raw path (no query): its segments as sent, nothing resolved, merged
/// or stripped, escapes normalized the way templates are (escapes of printable ASCII without
/// structure decoded, the rest upper-case), no trailing slash. What an upstream that decodes
/// nothing routes.
pub(super) fn literal(path: &str) -> String {
    let b = path.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 1);
    if !path.starts_with('/') {
        out.push(b'/');
    }
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if let Some(v) = escape_at(b, i) {
            if decodes_escape(v) {
                out.push(v);
            } else {
                push_hex(&mut out, v);
            }
            i += 3;
            continue;
        }
        match c {
            b'%' => out.extend_from_slice(b"%25"),
            c if c >= 0x80 => push_hex(&mut out, c),
            c => out.push(c),
        }
        i += 1;
    }
    if out.len() > 1 && out.last() == Some(&b'/') {
        out.pop();
    }
    String::from_utf8_lossy(&out).into_owned()
}
