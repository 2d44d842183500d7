//! Two `tickflow` processes on loopback (`-n 2 -p 0|1 --hostfile`) write the same `dir:` output
//! (ticks, bars, latest prices, curves, dead letters),
//! byte for byte, as one process with one worker.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn fixtures() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("TICKFLOW_FIXTURES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/iso"));
    dir.is_dir().then_some(dir)
}

#[test]
fn two_processes_match_one() {
    let tmp = tempfile::tempdir().unwrap();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples");
    let mut inputs = vec![format!("dir:{}", samples.display())];
    if let Some(fx) = fixtures() {
        inputs.push(format!("dir:{}", fx.join("pjm").display()));
        inputs.push(format!("dir:{}", fx.join("caiso").display()));
    }
    let bin = env!("CARGO_BIN_EXE_tickflow");
    let run = |extra: &[String], out: &str| {
        let mut cmd = Command::new(bin);
        cmd.arg("run").current_dir(tmp.path());
        for i in &inputs {
            cmd.arg("--input").arg(i);
        }
        cmd.arg("--output").arg(format!("dir:{out}")).args(extra);
        cmd.env("DATA_PROC_PIPELINE_BATCH_MAX_BYTES", "4096");
        cmd
    };
    let status = run(&[], "one").stdout(Stdio::null()).status().unwrap();
    assert!(status.success());

    let hostfile = tmp.path().join("hosts");
    std::fs::write(
        &hostfile,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let proc = |i: usize| {
        let args: Vec<String> = [
            "-w",
            "2",
            "-n",
            "2",
            "-p",
            &i.to_string(),
            "--hostfile",
            "hosts",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        run(&args, "two")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut p1 = proc(1);
    let mut p0 = proc(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut done = [None, None];
    while done.iter().any(Option::is_none) {
        for (i, p) in [&mut p0, &mut p1].into_iter().enumerate() {
            if done[i].is_none() {
                done[i] = p.try_wait().unwrap();
            }
        }
        if Instant::now() > deadline {
            let _ = p0.kill();
            let _ = p1.kill();
            panic!("cluster did not finish in time");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for status in done.into_iter().flatten() {
        assert!(status.success(), "a cluster process failed: {status}");
    }
    let _ = p1.wait();
    let summary = String::from_utf8_lossy(&p0.wait_with_output().unwrap().stdout).into_owned();
    assert!(summary.contains("4 worker(s)"), "{summary}");
    for name in [
        "ticks.jsonl",
        "bars.csv",
        "latest.csv",
        "curves.jsonl",
        "dead_letters.jsonl",
    ] {
        let a = std::fs::read(tmp.path().join("one").join(name)).unwrap();
        let b = std::fs::read(tmp.path().join("two").join(name)).unwrap();
        assert!(
            !a.is_empty() || name == "dead_letters.jsonl",
            "{name} is empty"
        );
        assert!(a == b, "{name} differs between 1 process and 2 processes");
    }
}
