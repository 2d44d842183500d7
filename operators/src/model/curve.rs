//! One point of a curve snapshot (SPEC §3 "Curves") and its `curves.jsonl` line (SPEC §6).
//!
//! Forward curves (from curve definitions) and day-ahead delivery curves share this record; the
//! cores that compute them live in `crate::curves`. A point never fails to render: every field is
//! present, and prices are finite because ticks with non-finite prices are dead letters.

use super::render::{push_json_str, push_num, push_time};
use super::{EpochMs, Sym};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// One point of a curve: a tenor with its delivery period and price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Tenant.
    pub tenant_id: Sym,
    /// Curve id: a definition's `curve_id`, or `{MARKET}.DA.{NODE}.{YYYY-MM-DD}` for delivery curves.
    pub curve_id: Sym,
    /// The greatest `interval_start` among the ticks the point reflects, epoch ms UTC.
    pub as_of_ms: EpochMs,
    /// Tenor label (`BALMO`, `2025-01`, `HE07`, …).
    pub tenor: Sym,
    /// Start of the delivery period, epoch ms UTC.
    pub delivery_start_ms: EpochMs,
    /// End of the delivery period, epoch ms UTC.
    pub delivery_end_ms: EpochMs,
    /// Price in $/MWh (interpolated when `interpolated`).
    pub price: f64,
    /// The member's instrument (for interpolated points too: the instrument that has no price).
    pub instrument_id: Sym,
    /// True when no price of the point's own instrument was available and the price was
    /// interpolated or carried from other members.
    pub interpolated: bool,
    /// Order-independent version: the sum of the `version`s (arrival counts) of the ticks the
    /// point reflects, like a bar's `revision`.
    pub version: u64,
}

impl CurvePoint {
    /// The SPEC §6 order of `curves.jsonl`: (tenant, curve_id, delivery_start), then tenor and
    /// the remaining fields so that the order is total and deterministic.
    pub fn cmp_output(&self, other: &CurvePoint) -> Ordering {
        (&*self.tenant_id, &*self.curve_id, self.delivery_start_ms)
            .cmp(&(&*other.tenant_id, &*other.curve_id, other.delivery_start_ms))
            .then_with(|| self.tenor.cmp(&other.tenor))
            .then_with(|| self.instrument_id.cmp(&other.instrument_id))
            .then_with(|| self.delivery_end_ms.cmp(&other.delivery_end_ms))
            .then_with(|| self.price.total_cmp(&other.price))
            .then_with(|| self.as_of_ms.cmp(&other.as_of_ms))
            .then_with(|| self.version.cmp(&other.version))
            .then_with(|| self.interpolated.cmp(&other.interpolated))
    }
}

/// Appends one point as a `curves.jsonl` line (no trailing newline), keys in SPEC §3 order.
pub fn push_curve_point_json(out: &mut String, p: &CurvePoint) {
    out.push_str("{\"tenant_id\":");
    push_json_str(out, &p.tenant_id);
    out.push_str(",\"curve_id\":");
    push_json_str(out, &p.curve_id);
    out.push_str(",\"as_of\":\"");
    push_time(out, p.as_of_ms);
    out.push_str("\",\"tenor\":");
    push_json_str(out, &p.tenor);
    out.push_str(",\"delivery_start\":\"");
    push_time(out, p.delivery_start_ms);
    out.push_str("\",\"delivery_end\":\"");
    push_time(out, p.delivery_end_ms);
    out.push_str("\",\"price\":");
    push_num(out, p.price);
    out.push_str(",\"instrument_id\":");
    push_json_str(out, &p.instrument_id);
    out.push_str(if p.interpolated {
        ",\"interpolated\":true,\"version\":"
    } else {
        ",\"interpolated\":false,\"version\":"
    });
    out.push_str(&p.version.to_string());
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn point() -> CurvePoint {
        CurvePoint {
            tenant_id: Arc::from("default"),
            curve_id: Arc::from("PJM.DA.WESTERN HUB.2024-11-03"),
            as_of_ms: 1_730_610_000_000,
            tenor: Arc::from("HE02"),
            delivery_start_ms: 1_730_610_000_000,
            delivery_end_ms: 1_730_613_600_000,
            price: 31.250000001,
            instrument_id: Arc::from("PJM.DA.WESTERN HUB"),
            interpolated: false,
            version: 2,
        }
    }

    #[test]
    fn renders_one_jsonl_line_exactly() {
        let mut s = String::new();
        push_curve_point_json(&mut s, &point());
        assert_eq!(
            s,
            "{\"tenant_id\":\"default\",\"curve_id\":\"PJM.DA.WESTERN HUB.2024-11-03\",\
             \"as_of\":\"2024-11-03T05:00:00Z\",\"tenor\":\"HE02\",\
             \"delivery_start\":\"2024-11-03T05:00:00Z\",\"delivery_end\":\"2024-11-03T06:00:00Z\",\
             \"price\":31.25,\"instrument_id\":\"PJM.DA.WESTERN HUB\",\"interpolated\":false,\
             \"version\":2}"
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["price"], serde_json::json!(31.25));
    }

    #[test]
    fn renders_interpolated_points_and_escapes() {
        let mut p = point();
        p.curve_id = Arc::from("PJM \"WH\" fwd");
        p.tenor = Arc::from("2025-01");
        p.price = -0.0000001;
        p.interpolated = true;
        p.as_of_ms = 1_730_610_000_250;
        p.version = 0;
        let mut s = String::new();
        push_curve_point_json(&mut s, &p);
        assert_eq!(
            s,
            "{\"tenant_id\":\"default\",\"curve_id\":\"PJM \\\"WH\\\" fwd\",\
             \"as_of\":\"2024-11-03T05:00:00.250Z\",\"tenor\":\"2025-01\",\
             \"delivery_start\":\"2024-11-03T05:00:00Z\",\"delivery_end\":\"2024-11-03T06:00:00Z\",\
             \"price\":0,\"instrument_id\":\"PJM.DA.WESTERN HUB\",\"interpolated\":true,\
             \"version\":0}"
        );
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["curve_id"], serde_json::json!("PJM \"WH\" fwd"));
    }

    #[test]
    fn output_order_is_tenant_curve_delivery_start() {
        let a = point();
        let mut b = point();
        b.delivery_start_ms -= 3_600_000;
        b.tenor = Arc::from("HE99");
        assert_eq!(a.cmp_output(&b), Ordering::Greater);
        b.curve_id = Arc::from("PJM.DA.WESTERN HUB.2024-11-04");
        assert_eq!(a.cmp_output(&b), Ordering::Less);
        b.tenant_id = Arc::from("acme");
        assert_eq!(a.cmp_output(&b), Ordering::Greater);
        assert_eq!(a.cmp_output(&a.clone()), Ordering::Equal);
    }
}
