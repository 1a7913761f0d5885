//! Bounds-checked reading and writing of little-endian binary data: the one place where the
//! filter turns bytes into integers and back. The bundle decoder reads only through [`Reader`]
//! (so no input can index out of bounds or allocate more than it holds) and [`key_and_u32`]; the
//! encoder writes only through [`Writer`].

/// Why a read failed: a short static description of what was being read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// What the reader was trying to read.
    pub what: &'static str,
    /// Byte offset (within the current section) where it failed.
    pub offset: usize,
}

/// A cursor over a byte slice; every accessor returns `Err` instead of reading past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Bytes not yet read.
    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Current offset.
    #[inline(always)]
    pub fn offset(&self) -> usize {
        self.pos
    }

    #[cold]
    fn err(&self, what: &'static str) -> ReadError {
        ReadError { what, offset: self.pos }
    }

    /// The next `len` bytes.
    #[inline(always)]
    pub fn bytes(&mut self, len: usize, what: &'static str) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(len).ok_or_else(|| self.err(what))?;
        let out = self.data.get(self.pos..end).ok_or_else(|| self.err(what))?;
        self.pos = end;
        Ok(out)
    }

    /// A fixed-size array.
    #[inline(always)]
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadError> {
        let bytes = self.bytes(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// A `u8`.
    #[inline(always)]
    pub fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        match self.data.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => Err(self.err(what)),
        }
    }

    /// A little-endian `u16`.
    #[inline(always)]
    pub fn u16(&mut self, what: &'static str) -> Result<u16, ReadError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u32`.
    #[inline(always)]
    pub fn u32(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// A little-endian `u64`.
    #[inline(always)]
    pub fn u64(&mut self, what: &'static str) -> Result<u64, ReadError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// An unsigned LEB128 integer of at most 32 bits (1 to 5 bytes, canonical: no overlong forms).
    #[inline(always)]
    pub fn varint(&mut self, what: &'static str) -> Result<u32, ReadError> {
        // Fast paths for the canonical 1-, 2- and 3-byte forms (every count, length and index
        // below 2^21); longer or invalid forms go the careful way.
        match *self.data.get(self.pos..).unwrap_or_default() {
            [b0, ..] if b0 < 0x80 => {
                self.pos += 1;
                return Ok(u32::from(b0));
            }
            [b0, b1, ..] if b1 < 0x80 && b1 != 0 => {
                self.pos += 2;
                return Ok(u32::from(b0 & 0x7f) | u32::from(b1) << 7);
            }
            [b0, b1, b2, ..] if b1 >= 0x80 && b2 < 0x80 && b2 != 0 => {
                self.pos += 3;
                return Ok(u32::from(b0 & 0x7f) | u32::from(b1 & 0x7f) << 7 | u32::from(b2) << 14);
            }
            _ => {}
        }
        self.varint_slow(what)
    }

    #[inline(never)]
    fn varint_slow(&mut self, what: &'static str) -> Result<u32, ReadError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let mut value = 0u32;
        for (i, &b) in rest.iter().take(5).enumerate() {
            let bits = u32::from(b & 0x7f);
            if i == 4 && bits > 0x0f {
                break;
            }
            value |= bits << (7 * i);
            if b & 0x80 == 0 {
                if i > 0 && b == 0 {
                    break;
                }
                self.pos += i + 1;
                return Ok(value);
            }
        }
        Err(self.err(what))
    }

    /// A varint element count for items of at least `min_item_size` bytes each. Rejects counts
    /// that the remaining input cannot hold, so a corrupt count never drives a huge allocation.
    #[inline(always)]
    pub fn count(&mut self, min_item_size: usize, what: &'static str) -> Result<usize, ReadError> {
        let n = self.varint(what)? as usize;
        let needed = n.checked_mul(min_item_size.max(1)).ok_or_else(|| self.err(what))?;
        if needed > self.remaining() {
            return Err(self.err(what));
        }
        Ok(n)
    }

    /// A string: varint byte length, then UTF-8 bytes.
    #[inline(always)]
    pub fn str(&mut self, what: &'static str) -> Result<&'a str, ReadError> {
        let len = self.varint(what)? as usize;
        let bytes = self.bytes(len, what)?;
        std::str::from_utf8(bytes).map_err(|_| self.err(what))
    }
}

/// A fixed-width record of an `N`-byte key followed by a little-endian `u32` (the bundle's
/// credential records), or `None` if `record` is shorter than `N + 4` bytes.
#[inline(always)]
pub fn key_and_u32<const N: usize>(record: &[u8]) -> Option<([u8; N], u32)> {
    let (key, rest) = record.split_first_chunk::<N>()?;
    let value = rest.first_chunk::<4>()?;
    Some((*key, u32::from_le_bytes(*value)))
}

/// Appends little-endian binary data; the writer-side twin of [`Reader`].
#[derive(Debug, Default, Clone)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// A `u8`.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// A little-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A little-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// A little-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    /// Raw bytes.
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// A fixed-width `u32` length (header and section framing).
    pub fn len(&mut self, n: usize) -> Result<(), TooLarge> {
        self.u32(u32::try_from(n).map_err(|_| TooLarge)?);
        Ok(())
    }
    /// A count, length or index as an unsigned LEB128 varint (at most 32 bits).
    pub fn var(&mut self, n: usize) -> Result<(), TooLarge> {
        let mut v = u32::try_from(n).map_err(|_| TooLarge)?;
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.u8(byte);
                return Ok(());
            }
            self.u8(byte | 0x80);
        }
    }
    /// A string (varint length + UTF-8).
    pub fn str(&mut self, s: &str) -> Result<(), TooLarge> {
        self.var(s.len())?;
        self.bytes(s.as_bytes());
        Ok(())
    }
}

