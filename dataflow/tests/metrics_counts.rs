//! SPEC §10 metrics have exact values after a known input: runs in this process (the registry
//! is process-wide, so each check compares the difference of two scrapes around one run) on
//! generated inputs with corrections, duplicates, late and malformed records and gaps, checked
//! against counts recomputed from the inputs themselves and from the `dir:` output files.

#[path = "support/oracles.rs"]
mod oracles;
#[path = "support/prom.rs"]
mod prom;

use connectors::generator::{generate, GenerateSpec};
use oracles::{csv_rows, days_from_civil, dedupe_oracle, pjm_hour};
use prom::{delta, parse, Sample};
use std::collections::BTreeMap;
use std::path::Path;
use tickflow::cli::{flag_overrides, resolve_run, RunArgs};
use tickflow::config::Config;
use tickflow::runtime::{run, RunOptions};

fn generated_bytes(params: &str) -> Vec<u8> {
    let spec = GenerateSpec::from_params(params).unwrap();
    let mut bytes = Vec::new();
    generate(&spec, &mut bytes, &mut |_| {}).unwrap();
    bytes
}

fn generated(params: &str) -> String {
    String::from_utf8(generated_bytes(params)).unwrap()
}

fn options(inputs: Vec<String>, out: &Path) -> RunOptions {
    let args = RunArgs {
        inputs,
        outputs: vec![format!("dir:{}", out.display())],
        ..Default::default()
    };
    let config = Config::load(None, &[], &flag_overrides(&args))
        .unwrap()
        .config;
    resolve_run(&config, &args).unwrap()
}

/// Runs `opts` and returns the scrapes before and after.
fn metered_run(opts: RunOptions) -> (Vec<Sample>, Vec<Sample>) {
    let before = parse(&tickflow::metrics::render());
    let report = run(opts).unwrap().unwrap();
    assert!(
        report.total.sink_errors.is_empty(),
        "{:?}",
        report.total.sink_errors
    );
    (before, parse(&tickflow::metrics::render()))
}

