//! The records that flow through tickflow (SPEC §3): [`Tick`], [`DeadLetter`], [`Bar`],
//! [`LatestPrice`], [`CurvePoint`], their identities and source positions, reference rows, plus the
//! deterministic ids and the canonical rendering used by every sink.
//!
//! Strings that repeat on every record (tenants, instruments, nodes, runs) are interned [`Sym`]s:
//! cloning one is a reference-count increment, and across processes they travel as plain strings.

mod bar;
mod curve;
mod dead_letter;
mod enrichment;
mod feed;
pub mod ids;
mod latest;
mod market;
mod progress;
mod raw;
pub mod reference;
pub mod render;
mod sym;
mod tick;

pub use bar::{Bar, BarInterval, UnknownInterval, BARS_CSV_HEADER, DAY_MS};
pub use curve::{push_curve_point_json, CurvePoint};
pub use dead_letter::{DeadLetter, ErrorCode, Stage, RAW_EVENT_MAX_BYTES};
pub use enrichment::{ClassificationMethod, Enrichment};
pub use feed::{FeedId, FeedInfo, FeedKind, FeedTable, SourcePos};
pub use latest::{LatestPrice, LATEST_CSV_HEADER};
pub use market::Market;
pub use progress::BatchSummary;
pub use raw::RawDocument;
pub use reference::{ReferenceRow, RowKey, Table};
pub use sym::{ByPtr, Interner, Sym, SymMap};
pub use tick::{
    route_hash, Components, ExtraNumbers, Extras, Horizon, QualityFlag, QualityFlags, Slot, Tick,
    TickIdentity,
};

/// Milliseconds since the Unix epoch, UTC. Every event time in tickflow has this unit.
pub type EpochMs = i64;
