use super::*;
use crate::config::docs_markdown;
use crate::config::keys::{Kind, KEYS};
use crate::config::load::set_path;
use crate::config::lookup::{lookup, Lookup, MARKET};
use crate::config::{PriceBounds, TimingOverride};
use toml::Value;

/// A config with every map filled and every optional field set, so that its serialization has
/// every leaf the structs can hold. Struct literals: adding a field breaks this until it is added.
fn full_config() -> Config {
    let mut c = Config::default();
    let timing = TimingOverride {
        watermark_delay_ms: Some(1),
        allowed_lateness_ms: Some(2),
        idle_timeout_ms: Some(3),
    };
    c.aggregation.markets.insert("PJM".into(), timing.clone());
    c.aggregation.sources.insert("topic.a".into(), timing);
    c.normalization.markets.insert(
        "PJM".into(),
        PriceBounds {
            min_price: Some(-1.0),
            max_price: Some(1.0),
        },
    );
    c.kafka
        .topic_formats
        .insert("topic.a".into(), "pjm-da".into());
    c
}

fn leaves(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Table(t) => {
            for (k, v) in t {
                path.push(k.clone());
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn pattern_of(path: &[String]) -> String {
    match lookup(path) {
        Lookup::Leaf(k) => k.path.to_string(),
        _ => panic!(
            "config field `{}` is missing from the key table",
            path.join(".")
        ),
    }
}

#[test]
fn every_config_field_is_in_the_table_and_back() {
    let v = Value::try_from(full_config()).unwrap();
    let mut paths = Vec::new();
    leaves(&v, &mut Vec::new(), &mut paths);
    let mut covered: Vec<String> = paths.iter().map(|p| pattern_of(p)).collect();
    covered.sort();
    covered.dedup();
    let mut table: Vec<String> = KEYS.iter().map(|k| k.path.to_string()).collect();
    table.sort();
    assert_eq!(covered, table, "key table and Config fields differ");
    assert_eq!(paths.len(), KEYS.len(), "one leaf per key");
}

#[test]
fn table_rows_are_well_formed() {
    for k in KEYS {
        let unit_suffix = match k.unit {
            "ms" => Some("_ms"),
            "bytes" => Some("_bytes"),
            "s" => Some("_seconds"),
            _ => None,
        };
        if let Some(suffix) = unit_suffix {
            assert!(k.path.ends_with(suffix), "{} must end in {suffix}", k.path);
        }
        if k.path.ends_with("_ms") {
            assert_eq!(k.unit, "ms", "{}", k.path);
        }
        if let Some(env) = k.env {
            assert!(env.starts_with("DATA_PROC_"), "{env}");
            assert_eq!(env.contains(MARKET), k.path.contains(MARKET), "{env}");
        }
        assert!(!k.doc.is_empty(), "{} has no doc", k.path);
    }
}

#[test]
fn every_enum_value_in_the_table_deserializes() {
    for k in KEYS {
        let Kind::Enum(names) = k.kind else { continue };
        for name in names {
            let mut t = toml::Table::new();
            let path: Vec<String> = k.path.split('.').map(String::from).collect();
            set_path(&mut t, &path, Value::String(name.to_string()));
            if let Err(e) = Value::Table(t).try_into::<Config>() {
                panic!("{} = {name:?}: {e}", k.path);
            }
        }
    }
}

#[test]
fn config_docs() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/config.md");
    let want = docs_markdown();
    if std::env::var("TICKFLOW_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/config.md is out of date; regenerate it with\n    TICKFLOW_BLESS=1 cargo test -p tickflow config_docs"
    );
    assert!(want.contains(
        "| `watermark_delay_ms` | `DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS` | ms | `30000` | integer ≥ 0 |"
    ));
    assert!(want.contains(
        "| `batch_max_bytes` | `DATA_PROC_PIPELINE_BATCH_MAX_BYTES` | bytes | `1048576` (1 MiB) |"
    ));
}
