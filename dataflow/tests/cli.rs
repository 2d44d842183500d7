//! The `tickflow` binary as users run it: exit codes, messages, outputs.

use std::path::Path;
use std::process::Command;

fn tickflow(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .current_dir(dir)
        .env(
            "TICKFLOW_SAMPLES",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples"),
        )
        .env_remove("DATA_PROC_WORKERS")
        .output()
        .expect("run tickflow");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CORRECTED: &str = "ts,instrument_id,price,revision\n\
2024-11-03T05:00:00Z,PJM.RT.PJM-RTO,31.5,0\n\
2024-11-03T05:00:00Z,PJM.RT.PJM-RTO,33.25,1\n\
2024-11-03T06:00:00Z,PJM.RT.PJM-RTO,NaN,0\n";

#[test]
fn changes_log_shows_retraction_and_new_value() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.csv"), CORRECTED).unwrap();
    let (code, stdout, stderr) = tickflow(
        tmp.path(),
        &[
            "run",
            "--input",
            "file:t.csv",
            "--output",
            "dir:o",
            "--changes",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let log = std::fs::read_to_string(tmp.path().join("o/ticks.changes.jsonl")).unwrap();
    assert!(
        log.contains("\"price\":31.5,") && log.contains("\"diff\":-1}"),
        "{log}"
    );
    assert!(
        log.contains("\"price\":33.25,") && log.contains("\"corrected\""),
        "{log}"
    );
    let dead = std::fs::read_to_string(tmp.path().join("o/dead_letters.changes.jsonl")).unwrap();
    assert!(
        dead.contains("VALIDATION_ERROR") && dead.contains("\"source\":\"t.csv:4\""),
        "{dead}"
    );
}

#[test]
fn final_state_keeps_only_the_winner() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.csv"), CORRECTED).unwrap();
    let (code, stdout, stderr) = tickflow(
        tmp.path(),
        &[
            "run",
            "--input",
            "file:t.csv",
            "--output",
            "dir:o",
            "-w",
            "2",
        ],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let ticks = std::fs::read_to_string(tmp.path().join("o/ticks.jsonl")).unwrap();
    assert_eq!(ticks.lines().count(), 1, "{ticks}");
    assert!(
        ticks.contains("\"price\":33.25,") && ticks.contains("\"version\":2"),
        "{ticks}"
    );
    assert!(
        stdout.contains("dead letters") && stdout.contains("VALIDATION_ERROR"),
        "{stdout}"
    );
}

#[test]
fn stdout_sink_prints_every_update() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("t.csv"), CORRECTED).unwrap();
    let (code, stdout, _) = tickflow(
        tmp.path(),
        &["run", "--input", "file:t.csv", "--output", "stdout"],
    );
    assert_eq!(code, 0);
    let updates: Vec<_> = stdout
        .lines()
        .filter(|l| l.starts_with("{\"view\":"))
        .collect();
    assert!(
        updates
            .iter()
            .any(|l| l.contains("\"view\":\"dead_letters\"")),
        "{stdout}"
    );
    assert!(
        updates
            .iter()
            .any(|l| l.contains("\"view\":\"ticks\",\"diff\":1")),
        "{stdout}"
    );
}

#[test]
fn bad_specs_and_config_report_every_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = tickflow(
        tmp.path(),
        &[
            "run",
            "--input",
            "ftp:x",
            "--output",
            "dir:o?views=nope",
            "--output",
            "carrier-pigeon",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("ftp:x") && stderr.contains("nope") && stderr.contains("carrier-pigeon"),
        "{stderr}"
    );

    std::fs::write(
        tmp.path().join("c.toml"),
        "[pipeline]\nbogus = 1\n[cluster]\nworkers = 0\nmystery = 2\n",
    )
    .unwrap();
    let (code, _, stderr) = tickflow(tmp.path(), &["config", "check", "--config", "c.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("pipeline.bogus") && stderr.contains("cluster.mystery"),
        "{stderr}"
    );
    assert!(stderr.contains("cluster.workers"), "{stderr}");
}

#[test]
fn config_print_masks_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("c.toml"),
        "[postgres]\ndsn = \"postgres://u:hunter2@localhost/db\"\n[kafka]\nsasl_password = \"s3cret-pw\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = tickflow(tmp.path(), &["config", "print", "--config", "c.toml"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("s3cret-pw"),
        "{stdout}"
    );
    assert!(stdout.contains("postgres://u:***@localhost/db"), "{stdout}");
}
