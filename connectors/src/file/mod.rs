//! The `file:` and `dir:` sources.
//!
//! Planning ([`plan`]) lists the input files (a `dir:` in sorted name order, hidden files
//! skipped), splits zip archives into one feed per member (`path#member`) and detects each file's
//! format from its first 64 KiB. Native documents are read whole by one worker each (balanced by
//! size); record streams (simple CSV, envelopes) are cut into batches of `batch_max_bytes` at the
//! first record boundary after each multiple, and the batches are dealt round-robin to all workers
//! so that every worker advances through event time together ([`reader`]).

pub mod plan;
pub mod reader;

pub use plan::{plan_inputs, FeedPlan, FileInput, InputPlan, PlanError, ReadMode};
pub use reader::FileReader;
