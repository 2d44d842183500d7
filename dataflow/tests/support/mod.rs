//! Helpers of the command tests: run `tickflow` against a broker, read a topic back.
#![allow(dead_code)]

use connectors::kafka::mock::MockBroker;
use connectors::kafka::KafkaSettings;
use std::path::Path;
use std::process::{Command, Output};
use tickflow::kafka_io::read_topic;

pub fn tickflow(dir: &Path, bootstrap: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tickflow"))
        .args(args)
        .current_dir(dir)
        .env("DATA_PROC_KAFKA_BOOTSTRAP", bootstrap)
        .env("DATA_PROC_KAFKA_SESSION_TIMEOUT_MS", "6000")
        .env_remove("DATA_PROC_WORKERS")
        .output()
        .expect("run tickflow")
}

pub fn ok(dir: &Path, bootstrap: &str, args: &[&str]) -> String {
    let o = tickflow(dir, bootstrap, args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{args:?}: {text}");
    text
}

pub fn payloads(broker: &MockBroker, topic: &str) -> Vec<Vec<u8>> {
    let s = KafkaSettings::for_bootstrap(broker.bootstrap_servers());
    read_topic(&s, topic)
        .unwrap()
        .into_iter()
        .map(|m| m.payload)
        .collect()
}

/// Rows of simple-CSV documents (each `header\nrow\n`), header dropped.
pub fn rows(docs: &[Vec<u8>]) -> Vec<String> {
    docs.iter()
        .flat_map(|d| {
            let text = String::from_utf8(d.clone()).unwrap();
            text.lines().skip(1).map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}
