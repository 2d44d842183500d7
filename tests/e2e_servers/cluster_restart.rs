//! A timely cluster that loses a process (issue 6 item 2): 3 processes × 2 workers, configured
//! as StatefulSet pods are (`POD_NAME`, `DATA_PROC_PEER_DNS=127.0.0.1{i}`, one peer port), follow
//! 6 Kafka partitions into ClickHouse and Redis while a producer writes. One process is killed
//! with SIGKILL at a seeded random point, twice (a different one each time): the survivors must
//! exit 1 with "lost a cluster peer" within 5 s (not hang), and the whole cluster is restarted on
//! the same consumer group. Once the producer is done, a bounded cluster run of the group
//! continues from the last commit to the end. An uninterrupted bounded run of one process
//! (2 workers) of another group into another target reads the same messages: both targets must
//! be identical (the comparison of `crash_restart`), and the killed clusters must have committed
//! between the kills (else the restarts proved nothing).

use super::crash_restart::{
    assert_resumed_mid_stream, assert_same_state, broker_with, committed_in, crash_seed,
    produce_to, state, Rng, Run,
};
use super::tickflow;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tickflow_tests::compare::{cleanup, require_servers, shared_target, Target};

const TOPIC: &str = "e2e.cluster.restart.v1";
const PARTITIONS: i32 = 6;
const MINUTES: u32 = 200;
const PROCESSES: usize = 3;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn command(t: &Target, bootstrap: &str, group: &str, dir: &Path) -> Command {
    let mut c = tickflow(t, bootstrap, dir);
    c.args(["run", "--input", &format!("kafka:{TOPIC}")])
        .args(["--output", "clickhouse", "--output", "redis", "-w", "2"])
        .env_remove("DATA_PROC_PROCESS_INDEX")
        .env_remove("DATA_PROC_HOSTFILE")
        .env("DATA_PROC_CONSUMER_GROUP", group)
        .env("DATA_PROC_AGGREGATION_BAR_INTERVALS", "5m,1h")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0")
        .env("DATA_PROC_OUTPUT_FLUSH_INTERVAL_MS", "100")
        // Periodic flushes insert into ClickHouse at once (default: at most every 2 s).
        .env("DATA_PROC_CLICKHOUSE_INSERT_INTERVAL_MS", "100")
        .env("DATA_PROC_KAFKA_COMMIT_INTERVAL_MS", "200");
    c
}

/// The processes of one cluster run (killed when dropped); `follow` adds `--follow`.
fn cluster(
    t: &Target,
    bootstrap: &str,
    group: &str,
    dir: &Path,
    tag: &str,
    follow: bool,
) -> Vec<Run> {
    let port = free_port();
    (0..PROCESSES)
        .map(|i| {
            let log = std::fs::File::create(dir.join(format!("{tag}-p{i}.log"))).expect("log");
            let mut c = command(t, bootstrap, group, dir);
            if follow {
                c.arg("--follow");
            }
            let child = c
                .env("POD_NAME", format!("tickflow-{i}"))
                .env("DATA_PROC_PROCESSES", PROCESSES.to_string())
                .env("DATA_PROC_PEER_DNS", "127.0.0.1{i}")
                .env("DATA_PROC_PEER_PORT", port.to_string())
                .env("DATA_PROC_BIND_ADDR", format!("127.0.0.1{i}"))
                .stdout(Stdio::from(log.try_clone().expect("log")))
                .stderr(Stdio::from(log))
                .spawn()
                .expect("spawn tickflow");
            Run(child)
        })
        .collect()
}

fn log(dir: &Path, tag: &str, i: usize) -> String {
    std::fs::read_to_string(dir.join(format!("{tag}-p{i}.log"))).unwrap_or_default()
}

