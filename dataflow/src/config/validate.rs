//! Checks of the effective configuration: ranges again (flags bypass the per-layer checks), then
//! rules that involve several keys or a value's inner syntax (URLs, specs, API keys). Every failed
//! check is one [`ConfigError::Invalid`]; none quotes a secret.

use super::error::ConfigError;
use super::lookup::{display_path, lookup, Lookup};
use super::model::{AggregationConfig, KafkaConfig};
use super::secret::mask_dsn;
use super::types::SaslMechanism;
use super::values::check_toml;
use super::Config;
use std::net::IpAddr;
use toml::Value;

struct Errors(Vec<ConfigError>);

impl Errors {
    fn add(&mut self, key: &str, message: impl Into<String>) {
        self.0.push(ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        });
    }
}

/// Runs every check; returns all failures.
pub(crate) fn validate(c: &Config) -> Vec<ConfigError> {
    let mut e = Errors(Vec::new());
    ranges(c, &mut e);
    pipeline(c, &mut e);
    cluster(c, &mut e);
    logging(&c.logging.level, &mut e);
    aggregation(&c.aggregation, &mut e);
    normalization(c, &mut e);
    kafka(&c.kafka, &mut e);
    stores(c, &mut e);
    http(c, &mut e);
    e.0
}

/// Re-checks every leaf against its key kind (catches out-of-range flag values).
fn ranges(c: &Config, e: &mut Errors) {
    fn leaves(v: &Value, path: &mut Vec<String>, e: &mut Errors) {
        if let Value::Table(t) = v {
            for (k, v) in t {
                path.push(k.clone());
                leaves(v, path, e);
                path.pop();
            }
        } else if let Lookup::Leaf(key) = lookup(path) {
            if let Err(m) = check_toml(key.kind, v) {
                e.add(&display_path(path), m);
            }
        }
    }
    match Value::try_from(c) {
        Ok(v) => leaves(&v, &mut Vec::new(), e),
        Err(err) => e.add("(all)", format!("cannot be rendered as TOML: {err}")),
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn pipeline(c: &Config, e: &mut Errors) {
    if !is_name(&c.pipeline.tenant_id) {
        e.add(
            "pipeline.tenant_id",
            "must be non-empty letters, digits, `_`, `-` or `.`",
        );
    }
    // Input specs are checked by the same parser the runtime uses, so the two cannot disagree.
    for (i, spec) in c.pipeline.inputs.iter().enumerate() {
        if let Err(why) = crate::spec::parse_input(spec) {
            e.add("pipeline.inputs", format!("item {}: {why}", i + 1));
        }
    }
    let source = c.reference.source.as_str();
    let dir_ok = source
        .strip_prefix("dir:")
        .is_some_and(|p| !p.trim().is_empty());
    if !(source == "embedded" || source == "postgres" || dir_ok) {
        e.add(
            "reference.source",
            format!("'{source}' is not embedded, postgres or dir:PATH"),
        );
    }
    if c.output.sinks.is_empty() {
        e.add(
            "output.sinks",
            "at least one sink is needed (`null` discards)",
        );
    }
    for (i, spec) in c.output.sinks.iter().enumerate() {
        if let Err(why) = crate::spec::parse_output(spec, c.output.changes) {
            e.add("output.sinks", format!("item {}: {why}", i + 1));
        }
    }
}

fn cluster(c: &Config, e: &mut Errors) {
    let k = &c.cluster;
    if k.process_index >= k.processes {
        e.add(
            "cluster.process_index",
            format!(
                "{} must be below cluster.processes ({})",
                k.process_index, k.processes
            ),
        );
    }
    let dns = !k.peer_dns.trim().is_empty();
    let hostfile = !k.hostfile.as_os_str().is_empty();
    if k.processes > 1 && !dns && !hostfile {
        e.add(
            "cluster.hostfile",
            format!(
                "required when cluster.processes is {} (> 1), unless cluster.peer_dns is set",
                k.processes
            ),
        );
    }
    if dns && hostfile {
        e.add(
            "cluster.peer_dns",
            "set either cluster.peer_dns or cluster.hostfile, not both".to_string(),
        );
    }
    if dns && k.processes > 1 && !k.peer_dns.contains("{i}") {
        e.add(
            "cluster.peer_dns",
            format!("`{}` has no `{{i}}` (the process index)", k.peer_dns),
        );
    }
    if dns && k.bind_address.trim().parse::<std::net::IpAddr>().is_err() {
        e.add(
            "cluster.bind_address",
            format!("`{}` is not an IP address", k.bind_address),
        );
    }
}

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

fn logging(level: &str, e: &mut Errors) {
    let is_level = |l: &str| LEVELS.iter().any(|x| x.eq_ignore_ascii_case(l.trim()));
    let directives: Vec<&str> = level
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        e.add("logging.level", "must not be empty");
    }
    for d in directives {
        let ok = match d.split_once('=') {
            Some((target, l)) => !target.trim().is_empty() && is_level(l),
            None => is_level(d),
        };
        if !ok {
            e.add(
                "logging.level",
                format!(
                    "'{d}' is not a level ({}) or target=level",
                    LEVELS.join(", ")
                ),
            );
        }
    }
}

fn aggregation(a: &AggregationConfig, e: &mut Errors) {
    if a.bar_intervals.is_empty() {
        e.add(
            "aggregation.bar_intervals",
            "at least one interval is needed",
        );
    }
    for (i, x) in a.bar_intervals.iter().enumerate() {
        if a.bar_intervals[..i].contains(x) {
            e.add(
                "aggregation.bar_intervals",
                format!("'{x}' is listed twice"),
            );
        }
    }
    if a.sources.keys().any(|s| s.trim().is_empty()) {
        e.add("aggregation.sources", "a source name is empty");
    }
}

fn normalization(c: &Config, e: &mut Errors) {
    let n = &c.normalization;
    if n.min_price >= n.max_price {
        e.add(
            "normalization.min_price",
            format!(
                "{} must be below normalization.max_price ({})",
                n.min_price, n.max_price
            ),
        );
    }
    for (market, b) in &n.markets {
        let (min, max) = (
            b.min_price.unwrap_or(n.min_price),
            b.max_price.unwrap_or(n.max_price),
        );
        if min >= max {
            e.add(
                &format!("normalization.markets.{market}"),
                format!("min_price {min} must be below max_price {max}"),
            );
        }
    }
}

fn is_topic(t: &str) -> bool {
    is_name(t) && t.len() <= 249
}

fn kafka(k: &KafkaConfig, e: &mut Errors) {
    let brokers: Vec<&str> = k
        .bootstrap
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .collect();
    if brokers.is_empty() {
        e.add("kafka.bootstrap", "no broker given");
    }
    for b in brokers {
        let ok = b
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok());
        if !ok {
            e.add("kafka.bootstrap", format!("'{b}' is not host:port"));
        }
    }
    if k.consumer_group.trim().is_empty() {
        e.add("kafka.consumer_group", "must not be empty");
    }
    let sasl = k.security_protocol.uses_sasl();
    if sasl && k.sasl_mechanism == SaslMechanism::None {
        e.add(
            "kafka.sasl_mechanism",
            format!("required with security_protocol {}", k.security_protocol),
        );
    }
    if !sasl && k.sasl_mechanism != SaslMechanism::None {
        e.add(
            "kafka.sasl_mechanism",
            format!(
                "{} needs security_protocol sasl_plaintext or sasl_ssl",
                k.sasl_mechanism
            ),
        );
    }
    if sasl && k.sasl_mechanism != SaslMechanism::None {
        if k.sasl_username.is_empty() {
            e.add(
                "kafka.sasl_username",
                format!("required with sasl_mechanism {}", k.sasl_mechanism),
            );
        }
        if k.sasl_password.is_empty() {
            e.add(
                "kafka.sasl_password",
                format!("required with sasl_mechanism {}", k.sasl_mechanism),
            );
        }
    }
    let cert = !k.ssl_certificate_location.as_os_str().is_empty();
    let key = !k.ssl_key_location.as_os_str().is_empty();
    if cert != key {
        e.add(
            "kafka.ssl_certificate_location, kafka.ssl_key_location",
            "mutual TLS needs both the certificate and the key",
        );
    }
    let t = &k.topics;
    let topics = [
        ("in_envelopes", &t.in_envelopes),
        ("in_miso", &t.in_miso),
        ("in_caiso", &t.in_caiso),
        ("in_ercot", &t.in_ercot),
        ("in_pjm", &t.in_pjm),
        ("in_nyiso", &t.in_nyiso),
        ("in_isone", &t.in_isone),
        ("in_spp", &t.in_spp),
        ("out_normalized", &t.out_normalized),
        ("out_enriched", &t.out_enriched),
        ("out_bars", &t.out_bars),
        ("out_curves", &t.out_curves),
        ("out_latest_prices", &t.out_latest_prices),
        ("out_dead_letters", &t.out_dead_letters),
    ];
    for (name, topic) in topics {
        if !is_topic(topic) {
            e.add(
                &format!("kafka.topics.{name}"),
                format!("'{topic}' is not a valid topic name"),
            );
        }
    }
    for topic in k.topic_formats.keys().filter(|t| !is_topic(t)) {
        e.add(
            "kafka.topic_formats",
            format!("'{topic}' is not a valid topic name"),
        );
    }
}

