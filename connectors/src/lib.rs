//! # tickflow connectors
//!
//! Sources that frame bytes into documents and records, sinks, reference-data loaders, and the
//! built-in data [`generator`] behind `tickflow generate` and the `generator:` input.
//!
//! Connectors do I/O; the pure parsing and the domain model live in the `operators` crate.
#![deny(missing_docs)]

pub mod generator;
