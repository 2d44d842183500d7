//! A sink's server I/O on its own thread, so a timely worker never waits for a round trip it
//! does not have to wait for.
//!
//! The worker renders requests ([`Transport::Job`]: an insert body, a pipeline of commands)
//! and [`Offload::submit`]s them; one I/O thread per sink instance delivers them in order. The
//! channel between them is bounded ([`QUEUE_JOBS`]): when the thread falls behind, `submit`
//! blocks, which backpressures the worker and so its sources — memory stays bounded by the
//! queue plus one job being delivered.
//!
//! Failures. A job that fails stays at the head of the thread's backlog; the thread stops
//! delivering, keeps later jobs behind it in order and publishes the error. `submit` returns
//! it (as [`SinkError::Unavailable`] or [`SinkError::Fatal`], as the transport classified it)
//! once the thread reported it, so the worker's retry loop takes over and calls
//! [`Offload::sync`]: each `sync` re-delivers the backlog from its head (whole jobs: transports
//! are idempotent) and answers only when everything submitted before it was acknowledged by
//! the server, or with the error that stopped it. A worker that sees an error stops submitting
//! and retries `sync` with backoff, so the backlog grows by at most the queue. The thread ends
//! when the [`Offload`] is dropped (pending jobs are abandoned: only `sync` promises delivery).

use crate::sink::SinkError;
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Jobs queued between a worker and its I/O thread before `submit` blocks.
pub const QUEUE_JOBS: usize = 2;

/// Delivers jobs to a server; runs on the I/O thread.
pub trait Transport: Send + 'static {
    /// One request, rendered by the worker.
    type Job: Send + 'static;
    /// Delivers `job`; on `Err` it is delivered again, whole, later (so a job that reached the
    /// server before a failure is repeated: the server side must absorb repeats).
    fn deliver(&mut self, job: &mut Self::Job) -> Result<(), SinkError>;
}

enum Msg<J> {
    Job(J),
    Sync(SyncSender<Result<(), SinkError>>),
}

/// The last failure of the I/O thread, as plain data (`SinkError` is not `Clone`).
#[derive(Clone)]
enum Failure {
    Unavailable(String),
    Fatal(String),
}

impl Failure {
    fn of(e: &SinkError) -> Failure {
        match e {
            SinkError::Unavailable(m) => Failure::Unavailable(m.clone()),
            SinkError::Fatal(m) => Failure::Fatal(m.clone()),
        }
    }

    fn error(&self) -> SinkError {
        match self {
            Failure::Unavailable(m) => SinkError::Unavailable(m.clone()),
            Failure::Fatal(m) => SinkError::Fatal(m.clone()),
        }
    }
}

/// The worker's handle on one I/O thread.
pub struct Offload<J: Send + 'static> {
    tx: Option<SyncSender<Msg<J>>>,
    failure: Arc<Mutex<Option<Failure>>>,
    thread: Option<JoinHandle<()>>,
    unsynced: bool,
}

impl<J: Send + 'static> Offload<J> {
    /// Starts the I/O thread (named `name`) delivering with `transport`.
    pub fn start<T: Transport<Job = J>>(name: &str, transport: T) -> Result<Offload<J>, SinkError> {
        let (tx, rx) = sync_channel(QUEUE_JOBS);
        let failure = Arc::new(Mutex::new(None));
        let shared = Arc::clone(&failure);
        let thread = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(move || run(transport, rx, shared))
            .map_err(|e| SinkError::Fatal(format!("cannot start the {name} thread: {e}")))?;
        Ok(Offload {
            tx: Some(tx),
            failure,
            thread: Some(thread),
            unsynced: false,
        })
    }

    fn send(&self, msg: Msg<J>) -> Result<(), SinkError> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(msg).ok())
            .ok_or_else(|| SinkError::Fatal("sink I/O thread ended".into()))
    }

    /// Queues `job` (blocks while the queue is full). The job is kept even when this returns
    /// an error: the error is the I/O thread's last failure, and [`Offload::sync`] retries.
    pub fn submit(&mut self, job: J) -> Result<(), SinkError> {
        self.send(Msg::Job(job))?;
        self.unsynced = true;
        match self.failure.lock() {
            Ok(f) => f.as_ref().map_or(Ok(()), |f| Err(f.error())),
            Err(_) => Err(SinkError::Fatal("sink I/O thread panicked".into())),
        }
    }

    /// Waits until every job submitted so far is acknowledged by the server (re-delivering the
    /// backlog of an earlier failure first), or returns the failure that stopped delivery.
    pub fn sync(&mut self) -> Result<(), SinkError> {
        if !self.unsynced {
            return Ok(());
        }
        let (reply_tx, reply_rx) = sync_channel(1);
        self.send(Msg::Sync(reply_tx))?;
        let result = reply_rx
            .recv()
            .unwrap_or_else(|_| Err(SinkError::Fatal("sink I/O thread ended".into())));
        if result.is_ok() {
            self.unsynced = false;
        }
        result
    }
}

