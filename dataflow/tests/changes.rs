//! `--changes` logs of bars, latest prices and curves: a correction shows as the retraction of
//! the old row and the new row, and replaying a log (summing diffs per line) gives exactly the
//! final-state file of the same input.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn run(dir: &Path, out: &str, changes: bool) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tickflow"));
    cmd.args(["run", "--input", "file:t.csv", "--output", out])
        .current_dir(dir)
        .env("DATA_PROC_PIPELINE_BATCH_MAX_BYTES", "64")
        .env("DATA_PROC_AGGREGATION_BAR_INTERVALS", "1m,1h")
        .env_remove("DATA_PROC_WORKERS");
    if changes {
        cmd.arg("--changes");
    }
    let o = cmd.output().expect("run tickflow");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The live lines of a change log: every line's diff summed; lines with a net +1 remain.
fn replay(log: &str) -> Vec<String> {
    let mut net: BTreeMap<String, i64> = BTreeMap::new();
    for line in log.lines().skip(1) {
        let (row, diff) = line.rsplit_once(',').expect("diff column");
        *net.entry(row.to_string()).or_default() += diff.parse::<i64>().expect("diff");
    }
    assert!(net.values().all(|d| *d == 0 || *d == 1), "{net:?}");
    net.into_iter()
        .filter(|(_, d)| *d == 1)
        .map(|(l, _)| l)
        .collect()
}

#[test]
fn change_logs_replay_to_the_final_state_and_show_corrections() {
    let tmp = tempfile::tempdir().unwrap();
    // Two nodes, ticks a few seconds apart; PJM-RTO's 05:00:30 tick is corrected later in the
    // file (higher revision), which must retract and replace its bars and latest price.
    let mut csv = String::from("ts,instrument_id,price,volume,revision\n");
    for i in 0..40 {
        let s = 30 * i;
        csv.push_str(&format!(
            "2024-11-03T05:{:02}:{:02}Z,PJM.RT.PJM-RTO,{}.5,10,0\n",
            s / 60,
            s % 60,
            30 + i % 7
        ));
        csv.push_str(&format!(
            "2024-11-03T05:{:02}:{:02}Z,PJM.RT.WESTERN HUB,{}.25,5,0\n",
            s / 60,
            s % 60,
            40 + i % 5
        ));
    }
    csv.push_str("2024-11-03T05:19:30Z,PJM.RT.PJM-RTO,99.75,10,1\n");
    std::fs::write(tmp.path().join("t.csv"), csv).unwrap();
    run(tmp.path(), "dir:final", false);
    run(tmp.path(), "dir:log", true);
    for (view, file) in [("bars", "csv"), ("latest", "csv")] {
        let final_text =
            std::fs::read_to_string(tmp.path().join(format!("final/{view}.{file}"))).unwrap();
        let log =
            std::fs::read_to_string(tmp.path().join(format!("log/{view}.changes.{file}"))).unwrap();
        assert!(log.lines().next().unwrap().ends_with(",diff"), "{log}");
        let mut want: Vec<String> = final_text.lines().skip(1).map(str::to_string).collect();
        want.sort();
        assert!(!want.is_empty());
        assert_eq!(
            replay(&log),
            want,
            "{view}: replayed log differs from final state"
        );
    }
    // The corrected tick is the latest of PJM-RTO: its old row was retracted, the new one added.
    let latest = std::fs::read_to_string(tmp.path().join("log/latest.changes.csv")).unwrap();
    assert!(
        latest
            .lines()
            .any(|l| l.contains("PJM-RTO,2024-11-03T05:19:30Z")
                && l.contains(",34.5,")
                && l.ends_with(",-1")),
        "{latest}"
    );
    assert!(
        latest
            .lines()
            .any(|l| l.contains(",99.75,") && l.contains("corrected") && l.ends_with(",1")),
        "{latest}"
    );
    // The 1h bar of PJM-RTO reflects the correction as its high.
    let bars = std::fs::read_to_string(tmp.path().join("final/bars.csv")).unwrap();
    let hour = bars
        .lines()
        .find(|l| l.contains("PJM-RTO,1h,"))
        .expect("1h bar");
    assert!(hour.contains(",99.75,"), "{hour}");
}
