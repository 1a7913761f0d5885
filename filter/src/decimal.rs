//! Decimal formatting of integers without `core::fmt`: header values and rate-limit policies are
//! formatted on every charged response, and `fmt`'s machinery costs more than the digits.

/// Appends the decimal form of `v`.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    for &b in buf.get(i..).unwrap_or_default() {
        out.push(char::from(b));
    }
}

/// The decimal form of `v` as a new string.
pub fn number(v: u64) -> String {
    let mut s = String::with_capacity(8);
    push_u64(&mut s, v);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_without_fmt() {
        let edges = [
            9,
            10,
            99,
            100,
            999_999_999,
            1_000_000_000,
            4_294_967_295,
            4_294_967_296,
            42_949_672_950,
        ];
        for v in [0u64, 7, 12_345, u64::MAX, u64::MAX / 10].into_iter().chain(edges) {
            let mut s = String::new();
            push_u64(&mut s, v);
            assert_eq!(s, v.to_string());
            assert_eq!(number(v), v.to_string());
        }
    }
}