/// Splits `scheme://authority…` and checks the scheme is allowed and the host:port sane.
fn check_url(key: &str, url: &str, schemes: &[&str], e: &mut Errors) {
    let shown = mask_dsn(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        e.add(key, format!("'{shown}' is not a URL (scheme://host…)"));
        return;
    };
    if !schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        e.add(
            key,
            format!("scheme '{scheme}' is not one of {}", schemes.join(", ")),
        );
        return;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => ("", None),
        },
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    if host.is_empty() && !scheme.contains("unix") {
        e.add(key, format!("'{shown}' has no host"));
    }
    if let Some(p) = port {
        if p.parse::<u16>().is_err() {
            e.add(key, format!("'{shown}' has a bad port"));
        }
    }
}

fn stores(c: &Config, e: &mut Errors) {
    let dsn = c.postgres.dsn.expose();
    if dsn.contains("://") {
        check_url("postgres.dsn", dsn, &["postgres", "postgresql"], e);
    } else if !dsn.trim().is_empty() && !dsn.contains('=') {
        e.add(
            "postgres.dsn",
            "neither a postgres:// URL nor libpq key=value pairs",
        );
    } else if dsn.trim().is_empty() && c.reference.source == "postgres" {
        e.add("postgres.dsn", "required with reference.source = postgres");
    }
    check_url("clickhouse.url", &c.clickhouse.url, &["http", "https"], e);
    if !c
        .clickhouse
        .database
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        || c.clickhouse.database.is_empty()
    {
        e.add("clickhouse.database", "must be letters, digits or `_`");
    }
    check_url(
        "redis.url",
        c.redis.url.expose(),
        &["redis", "rediss", "redis+unix", "unix"],
        e,
    );
}

fn http(c: &Config, e: &mut Errors) {
    if c.http.bind_address.parse::<IpAddr>().is_err() {
        e.add(
            "http.bind_address",
            format!("'{}' is not an IP address", c.http.bind_address),
        );
    }
    for (i, item) in c.http.api_keys.iter().enumerate() {
        let s = item.expose();
        let (key, tenant) = s.split_once(':').unwrap_or((s, "default"));
        if key.is_empty() || key.chars().any(char::is_whitespace) {
            e.add(
                "http.api_keys",
                format!("item {}: the key is empty or contains blanks", i + 1),
            );
        }
        if !is_name(tenant) {
            e.add(
                "http.api_keys",
                format!(
                    "item {}: the tenant after ':' is not a valid tenant id",
                    i + 1
                ),
            );
        }
    }
}
