//! The dashboards and alert rules in `monitoring/` against the real tools: every metric they
//! name is one of SPEC §10; `promtool check rules` and `promtool test rules` pass; and a private
//! Prometheus scraping a running `tickflow --follow` evaluates every PromQL expression of the
//! dashboards and the rules without error (expressions are extracted from the files, so new
//! panels and rules are covered), and loads the rules with every one healthy.

#[path = "support/follow.rs"]
mod follow;
mod support;

use follow::{encode, get, wait_for};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const SPEC_NAMES: [&str; 17] = [
    "tickflow_records_in_total",
    "tickflow_records_out_total",
    "tickflow_dead_letters_total",
    "tickflow_duplicates_total",
    "tickflow_corrections_total",
    "tickflow_late_records_total",
    "tickflow_watermark_lag_seconds",
    "tickflow_event_to_sink_seconds",
    "tickflow_kafka_consumer_lag",
    "tickflow_sink_flush_seconds",
    "tickflow_sink_errors_total",
    "tickflow_open_windows",
    "tickflow_reference_rows",
    "tickflow_source_last_event_timestamp_seconds",
    "tickflow_missing_intervals_total",
    "tickflow_http_requests_total",
    "tickflow_build_info",
];

fn monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitoring")
}

fn dashboards() -> Vec<PathBuf> {
    let dir = monitoring().join("grafana/dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn collect_exprs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("expr", serde_json::Value::String(s)) => out.push(s.clone()),
                    _ => collect_exprs(x, out),
                }
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_exprs(x, out)),
        _ => {}
    }
}

/// Every `expr` of the rules file: inline, or a `|` block of deeper-indented lines.
fn rule_exprs(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else {
            continue;
        };
        let rest = rest.trim();
        if rest != "|" && rest != ">" {
            out.push(rest.to_string());
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let block: Vec<&str> = lines[i + 1..]
            .iter()
            .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() > indent)
            .map(|l| l.trim())
            .collect();
        out.push(block.join(" ").trim().to_string());
    }
    out
}

/// Every expression of the dashboards and rules, with the file it comes from.
fn all_exprs() -> Vec<(String, String)> {
    let mut all = Vec::new();
    for file in dashboards() {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mut exprs = Vec::new();
        collect_exprs(&v, &mut exprs);
        assert!(exprs.len() >= 5, "{}: {exprs:?}", file.display());
        all.extend(exprs.into_iter().map(|e| (file.display().to_string(), e)));
    }
    let rules = monitoring().join("prometheus/alerts.yml");
    let exprs = rule_exprs(&std::fs::read_to_string(&rules).unwrap());
    assert!(exprs.len() >= 6, "{exprs:?}");
    all.extend(exprs.into_iter().map(|e| ("alerts.yml".to_string(), e)));
    all
}

/// Metric names (`tickflow_…`) an expression uses, histogram suffixes removed.
fn names_in(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = expr;
    while let Some(at) = rest.find("tickflow_") {
        let name: String = rest[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        rest = &rest[at + name.len()..];
        let base = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|b| b.ends_with("_seconds"))
            .unwrap_or(&name);
        names.insert(base.to_string());
    }
    names
}

#[test]
fn dashboards_and_rules_use_only_spec_metric_names() {
    let names: Vec<String> = dashboards()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["ingest", "overview", "sinks", "windows"]);
    let mut used = BTreeSet::new();
    for (file, expr) in all_exprs() {
        for name in names_in(&expr) {
            assert!(
                SPEC_NAMES.contains(&name.as_str()),
                "{file}: {name} in {expr}"
            );
            used.insert(name);
        }
    }
    // Every metric of SPEC §10 is shown somewhere.
    for name in SPEC_NAMES {
        assert!(used.contains(name), "{name} is on no dashboard or rule");
    }
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(monitoring().join("prometheus"))
        .output()
        .expect("promtool (installed with the prometheus package by scripts/services.sh)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}: {text}");
    text
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let checked = promtool(&["check", "rules", "alerts.yml"]);
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = promtool(&["test", "rules", "alerts_test.yml"]);
    assert!(tested.contains("SUCCESS"), "{tested}");
    // One unit test group per alert.
    let rules = std::fs::read_to_string(monitoring().join("prometheus/alerts.yml")).unwrap();
    let tests = std::fs::read_to_string(monitoring().join("prometheus/alerts_test.yml")).unwrap();
    for alert in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        assert!(
            tests.contains(&format!("alertname: {alert}")),
            "no unit test for {alert}"
        );
    }
}

