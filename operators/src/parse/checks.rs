//! Row-checking helpers shared by the NYISO, ISO-NE and MISO parsers: an issue collector that
//! gathers every problem of a record and keeps the strongest error code, and the rounding rule
//! for derived price components (SPEC §2.1: derived values round to 6 decimals).
//!
//! Unreadable field bytes (not UTF-8, a non-scalar JSON value) make a record a `PARSE_ERROR`;
//! a missing or non-finite number, a bad date or time makes it a `VALIDATION_ERROR`.

use super::csvdoc::{Row, RowResult};
use super::fields::parse_f64;
use crate::model::ErrorCode;
use std::borrow::Cow;

/// Every problem found with one record and the error code they add up to.
#[derive(Debug)]
pub(super) struct Issues {
    list: Vec<String>,
    code: ErrorCode,
}

impl Default for Issues {
    fn default() -> Self {
        Issues {
            list: Vec::new(),
            code: ErrorCode::ValidationError,
        }
    }
}

impl Issues {
    /// Records a validation problem (bad value, bad time, missing value).
    pub(super) fn add(&mut self, issue: impl Into<String>) {
        self.list.push(issue.into());
    }

    /// Records unreadable bytes or bad syntax: the record becomes a `PARSE_ERROR`.
    pub(super) fn unreadable(&mut self, issue: impl Into<String>) {
        self.code = ErrorCode::ParseError;
        self.list.push(issue.into());
    }

    /// `Ok` when nothing was recorded, else the code and the issues (which are taken).
    pub(super) fn check(&mut self) -> RowResult {
        if self.list.is_empty() {
            Ok(())
        } else {
            Err((self.code, std::mem::take(&mut self.list)))
        }
    }

    /// The trimmed text of a field; `None` when absent or empty (unreadable bytes are recorded).
    pub(super) fn text<'a>(&mut self, row: &Row<'a>, names: &[&str]) -> Option<Cow<'a, str>> {
        match row.text(names) {
            Ok(t) => t,
            Err(e) => {
                self.unreadable(e);
                None
            }
        }
    }

    /// A required field: its absence is recorded as `missing {what}`.
    pub(super) fn required<'a>(
        &mut self,
        row: &Row<'a>,
        names: &[&str],
        what: &str,
    ) -> Option<Cow<'a, str>> {
        let before = self.list.len();
        let t = self.text(row, names);
        if t.is_none() && self.list.len() == before {
            self.add(format!("missing {what}"));
        }
        t
    }

    /// An optional number: `None` when absent or empty; a present value that is not a finite
    /// number is recorded.
    pub(super) fn num(&mut self, row: &Row<'_>, names: &[&str], what: &str) -> Option<f64> {
        let t = self.text(row, names)?;
        parse_f64(&t)
            .map_err(|e| self.add(format!("{what}: {e}")))
            .ok()
    }

    /// A required number (the price): absence and bad values are recorded.
    pub(super) fn required_num(
        &mut self,
        row: &Row<'_>,
        names: &[&str],
        what: &str,
    ) -> Option<f64> {
        let t = self.required(row, names, what)?;
        parse_f64(&t)
            .map_err(|e| self.add(format!("{what}: {e}")))
            .ok()
    }
}

/// Rounds a derived component to 6 decimals (never `-0`).
pub(super) fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6 + 0.0
}

/// The lower-cased field names of a row (CSV header names, or JSON keys).
pub(super) fn field_names(row: &Row<'_>) -> Vec<String> {
    match row {
        Row::Csv { columns, .. } => columns.names().to_vec(),
        Row::Json(obj) => obj.keys().map(|k| k.trim().to_ascii_lowercase()).collect(),
    }
}

/// Test helper: parses `bytes` as a file `t.csv` with an optional format hint.
#[cfg(test)]
pub(super) fn parse_bytes(format: Option<super::Format>, bytes: &[u8]) -> super::ParseOutput {
    let feed = crate::model::FeedInfo {
        id: 0,
        display: "t.csv".into(),
        kind: crate::model::FeedKind::File,
    };
    let mut doc = super::Document::whole(bytes, &feed);
    doc.format = format;
    let mut ctx = super::ParseCtx::default();
    let mut out = super::ParseOutput::default();
    super::parse_document(&doc, &mut ctx, &mut out);
    out
}

/// Test helper: asserts `price = energy + congestion + loss` within 0.01 on every tick and that
/// no tick is flagged `components_mismatch`.
#[cfg(test)]
pub(super) fn assert_identity(out: &super::ParseOutput) {
    for t in &out.ticks {
        let c = t.components;
        let sum = c.energy.unwrap_or(f64::NAN)
            + c.congestion.unwrap_or(f64::NAN)
            + c.loss.unwrap_or(f64::NAN);
        assert!((t.price - sum).abs() <= 0.01, "{t:?}");
        assert!(!t
            .flags
            .contains(crate::model::QualityFlag::ComponentsMismatch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding() {
        assert_eq!(round6(72.06 - 5.27 + 0.75), 67.54);
        assert_eq!(round6(-0.0000001).to_string(), "0");
        assert_eq!(round6(1.23456789), 1.234568);
    }

    #[test]
    fn unreadable_wins() {
        let mut is = Issues::default();
        is.add("bad price");
        is.unreadable("not UTF-8");
        let Err((code, list)) = is.check() else {
            panic!("expected issues")
        };
        assert_eq!(code, ErrorCode::ParseError);
        assert_eq!(list.len(), 2);
        assert!(is.check().is_ok());
    }
}
