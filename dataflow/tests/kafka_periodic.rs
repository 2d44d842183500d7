//! Periodic commits while a `--follow` run reads Kafka (SPEC §11, issue 4 item 6): with sinks
//! that are durable on flush (`kafka` here), the group's committed offsets follow the safe
//! positions while the run goes on — the first record of the oldest open window — so a crash
//! (SIGKILL) re-reads only from there; a run with a `dir:` sink (written at the end) or with
//! `kafka.commit_interval_ms = 0` commits nothing while it runs.

mod support;

use rdkafka::producer::Producer;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{broker_with, producer, send_csv};

const TOPIC: &str = "prices.v1";
const PARTITIONS: i32 = 2;

/// Ends the run (SIGKILL) however the test ends.
struct Run(Child);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn follow(dir: &Path, bootstrap: &str, group: &str, outputs: &[&str], interval_ms: &str) -> Run {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tickflow"));
    c.args(["run", "--input", "kafka:prices.v1", "--follow", "-w", "2"])
        .current_dir(dir)
        // --follow serves HTTP; a free port each, as tests run in parallel.
        .env("DATA_PROC_HEALTH_PORT", "0")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env("DATA_PROC_CONSUMER_GROUP", group)
        .env("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0")
        .env("DATA_PROC_AGGREGATION_IDLE_TIMEOUT_MS", "500")
        .env("DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", "100")
        // Periodic flushes insert into ClickHouse at once (default: at most every 2 s).
        .env("DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", "100")
        .env("DATA_PROC_KAFKA_COMMIT_INTERVAL_MS", interval_ms)
        .env_remove("DATA_PROC_WORKERS")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for o in outputs {
        c.args(["--output", o]);
    }
    Run(c.spawn().expect("spawn tickflow"))
}

/// Minutes `0..to` of both partitions: one message a minute per partition, two instruments.
fn produce(bootstrap: &str, to: u32) {
    let producer = producer(bootstrap);
    for m in 0..to {
        for p in 0..PARTITIONS {
            let body = format!(
                "ts,instrument_id,price\n2024-11-03T05:{m:02}:00Z,PJM.RT.P{p}A,{m}.25\n\
                 2024-11-03T05:{m:02}:00Z,PJM.RT.P{p}B,{m}.5\n"
            );
            send_csv(&producer, TOPIC, p, &body);
        }
    }
    producer.flush(Duration::from_secs(30)).expect("flush");
}

fn committed(bootstrap: &str, group: &str) -> Vec<Option<i64>> {
    support::committed(bootstrap, group, TOPIC, PARTITIONS)
}

#[test]
fn durable_sinks_commit_while_running_and_the_end_of_run_sinks_do_not() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let tmp = tempfile::tempdir().unwrap();
    produce(&bootstrap, 40);

    // Kafka out topics are durable on flush: the commit reaches minute 35 (35..39 is the open
    // 5-minute window) while the run goes on, and no further.
    let run = follow(tmp.path(), &bootstrap, "k", &["kafka"], "100");
    let started = Instant::now();
    while committed(&bootstrap, "k") != vec![Some(35); PARTITIONS as usize] {
        let c = committed(&bootstrap, "k");
        assert!(
            c.iter().flatten().all(|o| *o <= 35),
            "committed past the open window: {c:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no periodic commit within 30 s: {c:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    drop(run); // SIGKILL: nothing more is committed, nothing is rolled back
    assert_eq!(
        committed(&bootstrap, "k"),
        vec![Some(35); PARTITIONS as usize]
    );

    // A dir: sink writes at the end; commit interval 0 disables periodic commits.
    for (group, outputs, interval) in [
        ("d", &["kafka", "dir:out"][..], "100"),
        ("z", &["kafka"][..], "0"),
    ] {
        let run = follow(tmp.path(), &bootstrap, group, outputs, interval);
        std::thread::sleep(Duration::from_secs(6));
        drop(run);
        assert_eq!(
            committed(&bootstrap, group),
            vec![None; PARTITIONS as usize],
            "{outputs:?}, interval {interval}"
        );
    }
}
