//! [`Served`]: the serving state of one process, shared between the serving worker (writer)
//! and the HTTP server (readers), with a broadcast of every applied change for subscribers.
//!
//! The writer applies one complete timely time under the write lock and publishes its changes
//! while still holding it; a subscriber takes its snapshot and its receiver under one read
//! lock, so it sees every change after its snapshot exactly once, in order. The broadcast
//! channel is bounded (`capacity` batches): a subscriber that falls that far behind loses its
//! place (`Lagged`) and is cut off rather than growing memory. A poisoned lock (a panic while
//! held, which the code does not do) is recovered, never propagated.
//!
//! The dataflow hands its complete times over with [`Served::submit`]: a thread of the
//! process (`serve-apply`) applies them in order, so the serving worker spends no time on the
//! serving state and keeps its pace (at 50k ticks/s the state was ~15 % of the job's CPU, all
//! on one worker). The queue holds [`APPLY_QUEUE_TIMES`] times: when the thread falls that far
//! behind, `submit` waits (bounded memory). [`Served::finish`] returns once every submitted
//! time is applied.

use super::state::{Change, ServeState, ServeUpdate};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};
use std::thread::JoinHandle;
use tokio::sync::broadcast;

/// Complete times queued for the `serve-apply` thread before [`Served::submit`] waits.
pub const APPLY_QUEUE_TIMES: usize = 256;

/// The `serve-apply` thread and its queue.
struct Applier {
    queue: SyncSender<(u64, Vec<ServeUpdate>)>,
    thread: JoinHandle<()>,
}

/// The changes of one complete time.
#[derive(Debug)]
pub struct Published {
    /// The timely time they complete.
    pub time: u64,
    /// The changes, each view's retractions first.
    pub changes: Vec<Change>,
}

/// The shared serving state of a process.
pub struct Served {
    state: RwLock<ServeState>,
    /// `None` once closed: receivers then see the end of the stream.
    updates: Mutex<Option<broadcast::Sender<Arc<Published>>>>,
    /// `None` when the thread could not start or once finished: `submit` applies inline.
    applier: Mutex<Option<Applier>>,
}

/// Default number of published batches a subscriber may fall behind before it is cut off.
pub const DEFAULT_CHANNEL_BATCHES: usize = 1024;

impl Served {
    /// An empty state (see [`ServeState::new`]) whose subscribers may lag `capacity` batches.
    pub fn new(history_ms: u64, latest_history: usize, capacity: usize) -> Arc<Served> {
        let (updates, _) = broadcast::channel(capacity.max(1));
        Arc::new_cyclic(|me: &Weak<Served>| Served {
            state: RwLock::new(ServeState::new(history_ms, latest_history)),
            updates: Mutex::new(Some(updates)),
            applier: Mutex::new(Applier::start(me.clone())),
        })
    }

    fn applier(&self) -> std::sync::MutexGuard<'_, Option<Applier>> {
        self.applier.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands the updates of the complete time `time` to the `serve-apply` thread, which
    /// applies them (as [`Served::apply`]) after every time submitted before; waits while
    /// [`APPLY_QUEUE_TIMES`] times are queued.
    pub fn submit(&self, time: u64, updates: Vec<ServeUpdate>) {
        let queue = self.applier().as_ref().map(|a| a.queue.clone());
        let unsent = match queue {
            Some(q) => q.send((time, updates)).err().map(|e| e.0),
            None => Some((time, updates)),
        };
        // No thread (or it is gone): apply here, still in order.
        if let Some((time, updates)) = unsent {
            self.apply(time, updates);
        }
    }

    fn write(&self) -> RwLockWriteGuard<'_, ServeState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current state, for one consistent answer. Hold it briefly: the writer waits.
    pub fn read(&self) -> RwLockReadGuard<'_, ServeState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies every update of the complete time `time` and publishes the changes.
    pub fn apply(&self, time: u64, updates: Vec<ServeUpdate>) {
        let mut state = self.write();
        let changes = state.apply(updates);
        state.applied_time = Some(time);
        if !changes.is_empty() {
            if let Some(tx) = self.sender() {
                // No receiver is not an error: nobody subscribes.
                let _ = tx.send(Arc::new(Published { time, changes }));
            }
        }
    }

    /// Marks the state final (the dataflow ended), once every submitted time is applied.
    pub fn finish(&self) {
        if let Some(a) = self.applier().take() {
            drop(a.queue); // the thread drains the queue, then ends
            if a.thread.join().is_err() {
                tracing::error!("serve-apply thread panicked");
            }
        }
        self.write().finished = true;
    }

    fn sender(&self) -> Option<broadcast::Sender<Arc<Published>>> {
        self.updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ends every subscription (the server is stopping): their streams end after the changes
    /// already published.
    pub fn close(&self) {
        self.updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// The current state and a receiver of every change after it.
    pub fn subscribe(
        &self,
    ) -> (
        RwLockReadGuard<'_, ServeState>,
        broadcast::Receiver<Arc<Published>>,
    ) {
        let state = self.read();
        let rx = match self.sender() {
            Some(tx) => tx.subscribe(),
            // Closed: a receiver whose stream ends at once.
            None => broadcast::channel(1).1,
        };
        (state, rx)
    }
}

impl Applier {
    /// Starts the thread; `None` (apply inline) when the system refuses a thread.
    fn start(served: Weak<Served>) -> Option<Applier> {
        let (queue, times) = sync_channel::<(u64, Vec<ServeUpdate>)>(APPLY_QUEUE_TIMES);
        let thread = std::thread::Builder::new()
            .name("serve-apply".into())
            .spawn(move || {
                // Ends when the queue's sender is dropped (finish, or the state dropped).
                while let Ok((time, updates)) = times.recv() {
                    let Some(served) = served.upgrade() else {
                        break;
                    };
                    served.apply(time, updates);
                }
            });
        match thread {
            Ok(thread) => Some(Applier { queue, thread }),
            Err(e) => {
                tracing::warn!(error = %e, "serve-apply thread not started: applying inline");
                None
            }
        }
    }
}
