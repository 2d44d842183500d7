//! The Kafka connector (SPEC §2.4): input partitions as feeds, out topics as a sink.
//!
//! - [`config`]: client settings from the `[kafka]` section (security passes through).
//! - [`plan`]: input topics → one feed per partition, dealt deterministically to all workers.
//! - [`partition`] and [`source`]: the reader (positions, bounded and follow modes, idle
//!   partitions, consumer lag, commits).
//! - [`commit`]: committing the positions found safe at the end of a run; [`committer`]:
//!   committing them periodically while it runs, from a background thread; [`resume`]: the
//!   watermark and judged end committed with them, read back by a restart.
//! - [`encode`] and [`sink`]: one message per view change, keyed, with id/version/final/diff.
//! - [`mock`]: the test broker (librdkafka's mock cluster), also behind `tickflow-mock-kafka`.

pub mod commit;
pub mod committer;
pub mod config;
pub mod encode;
pub mod mock;
pub mod partition;
pub mod plan;
pub mod resume;
pub mod sink;
pub mod source;

pub use commit::commit_positions;
pub use committer::Committer;
pub use config::{KafkaSettings, KafkaTopics, OffsetReset, Password};
pub use plan::{KafkaPlan, KafkaPlanError, PartitionPlan};
pub use resume::{committed_offsets, read_marks, Marks, ResumeMark};
pub use sink::KafkaSink;
pub use source::{CommitError, KafkaReadOptions, KafkaReader, PartitionLag};
