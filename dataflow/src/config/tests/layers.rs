use super::*;
use crate::config::{BarInterval, ConfigWarning, FeedTiming, LogFormat};
use operators::model::Market;

#[test]
fn defaults_match_spec() {
    let c = ok("", &[]);
    assert_eq!(c, Config::default());
    assert_eq!(c.pipeline.tenant_id, "default");
    assert_eq!(
        c.aggregation.bar_intervals,
        [BarInterval::M5, BarInterval::H1, BarInterval::D1]
    );
    assert_eq!(c.aggregation.watermark_delay_ms, 30_000);
    assert_eq!(c.aggregation.allowed_lateness_ms, 300_000);
    assert_eq!(c.aggregation.idle_timeout_ms, 60_000);
    assert_eq!(c.pipeline.batch_max_bytes, 1 << 20);
    assert_eq!(c.kafka.message_max_bytes, 64 << 20);
    assert_eq!(
        (c.normalization.min_price, c.normalization.max_price),
        (-1000.0, 10_000.0)
    );
    assert_eq!(c.http.port, 8080);
    assert_eq!(c.http.serve_history_ms, 7 * 86_400_000);
    assert_eq!(c.reference.refresh_interval_ms, 5_000);
    assert_eq!(c.kafka.topics.in_envelopes, "ingestion.market.ticks.raw.v1");
    assert_eq!(
        c.kafka.topics.out_dead_letters,
        "processing.deadletter.market.ticks.v1"
    );
    assert_eq!(c.cluster.hostfile(), None);
    assert_eq!(c.pipeline.state_dir(), None);
}

const FILE: &str = r#"
[cluster]
workers = 2
[logging]
format = "json"
level = "debug"
[aggregation]
bar_intervals = ["1m"]
allowed_lateness_ms = 1000
[http]
port = 9000
"#;

#[test]
fn each_layer_overrides_the_one_below() {
    let c = ok(FILE, &[]);
    assert_eq!(c.cluster.workers, 2);
    assert_eq!(c.logging.format, LogFormat::Json);
    assert_eq!(c.aggregation.bar_intervals, [BarInterval::M1]);
    assert_eq!(c.aggregation.allowed_lateness_ms, 1000);
    assert_eq!(c.http.port, 9000);
    assert_eq!(
        c.aggregation.watermark_delay_ms, 30_000,
        "untouched keys keep defaults"
    );

    let vars = [
        ("DATA_PROC_WORKERS", "3"),
        ("DATA_PROC_AGGREGATION_BAR_INTERVALS", "15m, 1d"),
        ("DATA_PROC_AGGREGATION_MAX_LATE_MS", "2000"),
        ("DATA_PROC_HEALTH_PORT", "9001"),
        ("DATA_PROC_LOG_FORMAT", "TEXT"),
        ("DATA_PROC_TENANT_ID", "acme"),
        ("HOME", "/root"),
    ];
    let c = ok(FILE, &vars);
    assert_eq!(c.cluster.workers, 3);
    assert_eq!(
        c.aggregation.bar_intervals,
        [BarInterval::M15, BarInterval::D1]
    );
    assert_eq!(c.aggregation.allowed_lateness_ms, 2000);
    assert_eq!(c.http.port, 9001);
    assert_eq!(c.logging.format, LogFormat::Text);
    assert_eq!(
        c.logging.level, "debug",
        "the file value stays when env does not set it"
    );
    assert_eq!(c.pipeline.tenant_id, "acme");

    let flags = FlagOverrides {
        workers: Some(4),
        processes: Some(2),
        process_index: Some(1),
        hostfile: Some("hosts.txt".into()),
        tenant_id: Some("flagged".into()),
        log_format: Some(LogFormat::Json),
        bar_intervals: Some(vec![BarInterval::H1]),
        http_port: Some(0),
        outputs: Some(vec!["null".into()]),
        changes: Some(true),
        ..FlagOverrides::default()
    };
    let c = load(FILE, &vars, &flags).unwrap().config;
    assert_eq!(
        (
            c.cluster.workers,
            c.cluster.processes,
            c.cluster.process_index
        ),
        (4, 2, 1)
    );
    assert_eq!(
        c.cluster.hostfile(),
        Some(std::path::Path::new("hosts.txt"))
    );
    assert_eq!(c.pipeline.tenant_id, "flagged");
    assert_eq!(c.logging.format, LogFormat::Json);
    assert_eq!(c.aggregation.bar_intervals, [BarInterval::H1]);
    assert_eq!(c.http.port, 0);
    assert_eq!(c.output.sinks, ["null"]);
    assert!(c.output.changes);
    assert_eq!(
        c.aggregation.allowed_lateness_ms, 2000,
        "no flag: env value stays"
    );
}

