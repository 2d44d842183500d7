//! The `tickflow` binary as users run it: exit codes, messages, outputs.

use std::path::Path;
use std::process::Command;

fn tickflow(dir: &Path, args: &[&str]) -> (i32, String, String) {
    tickflow_env(dir, args, &[])
}

fn tickflow_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .envs(env.iter().copied())
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
    // Tiny batches: every record is its own batch (timely time), so the correction arrives
    // after the first value was emitted and must retract it.
    let (code, stdout, stderr) = tickflow_env(
        tmp.path(),
        &[
            "run",
            "--input",
            "file:t.csv",
            "--output",
            "dir:o",
            "--changes",
        ],
        &[("DATA_PROC_PIPELINE_BATCH_MAX_BYTES", "1")],
    );
    assert_eq!(code, 0, "{stdout}{stderr}");
    let log = std::fs::read_to_string(tmp.path().join("o/ticks.changes.jsonl")).unwrap();
    assert!(
        log.contains("\"price\":31.5,") && log.contains("\"diff\":-1}"),
        "{log}\n{stdout}"
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

#[test]
fn run_without_arguments_processes_the_bundled_samples() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = tickflow(tmp.path(), &["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for needle in [
        "ticks per market",
        "PJM",
        "NYISO",
        "ISONE",
        "MISO",
        "CAISO",
        "ERCOT",
        "SPP",
        "throughput",
    ] {
        assert!(stdout.contains(needle), "summary lacks {needle}: {stdout}");
    }
    let ticks = std::fs::read_to_string(tmp.path().join("out/ticks.jsonl")).unwrap();
    assert!(ticks.lines().count() > 1000, "{}", ticks.lines().count());
    // The bundled reference set enriches the samples: known instruments from the database,
    // the others by rules and market hints, flagged missing_metadata but never dropped.
    let western: Vec<_> = ticks
        .lines()
        .filter(|l| l.contains("\"instrument_id\":\"PJM.DA.WESTERN HUB\""))
        .collect();
    assert!(!western.is_empty());
    assert!(western
        .iter()
        .all(|l| l.contains("\"classification_method\":\"database\"")
            && l.contains("\"classification_confidence\":0.95")));
    let unknown: Vec<_> = ticks
        .lines()
        .filter(|l| l.contains("\"classification_method\":\"rule_based\""))
        .collect();
    assert!(!unknown.is_empty());
    assert!(unknown.iter().all(|l| l.contains("\"missing_metadata\"")));
    assert!(tmp.path().join("out/dead_letters.jsonl").is_file());
}

#[test]
fn bundled_samples_are_what_the_generator_makes() {
    let tmp = tempfile::tempdir().unwrap();
    let (code, _, stderr) = tickflow(tmp.path(), &["generate", "--sample-set", "s"]);
    assert_eq!(code, 0, "{stderr}");
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let names = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        names(&committed),
        names(&tmp.path().join("s")),
        "regenerate: tickflow generate --sample-set samples"
    );
    for name in names(&committed) {
        let a = std::fs::read(committed.join(&name)).unwrap();
        let b = std::fs::read(tmp.path().join("s").join(&name)).unwrap();
        assert!(
            a == b,
            "samples/{name:?} drifted from the generator: tickflow generate --sample-set samples"
        );
    }
}

#[test]
fn generate_is_seeded_and_reports_bad_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let args = [
        "generate",
        "--mode",
        "corrections",
        "--format",
        "ercot-rt",
        "--count",
        "300",
        "--seed",
        "7",
    ];
    let (c1, a, _) = tickflow(tmp.path(), &args);
    let (c2, b, _) = tickflow(tmp.path(), &args);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(a, b);
    assert!(a.starts_with("DeliveryDate,"), "{}", &a[..a.len().min(200)]);
    let (code, _, stderr) = tickflow(
        tmp.path(),
        &["generate", "--mode", "chaos", "--format", "nope"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--mode chaos") && stderr.contains("--format nope"),
        "{stderr}"
    );
}
