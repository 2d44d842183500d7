use crate::clickhouse::ddl::{columns, statements, ServerFeatures, TABLES};
use crate::clickhouse::encode::{bar_version, latest_version};
use crate::test_records::{bar, latest, T0};

#[test]
fn server_generations_from_version_strings() {
    assert_eq!(
        ServerFeatures::of_version("18.16.1"),
        ServerFeatures::LEGACY
    );
    assert_eq!(
        ServerFeatures::of_version("garbage"),
        ServerFeatures::LEGACY
    );
    let f = ServerFeatures::of_version("19.6.2.11");
    assert!(f.ttl && !f.low_cardinality);
    let f = ServerFeatures::of_version("24.3.2.23");
    assert!(f.ttl && f.low_cardinality);
}

#[test]
fn legacy_ddl_has_nothing_18_16_lacks_and_modern_adds_ttl_and_low_cardinality() {
    let legacy = statements("data_processing", ServerFeatures::LEGACY, 30).join("\n");
    for absent in ["TTL", "LowCardinality", "DateTime64", "SETTINGS"] {
        assert!(!legacy.contains(absent), "{absent} in legacy DDL");
    }
    let modern = ServerFeatures::of_version("24.3");
    let with_ttl = statements("data_processing", modern, 30);
    assert_eq!(with_ttl.len(), 1 + TABLES.len());
    let ttl_tables: Vec<&String> = with_ttl.iter().filter(|s| s.contains("\nTTL ")).collect();
    assert_eq!(ttl_tables.len(), 3, "ticks, curve points, dead letters");
    assert!(with_ttl[1].contains("`tenant_id` LowCardinality(String)"));
    assert!(with_ttl[1].contains("TTL interval_start + INTERVAL 30 DAY"));
    let no_ttl = statements("data_processing", modern, 0).join("\n");
    assert!(!no_ttl.contains("TTL"));
    // Same columns, same logical types everywhere: only String ↔ LowCardinality(String) differ.
    let l = statements("d", ServerFeatures::LEGACY, 0);
    let m = statements("d", modern, 0);
    for (a, b) in l.iter().zip(&m) {
        assert_eq!(a, &b.replace("LowCardinality(String)", "String"));
    }
    for t in TABLES {
        let cols = columns(t);
        assert!(cols.ends_with(&["row_version", "deleted"]), "{t}");
    }
    assert!(columns("ohlc_bars").contains(&"window_start_ms"));
}

#[test]
fn row_versions_order_states_of_one_identity() {
    // A bar turning final at the same revision is newer; a retraction beats its row only.
    let open = bar_version(&bar("I", T0, 1.0, 3, false));
    let fin = bar_version(&bar("I", T0, 1.0, 3, true));
    let next = bar_version(&bar("I", T0, 1.0, 4, false));
    assert!(open < open | 1 && open | 1 < fin && fin < fin | 1 && fin | 1 < next);
    // Latest: a later interval beats any version of an earlier one; then the tick version.
    let a = latest_version(&latest("I", T0, 1.0, 9));
    let b = latest_version(&latest("I", T0 + 1, 1.0, 1));
    let c = latest_version(&latest("I", T0 + 1, 1.0, 2));
    assert!(a | 1 < b && b < c);
    assert_eq!(a % 2, 0);
}
