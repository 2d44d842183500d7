//! SIGTERM drains a `--follow` Kafka run and commits only safe positions; a restart of the same
//! consumer group continues from there (SPEC §8, §11). A bounded run commits at its end.
//!
//! Checked against an independent computation: one uninterrupted bounded run over all messages
//! (its own consumer group). The interrupted run's and the restart's outputs together must equal
//! it — ticks as a set (re-read ticks are identical lines), bars disjoint and complete (windows
//! open at the stop are written by the restart only).

mod support;

use rdkafka::producer::{BaseProducer, Producer};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{broker_with, producer, send_csv};

const TOPIC: &str = "prices.v1";
const PARTITIONS: i32 = 2;

fn tickflow(dir: &Path, bootstrap: &str, group: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tickflow"));
    c.arg("run")
        .args(args)
        .current_dir(dir)
        // --follow serves HTTP; a free port each, as tests run in parallel.
        .env("DATA_PROC_HEALTH_PORT", "0")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env("DATA_PROC_CONSUMER_GROUP", group)
        .env("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0")
        .env("DATA_PROC_PIPELINE_SHUTDOWN_TIMEOUT_MS", "15000")
        .env_remove("DATA_PROC_WORKERS");
    c
}

fn bounded(dir: &Path, bootstrap: &str, group: &str, out: &str) -> String {
    let o = tickflow(
        dir,
        bootstrap,
        group,
        &["--input", "kafka:prices.v1", "--output", out],
    )
    .args(["-w", "2"])
    .output()
    .expect("run tickflow");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{text}");
    text
}

