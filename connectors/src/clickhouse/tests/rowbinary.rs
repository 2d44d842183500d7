//! The `RowBinary` encoding: varint edge cases, golden bytes of one row, and every table's row
//! read back by a decoder driven by the DDL's column types (so the encoding follows the DDL's
//! column order and types, on old and current servers alike).

use crate::clickhouse::ddl::{column_types, ServerFeatures, TABLES};
use crate::clickhouse::encode::{bar_row, curve_row, dead_letter_row, latest_row, tick_row, Row};
use crate::clickhouse::rowbinary as rb;
use crate::test_records::{bar, latest, point, tick, T0};
use operators::model::{DeadLetter, ErrorCode, FeedTable, Stage};
use std::collections::BTreeMap;
use std::sync::Arc;

fn varint(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    rb::varint(&mut out, v);
    out
}

#[test]
fn varints_are_leb128() {
    assert_eq!(varint(0), [0x00]);
    assert_eq!(varint(1), [0x01]);
    assert_eq!(varint(127), [0x7f]);
    assert_eq!(varint(128), [0x80, 0x01]);
    assert_eq!(varint(300), [0xac, 0x02]);
    assert_eq!(varint(16_383), [0xff, 0x7f]);
    assert_eq!(varint(16_384), [0x80, 0x80, 0x01]);
    let mut max = vec![0xff; 9];
    max.push(0x01);
    assert_eq!(varint(u64::MAX), max);
    let mut s = Vec::new();
    rb::string(&mut s, &"x".repeat(200));
    assert_eq!(&s[..3], &[0xc8, 0x01, b'x']);
    assert_eq!(s.len(), 202);
}

#[test]
fn datetimes_are_floored_seconds_clamped_to_u32() {
    let dt = |ms: i64| {
        let mut out = Vec::new();
        rb::datetime_ms(&mut out, ms);
        u32::from_le_bytes(out.try_into().unwrap())
    };
    assert_eq!(dt(1_999), 1);
    assert_eq!(dt(-1), 0);
    assert_eq!(dt(i64::MIN), 0);
    assert_eq!(dt(i64::MAX), u32::MAX);
    let mut n = Vec::new();
    rb::opt_f64(&mut n, Some(f64::NAN));
    rb::opt_f64(&mut n, None);
    rb::opt_string(&mut n, Some(""));
    assert_eq!(n, [1, 1, 0, 0]);
}

#[test]
fn a_latest_price_row_has_golden_bytes() {
    let mut out = Vec::new();
    latest_row(&latest("I", T0, 1.5, 3)).finish(&mut out, 6, false);
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    // Computed independently (Python `struct.pack('<Iq…')`) from the DDL column list.
    assert_eq!(
        hex,
        "0764656661756c7401495003276780f064f0920100006011276700df9bf092010000000000000000\
         f83f0300000000000000010576616c6964060000000000000000"
    );
}

/// A decoded value.
#[derive(Debug, PartialEq)]
enum V {
    Null,
    S(String),
    U(u64),
    I(i64),
    F(f64),
    A(Vec<V>),
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
    fn varint(&mut self) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let b = self.take(1)[0];
            v |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b < 0x80 {
                return v;
            }
        }
    }
    fn value(&mut self, ty: &str) -> V {
        if let Some(inner) = ty
            .strip_prefix("Nullable(")
            .and_then(|t| t.strip_suffix(')'))
        {
            return match self.take(1)[0] {
                1 => V::Null,
                0 => self.value(inner),
                b => panic!("null marker {b}"),
            };
        }
        if let Some(inner) = ty.strip_prefix("Array(").and_then(|t| t.strip_suffix(')')) {
            let n = self.varint();
            return V::A((0..n).map(|_| self.value(inner)).collect());
        }
        let le = |b: &[u8]| b.iter().rev().fold(0u64, |a, x| (a << 8) | u64::from(*x));
        match ty {
            "String" | "LowCardinality(String)" => {
                let n = self.varint() as usize;
                V::S(String::from_utf8(self.take(n).to_vec()).unwrap())
            }
            "UInt8" => V::U(le(self.take(1))),
            "UInt32" | "DateTime('UTC')" => V::U(le(self.take(4))),
            "UInt64" => V::U(le(self.take(8))),
            "Int64" => V::I(le(self.take(8)) as i64),
            "Float64" => V::F(f64::from_bits(le(self.take(8)))),
            other => panic!("column type {other} has no RowBinary test decoding"),
        }
    }
}