fn lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn metrics_count_exactly_what_the_inputs_hold() {
    let dir = tempfile::tempdir().unwrap();

    // Run 1: corrections and duplicates (file), malformed records (generator), gaps (file).
    let corrections = generated("mode=corrections,format=simple-csv,count=3000,seed=9");
    std::fs::write(dir.path().join("corr.csv"), &corrections).unwrap();
    let pjm = generated("mode=batch,format=pjm-rt,count=240,seed=3,start=2024-06-01");
    let mut pjm_lines: Vec<&str> = pjm.lines().collect();
    let header = pjm_lines.remove(0);
    let hours: Vec<&str> = {
        let mut h: Vec<&str> = pjm_lines
            .iter()
            .map(|l| l.split(',').next().unwrap())
            .collect();
        h.dedup();
        h
    };
    // Drop hours 3, 4 and 7 of every node: three intervals missing per node.
    let dropped = [hours[3], hours[4], hours[7]];
    let kept: Vec<&str> = pjm_lines
        .iter()
        .copied()
        .filter(|l| !dropped.contains(&l.split(',').next().unwrap()))
        .collect();
    std::fs::write(
        dir.path().join("pjm.csv"),
        format!("{header}\n{}\n", kept.join("\n")),
    )
    .unwrap();
    let malformed_params = "mode=malformed,format=simple-csv,count=700,seed=4,start=2024-01-01";
    let malformed = generated_bytes(malformed_params);
    let out1 = dir.path().join("out1");
    let (b, a) = metered_run(options(
        vec![
            format!("file:{}", dir.path().join("corr.csv").display()),
            format!(
                "file:{}?format=pjm-rt",
                dir.path().join("pjm.csv").display()
            ),
            format!("generator:{malformed_params}"),
        ],
        &out1,
    ));

    // Records in: every row of each input, by transport and market.
    let corr_rows = csv_rows(&corrections);
    let mut per_market: BTreeMap<String, f64> = BTreeMap::new();
    for r in &corr_rows {
        *per_market.entry(r["market"].to_lowercase()).or_default() += 1.0;
    }
    *per_market.entry("pjm".into()).or_default() += kept.len() as f64;
    for (market, n) in &per_market {
        let got = delta(
            &b,
            &a,
            "tickflow_records_in_total",
            &[("source", "file"), ("market", market)],
        );
        assert_eq!(got, *n, "records_in file/{market}");
    }
    let file_total = delta(&b, &a, "tickflow_records_in_total", &[("source", "file")]);
    assert_eq!(file_total, per_market.values().sum::<f64>());
    let generator_rows = malformed.iter().filter(|b| **b == b'\n').count() as f64 - 1.0;
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_records_in_total",
            &[("source", "generator")]
        ),
        generator_rows
    );

    // Duplicates and corrections, recomputed from the corrections file (the other inputs
    // hold none: distinct identities).
    let (duplicates, corrections_n) = dedupe_oracle(&corr_rows);
    assert!(
        duplicates > 10 && corrections_n > 10,
        "{duplicates} {corrections_n}"
    );
    assert_eq!(
        delta(&b, &a, "tickflow_duplicates_total", &[]),
        duplicates as f64
    );
    assert_eq!(
        delta(&b, &a, "tickflow_corrections_total", &[]),
        corrections_n as f64
    );

    // Dead letters by stage and code, from the dead-letter file.
    let dead = lines(&out1.join("dead_letters.jsonl"));
    let mut by_code: BTreeMap<(String, String), f64> = BTreeMap::new();
    for d in &dead {
        let stage = d["failure_stage"].as_str().unwrap().to_lowercase();
        let code = d["error_code"].as_str().unwrap().to_lowercase();
        *by_code.entry((stage, code)).or_default() += 1.0;
    }
    assert!(!by_code.is_empty());
    for ((stage, code), n) in &by_code {
        let got = delta(
            &b,
            &a,
            "tickflow_dead_letters_total",
            &[("stage", stage), ("error_code", code)],
        );
        assert_eq!(got, *n, "dead letters {stage}/{code}");
    }
    assert_eq!(
        delta(&b, &a, "tickflow_dead_letters_total", &[]),
        dead.len() as f64
    );
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_records_out_total",
            &[("sink", "dir"), ("view", "dead_letters")]
        ),
        dead.len() as f64
    );

    // Final-state files: one row per update the dir sink received (final bars only, no retractions).
    for (view, file) in [("bars", "bars.csv"), ("latest", "latest.csv")] {
        let rows = std::fs::read_to_string(out1.join(file))
            .unwrap()
            .lines()
            .count() as f64
            - 1.0;
        let got = delta(
            &b,
            &a,
            "tickflow_records_out_total",
            &[("sink", "dir"), ("view", view)],
        );
        assert_eq!(got, rows, "records_out dir/{view}");
    }

    // Missing intervals: gaps of each PJM node's hours, recomputed from the file kept.
    let mut node_hours: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let cols: Vec<&str> = header.split(',').collect();
    let (ti, ni) = (
        cols.iter()
            .position(|c| *c == "datetime_beginning_utc")
            .unwrap(),
        cols.iter().position(|c| *c == "pnode_name").unwrap(),
    );
    for l in &kept {
        let f: Vec<&str> = l.split(',').collect();
        node_hours
            .entry(f[ni].to_string())
            .or_default()
            .push(pjm_hour(f[ti]));
    }
    let gaps: i64 = node_hours
        .values()
        .map(|h| h.windows(2).map(|w| w[1] - w[0] - 1).sum::<i64>())
        .sum();
    assert_eq!(gaps, 3 * node_hours.len() as i64);
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_missing_intervals_total",
            &[("market", "pjm"), ("run", "RT")]
        ),
        gaps as f64
    );
    assert_eq!(
        delta(&b, &a, "tickflow_missing_intervals_total", &[]),
        gaps as f64
    );

    // Last event time per market: the greatest timestamp of the corrections file.
    let last_pjm_corr = corr_rows
        .iter()
        .filter(|r| r["market"] == "ERCOT")
        .map(|r| r["ts"].clone())
        .max()
        .unwrap();
    let secs = prom::sum(
        &a,
        "tickflow_source_last_event_timestamp_seconds",
        &[("source", "file"), ("market", "ercot")],
    );
    let expected = {
        let (d, t) = last_pjm_corr.trim_end_matches('Z').split_once('T').unwrap();
        let d: Vec<i64> = d.split('-').map(|x| x.parse().unwrap()).collect();
        let t: Vec<i64> = t.split(':').map(|x| x.parse().unwrap()).collect();
        days_from_civil(d[0], d[1], d[2]) * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]
    };
    assert_eq!(secs, expected as f64);

    // A bounded run ends with every window final and the watermark at the end.
    for iv in ["5m", "1h", "1d"] {
        assert_eq!(
            prom::sum(&a, "tickflow_open_windows", &[("interval", iv)]),
            0.0,
            "{iv}"
        );
    }
    assert_eq!(prom::sum(&a, "tickflow_watermark_lag_seconds", &[]), 0.0);
    assert!(
        delta(
            &b,
            &a,
            "tickflow_event_to_sink_seconds_count",
            &[("sink", "dir")]
        ) >= 1.0
    );
    assert!(
        delta(
            &b,
            &a,
            "tickflow_sink_flush_seconds_count",
            &[("sink", "dir")]
        ) >= 1.0
    );
    assert_eq!(delta(&b, &a, "tickflow_sink_errors_total", &[]), 0.0);

    // The same inputs at two workers: every worker's meter adds its share, the totals agree.
    let mut opts = options(
        vec![
            format!("file:{}", dir.path().join("corr.csv").display()),
            format!(
                "file:{}?format=pjm-rt",
                dir.path().join("pjm.csv").display()
            ),
            format!("generator:{malformed_params}"),
        ],
        &dir.path().join("out1w2"),
    );
    opts.workers = 2;
    let (b2, a2) = metered_run(opts);
    for (name, labels) in [
        ("tickflow_records_in_total", &[][..]),
        ("tickflow_records_in_total", &[("source", "generator")][..]),
        ("tickflow_duplicates_total", &[][..]),
        ("tickflow_corrections_total", &[][..]),
        ("tickflow_dead_letters_total", &[][..]),
        ("tickflow_missing_intervals_total", &[][..]),
        ("tickflow_records_out_total", &[("view", "bars")][..]),
    ] {
        assert_eq!(
            delta(&b2, &a2, name, labels),
            delta(&b, &a, name, labels),
            "{name} {labels:?} at 2 workers"
        );
    }

    // Run 2: late records rejected (small batches, default lateness).
    let late = generated("mode=late,format=simple-csv,count=3000,seed=5");
    std::fs::write(dir.path().join("late.csv"), &late).unwrap();
    let out2 = dir.path().join("out2");
    let mut opts = options(
        vec![format!("file:{}", dir.path().join("late.csv").display())],
        &out2,
    );
    opts.batch_max_bytes = 4096;
    let (b, a) = metered_run(opts);
    let late_dead = lines(&out2.join("dead_letters.jsonl"))
        .iter()
        .filter(|d| d["error_code"] == "LATE_DATA")
        .count() as f64;
    assert!(late_dead > 10.0, "{late_dead}");
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_late_records_total",
            &[("disposition", "dead_letter")]
        ),
        late_dead
    );
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_dead_letters_total",
            &[("stage", "aggregation"), ("error_code", "late_data")]
        ),
        late_dead
    );
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_late_records_total",
            &[("disposition", "accepted_late")]
        ),
        0.0
    );

    // Run 3: the same records accepted late (lateness of four days).
    let out3 = dir.path().join("out3");
    let mut opts = options(
        vec![format!("file:{}", dir.path().join("late.csv").display())],
        &out3,
    );
    opts.batch_max_bytes = 4096;
    opts.aggregation.allowed_lateness_ms = 4 * 86_400_000;
    let (b, a) = metered_run(opts);
    let flagged = lines(&out3.join("ticks.jsonl"))
        .iter()
        .filter(|t| {
            t["quality_flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "late_arrival")
        })
        .count() as f64;
    assert!(flagged >= late_dead, "{flagged} {late_dead}");
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_late_records_total",
            &[("disposition", "accepted_late")]
        ),
        flagged
    );
    assert_eq!(
        delta(
            &b,
            &a,
            "tickflow_late_records_total",
            &[("disposition", "dead_letter")]
        ),
        0.0
    );
    let ticks = lines(&out3.join("ticks.jsonl")).len() as f64;
    assert_eq!(delta(&b, &a, "tickflow_records_in_total", &[]), ticks);
}
