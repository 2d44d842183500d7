//! Small helpers shared by the NYISO, ISO-NE and MISO parsers: the rounding rule for derived
//! price components (SPEC §2.1: derived values round to 6 decimals), header names of a row, and
//! test helpers. Nothing here fails.

use super::csvdoc::Row;

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
        let c = t.components();
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
}
