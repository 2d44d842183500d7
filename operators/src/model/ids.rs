//! Deterministic UUIDv5 ids (SPEC §3).

use super::{render, ErrorCode, Stage, TickIdentity};
use std::sync::OnceLock;
use uuid::Uuid;

/// `NS_TICK` = UUIDv5(NAMESPACE_URL, `"https://tickflow.invalid/ns/tick"`).
pub fn ns_tick() -> Uuid {
    static NS: OnceLock<Uuid> = OnceLock::new();
    *NS.get_or_init(|| Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://tickflow.invalid/ns/tick"))
}

/// The predecessor's bar namespace, UUIDv5(NAMESPACE_URL, `"https://254carbon.com/namespaces/aggregation/bar"`).
pub fn ns_bar() -> Uuid {
    static NS: OnceLock<Uuid> = OnceLock::new();
    *NS.get_or_init(|| {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            b"https://254carbon.com/namespaces/aggregation/bar",
        )
    })
}

/// `tick_id` = UUIDv5(NS_TICK, "{tenant}::{instrument}::{start}::{end}[::{trade_id}]").
pub fn tick_id(id: &TickIdentity) -> Uuid {
    let mut name = String::with_capacity(96);
    name.push_str(&id.tenant_id);
    name.push_str("::");
    name.push_str(&id.instrument_id);
    name.push_str("::");
    render::push_time(&mut name, id.interval_start_ms);
    name.push_str("::");
    render::push_time(&mut name, id.interval_end_ms);
    if let Some(trade) = &id.trade_id {
        name.push_str("::");
        name.push_str(trade);
    }
    Uuid::new_v5(&ns_tick(), name.as_bytes())
}

/// `bar_id` exactly as the predecessor: name "{instrument}::{tenant}::{interval}::{window_start}"
/// with the window start as `YYYY-MM-DDTHH:MM:SS+00:00`.
pub fn bar_id(instrument_id: &str, tenant_id: &str, interval: &str, window_start_ms: i64) -> Uuid {
    let mut name = String::with_capacity(96);
    for part in [instrument_id, tenant_id, interval] {
        name.push_str(part);
        name.push_str("::");
    }
    render::push_time_offset(&mut name, window_start_ms);
    Uuid::new_v5(&ns_bar(), name.as_bytes())
}

/// Dead letter `event_id` = UUIDv5(NS_TICK, "dl::{source}::{index}::{STAGE}::{CODE}").
pub fn dead_letter_id(source: &str, index: u32, stage: Stage, code: ErrorCode) -> Uuid {
    let name = format!("dl::{source}::{index}::{}::{}", stage.name(), code.name());
    Uuid::new_v5(&ns_tick(), name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TickIdentity;
    use std::sync::Arc;

    #[test]
    fn namespaces_match_spec() {
        assert_eq!(
            ns_tick().to_string(),
            "3d948915-d4b4-57a2-aa76-20e559abbdd7"
        );
        assert_eq!(ns_bar().to_string(), "66eba94e-57f9-56cb-9812-8aa72c371ddf");
    }

    #[test]
    fn examples_from_spec() {
        let start = render::parse_rfc3339_ms("2024-11-03T05:00:00Z").unwrap();
        let id = TickIdentity {
            tenant_id: Arc::from("default"),
            instrument_id: Arc::from("PJM.RT.PJM-RTO"),
            interval_start_ms: start,
            interval_end_ms: start + 3_600_000,
            trade_id: None,
        };
        assert_eq!(
            tick_id(&id).to_string(),
            "de272511-c0c8-5e11-b7e1-5772c7aa867e"
        );
        assert_eq!(
            bar_id("PJM.RT.PJM-RTO", "default", "1h", start).to_string(),
            "f45e97b2-f1cb-5ece-9d6a-2a29436db7ce"
        );
        assert_eq!(
            dead_letter_id(
                "data/pjm.csv:17",
                0,
                Stage::Normalization,
                ErrorCode::ValidationError
            )
            .to_string(),
            "cc2396c4-2e2c-5d0d-9aa2-b0b35a0f7c09"
        );
    }
}