/// A private Prometheus scraping `target` every second with the repo's rules; killed on drop.
struct Prometheus {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(target: std::net::SocketAddr) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let rules = monitoring().join("prometheus/alerts.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: tickflow\n    static_configs:\n      - targets: ['{target}']\n",
        rules.canonicalize().unwrap().display()
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let child = Command::new("prometheus")
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (installed by scripts/services.sh)");
    Prometheus {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        _dir: dir,
    }
}

fn api(prom: &Prometheus, path: &str) -> serde_json::Value {
    let (status, body) = get(prom.addr, path);
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {status} {e}: {body}"))
}

#[test]
fn prometheus_evaluates_every_dashboard_and_rule_expression() {
    let dir = tempfile::tempdir().unwrap();
    let topic = "prices.v1";
    let (_broker, bootstrap) = support::broker_with(topic, 2);
    let producer = support::producer(&bootstrap);
    for p in 0..2 {
        support::send_csv(
            &producer,
            topic,
            p,
            &format!(
                "ts,instrument_id,price\n2025-01-01T00:0{p}:00Z,PJM.RT.N{p},10\n\
                 2025-01-01T00:0{p}:00Z,PJM.RT.N{p},10\n2025-01-01T00:07:00Z,PJM.RT.N{p},\n"
            ),
        );
    }
    rdkafka::producer::Producer::flush(&producer, Duration::from_secs(10)).unwrap();
    let job = follow::spawn(dir.path(), &bootstrap, topic, &["--output", "null"], &[]);
    wait_for(Duration::from_secs(60), "records counted", || {
        let (_, text) = job.get("/metrics");
        text.contains("tickflow_records_in_total{").then_some(())
    });
    let prom = start_prometheus(job.addr);
    wait_for(Duration::from_secs(30), "prometheus ready", || {
        follow::try_get(prom.addr, "/-/ready")
            .ok()
            .filter(|(s, _)| *s == 200)
    });
    wait_for(Duration::from_secs(60), "tickflow scraped", || {
        let v = api(&prom, "/api/v1/query?query=tickflow_records_in_total");
        let n = v["data"]["result"].as_array().map_or(0, Vec::len);
        (n > 0).then_some(())
    });
    // Two more scrapes, so rates have two samples.
    std::thread::sleep(Duration::from_secs(3));
    for (file, expr) in all_exprs() {
        let v = api(&prom, &format!("/api/v1/query?query={}", encode(&expr)));
        assert_eq!(v["status"], "success", "{file}: {expr}: {v}");
    }
    // Series the job has by now answer with the values sent (3 rows per partition: a tick, its
    // duplicate, a row without price).
    for (expr, expected) in [
        ("sum(tickflow_records_in_total{source=\"kafka\"})", 6.0),
        ("sum(tickflow_duplicates_total)", 2.0),
        (
            "sum(tickflow_dead_letters_total{stage=\"normalization\",error_code=\"validation_error\"})",
            2.0,
        ),
        ("count(tickflow_build_info)", 1.0),
        ("clamp_max(count(tickflow_reference_rows), 1)", 1.0),
    ] {
        let v = api(&prom, &format!("/api/v1/query?query={}", encode(expr)));
        let value = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
        assert_eq!(value, expected, "{expr}: {v}");
    }
    // Both partitions' consumer lag is reported (everything sent has been read: 0).
    wait_for(
        Duration::from_secs(30),
        "consumer lag of both partitions",
        || {
            let q = "count(tickflow_kafka_consumer_lag{topic=\"prices.v1\"} == 0)";
            let v = api(&prom, &format!("/api/v1/query?query={}", encode(q)));
            (v["data"]["result"][0]["value"][1] == "2").then_some(())
        },
    );
    let rules = wait_for(Duration::from_secs(30), "rules evaluated", || {
        let v = api(&prom, "/api/v1/rules");
        let rules: Vec<serde_json::Value> = v["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        rules.iter().all(|r| r["health"] == "ok").then_some(rules)
    });
    assert_eq!(
        rules.len(),
        rule_exprs(&std::fs::read_to_string(monitoring().join("prometheus/alerts.yml")).unwrap())
            .len()
    );
    job.stop(Duration::from_secs(10));
}
