//! The fast path: whether a raw path needs no rewriting at all, one table lookup per byte.
//!
//! A tight loop over a 256-entry class table skips ordinary bytes (a load, a table load, a compare
//! and an increment each); the eight-bytes-at-a-time form it replaced spent about 12 instructions
//! a byte on nine byte comparisons and the pair logic. It is also less code, which matters in the
//! proxy, where the filter's code is cold at each request (benches/README.md).

/// An ordinary byte: it cannot change how any upstream reads the path.
const PLAIN: u8 = 0;
/// A byte that always takes the general case: `%`, `\`, `;`, controls, DEL, non-ASCII.
const SPECIAL: u8 = 1;
/// `/` or `.`: ordinary, except right after a `/` (`//`, `/.`, `/..` take the general case).
const AFTER_SLASH: u8 = 2;
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
            b'/' | b'.' => AFTER_SLASH,
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
    // A `u8` indexes a 256-entry table: never out of bounds (the check compiles away).
    let class = |b: &u8| CLASS.get(usize::from(*b)).copied().unwrap_or(SPECIAL);
    let mut at = 1;
    loop {
        // The common case, in a loop of its own: ordinary bytes.
        let rest = raw.get(at..).unwrap_or_default();
        let Some(skip) = rest.iter().position(|b| class(b) != PLAIN) else {
            return Some(raw.len());
        };
        at += skip;
        match rest.get(skip).map(class) {
            Some(END) => return Some(at),
            // `/` or `.` right after a `/` (`at` ≥ 1), or a special byte.
            Some(AFTER_SLASH) if raw.get(at - 1) != Some(&b'/') => at += 1,
            _ => return None,
        }
    }
}