/// A count, index or string too large for the format's 32-bit fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// Byte-slice equality eight bytes at a time. A hash table's own comparison (`==` on slices) calls
/// `memcmp`: natively a call that costs more than comparing a key of a few dozen bytes, and in wasm
/// a loop of about 14 instructions a byte.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |c: &[u8]| c.first_chunk::<8>().map(|w| u64::from_ne_bytes(*w));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    if (&mut x).zip(&mut y).any(|(p, q)| word(p) != word(q)) {
        return false;
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_is_slice_equality() {
        let base: Vec<u8> = (0..40u8).collect();
        for len in 0..=base.len() {
            let a = &base[..len];
            assert!(same_bytes(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 0x20;
                assert!(!same_bytes(a, &b), "len {len}, differs at {at}");
            }
            if len > 0 {
                assert!(!same_bytes(a, &base[..len - 1]));
            }
        }
    }

    #[test]
    fn reads_stop_at_the_end() {
        let mut r = Reader::new(&[1, b'a']);
        assert_eq!(r.str("s"), Ok("a"));
        assert!(r.u8("x").is_err());
        let mut r = Reader::new(&[9, b'a']);
        assert!(r.str("s").is_err());
    }

    #[test]
    fn records() {
        assert_eq!(key_and_u32::<2>(&[7, 8, 1, 0, 0, 0]), Some(([7, 8], 1)));
        assert_eq!(key_and_u32::<2>(&[7, 8, 1, 0, 0]), None);
    }

    #[test]
    fn counts_larger_than_the_input_are_rejected() {
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
        assert!(r.count(1, "n").is_err());
        let mut r = Reader::new(&[2, 0, 0]);
        assert_eq!(r.count(1, "n"), Ok(2));
    }

    #[test]
    fn varints_round_trip_and_reject_bad_forms() {
        for v in [0usize, 1, 127, 128, 300, 16_383, 16_384, u32::MAX as usize] {
            let mut w = Writer::default();
            w.var(v).unwrap();
            let mut r = Reader::new(&w.buf);
            assert_eq!(r.varint("v"), Ok(v as u32));
            assert_eq!(r.remaining(), 0);
        }
        assert!(Writer::default().var(u32::MAX as usize + 1).is_err());
        assert!(Reader::new(&[0x80, 0x00]).varint("overlong").is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0x10]).varint("too big").is_err());
        assert!(Reader::new(&[0x80, 0x80]).varint("unterminated").is_err());
    }
}
