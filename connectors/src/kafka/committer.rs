//! [`Committer`]: commits a worker's safe positions to the consumer group *while the job
//! runs* (periodic commits, see `dataflow::graph::periodic`), off the worker thread.
//!
//! A background thread owns one consumer of the group (manual assignment of nothing, as
//! [`super::commit_positions`]) and commits synchronously the latest positions submitted; a
//! newer submission replaces one not yet started, so a slow broker never queues commits up and
//! never blocks the worker. A failed commit is logged and counted, not retried: the next
//! submission carries the same or later positions. [`Committer::close`] waits for the commit in
//! flight and drops any pending one, so no periodic commit can land after the end-of-run commit
//! that follows it.

use super::commit::position_list;
use super::config::KafkaSettings;
use super::plan::KafkaPlan;
use super::resume::Marks;
use crate::source::Position;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

#[derive(Default)]
struct State {
    pending: Option<(Vec<Position>, Marks)>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    committed: AtomicU64,
    failed: AtomicU64,
}

/// One worker's background committer.
pub struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the committer thread for the partitions of `plan` (the consumer is created on the
    /// first submission; one that cannot be created fails that commit and is tried again).
    pub fn start(settings: KafkaSettings, plan: Arc<KafkaPlan>) -> Committer {
        let shared = Arc::new(Shared::default());
        let inner = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kafka-committer".into())
            .spawn(move || run(&inner, &settings, &plan))
            .ok();
        Committer { shared, thread }
    }

    /// Commits `positions` (with their resume marks) soon, replacing any submission not yet
    /// started.
    pub fn submit(&self, positions: Vec<Position>, marks: Marks) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.pending = Some((positions, marks));
            self.shared.wake.notify_one();
        }
    }

    /// Commits that succeeded so far.
    pub fn committed(&self) -> u64 {
        self.shared.committed.load(Ordering::Relaxed)
    }

    /// Commits that failed so far.
    pub fn failed(&self) -> u64 {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// Drops any pending submission and waits for the commit in flight.
    pub fn close(&mut self) {
        if let Ok(mut s) = self.shared.state.lock() {
            s.pending = None;
            s.closed = true;
            self.shared.wake.notify_one();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(shared: &Shared, settings: &KafkaSettings, plan: &KafkaPlan) {
    let mut consumer: Option<BaseConsumer> = None;
    loop {
        let (positions, marks) = {
            let Ok(mut s) = shared.state.lock() else {
                return;
            };
            loop {
                if s.closed {
                    return;
                }
                if let Some(p) = s.pending.take() {
                    break p;
                }
                s = match shared.wake.wait(s) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            }
        };
        let outcome = position_list(plan, &positions, &marks).and_then(|list| {
            if list.count() == 0 {
                return Ok(0);
            }
            if consumer.is_none() {
                consumer = Some(
                    settings
                        .consumer_config()
                        .create()
                        .map_err(|e| format!("cannot create the consumer: {e}"))?,
                );
            }
            let c = consumer.as_ref().ok_or("no consumer")?;
            c.commit(&list, CommitMode::Sync)
                .map(|()| list.count())
                .map_err(|e| e.to_string())
        });
        match outcome {
            Ok(n) => {
                shared.committed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(partitions = n, positions = ?positions, "kafka positions committed (periodic)");
            }
            Err(e) => {
                shared.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "periodic kafka commit failed; the next one retries");
            }
        }
    }
}