#[test]
fn predecessor_env_names_are_read() {
    let c = ok(
        "",
        &[
            ("DATA_PROC_ENV", "production"),
            ("DATA_PROC_LOG_LEVEL", "warn,tickflow=debug"),
            ("DATA_PROC_KAFKA_BOOTSTRAP", "k1:9092,k2:9093"),
            ("DATA_PROC_CONSUMER_GROUP", "g"),
            ("DATA_PROC_CLICKHOUSE_URL", "https://ch.example:8443"),
            ("DATA_PROC_POSTGRES_DSN", "postgresql://u:p@pg/db"),
            ("DATA_PROC_REDIS_URL", "rediss://:p@r:6380/1"),
            ("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "5000"),
            ("DATA_PROC_PROJECTION_CACHE_TTL", "300"),
            ("DATA_PROC_NORMALIZATION_MIN_PRICE", "-250.5"),
            ("DATA_PROC_NORMALIZATION_MAX_PRICE", "9000"),
            ("DATA_PROC_API_KEYS", "k1, k2:acme"),
            ("DATA_PROC_PROCESSES", "3"),
            ("DATA_PROC_PROCESS_INDEX", "2"),
            ("DATA_PROC_HOSTFILE", "/etc/tickflow/hosts"),
        ],
    );
    assert_eq!(c.pipeline.env, crate::config::DeployEnv::Prod);
    assert_eq!(c.kafka.bootstrap, "k1:9092,k2:9093");
    assert_eq!(c.kafka.consumer_group, "g");
    assert_eq!(c.postgres.dsn.expose(), "postgresql://u:p@pg/db");
    assert_eq!(c.aggregation.watermark_delay_ms, 5000);
    assert_eq!(c.projection.cache_ttl_seconds, 300);
    assert_eq!(c.normalization.bounds(Market::Pjm), (-250.5, 9000.0));
    let keys: Vec<&str> = c.http.api_keys.iter().map(|k| k.expose()).collect();
    assert_eq!(keys, ["k1", "k2:acme"]);
    assert_eq!((c.cluster.processes, c.cluster.process_index), (3, 2));
}

#[test]
fn per_market_and_per_source_overrides() {
    let toml = r#"
[aggregation.markets.PJM]
allowed_lateness_ms = 259200000
[aggregation.markets.CAISO]
watermark_delay_ms = 60000
[aggregation.sources."ingestion.caiso.raw.v1"]
watermark_delay_ms = 120000
[normalization.markets.ERCOT]
max_price = 5000
"#;
    let vars = [
        ("DATA_PROC_AGGREGATION_MARKETS_PJM_IDLE_TIMEOUT_MS", "1000"),
        ("DATA_PROC_NORMALIZATION_MARKETS_ERCOT_MIN_PRICE", "-250"),
    ];
    let c = ok(toml, &vars);
    let a = &c.aggregation;
    let t = |m, s| a.timing(m, s);
    assert_eq!(
        t(Market::Pjm, "pjm.csv"),
        FeedTiming {
            watermark_delay_ms: 30_000,
            allowed_lateness_ms: 259_200_000,
            idle_timeout_ms: 1000
        }
    );
    assert_eq!(t(Market::Caiso, "other").watermark_delay_ms, 60_000);
    assert_eq!(
        t(Market::Caiso, "ingestion.caiso.raw.v1").watermark_delay_ms,
        120_000
    );
    assert_eq!(
        t(Market::Caiso, "ingestion.caiso.raw.v1").allowed_lateness_ms,
        300_000
    );
    assert_eq!(
        t(Market::Miso, "x"),
        FeedTiming {
            watermark_delay_ms: 30_000,
            allowed_lateness_ms: 300_000,
            idle_timeout_ms: 60_000
        }
    );
    assert_eq!(c.normalization.bounds(Market::Ercot), (-250.0, 5000.0));
    assert_eq!(c.normalization.bounds(Market::Spp), (-1000.0, 10_000.0));
    let errs = errors("[normalization.markets.SPP]\nmin_price = 20000\n", &[]);
    assert_eq!(
        errs,
        ["config: `normalization.markets.SPP`: min_price 20000 must be below max_price 10000"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let toml = r#"
colour = "blue"
[cluster]
wrokers = 4
processes = 2
[http]
port = "8080"
api_key = ["x"]
[aggregation]
bar_intervals = ["5m", "2h"]
[aggregation.markets.XYZ]
idle_timeout_ms = 1
[kafka.topics]
in_pjm = "ingestion.pjm.raw.v1"
in_foo = "x"
"#;
    let vars = [
        ("DATA_PROC_WORKERS", "many"),
        ("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "-5"),
        ("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m,7m"),
        ("DATA_PROC_NORMALIZATION_MIN_PRICE", "20000"),
        ("DATA_PROC_LOG_FORMAT", "xml"),
    ];
    let errs = errors(toml, &vars);
    let want = [
        "tickflow.toml: unknown key `colour`",
        "tickflow.toml: unknown key `cluster.wrokers` (did you mean `workers`?)",
        "tickflow.toml: `http.port`: expected an integer, found a string",
        "tickflow.toml: unknown key `http.api_key` (did you mean `api_keys`?)",
        "tickflow.toml: `aggregation.bar_intervals`: invalid bar interval '2h' (allowed: 1m, 5m, 15m, 1h, 1d)",
        "tickflow.toml: unknown key `aggregation.markets.XYZ` (not a market code; use one of PJM, NYISO, ISONE, MISO, CAISO, ERCOT, SPP)",
        "tickflow.toml: unknown key `kafka.topics.in_foo`",
        "environment DATA_PROC_WORKERS: `cluster.workers`: 'many' is not an integer",
        "environment DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS: `aggregation.watermark_delay_ms`: -5 is below the minimum 0",
        "environment DATA_PROC_AGGREGATION_BAR_INTERVALS: `aggregation.bar_intervals`: invalid bar interval '7m' (allowed: 1m, 5m, 15m, 1h, 1d)",
        "environment DATA_PROC_LOG_FORMAT: `logging.format`: 'xml' is not one of: text, json",
        "config: `cluster.hostfile`: required when cluster.processes is 2 (> 1), unless cluster.peer_dns is set",
        "config: `normalization.min_price`: 20000 must be below normalization.max_price (10000)",
    ];
    let mut got = errs.clone();
    let mut expected: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "all errors:\n{}", errs.join("\n"));
}

#[test]
fn syntax_errors_name_the_line_and_keep_env_errors() {
    let errs = errors(
        "[cluster]\nworkers = 2\nprocesses = = 3\n",
        &[("DATA_PROC_HEALTH_PORT", "70000")],
    );
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("tickflow.toml:3:"), "{}", errs[0]);
    assert!(errs[0].contains("TOML syntax error"), "{}", errs[0]);
    assert_eq!(
        errs[1],
        "environment DATA_PROC_HEALTH_PORT: `http.port`: 70000 is above the maximum 65535"
    );
}

#[test]
fn missing_file_is_an_error_and_real_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let e = Config::load(Some(&missing), &[], &FlagOverrides::default()).unwrap_err();
    assert_eq!(e.errors().len(), 1);
    assert!(e.to_string().contains("cannot read"), "{e}");
    let path = dir.path().join("t.toml");
    std::fs::write(&path, FILE).unwrap();
    let c = Config::load(Some(&path), &[], &FlagOverrides::default())
        .unwrap()
        .config;
    assert_eq!(c.cluster.workers, 2);
}

#[test]
fn unknown_env_vars_are_warnings() {
    let l = load(
        "",
        &[
            ("DATA_PROC_WORKER", "2"),
            ("DATA_PROC_TRACE_ENABLED", "true"),
            ("PATH", "/bin"),
        ],
        &FlagOverrides::default(),
    )
    .unwrap();
    assert_eq!(l.config, Config::default());
    assert_eq!(
        l.warnings,
        [
            ConfigWarning::UnknownEnv {
                name: "DATA_PROC_WORKER".into(),
                suggestion: Some("DATA_PROC_WORKERS".into())
            },
            ConfigWarning::UnknownEnv {
                name: "DATA_PROC_TRACE_ENABLED".into(),
                suggestion: None
            },
        ]
    );
    assert_eq!(
        l.warnings[0].to_string(),
        "environment DATA_PROC_WORKER: unknown variable, ignored (did you mean DATA_PROC_WORKERS?)"
    );
}

#[test]
fn semantic_checks() {
    let flags = FlagOverrides {
        workers: Some(0),
        process_index: Some(1),
        ..Default::default()
    };
    let e = load("", &[], &flags).unwrap_err().to_string();
    assert_eq!(
        e,
        "config: `cluster.workers`: 0 is below the minimum 1\n\
         config: `cluster.process_index`: 1 must be below cluster.processes (1)"
    );
    let toml = r#"
[pipeline]
tenant_id = "a b"
inputs = ["file:x.csv", "ftp:y"]
[logging]
level = "loud"
[aggregation]
bar_intervals = ["5m", "5m"]
[kafka]
bootstrap = "broker"
security_protocol = "sasl_ssl"
[clickhouse]
url = "ftp://ch"
[redis]
url = "redis://:pw@:99999"
[http]
bind_address = "localhost"
"#;
    let errs = errors(toml, &[]);
    let want = [
        "config: `pipeline.tenant_id`: must be non-empty letters, digits, `_`, `-` or `.`",
        "config: `pipeline.inputs`: item 2: --input ftp:y: expected file:PATH[?format=NAME], dir:PATH, kafka:TOPIC[,TOPIC…] or generator:mode=…,count=…,seed=…",
        "config: `logging.level`: 'loud' is not a level (trace, debug, info, warn, error, off) or target=level",
        "config: `aggregation.bar_intervals`: '5m' is listed twice",
        "config: `kafka.bootstrap`: 'broker' is not host:port",
        "config: `kafka.sasl_mechanism`: required with security_protocol sasl_ssl",
        "config: `clickhouse.url`: scheme 'ftp' is not one of http, https",
        "config: `redis.url`: 'redis://:***@:99999' has no host",
        "config: `redis.url`: 'redis://:***@:99999' has a bad port",
        "config: `http.bind_address`: 'localhost' is not an IP address",
    ];
    assert_eq!(errs, want, "all errors:\n{}", errs.join("\n"));
}
