//! `docs/config.md`, generated from the key table and the defaults. A test keeps the committed
//! file equal to [`docs_markdown`]; regenerate with `TICKFLOW_BLESS=1 cargo test -p tickflow config_docs`.

use super::keys::{Kind, KEYS};
use super::Config;
use operators::model::Market;
use std::fmt::Write;
use toml::Value;

const HEADER: &str = "# tickflow configuration

<!-- Generated from dataflow/src/config/keys.rs and defaults.rs by `tickflow::config::docs_markdown()`.
     Do not edit; regenerate with `TICKFLOW_BLESS=1 cargo test -p tickflow config_docs`. -->

Every setting has a default and can be set, from lowest to highest precedence, in the TOML file
given by `--config FILE`, by an environment variable, or by a command-line flag where one exists
(`tickflow run --help`). `tickflow config check` reports every problem at once; `tickflow config
print` shows the effective configuration as TOML with secrets masked.

- Unknown TOML keys are errors; unknown `DATA_PROC_*` variables are warnings.
- Units are part of key names: `_ms` milliseconds, `_bytes` bytes, `_seconds` seconds; prices are $/MWh.
- Paths and secrets shown as `\"\"` are unset.
- Environment values: lists are comma-separated (input and sink specs `;`-separated, since specs
  contain commas); booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`; enumerated
  values are case-insensitive.
- Secrets (passwords, API keys, the password inside `postgres.dsn` and `redis.url`) are never
  logged and print as `***`.
";

fn markets_note() -> String {
    let codes: Vec<String> = Market::ISOS
        .iter()
        .map(|m| format!("`{}`", m.code()))
        .collect();
    format!(
        "\n`{{MARKET}}` is a market code ({}); `{{SOURCE}}` is a Kafka topic or an input path as given \
         on the command line; `{{TOPIC}}` a Kafka topic. Source overrides beat market overrides, which \
         beat the section's value. Example:\n\n```toml\n[aggregation.markets.PJM]\nallowed_lateness_ms = \
         259200000  # PJM settlement corrections arrive days late\n\n[aggregation.sources.\"ingestion.caiso.raw.v1\"]\n\
         watermark_delay_ms = 120000\n\n[normalization.markets.ERCOT]\nmax_price = 5000.0\n```\n",
        codes.join(", ")
    )
}

fn format_of(kind: Kind) -> String {
    match kind {
        Kind::Str => "string".into(),
        Kind::Path => "path".into(),
        Kind::Secret => "string, secret".into(),
        Kind::SecretUrl => "connection string, password secret".into(),
        Kind::Bool => "boolean".into(),
        Kind::Int { min, max } if max == i64::MAX => format!("integer ≥ {min}"),
        Kind::Int { min, max } => format!("integer {min}–{max}"),
        Kind::Float => "number".into(),
        Kind::Enum(names) => {
            let n: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", n.join(", "))
        }
        Kind::List { sep, secret } => format!(
            "array of strings{} (env: `{sep}`-separated)",
            if secret { ", secret" } else { "" }
        ),
        Kind::Intervals => "array of `1m`, `5m`, `15m`, `1h`, `1d` (env: comma-separated)".into(),
        Kind::Format => "format name (`pjm-da`, …, `simple-csv`)".into(),
    }
}

fn default_of(defaults: &Value, path: &str) -> String {
    let mut v = defaults;
    for seg in path.split('.') {
        match v.get(seg) {
            Some(next) => v = next,
            None if path.contains('{') => return inherited_or_none(path),
            None => return "—".into(),
        }
    }
    let shown = format!("`{v}`");
    match v.as_integer() {
        Some(n) if path.ends_with("_bytes") && n >= 1024 && n % 1024 == 0 => {
            let (q, unit) = if n % (1 << 20) == 0 {
                (n >> 20, "MiB")
            } else {
                (n >> 10, "KiB")
            };
            format!("{shown} ({q} {unit})")
        }
        _ => shown,
    }
}

/// A map entry's default: inherited when its section has a key of the same name, else none.
fn inherited_or_none(path: &str) -> String {
    let section = path.split('.').next().unwrap_or("");
    let last = path.rsplit('.').next().unwrap_or("");
    let global = format!("{section}.{last}");
    if KEYS.iter().any(|k| k.path == global) {
        format!("`{global}`")
    } else {
        "none".into()
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// The markdown reference of every configuration key: TOML key, environment variable, unit,
/// default, format and description, one table per section.
pub fn docs_markdown() -> String {
    let defaults = Value::try_from(Config::default()).unwrap_or(Value::Table(Default::default()));
    let mut out = String::from(HEADER);
    let mut section = "";
    for key in KEYS {
        let (sec, rest) = key.path.split_once('.').unwrap_or(("", key.path));
        if sec != section {
            section = sec;
            let _ = write!(
                out,
                "\n## `[{sec}]`\n\n| Key | Environment | Unit | Default | Format | Description |\n\
                 |---|---|---|---|---|---|\n"
            );
        }
        let env = key
            .env
            .map_or("TOML only".to_string(), |e| format!("`{e}`"));
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} |",
            cell(rest),
            env,
            key.unit,
            cell(&default_of(&defaults, key.path)),
            cell(&format_of(key.kind)),
            cell(key.doc)
        );
    }
    out.push_str("\n## Per-market and per-source overrides\n");
    out.push_str(&markets_note());
    out
}