/// Waits for every process; their exit codes, or a panic after `limit`.
fn wait_all(runs: &mut [Run], limit: Duration) -> Vec<Option<i32>> {
    let deadline = Instant::now() + limit;
    let mut done = vec![None; runs.len()];
    while done.iter().any(Option::is_none) {
        for (d, r) in done.iter_mut().zip(runs.iter_mut()) {
            if d.is_none() {
                *d = r.0.try_wait().expect("wait");
            }
        }
        assert!(
            Instant::now() < deadline,
            "processes still running after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    done.into_iter().flatten().map(|s| s.code()).collect()
}

#[test]
fn killing_one_process_stops_the_cluster_and_restarts_end_identical() {
    let seed = crash_seed();
    let crashed = shared_target("tf_cluster");
    let reference = shared_target("tf_cluster_ref");
    require_servers(&crashed);
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();

    let producer = {
        let b = bootstrap.clone();
        std::thread::spawn(move || {
            produce_to(&b, TOPIC, PARTITIONS, 0..MINUTES, Duration::from_millis(60))
        })
    };
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut commits = vec![committed_in(&bootstrap, "cluster", TOPIC, PARTITIONS)];
    let mut stop_ms = Vec::new();
    for (k, victim) in [1usize, 2].into_iter().enumerate() {
        let tag = format!("kill{k}");
        let mut runs = cluster(&crashed, &bootstrap, "cluster", dir, &tag, true);
        // Kill after the cluster committed at least once (start-up of three processes takes
        // seconds on a loaded host), at a random point after that.
        let before = commits.last().cloned().unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(30);
        while committed_in(&bootstrap, "cluster", TOPIC, PARTITIONS) == before
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(rng.next_ms(0, 1_500)));
        for (i, r) in runs.iter_mut().enumerate() {
            let status = r.0.try_wait().expect("wait");
            assert!(
                status.is_none(),
                "process {i} ended before the kill:\n{}",
                log(dir, &tag, i)
            );
        }
        let killed = Instant::now();
        runs[victim].0.kill().expect("SIGKILL");
        let codes = wait_all(&mut runs, Duration::from_secs(30));
        let took = killed.elapsed();
        stop_ms.push(took.as_millis());
        for i in (0..PROCESSES).filter(|i| *i != victim) {
            let text = log(dir, &tag, i);
            assert_eq!(codes[i], Some(1), "survivor {i}:\n{text}");
            assert!(
                text.contains("lost a cluster peer"),
                "survivor {i}:\n{text}"
            );
        }
        assert!(
            took < Duration::from_secs(5),
            "survivors took {took:?} to stop"
        );
        commits.push(committed_in(&bootstrap, "cluster", TOPIC, PARTITIONS));
    }
    producer.join().expect("producer");
    let mut runs = cluster(&crashed, &bootstrap, "cluster", dir, "final", false);
    let codes = wait_all(&mut runs, Duration::from_secs(120));
    for (i, c) in codes.iter().enumerate() {
        assert_eq!(
            *c,
            Some(0),
            "final cluster run, process {i}:\n{}",
            log(dir, "final", i)
        );
    }
    assert_eq!(
        committed_in(&bootstrap, "cluster", TOPIC, PARTITIONS),
        vec![i64::from(MINUTES); PARTITIONS as usize],
        "the bounded cluster run commits the end"
    );
    let o = command(&reference, &bootstrap, "whole", dir)
        .output()
        .expect("run");
    assert!(
        o.status.success(),
        "reference run: {}",
        String::from_utf8_lossy(&o.stderr)
    );

    let context = format!(
        "seed {seed}, committed offsets after each kill: {commits:?}, survivors stopped after {stop_ms:?} ms"
    );
    eprintln!("{context}");
    assert_resumed_mid_stream(&commits, MINUTES, &context);
    let got = state(&crashed);
    let want = state(&reference);
    assert_eq!(
        want["market_ticks"].len(),
        2 * PARTITIONS as usize * MINUTES as usize
    );
    assert!(!want["ohlc_bars"].is_empty() && !want["redis"].is_empty());
    assert_same_state(&got, &want, &context);
    cleanup(&crashed);
    cleanup(&reference);
}
