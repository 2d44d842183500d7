//! Cluster bootstrap from the environment (issue 6 items 1-2), as a StatefulSet runs it but on
//! loopback: every process gets `POD_NAME=tickflow-{i}`, `DATA_PROC_PEER_DNS=127.0.0.1{i}` (each
//! process has its own loopback address, so all share one `DATA_PROC_PEER_PORT`, like pods) and
//! `DATA_PROC_BIND_ADDR=127.0.0.1{i}`.
//!
//! - the pure parts: pod-name ordinals, peer lists, the index precedence;
//! - 3 processes × 2 workers reading 6 Kafka partitions (librdkafka mock cluster), one partition
//!   per worker, write the same `dir:` output byte for byte as one process with one worker; the
//!   processes start 2 s apart, so the later ones are waited for (connection refused, retried);
//! - a process whose peers never come up exits 1 with a clear message after
//!   `DATA_PROC_CLUSTER_STARTUP_TIMEOUT_MS`; so does one whose peer names never resolve;
//! - SIGKILL of one process of a running cluster makes the survivors exit 1 promptly.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{broker_with, producer, send_csv};
use tickflow::config::ClusterConfig;
use tickflow::runtime::cluster::{index_from_pod_name, peer_addresses, plan, IndexSources};

const TOPIC: &str = "cluster.env.v1";
const PARTITIONS: i32 = 6;
const MINUTES: u32 = 90;

#[test]
fn pod_names_give_their_ordinal() {
    assert_eq!(index_from_pod_name("tickflow-3"), Some(3));
    assert_eq!(index_from_pod_name("tickflow-0"), Some(0));
    assert_eq!(index_from_pod_name("my-tickflow-prod-12"), Some(12));
    assert_eq!(index_from_pod_name(" tickflow-7\n"), Some(7));
    for bad in [
        "tickflow",
        "tickflow-",
        "-3",
        "tickflow-03",
        "tickflow-x1",
        "tickflow-1a",
        "",
    ] {
        assert_eq!(index_from_pod_name(bad), None, "{bad:?}");
    }
}

#[test]
fn peer_lists_come_from_the_pattern_and_listen_on_the_bind_address() {
    assert_eq!(
        peer_addresses("tickflow-{i}.tickflow-peers", 3, 2101, "0.0.0.0", 1),
        vec![
            "tickflow-0.tickflow-peers:2101",
            "0.0.0.0:2101",
            "tickflow-2.tickflow-peers:2101"
        ]
    );
    assert_eq!(
        peer_addresses("h{i}", 2, 9, "::", 0),
        vec!["[::]:9", "h1:9"]
    );
}

fn dns(processes: u32) -> ClusterConfig {
    ClusterConfig {
        processes,
        peer_dns: "tickflow-{i}.tickflow-peers".into(),
        ..ClusterConfig::default()
    }
}

