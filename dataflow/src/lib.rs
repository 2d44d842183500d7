//! # tickflow
//!
//! The `tickflow` binary as a library: the command line ([`cli`]), configuration ([`config`]), input/output specs
//! ([`spec`]), the dataflow graph ([`graph`]) and the runtime that runs it on 1..N workers in
//! 1..P processes ([`runtime`]), with the run summary ([`summary`]).
#![deny(missing_docs)]

pub mod cli;
pub mod config;
pub mod config_cmd;
pub mod dlq_cmd;
pub mod generate_cmd;
pub mod generate_kafka;
pub mod graph;
pub mod health;
pub mod http;
pub mod kafka_io;
pub mod metrics;
pub mod migrate_cmd;
pub mod pg_reference;
pub mod replay_cmd;
pub mod runtime;
pub mod spec;
pub mod summary;
