//! `tickflow-mock-kafka [BROKERS]`: a Kafka-protocol test broker (librdkafka's mock cluster) in
//! its own process.
//!
//! Prints the bootstrap servers as the first line on stdout, then reads commands on stdin, one
//! per line — `down <broker_id>`, `up <broker_id>`, `create <topic> <partitions>` — answering
//! each with `ok` or `error: …` on stdout. Exits when stdin closes or the process is killed;
//! the cluster's data goes with it. Exit code 2 on a bad argument, 1 when the cluster cannot
//! start.

use connectors::kafka::mock::{MockBroker, MockCommand};
use std::io::{BufRead, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let brokers = match std::env::args().nth(1).map(|a| a.parse::<i32>()) {
        None => 1,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: tickflow-mock-kafka [BROKERS]  (BROKERS a positive number)");
            return ExitCode::from(2);
        }
    };
    let broker = match MockBroker::start(brokers) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: cannot start the mock cluster: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    if writeln!(out, "{}", broker.bootstrap_servers())
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match MockCommand::parse(&line) {
            Ok(cmd) => match broker.apply(&cmd) {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error: {e}"),
            },
            Err(e) => format!("error: {e}"),
        };
        if writeln!(out, "{answer}").and_then(|_| out.flush()).is_err() {
            break;
        }
    }
    ExitCode::SUCCESS
}