#[test]
fn the_index_comes_from_p_then_pod_name_then_hostname() {
    let env = |explicit, pod: Option<&str>, host: Option<&str>| IndexSources {
        explicit,
        pod_name: pod.map(str::to_string),
        hostname: host.map(str::to_string),
    };
    let mut c = dns(4);
    c.process_index = 1;
    let at = |c: &ClusterConfig, e: IndexSources| plan(c, &e).map(|p| p.process_index);
    assert_eq!(at(&c, env(true, Some("tickflow-3"), None)), Ok(1));
    assert_eq!(at(&c, env(false, Some("tickflow-3"), Some("x-2"))), Ok(3));
    assert_eq!(at(&c, env(false, None, Some("x-2"))), Ok(2));
    let err = at(&c, env(false, Some("tickflow"), Some("x-2"))).unwrap_err();
    assert!(err.contains("POD_NAME=`tickflow`"), "{err}");
    assert!(at(&c, env(false, None, None))
        .unwrap_err()
        .contains("process index"));
    let err = at(&c, env(false, Some("tickflow-4"), None)).unwrap_err();
    assert!(err.contains("not below cluster.processes (4)"), "{err}");
    // Without peer_dns nothing is derived: the hostfile mode keeps the configured index.
    let plain = ClusterConfig::default();
    let p = plan(&plain, &env(false, Some("tickflow-3"), None)).unwrap();
    assert_eq!((p.process_index, p.peers), (0, None));
    let p = plan(&c, &env(false, Some("tickflow-2"), None)).unwrap();
    assert_eq!(p.peers.unwrap()[2], "0.0.0.0:2101");
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// Ends the process however the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tickflow run` as pod `i` of `n`, peers on `127.0.0.1{i}:port`.
fn pod(dir: &Path, bootstrap: &str, i: usize, n: usize, port: u16, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tickflow"));
    c.arg("run")
        .args(args)
        .current_dir(dir)
        .env_remove("DATA_PROC_PROCESS_INDEX")
        .env_remove("DATA_PROC_HOSTFILE")
        .env("POD_NAME", format!("tickflow-{i}"))
        .env("DATA_PROC_PROCESSES", n.to_string())
        .env("DATA_PROC_WORKERS", "2")
        .env("DATA_PROC_PEER_DNS", "127.0.0.1{i}")
        .env("DATA_PROC_PEER_PORT", port.to_string())
        .env("DATA_PROC_BIND_ADDR", format!("127.0.0.1{i}"))
        .env("DATA_PROC_HEALTH_PORT", "0")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0");
    c
}

fn produce(bootstrap: &str) {
    let p = producer(bootstrap);
    for m in 0..MINUTES {
        let at = format!("2024-11-03T{:02}:{:02}:00Z", 5 + m / 60, m % 60);
        for part in 0..PARTITIONS {
            let body = format!(
                "ts,instrument_id,price\n{at},CL.P{part}A,{}.25\n{at},CL.P{part}B,{}.5\n",
                20 + m,
                40 + (m * 7 + part as u32) % 13
            );
            send_csv(&p, TOPIC, part, &body);
        }
        p.poll(Duration::ZERO);
    }
    rdkafka::producer::Producer::flush(&p, Duration::from_secs(30)).expect("flush");
}

fn wait_all(procs: &mut [Proc], limit: Duration) -> Vec<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    let mut done: Vec<Option<std::process::ExitStatus>> = vec![None; procs.len()];
    while done.iter().any(Option::is_none) {
        for (d, p) in done.iter_mut().zip(procs.iter_mut()) {
            if d.is_none() {
                *d = p.0.try_wait().expect("wait");
            }
        }
        assert!(
            Instant::now() < deadline,
            "cluster did not finish in {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    done.into_iter().flatten().collect()
}

#[test]
fn three_processes_of_two_workers_match_one_process() {
    let (_broker, bootstrap) = broker_with(TOPIC, PARTITIONS);
    produce(&bootstrap);
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let input = format!("kafka:{TOPIC}");
    let one = Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(["run", "--input", &input, "--output", "dir:one", "-w", "1"])
        .current_dir(dir)
        .env_remove("DATA_PROC_WORKERS")
        .env("DATA_PROC_KAFKA_BOOTSTRAP", &bootstrap)
        .env("DATA_PROC_CONSUMER_GROUP", "one")
        .env("DATA_PROC_AGGREGATION_WATERMARK_DELAY_MS", "0")
        .env("DATA_PROC_AGGREGATION_MAX_LATE_MS", "0")
        .output()
        .expect("run");
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );

    let port = free_port();
    let mut procs = Vec::new();
    // The last processes first: process 0 (which the others connect to) comes up 2 s later.
    for i in [2, 1, 0] {
        if i == 0 {
            std::thread::sleep(Duration::from_secs(2));
        }
        let log = std::fs::File::create(dir.join(format!("p{i}.log"))).expect("log");
        let child = pod(
            dir,
            &bootstrap,
            i,
            3,
            port,
            &["--input", &input, "--output", "dir:three"],
        )
        .env("DATA_PROC_CONSUMER_GROUP", "three")
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn");
        procs.push(Proc(child));
    }
    let statuses = wait_all(&mut procs, Duration::from_secs(120));
    let logs: Vec<String> = (0..3)
        .map(|i| std::fs::read_to_string(dir.join(format!("p{i}.log"))).unwrap_or_default())
        .collect();
    for s in &statuses {
        assert!(
            s.success(),
            "a cluster process failed: {s}\n{}",
            logs.join("\n----\n")
        );
    }
    assert!(logs[0].contains("6 worker(s)"), "{}", logs[0]);
    // One partition per worker, on all six workers of the three processes.
    let assigned: usize = logs
        .iter()
        .map(|l| l.matches("kafka source assigned partitions=1").count())
        .sum();
    assert_eq!(assigned, 6, "{}", logs.join("\n----\n"));
    for name in [
        "ticks.jsonl",
        "bars.csv",
        "latest.csv",
        "curves.jsonl",
        "dead_letters.jsonl",
    ] {
        let a = std::fs::read(dir.join("one").join(name)).expect("one");
        let b = std::fs::read(dir.join("three").join(name)).expect("three");
        // No reference data names these instruments: no curves; no malformed record.
        let may_be_empty = matches!(name, "dead_letters.jsonl" | "curves.jsonl");
        assert!(!a.is_empty() || may_be_empty, "{name} is empty");
        assert!(a == b, "{name} differs between 1 process and 3 processes");
    }
    let ticks = std::fs::read_to_string(dir.join("one/ticks.jsonl")).expect("ticks");
    assert_eq!(
        ticks.lines().count(),
        (MINUTES * 2) as usize * PARTITIONS as usize
    );
}

#[test]
fn a_process_without_peers_exits_after_the_startup_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let input = format!("dir:{}", samples.display());
    let started = Instant::now();
    let out = pod(
        tmp.path(),
        "127.0.0.1:1",
        1,
        2,
        free_port(),
        &["--input", &input, "--output", "null"],
    )
    .env("DATA_PROC_CLUSTER_STARTUP_TIMEOUT_MS", "2500")
    .output()
    .expect("run");
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("did not all connect within 2500 ms"), "{err}");
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(20),
        "{took:?}"
    );
}

