//! Framed input documents as they travel from sources to the normalize stage.

use super::{EpochMs, FeedId};
use crate::parse::Format;
use std::sync::Arc;

/// An owned, framed input document (one native file or message, or one batch of a record
/// stream) with everything the parsers need to place its records.
#[derive(Clone, Debug)]
pub struct RawDocument {
    /// The feed it belongs to.
    pub feed: FeedId,
    /// 0-based batch number within the feed (position order).
    pub batch: u64,
    /// The bytes.
    pub bytes: Arc<[u8]>,
    /// Kafka offset (0 for files).
    pub offset: u64,
    /// 1-based line of the first byte within the feed.
    pub first_line: u32,
    /// Header line for batches of a simple-CSV feed after the first.
    pub header: Option<Arc<[u8]>>,
    /// File or member name, for format detection.
    pub name: Option<Arc<str>>,
    /// Explicit format hint.
    pub format: Option<Format>,
    /// Wall-clock time the document was read, epoch ms.
    pub ingested_at_ms: EpochMs,
    /// True for the last batch of a bounded feed (a whole document is its feed's only batch):
    /// the feed stops holding the global watermark back once this batch is done (SPEC §4).
    pub last: bool,
    /// An empty marker of a followed feed that has had nothing to say for a while (a quiet Kafka
    /// partition): the feed stops holding the global watermark back until its next batch,
    /// without ending (SPEC §4 idle partitions).
    pub idle: bool,
}
