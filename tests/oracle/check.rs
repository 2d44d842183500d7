//! Comparing a pipeline `dir:` output with the oracle: files byte for byte where the oracle
//! renders them, facts where the file carries fields the oracle does not model (enrichment).

use crate::model::State;
use crate::render::{self, Member};
use operators::model::render::{num, time};
use std::collections::BTreeMap;
use std::path::Path;

/// What the oracle expects of one run.
pub struct Expected {
    pub label: String,
    pub bars: String,
    pub latest: String,
    pub curves: String,
    /// One fact line per emitted tick, in `ticks.jsonl` order.
    pub ticks: Vec<String>,
    /// `(source, stage, code)` of every dead letter, sorted.
    pub dead: Vec<String>,
}

pub fn expected(
    st: &State,
    path: &str,
    members: &[Member],
    curves: &[(&str, bool)],
    label: String,
) -> Expected {
    let latest = render::latest(st);
    let mut points = Vec::new();
    for (curve, linear) in curves {
        points.extend(render::forward_points(curve, *linear, members, &latest));
    }
    points.sort_by(|a, b| {
        (&a.curve_id, a.delivery_start_ms).cmp(&(&b.curve_id, b.delivery_start_ms))
    });
    let ticks = st
        .ticks()
        .into_iter()
        .map(|((inst, start), s)| {
            let flags: Vec<&str> = render::flags(&s).iter().map(|f| f.name()).collect();
            fact(
                &inst,
                &time(start),
                &num(s.price),
                &s.volume.map_or("null".into(), num),
                s.revision,
                s.version,
                &format!("{path}:{}", s.line),
                &flags.join(";"),
            )
        })
        .collect();
    let mut dead: Vec<String> = st
        .late_lines
        .iter()
        .map(|l| format!("{path}:{l} AGGREGATION LATE_DATA"))
        .collect();
    dead.sort();
    Expected {
        label,
        bars: render::bars_csv(st),
        latest: render::latest_csv(st),
        curves: render::curves_jsonl(&points),
        ticks,
        dead,
    }
}

#[allow(clippy::too_many_arguments)]
fn fact(
    inst: &str,
    start: &str,
    price: &str,
    volume: &str,
    revision: u64,
    version: u64,
    source: &str,
    flags: &str,
) -> String {
    format!("{inst} {start} price={price} volume={volume} rev={revision} v={version} {source} [{flags}]")
}

fn read(out: &Path, name: &str) -> String {
    std::fs::read_to_string(out.join(name))
        .unwrap_or_else(|e| panic!("{}/{name}: {e}", out.display()))
}

/// Panics naming the seed, the file and the first differing line.
fn same_text(label: &str, name: &str, got: &str, want: &str) {
    if got == want {
        return;
    }
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    let i = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    panic!(
        "{label}: {name} differs from the oracle at line {} ({} vs {} lines):\n  pipeline: {}\n  oracle:   {}",
        i + 1,
        g.len(),
        w.len(),
        g.get(i).unwrap_or(&"<none>"),
        w.get(i).unwrap_or(&"<none>")
    );
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn tick_fact(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    let flags: Vec<&str> = v["quality_flags"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    fact(
        &s("instrument_id"),
        &s("interval_start"),
        &v["price"].to_string(),
        &v["volume"].to_string(),
        v["revision"].as_u64().unwrap_or(u64::MAX),
        v["version"].as_u64().unwrap_or(u64::MAX),
        &s("source"),
        &flags.join(";"),
    )
}

fn dead_fact(v: &serde_json::Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    format!("{} {} {}", s("source"), s("failure_stage"), s("error_code"))
}

/// Checks a final-state output directory.
pub fn check_dir(out: &Path, e: &Expected) {
    same_text(&e.label, "bars.csv", &read(out, "bars.csv"), &e.bars);
    same_text(&e.label, "latest.csv", &read(out, "latest.csv"), &e.latest);
    same_text(
        &e.label,
        "curves.jsonl",
        &read(out, "curves.jsonl"),
        &e.curves,
    );
    let ticks: Vec<String> = json_lines(&read(out, "ticks.jsonl"))
        .iter()
        .map(tick_fact)
        .collect();
    same_text(
        &e.label,
        "ticks.jsonl",
        &ticks.join("\n"),
        &e.ticks.join("\n"),
    );
    let mut dead: Vec<String> = json_lines(&read(out, "dead_letters.jsonl"))
        .iter()
        .map(dead_fact)
        .collect();
    dead.sort();
    same_text(
        &e.label,
        "dead_letters.jsonl",
        &dead.join("\n"),
        &e.dead.join("\n"),
    );
}

/// Sums a change log: every distinct row (without its diff) with its summed diff; rows summing
/// to zero are dropped. `json`: the diff is the last key of a JSON line, else the last column.
fn sum_log(text: &str, json: bool) -> BTreeMap<String, i64> {
    let mut m: BTreeMap<String, i64> = BTreeMap::new();
    for line in text.lines().skip(usize::from(!json)) {
        let (row, diff) = if json {
            let (row, d) = line.rsplit_once(",\"diff\":").expect("a diff key");
            (format!("{row}}}"), d.trim_end_matches('}'))
        } else {
            let (row, d) = line.rsplit_once(',').expect("a diff column");
            (row.to_string(), d)
        };
        *m.entry(row).or_default() += diff.parse::<i64>().expect("integer diff");
    }
    m.retain(|_, d| *d != 0);
    m
}

/// Checks that the `--changes` logs sum to the oracle's final state (each row exactly once).
pub fn check_changes(out: &Path, e: &Expected) {
    for (log, json, want) in [
        ("bars.changes.csv", false, &e.bars),
        ("latest.changes.csv", false, &e.latest),
        ("curves.changes.jsonl", true, &e.curves),
    ] {
        let sum = sum_log(&read(out, log), json);
        let mut got: Vec<String> = Vec::new();
        for (row, d) in sum {
            assert_eq!(d, 1, "{}: {log}: row sums to {d}: {row}", e.label);
            got.push(row);
        }
        let mut want: Vec<String> = want
            .lines()
            .skip(usize::from(!json))
            .map(String::from)
            .collect();
        want.sort();
        same_text(&e.label, log, &got.join("\n"), &want.join("\n"));
    }
}
