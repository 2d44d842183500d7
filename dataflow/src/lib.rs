//! # tickflow
//!
//! The `tickflow` binary's library half: configuration ([`config`]) today; graph assembly, runtime
//! and HTTP live beside it.
#![deny(missing_docs)]

pub mod config;
