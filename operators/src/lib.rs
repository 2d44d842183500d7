//! # tickflow operators
//!
//! The domain model ([`model`]), the per-market parsers as pure functions ([`parse`]), time-zone
//! arithmetic for published market stamps ([`time`]), the pure cores of bars ([`window`]) and
//! latest prices ([`latest`]) and the dataflow operators of the tickflow pipeline. This crate
//! performs no I/O: connectors frame bytes into [`parse::Document`]s and the `tickflow` binary
//! wires sources, operators and sinks together.
//!
//! Errors are data: every fallible stage produces ticks *and* [`model::DeadLetter`]s, never a panic.
#![deny(missing_docs)]

mod chunked;
pub mod curves;
pub mod dedupe;
pub mod enrich;
pub mod exchange;
#[cfg(test)]
mod fixtures;
pub mod lateness;
pub mod latest;
pub mod model;
pub mod normalize;
pub mod parse;
pub mod slots;
#[cfg(test)]
pub(crate) mod testkit;
pub mod time;
pub mod views;
pub mod window;