/// Minutes `from..to` of both partitions: one message a minute per partition, two instruments.
fn produce(producer: &BaseProducer, from: u32, to: u32) {
    for m in from..to {
        for p in 0..PARTITIONS {
            let body = format!(
                "ts,instrument_id,price\n2024-11-03T{:02}:{:02}:00Z,PJM.RT.P{p}A,{}.25\n\
                 2024-11-03T{:02}:{:02}:00Z,PJM.RT.P{p}B,{}.5\n",
                5 + m / 60,
                m % 60,
                20 + m,
                5 + m / 60,
                m % 60,
                40 + m % 7
            );
            send_csv(producer, TOPIC, p, &body);
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// Runs `--follow` from the topic into `out` (2 workers) until SIGTERM, sent once the run had
/// time to read what is there; asserts a clean exit and returns what it printed.
fn follow_then_sigterm(
    dir: &Path,
    bootstrap: &str,
    group: &str,
    out: &str,
    late_ms: &str,
) -> String {
    let mut child = tickflow(dir, bootstrap, group, &["--input", "kafka:prices.v1"])
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", late_ms)
        .args(["--output", out, "--follow", "-w", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tickflow");
    // Generous: the run needs well under a second for these messages, even in debug builds.
    std::thread::sleep(Duration::from_secs(8));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let status = wait_exit(&mut child, Duration::from_secs(15));
    let out = child.wait_with_output().expect("output");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(status.success(), "{status:?}\n{text}");
    text
}

fn committed(bootstrap: &str, group: &str) -> Vec<Option<i64>> {
    support::committed(bootstrap, group, TOPIC, PARTITIONS)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("PJM.RT.P")) // data rows, not headers
        .map(str::to_string)
        .collect()
}

fn set(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        assert!(
            start.elapsed() < limit,
            "tickflow did not exit within {limit:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Kafka offset of a `ticks.jsonl` line (`"source":"prices.v1/P@OFFSET:LINE"`).
fn source_of(line: &str) -> (i32, i64) {
    let at = line.find("\"source\":\"prices.v1/").expect("source") + 20;
    let rest = &line[at..];
    let p: i32 = rest[..rest.find('@').unwrap()].parse().unwrap();
    let o = &rest[rest.find('@').unwrap() + 1..];
    (p, o[..o.find(':').unwrap()].parse().unwrap())
}

#[test]
fn sigterm_drains_commits_safe_positions_and_a_restart_loses_and_doubles_nothing() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let producer = producer(&bootstrap);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    produce(&producer, 0, 40);

    // Run 1 follows the topic; SIGTERM once it had time to read what is there.
    let text = follow_then_sigterm(dir, &bootstrap, "g1", "dir:r1", "0");
    assert!(text.contains("kafka positions committed"), "{text}");
    let after_stop = committed(&bootstrap, "g1");
    let r1_ticks = lines(&dir.join("r1/ticks.jsonl"));
    assert_eq!(
        r1_ticks.len(),
        2 * 40 * 2,
        "run 1 read everything there was"
    );
    for (p, c) in after_stop.iter().enumerate() {
        let c = c.unwrap_or_else(|| panic!("partition {p} not committed: {text}"));
        // Minutes 35..39 are an open 5-minute window at the stop: their records stay uncommitted,
        // everything before them is committed.
        assert_eq!(c, 35, "partition {p}: {after_stop:?}");
    }

    // More data, then run 2 (bounded, same group) continues from the committed positions.
    produce(&producer, 40, 80);
    bounded(dir, &bootstrap, "g1", "dir:r2");
    assert_eq!(
        committed(&bootstrap, "g1"),
        vec![Some(80); PARTITIONS as usize]
    );
    // The uninterrupted reference run.
    bounded(dir, &bootstrap, "all", "dir:all");

    let r2_ticks = lines(&dir.join("r2/ticks.jsonl"));
    let all_ticks = lines(&dir.join("all/ticks.jsonl"));
    assert_eq!(all_ticks.len(), 2 * 80 * 2);
    for t in &r2_ticks {
        assert!(source_of(t).1 >= 35, "run 2 re-read before the commit: {t}");
    }
    // Re-read ticks are the same lines (deterministic ids), so the union is the reference.
    let union: BTreeSet<String> = set(&r1_ticks).union(&set(&r2_ticks)).cloned().collect();
    assert_eq!(union, set(&all_ticks), "ticks lost or changed");
    assert_eq!(
        r2_ticks.len(),
        2 * 45 * 2,
        "run 2 reads minutes 35.. of both partitions"
    );

    let r1_bars = set(&lines(&dir.join("r1/bars.csv")));
    let r2_bars = set(&lines(&dir.join("r2/bars.csv")));
    let all_bars = set(&lines(&dir.join("all/bars.csv")));
    assert_eq!(all_bars.len(), 16 * 4, "5-minute bars of 4 instruments");
    assert_eq!(
        r1_bars.len(),
        7 * 4,
        "run 1 wrote only final windows: {r1_bars:?}"
    );
    assert!(r1_bars.is_disjoint(&r2_bars), "a window was written twice");
    let union: BTreeSet<String> = r1_bars.union(&r2_bars).cloned().collect();
    assert_eq!(union, all_bars, "bars lost or changed");
    assert_eq!(
        lines(&dir.join("r2/latest.csv")),
        lines(&dir.join("all/latest.csv"))
    );
}

#[test]
fn a_bounded_run_commits_at_the_end_and_the_next_reads_nothing_new() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let producer = producer(&bootstrap);
    let tmp = tempfile::tempdir().unwrap();
    produce(&producer, 0, 12);
    assert_eq!(committed(&bootstrap, "b"), vec![None; PARTITIONS as usize]);
    bounded(tmp.path(), &bootstrap, "b", "dir:one");
    assert_eq!(lines(&tmp.path().join("one/ticks.jsonl")).len(), 2 * 12 * 2);
    assert_eq!(
        committed(&bootstrap, "b"),
        vec![Some(12); PARTITIONS as usize]
    );
    bounded(tmp.path(), &bootstrap, "b", "dir:two");
    assert!(lines(&tmp.path().join("two/ticks.jsonl")).is_empty());
    assert!(lines(&tmp.path().join("two/bars.csv")).is_empty());
    assert_eq!(
        committed(&bootstrap, "b"),
        vec![Some(12); PARTITIONS as usize]
    );
}

#[test]
fn a_drain_that_cannot_finish_in_time_exits_non_zero_and_commits_nothing() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let producer = producer(&bootstrap);
    let tmp = tempfile::tempdir().unwrap();
    produce(&producer, 0, 12);
    // Nothing listens on port 9: the Redis sink retries for ever, so the drain cannot finish.
    let mut child = tickflow(tmp.path(), &bootstrap, "t", &["--input", "kafka:prices.v1"])
        .args(["--output", "redis", "--follow"])
        .env("DATA_PROC_REDIS_URL", "redis://127.0.0.1:9/0")
        .env("DATA_PROC_PIPELINE_SHUTDOWN_TIMEOUT_MS", "1500")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tickflow");
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: sending a signal to our own child process.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let status = wait_exit(&mut child, Duration::from_secs(10));
    let waited = signalled.elapsed();
    let out = child.wait_with_output().expect("output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(waited >= Duration::from_millis(1500), "{waited:?}");
    assert!(
        err.contains("shutdown did not finish within pipeline.shutdown_timeout_ms = 1500 ms"),
        "{err}"
    );
    assert_eq!(committed(&bootstrap, "t"), vec![None; PARTITIONS as usize]);
}

/// One message of partition `p` with a late tick of window 05:00 and a tick of window 05:35.
fn produce_spanning(producer: &BaseProducer) {
    for p in 0..PARTITIONS {
        let body = format!(
            "ts,instrument_id,price\n2024-11-03T05:02:30Z,PJM.RT.P{p}A,99.5\n\
             2024-11-03T05:38:30Z,PJM.RT.P{p}B,77.25\n"
        );
        send_csv(producer, TOPIC, p, &body);
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

/// SPEC §11 with out-of-order data: a record after the committed position holds a tick of a
/// window that was final (and written) before the stop. The restart must not write that window
/// again from the re-read subset of its ticks (nor call the tick `LATE_DATA`): the committed
/// watermark and judged end (offset-commit metadata) make the lateness stage drop it.
#[test]
fn a_restart_does_not_rewrite_windows_final_before_the_commit() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let producer = producer(&bootstrap);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Minutes 0..38, then the spanning message (offset 38), then minutes 38..51. With 40
    // minutes of allowed lateness its 05:02:30 tick is accepted late, and at the stop (G ≈
    // 05:50) windows 05:00 and 05:05 are final while 05:10.. are open.
    produce(&producer, 0, 38);
    produce_spanning(&producer);
    produce(&producer, 38, 51);
    const LATE: &str = "2400000";

    let text = follow_then_sigterm(dir, &bootstrap, "g1", "dir:r1", LATE);
    assert_eq!(
        committed(&bootstrap, "g1"),
        vec![Some(10); PARTITIONS as usize],
        "the oldest record of an open window (minute 10) is the position: {text}"
    );
    let r1_bars = set(&lines(&dir.join("r1/bars.csv")));
    assert_eq!(
        r1_bars.len(),
        2 * 4,
        "windows 05:00 and 05:05 final: {r1_bars:?}"
    );

    produce(&producer, 51, 80);
    let run = |group: &str, out: &str| {
        let o = tickflow(dir, &bootstrap, group, &["--input", "kafka:prices.v1"])
            .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", LATE)
            .args(["--output", out, "-w", "2"])
            .output()
            .expect("run tickflow");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "{text}");
    };
    run("g1", "dir:r2");
    run("all", "dir:all");
    let r2_bars = set(&lines(&dir.join("r2/bars.csv")));
    let all_bars = set(&lines(&dir.join("all/bars.csv")));
    assert!(
        r1_bars.is_disjoint(&r2_bars),
        "a final window was written again: {:?}",
        r1_bars.intersection(&r2_bars).collect::<Vec<_>>()
    );
    let union: BTreeSet<String> = r1_bars.union(&r2_bars).cloned().collect();
    assert_eq!(union, all_bars, "bars lost or changed");
    assert!(
        lines(&dir.join("r2/dead_letters.jsonl")).is_empty(),
        "re-read ticks must not become dead letters"
    );
    let union: BTreeSet<String> = set(&lines(&dir.join("r1/ticks.jsonl")))
        .union(&set(&lines(&dir.join("r2/ticks.jsonl"))))
        .cloned()
        .collect();
    assert_eq!(union, set(&lines(&dir.join("all/ticks.jsonl"))), "ticks");
}
