//! The ClickHouse `RowBinary` input format, for the column types of `ddl.rs`: a row is its
//! columns' values back to back, in DDL column order, with no names and no separators.
//!
//! - `String` and `LowCardinality(String)`: LEB128 varint byte length, then the bytes;
//! - `Nullable(T)`: one byte, 1 = NULL (nothing follows) or 0 followed by `T`;
//! - `UInt8/32/64`, `Int64`, `Float64`: little-endian;
//! - `DateTime`: `UInt32` seconds since the epoch (clamped to the type's range);
//! - `Array(T)`: varint element count, then the elements.
//!
//! Hand-written on purpose: the format is this small, and the `clickhouse` crate would bring an
//! async HTTP stack (hyper/tokio) the sink does not use (it speaks HTTP through `ureq`).
//! Pure and infallible: appending to a `Vec<u8>` cannot fail.

/// Appends `v` as an unsigned LEB128 varint (7 bits a byte, low bits first).
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A `String` (or `LowCardinality(String)`) value.
pub fn string(out: &mut Vec<u8>, s: &str) {
    varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// A `Nullable(String)` value.
pub fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(0);
            string(out, s);
        }
        None => out.push(1),
    }
}

/// A `Float64` value.
pub fn f64(out: &mut Vec<u8>, v: f64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A `Nullable(Float64)` value; non-finite values (never produced) are NULL, as they were in
/// the `JSONEachRow` encoding this replaced.
pub fn opt_f64(out: &mut Vec<u8>, v: Option<f64>) {
    match v {
        Some(x) if x.is_finite() => {
            out.push(0);
            f64(out, x);
        }
        _ => out.push(1),
    }
}

/// A `UInt8` value.
pub fn u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

/// A `UInt32` value.
pub fn u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A `UInt64` value.
pub fn u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// An `Int64` value.
pub fn i64(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// A `DateTime` value from epoch milliseconds: whole seconds (floor), clamped to
/// `0..=u32::MAX` (the type's range).
pub fn datetime_ms(out: &mut Vec<u8>, ms: i64) {
    let secs = ms.div_euclid(1000).clamp(0, i64::from(u32::MAX));
    u32(out, secs as u32);
}

/// An `Array(String)` value.
pub fn string_array<'a, I>(out: &mut Vec<u8>, items: I)
where
    I: Iterator<Item = &'a str> + Clone,
{
    varint(out, items.clone().count() as u64);
    for s in items {
        string(out, s);
    }
}
