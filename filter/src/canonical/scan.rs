//! The fast path: whether a raw path needs no rewriting at all, one table lookup per byte.
//!
//! A byte loop over a 256-entry class table does fewer operations per byte than the eight-bytes-
//! at-a-time form this replaced (nine byte comparisons per word plus the pair logic: about 12
//! instructions a byte natively, 3 here for an ordinary byte), and it is smaller code, which
//! matters more in the proxy, where the filter's code is cold at each request (benches/README.md).

/// An ordinary byte: it cannot change how any upstream reads the path.
const PLAIN: u8 = 0;
/// A byte that always takes the general case: `%`, `\`, `;`, controls, DEL, non-ASCII.
const SPECIAL: u8 = 1;
/// `/`: a `/` or `.` right after it takes the general case (`//`, `/.`, `/..`).
const SLASH: u8 = 2;
/// `.`: harmless unless it follows a `/`.
const DOT: u8 = 4;
/// `?` or `#`: the end of the path part.
const END: u8 = 8;

/// The class of every byte. (Indexing in a constant: an index out of bounds would fail the
/// build, never a request.)
#[allow(clippy::indexing_slicing)]
static CLASS: [u8; 256] = {
    let mut t = [PLAIN; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = match b as u8 {
            b'/' => SLASH,
            b'.' => DOT,
            b'?' | b'#' => END,
            b'%' | b'\\' | b';' | 0x7f | 0x80..=0xff | 0..=0x1f => SPECIAL,
            _ => PLAIN,
        };
        b += 1;
    }
    t
};

/// Where the path part of `raw` ends (the first `?` or `#`, else the length) when that part needs no
/// rewriting at all — the common case —, else `None`. A path is plain when it starts with `/` and
/// has no `%`, `\`, `;`, control, DEL or non-ASCII byte and no `//` or `/.` (the latter is
/// conservative: `/.well-known` takes the general path, which handles every case).
pub(super) fn plain_end(raw: &[u8]) -> Option<usize> {
    if raw.first() != Some(&b'/') {
        return None;
    }
    // Whether the previous byte was `/`.
    let mut after_slash = false;
    for (i, &b) in raw.iter().enumerate() {
        // A `u8` indexes a 256-entry table: never out of bounds (the check compiles away).
        let class = CLASS.get(usize::from(b)).copied().unwrap_or(SPECIAL);
        if class == PLAIN {
            after_slash = false;
            continue;
        }
        if class == END {
            return Some(i);
        }
        if class == SPECIAL || after_slash {
            return None;
        }
        after_slash = class == SLASH;
    }
    Some(raw.len())
}
