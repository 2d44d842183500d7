//! Feeds and source positions.
//!
//! A *feed* is one input stream whose event time advances on its own (SPEC §4): one input file,
//! one zip member, or one Kafka partition. Feeds are numbered deterministically from the job's
//! configuration (sorted paths, then topics and partitions), so every worker of every process
//! holds the same [`FeedTable`] and a [`SourcePos`] means the same thing everywhere.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Index of a feed in the job's [`FeedTable`].
pub type FeedId = u32;

/// What kind of transport a feed is; decides how a [`SourcePos`] is rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FeedKind {
    /// A file (or a zip member, whose display is `path#member`).
    File,
    /// A Kafka partition; positions render as `{topic}/{partition}@{offset}:{line}`.
    Kafka {
        /// Topic name.
        topic: String,
        /// Partition number.
        partition: i32,
    },
    /// The built-in generator.
    Generator,
}

impl FeedKind {
    /// The transports as metric labels, indexed by [`FeedKind::label_index`].
    pub const LABELS: [&'static str; 3] = ["file", "kafka", "generator"];

    /// Position of this transport's label in [`FeedKind::LABELS`].
    pub fn label_index(&self) -> usize {
        match self {
            FeedKind::File => 0,
            FeedKind::Kafka { .. } => 1,
            FeedKind::Generator => 2,
        }
    }
}

/// One feed: its display name as the user gave it and its kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedInfo {
    /// The feed's id in its table.
    pub id: FeedId,
    /// How the feed is named in `source` fields (the path as given, `path#member`, `topic/partition`).
    pub display: String,
    /// The transport.
    pub kind: FeedKind,
}

/// All feeds of a job, indexed by [`FeedId`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FeedTable {
    feeds: Vec<FeedInfo>,
}

impl FeedTable {
    /// Adds a feed and returns its id. Callers add feeds in a deterministic order.
    pub fn add(&mut self, display: impl Into<String>, kind: FeedKind) -> FeedId {
        let id = self.feeds.len() as FeedId;
        self.feeds.push(FeedInfo {
            id,
            display: display.into(),
            kind,
        });
        id
    }

    /// The feed with this id, if any.
    pub fn get(&self, id: FeedId) -> Option<&FeedInfo> {
        self.feeds.get(id as usize)
    }

    /// All feeds in id order.
    pub fn iter(&self) -> impl Iterator<Item = &FeedInfo> {
        self.feeds.iter()
    }

    /// Number of feeds.
    pub fn len(&self) -> usize {
        self.feeds.len()
    }

    /// True when the table holds no feed.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }

    /// Renders a position as the SPEC §3 `source` string (`path:line`, `path#member:line`,
    /// `path:line[index]`, `topic/partition@offset:line`).
    pub fn render(&self, pos: &SourcePos) -> String {
        let mut out = String::new();
        self.render_into(pos, &mut out);
        out
    }

    /// Appends the rendering of `pos` to `out`.
    pub fn render_into(&self, pos: &SourcePos, out: &mut String) {
        match self.get(pos.feed) {
            Some(feed) => feed.render_into(pos, out),
            None => {
                let _ = write!(out, "feed{}:{}", pos.feed, pos.line);
            }
        }
    }
}

impl FeedInfo {
    /// Appends the rendering of a position of this feed to `out`.
    pub fn render_into(&self, pos: &SourcePos, out: &mut String) {
        match &self.kind {
            FeedKind::Kafka { topic, partition } => {
                let _ = write!(out, "{topic}/{partition}@{}:{}", pos.offset, pos.line);
            }
            FeedKind::File | FeedKind::Generator => {
                let _ = write!(out, "{}:{}", self.display, pos.line);
            }
        }
        if pos.elem > 0 {
            let _ = write!(out, "[{}]", pos.elem - 1);
        }
    }

    /// Renders a position of this feed.
    pub fn render(&self, pos: &SourcePos) -> String {
        let mut out = String::new();
        self.render_into(pos, &mut out);
        out
    }
}

/// Where a record came from. Orders by (feed, offset, line, elem), which is the order of the
/// record's bytes within its feed: the tie-breaker for corrections (SPEC §3).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct SourcePos {
    /// The feed.
    pub feed: FeedId,
    /// Kafka offset of the message; for files the byte offset of the record's first byte.
    pub offset: u64,
    /// 1-based line of the record's first byte within its document.
    pub line: u32,
    /// 1-based element index within a JSON array (0 = not an array element).
    pub elem: u32,
}
