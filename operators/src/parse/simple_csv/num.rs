//! Byte-level number parsing for the simple-CSV hot path: SWAR decimal integers (eight digits
//! per step) and exact floats through `fast-float2` (bit-identical to `str::parse::<f64>`).

/// True when all eight bytes of `v` are ASCII digits.
#[inline]
fn all_digits8(v: u64) -> bool {
    let a = v.wrapping_add(0x4646_4646_4646_4646);
    let b = v.wrapping_sub(0x3030_3030_3030_3030);
    (a | b) & 0x8080_8080_8080_8080 == 0
}

/// The value of eight ASCII digits loaded little-endian (first digit in the lowest byte).
#[inline]
fn parse8(v: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064; // 100 + (1_000_000 << 32)
    const MUL2: u64 = 0x0000_2710_0000_0001; // 1 + (10_000 << 32)
    let v = v.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    u64::from(v1.wrapping_add(v2).wrapping_shr(32) as u32)
}

/// Parses an unsigned decimal integer of at most 19 digits (no sign, no spaces).
#[inline]
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut v: u64 = 0;
    let mut rest = b;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let w = u64::from_le_bytes(*chunk);
        if !all_digits8(w) {
            return None;
        }
        v = v.checked_mul(100_000_000)?.checked_add(parse8(w))?;
        rest = tail;
    }
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(v)
}

/// Parses an optionally signed decimal integer (`-`, `+`).
#[inline]
pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    let v = parse_u64(digits)?;
    if neg {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Exact powers of ten as `f64` (all up to 10^22 are representable).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a finite decimal number exactly; `None` for junk, `NaN`, infinities and overflow.
#[inline]
pub(crate) fn parse_f64(b: &[u8]) -> Option<f64> {
    if let Some(x) = plain_decimal(b) {
        return Some(x);
    }
    match fast_float2::parse::<f64, _>(b) {
        Ok(x) if x.is_finite() => Some(x),
        _ => None,
    }
}

/// Clinger's fast path for the common price form `[+-]digits[.digits]`: when the digits read
/// as an integer `m ≤ 2^53` with `d ≤ 22` decimals, `m` and `10^d` are exact doubles and one
/// IEEE division rounds `m / 10^d` correctly — the same bits as `str::parse`. `None` (the
/// general parser decides) for anything else: exponents, more digits, junk.
#[inline]
fn plain_decimal(b: &[u8]) -> Option<f64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut m: u64 = 0;
    let mut decimals: Option<usize> = None;
    for (i, &c) in digits.iter().enumerate() {
        let d = c.wrapping_sub(b'0');
        if d <= 9 {
            // At most 19 digits: no overflow.
            m = m * 10 + u64::from(d);
        } else if c == b'.' && decimals.is_none() {
            decimals = Some(digits.len() - i - 1);
        } else {
            return None;
        }
    }
    if digits == b"." || m > 1 << 53 {
        return None;
    }
    let x = m as f64 / POW10.get(decimals.unwrap_or(0)).copied()?;
    Some(if neg { -x } else { x })
}

