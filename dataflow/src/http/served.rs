//! [`Served`]: the serving state of one process, shared between the serving worker (writer)
//! and the HTTP server (readers), with a broadcast of every applied change for subscribers.
//!
//! The writer applies one complete timely time under the write lock and publishes its changes
//! while still holding it; a subscriber takes its snapshot and its receiver under one read
//! lock, so it sees every change after its snapshot exactly once, in order. The broadcast
//! channel is bounded (`capacity` batches): a subscriber that falls that far behind loses its
//! place (`Lagged`) and is cut off rather than growing memory. A poisoned lock (a panic while
//! held, which the code does not do) is recovered, never propagated.

use super::state::{Change, ServeState, ServeUpdate};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::broadcast;

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
}

/// Default number of published batches a subscriber may fall behind before it is cut off.
pub const DEFAULT_CHANNEL_BATCHES: usize = 1024;

impl Served {
    /// An empty state (see [`ServeState::new`]) whose subscribers may lag `capacity` batches.
    pub fn new(history_ms: u64, latest_history: usize, capacity: usize) -> Arc<Served> {
        let (updates, _) = broadcast::channel(capacity.max(1));
        Arc::new(Served {
            state: RwLock::new(ServeState::new(history_ms, latest_history)),
            updates: Mutex::new(Some(updates)),
        })
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

    /// Marks the state final (the dataflow ended).
    pub fn finish(&self) {
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
