//! The dataflow graph of one worker: sources → normalize → dedupe/correct → sinks, with the
//! error stream of every stage meeting the dead-letter outputs, and a completion stream that
//! gathers every worker's report on worker 0, which then finalizes `dir:` outputs. Live
//! reference changes are polled on worker 0 and broadcast to normalize and the forward curves.

mod commit;
mod finalize;
mod periodic;
mod reference;
mod retry;
mod serve;
mod source;
mod write;

pub use write::StatsHandles;

pub use commit::{track_accepted, track_marks, CommitTracker, SharedTracker};
pub use finalize::Finalize;
pub use periodic::{commit_flushed, PeriodicCommit, SharedCommitter};
pub use reference::live_reference;
pub use retry::{backoff_ms, retries_total, with_retry, FlushPolicy};
pub use serve::{serve_views, ServeLayout};
pub use source::{read_documents, SourceProgress};
pub use write::{write_sinks, SinkInputs, WriteStreams};