/// 0x80 in exactly the bytes of `x` that are zero (no false positives: nothing carries across
/// bytes).
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Scans one line from the start of `rest`: pushes the offset of every comma before the first
/// `\n` onto `commas` (cleared first) and returns the line's length (to the `\n` or the end) and
/// whether it holds a `"`. Eight bytes per step.
#[inline]
pub(crate) fn scan_line(rest: &[u8], commas: &mut Vec<usize>) -> (usize, bool) {
    const COMMA: u64 = 0x2C2C_2C2C_2C2C_2C2C;
    const NL: u64 = 0x0A0A_0A0A_0A0A_0A0A;
    const QUOTE: u64 = 0x2222_2222_2222_2222;
    commas.clear();
    let mut quote = false;
    let mut base = 0;
    let mut words = rest.chunks_exact(8);
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let mut m = zero_bytes(w ^ COMMA) | zero_bytes(w ^ NL) | zero_bytes(w ^ QUOTE);
        while m != 0 {
            let i = base + (m.trailing_zeros() / 8) as usize;
            match rest.get(i) {
                Some(b'\n') => return (i, quote),
                Some(b',') => commas.push(i),
                _ => quote = true,
            }
            m &= m - 1;
        }
        base += 8;
    }
    for (j, &c) in words.remainder().iter().enumerate() {
        match c {
            b'\n' => return (base + j, quote),
            b',' => commas.push(base + j),
            b'"' => quote = true,
            _ => {}
        }
    }
    (rest.len(), quote)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_lines() {
        let mut commas = Vec::new();
        assert_eq!(
            scan_line(b"1704067200010,MISO_NODE_001,33.6148,17\nx,y", &mut commas),
            (38, false)
        );
        assert_eq!(commas, vec![13, 27, 35]);
        assert_eq!(scan_line(b"a,\"b\"", &mut commas), (5, true));
        assert_eq!(commas, vec![1]);
        assert_eq!(scan_line(b"", &mut commas), (0, false));
        assert_eq!(scan_line(b"\n", &mut commas), (0, false));
        assert_eq!(
            scan_line(b",,,,,,,,,,\xff\x2c\x0a", &mut commas),
            (12, false)
        );
        assert_eq!(commas.len(), 11);
    }
    use proptest::prelude::*;

    #[test]
    fn integers() {
        assert_eq!(parse_i64(b"1704067200010"), Some(1_704_067_200_010));
        assert_eq!(parse_i64(b"-12345678901"), Some(-12_345_678_901));
        assert_eq!(parse_i64(b"+7"), Some(7));
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b""), None);
        assert_eq!(parse_i64(b"-"), None);
        assert_eq!(parse_i64(b"12345678x"), None);
        assert_eq!(parse_i64(b"1234567/"), None);
        assert_eq!(parse_i64(b"1 2"), None);
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_u64(b"18446744073709551615"), None, "20 digits");
        assert_eq!(parse_u64(b"\xff\xff\xff\xff\xff\xff\xff\xff"), None);
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"33.6148"), Some(33.6148));
        assert_eq!(
            plain_decimal(b"33.6148"),
            Some(33.6148),
            "the fast path takes it"
        );
        assert_eq!(
            plain_decimal(b"-0.0").map(f64::to_bits),
            Some((-0.0f64).to_bits())
        );
        assert_eq!(plain_decimal(b"1."), Some(1.0));
        assert_eq!(plain_decimal(b"."), None);
        assert_eq!(plain_decimal(b"1.2.3"), None);
        assert_eq!(
            plain_decimal(b"9007199254740993"),
            None,
            "above 2^53: general path"
        );
        assert_eq!(parse_f64(b"9007199254740993"), Some(9007199254740992.0));
        assert_eq!(parse_f64(b"1.2.3"), None);
        assert_eq!(parse_f64(b"."), None);
        assert_eq!(parse_f64(b"-.5"), Some(-0.5));
        assert_eq!(parse_f64(b"NaN"), None);
        assert_eq!(parse_f64(b"inf"), None);
        assert_eq!(parse_f64(b"1e999"), None);
        assert_eq!(parse_f64(b"1.5x"), None);
        assert_eq!(parse_f64(b""), None);
    }

    proptest! {
        #[test]
        fn scan_matches_scalar(b in proptest::collection::vec(prop_oneof![Just(b','), Just(b'\n'), Just(b'"'), any::<u8>()], 0..40)) {
            let mut commas = Vec::new();
            let got = scan_line(&b, &mut commas);
            let len = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
            let want: Vec<usize> = (0..len).filter(|&i| b[i] == b',').collect();
            prop_assert_eq!(got, (len, b[..len].contains(&b'"')));
            prop_assert_eq!(commas, want);
        }

        #[test]
        fn integers_match_std(s in "[-+]?[0-9]{0,20}|[ -~]{0,12}") {
            let std = s.parse::<i64>().ok();
            // std accepts at most what we accept plus 20-digit forms with leading zeros.
            let ours = parse_i64(s.as_bytes());
            if s.trim_start_matches(['-', '+']).len() <= 19 {
                prop_assert_eq!(ours, std);
            } else {
                prop_assert!(ours.is_none());
            }
        }

        #[test]
        fn plain_decimals_match_std(s in "[-+]?[0-9]{0,12}[.]?[0-9]{0,12}") {
            let std = s.parse::<f64>().ok().filter(|v| v.is_finite());
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), std.map(f64::to_bits));
        }

        #[test]
        fn floats_match_std(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL, d in 0usize..8) {
            let s = format!("{x:.d$}");
            let std = s.parse::<f64>().ok().filter(|v| v.is_finite());
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), std.map(f64::to_bits));
            let s = format!("{x:e}");
            let std = s.parse::<f64>().ok().filter(|v| v.is_finite());
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), std.map(f64::to_bits));
        }
    }
}
