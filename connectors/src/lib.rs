//! # tickflow connectors
//!
//! Sources frame bytes into [`operators::model::RawDocument`]s and report resumable positions;
//! sinks take the pipeline's updates and report when they are durable. One folder per connector,
//! split by role; [`source::SourceReader`] and [`sink::Sink`] are the only two contracts. The
//! data [`generator`] behind `tickflow generate`, the `generator:` input and the bundled samples
//! lives here too, and so does the reference-data loader ([`mod@reference`]).
#![deny(missing_docs)]

pub mod chain;
pub mod clickhouse;
pub mod dir;
pub mod file;
pub mod generator;
pub mod kafka;
pub mod netting;
pub mod null;
pub mod offload;
pub mod postgres;
pub mod redis;
pub mod reference;
pub mod sink;
pub mod source;
pub mod stdout;
#[cfg(test)]
mod test_records;
