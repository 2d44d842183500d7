//! Reads back the greatest `row_version` stored per curve point, so that the sink numbers
//! curve rows after what the table already holds (curve points have no monotone data version;
//! see `encode.rs`). One query per flush for the keys the sink has not seen yet.

use super::client::{ClickhouseError, Client};
use super::ddl::ident;
use super::encode::curve_key;
use rustc_hash::FxHashMap;

/// SQL string literal.
pub fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The greatest stored `row_version` of every point of the curves `(tenant, curve_id)`.
pub fn curve_versions(
    client: &Client,
    database: &str,
    curves: &[(String, String)],
) -> Result<FxHashMap<String, u64>, ClickhouseError> {
    let mut out = FxHashMap::default();
    for chunk in curves.chunks(500) {
        let list: Vec<String> = chunk
            .iter()
            .map(|(t, c)| format!("({}, {})", literal(t), literal(c)))
            .collect();
        let sql = format!(
            "SELECT tenant_id, curve_id, delivery_start_ms, tenor, max(row_version) AS v \
             FROM {}.curve_points WHERE (tenant_id, curve_id) IN ({}) \
             GROUP BY tenant_id, curve_id, delivery_start_ms, tenor FORMAT JSONEachRow",
            ident(database),
            list.join(", ")
        );
        let body = client.query(&sql)?;
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)
                .map_err(|e| ClickhouseError::Rejected(format!("unreadable answer: {e}")))?;
            let num = |x: &serde_json::Value| {
                x.as_u64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
                    .or_else(|| x.as_i64().map(|i| i.max(0) as u64))
            };
            let start = v["delivery_start_ms"]
                .as_i64()
                .or_else(|| v["delivery_start_ms"].as_str().and_then(|s| s.parse().ok()));
            if let (Some(t), Some(c), Some(s), Some(tenor), Some(ver)) = (
                v["tenant_id"].as_str(),
                v["curve_id"].as_str(),
                start,
                v["tenor"].as_str(),
                num(&v["v"]),
            ) {
                out.insert(curve_key(t, c, s, tenor), ver);
            }
        }
    }
    Ok(out)
}
