//! The fast path: whether a raw path needs no rewriting at all, eight bytes at a time.

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
/// starts with `/` and has no `%`, `\`, `;`, control, DEL or non-ASCII byte and no `//` or `/.`
/// (the latter is conservative: `/.well-known` takes the general path, which handles every case).
pub(super) fn plain_end(raw: &[u8]) -> Option<usize> {
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
            | bytes_eq(w, b';')
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