#[test]
fn unresolvable_peer_names_fail_after_the_startup_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let input = format!("dir:{}", samples.display());
    let started = Instant::now();
    let out = pod(
        tmp.path(),
        "127.0.0.1:1",
        0,
        2,
        free_port(),
        &["--input", &input, "--output", "null"],
    )
    .env("DATA_PROC_PEER_DNS", "tickflow-{i}.peers.invalid")
    .env("DATA_PROC_BIND_ADDR", "127.0.0.1")
    .env("DATA_PROC_CLUSTER_STARTUP_TIMEOUT_MS", "1500")
    .output()
    .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("peers not resolvable"), "{err}");
    assert!(err.contains("tickflow-1.peers.invalid:"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn losing_one_process_stops_the_survivors_promptly() {
    let topic = "cluster.loss.v1";
    let (_broker, bootstrap) = broker_with(topic, PARTITIONS);
    let p = producer(&bootstrap);
    send_csv(
        &p,
        topic,
        0,
        "ts,instrument_id,price\n2024-11-03T05:00:00Z,LOSS.A,20.5\n",
    );
    rdkafka::producer::Producer::flush(&p, Duration::from_secs(30)).expect("flush");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let port = free_port();
    let input = format!("kafka:{topic}");
    let mut procs: Vec<Proc> = (0..3)
        .map(|i| {
            let log = std::fs::File::create(dir.join(format!("p{i}.log"))).expect("log");
            let child = pod(
                dir,
                &bootstrap,
                i,
                3,
                port,
                &["--input", &input, "--output", "null", "--follow"],
            )
            .env("DATA_PROC_CONSUMER_GROUP", "loss")
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn");
            Proc(child)
        })
        .collect();
    let log = |i: usize| std::fs::read_to_string(dir.join(format!("p{i}.log"))).unwrap_or_default();
    // Running: every worker of every process has its partition.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..3)
        .map(|i| log(i).matches("kafka source assigned").count())
        .sum::<usize>()
        < 6
    {
        for (i, p) in procs.iter_mut().enumerate() {
            assert!(
                p.0.try_wait().expect("wait").is_none(),
                "process {i} ended early:\n{}",
                log(i)
            );
        }
        assert!(
            Instant::now() < deadline,
            "cluster did not start:\n{}",
            log(0)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    procs[2].0.kill().expect("SIGKILL"); // Child::kill is SIGKILL
    let _ = procs[2].0.wait();
    let statuses = wait_all(&mut procs[..2], Duration::from_secs(15));
    let took = killed.elapsed();
    eprintln!("survivors exited {took:?} after the SIGKILL");
    for (i, s) in statuses.iter().enumerate() {
        let text = log(i);
        assert_eq!(s.code(), Some(1), "process {i}: {s}\n{text}");
        assert!(text.contains("lost a cluster peer"), "process {i}:\n{text}");
    }
    assert!(took < Duration::from_secs(5), "survivors took {took:?}");
}