impl<J: Send + 'static> Drop for Offload<J> {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Delivers the backlog from its head; stops at the first failure (the job stays).
fn deliver_all<T: Transport>(
    t: &mut T,
    backlog: &mut VecDeque<T::Job>,
    failure: &Mutex<Option<Failure>>,
) -> Result<(), SinkError> {
    while let Some(job) = backlog.front_mut() {
        if let Err(e) = t.deliver(job) {
            if let Ok(mut f) = failure.lock() {
                *f = Some(Failure::of(&e));
            }
            return Err(e);
        }
        backlog.pop_front();
    }
    if let Ok(mut f) = failure.lock() {
        *f = None;
    }
    Ok(())
}

fn run<T: Transport>(mut t: T, rx: Receiver<Msg<T::Job>>, failure: Arc<Mutex<Option<Failure>>>) {
    let mut backlog: VecDeque<T::Job> = VecDeque::new();
    let mut failed = false;
    for msg in rx {
        match msg {
            Msg::Job(job) => {
                backlog.push_back(job);
                // After a failure only `sync` retries (the worker's backoff paces the attempts).
                if !failed {
                    failed = deliver_all(&mut t, &mut backlog, &failure).is_err();
                }
            }
            Msg::Sync(reply) => {
                let r = deliver_all(&mut t, &mut backlog, &failure);
                failed = r.is_err();
                let _ = reply.send(r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Records delivered jobs; fails while `down` is set.
    struct Fake {
        delivered: Arc<Mutex<Vec<u32>>>,
        attempts: Arc<Mutex<Vec<u32>>>,
        down: Arc<AtomicBool>,
    }

    impl Transport for Fake {
        type Job = u32;
        fn deliver(&mut self, job: &mut u32) -> Result<(), SinkError> {
            self.attempts.lock().unwrap().push(*job);
            if self.down.load(Ordering::SeqCst) {
                return Err(SinkError::Unavailable("down".into()));
            }
            self.delivered.lock().unwrap().push(*job);
            Ok(())
        }
    }

    type Log = Arc<Mutex<Vec<u32>>>;

    fn fake() -> (Offload<u32>, Log, Log, Arc<AtomicBool>) {
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let down = Arc::new(AtomicBool::new(false));
        let t = Fake {
            delivered: Arc::clone(&delivered),
            attempts: Arc::clone(&attempts),
            down: Arc::clone(&down),
        };
        (
            Offload::start("test", t).unwrap(),
            delivered,
            attempts,
            down,
        )
    }

    #[test]
    fn jobs_arrive_in_order_and_sync_waits_for_them() {
        let (mut o, delivered, _, _) = fake();
        for j in 0..100 {
            o.submit(j).unwrap();
        }
        o.sync().unwrap();
        assert_eq!(*delivered.lock().unwrap(), (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_failure_keeps_the_backlog_in_order_until_a_sync_succeeds() {
        let (mut o, delivered, attempts, down) = fake();
        o.submit(1).unwrap();
        o.sync().unwrap();
        down.store(true, Ordering::SeqCst);
        // The first failing job stops delivery; later submits are queued and report the error.
        let mut refused = false;
        for j in 2..6 {
            refused |= matches!(o.submit(j), Err(SinkError::Unavailable(_)));
        }
        assert!(matches!(o.sync(), Err(SinkError::Unavailable(_))));
        assert!(refused || matches!(o.submit(6), Err(SinkError::Unavailable(_))));
        assert!(matches!(o.sync(), Err(SinkError::Unavailable(_))));
        // While failed, only syncs attempt delivery, always from the head (job 2).
        assert!(attempts.lock().unwrap()[1..].iter().all(|j| *j == 2));
        down.store(false, Ordering::SeqCst);
        o.sync().unwrap();
        let got = delivered.lock().unwrap().clone();
        assert_eq!(&got[..5], &[1, 2, 3, 4, 5]);
        assert!(
            got.len() <= 6 && got.windows(2).all(|w| w[0] < w[1]),
            "{got:?}"
        );
    }

    #[test]
    fn a_slow_server_blocks_submit_after_the_queue() {
        struct Slow(Arc<Mutex<()>>);
        impl Transport for Slow {
            type Job = ();
            fn deliver(&mut self, _: &mut ()) -> Result<(), SinkError> {
                drop(self.0.lock().unwrap());
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let mut o = Offload::start("slow", Slow(Arc::clone(&gate))).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let submitter = std::thread::spawn(move || {
            for _ in 0..QUEUE_JOBS + 3 {
                o.submit(()).unwrap();
                tx.send(()).unwrap();
            }
            o.sync().unwrap();
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        // One job is being delivered, QUEUE_JOBS wait: the next submit blocks.
        assert_eq!(rx.try_iter().count(), QUEUE_JOBS + 1);
        drop(held);
        submitter.join().unwrap();
    }
}