/// Decodes one finished row of `table` by the DDL's types; every byte must be consumed.
fn decode(table: &str, row: &Row, features: ServerFeatures) -> BTreeMap<&'static str, V> {
    let mut bytes = Vec::new();
    row.finish(&mut bytes, 42, true);
    let mut r = Reader(&bytes);
    let cols = column_types(table, features);
    assert!(!cols.is_empty(), "{table}");
    let out = cols.iter().map(|(n, t)| (*n, r.value(t))).collect();
    assert!(r.0.is_empty(), "{table}: {} bytes left over", r.0.len());
    out
}

fn s(v: &str) -> V {
    V::S(v.into())
}

#[test]
fn every_table_row_follows_its_ddl_on_every_server_generation() {
    let mut t = tick("I", T0, -2.5, 3);
    t.extras = operators::model::Extras::new(t.components(), Some(1.25), None);
    t.trade_id = Some(Arc::from("T-1"));
    let dl = DeadLetter::new(
        Stage::Normalization,
        ErrorCode::ParseError,
        vec!["bad price".into(), "bad node".into()],
        "f.csv:3".into(),
        2,
        &[0xff, 0x00],
        Arc::from("default"),
        T0,
    );
    let rows = [
        tick_row(&t, &FeedTable::default()),
        bar_row(&bar("I", T0, 7.0, 2, true)),
        latest_row(&latest("I", T0, 1.5, 3)),
        curve_row(&point("C", "HE01", 1, 20.0, true)),
        dead_letter_row(&dl),
    ];
    for features in [ServerFeatures::LEGACY, ServerFeatures::of_version("24.3")] {
        for (table, row) in TABLES.iter().zip(&rows) {
            assert_eq!(row.table.name(), *table);
            let v = decode(table, row, features);
            assert_eq!(v["row_version"], V::U(42), "{table}");
            assert_eq!(v["deleted"], V::U(1), "{table}");
        }
        let tk = decode("market_ticks", &rows[0], features);
        assert_eq!(tk["interval_start"], V::U(T0 as u64 / 1000));
        assert_eq!(tk["interval_end_ms"], V::I(T0 + 3_600_000));
        assert_eq!(tk["price"], V::F(-2.5));
        assert_eq!((&tk["bid"], &tk["ask"]), (&V::F(1.25), &V::Null));
        assert_eq!(tk["trade_id"], s("T-1"));
        assert_eq!(tk["quality_flags"], V::A(vec![s("valid")]));
        assert_eq!((&tk["currency"], &tk["unit"]), (&s("USD"), &s("$/MWh")));
        assert_eq!((&tk["market"], &tk["version"]), (&s("PJM"), &V::U(3)));
        assert_eq!(tk["commodity"], V::Null);
        let b = decode("ohlc_bars", &rows[1], features);
        assert_eq!((&b["interval"], &b["close"]), (&s("1h"), &V::F(7.0)));
        assert_eq!((&b["is_final"], &b["trade_count"]), (&V::U(1), &V::U(2)));
        assert_eq!(b["vwap"], V::Null);
        let c = decode("curve_points", &rows[3], features);
        assert_eq!((&c["tenor"], &c["interpolated"]), (&s("HE01"), &V::U(1)));
        assert_eq!(c["instrument_id"], s("X.HE01"));
        let d = decode("dead_letters", &rows[4], features);
        assert_eq!(d["issues"], V::A(vec![s("bad price"), s("bad node")]));
        assert_eq!(
            (&d["raw_event"], &d["raw_encoding"]),
            (&s("/wA="), &s("base64"))
        );
        assert_eq!((&d["index"], &d["retry_count"]), (&V::U(2), &V::U(0)));
        assert_eq!(d["failure_stage"], s("NORMALIZATION"));
    }
}
