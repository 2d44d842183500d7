//! The ClickHouse sink and schema (SPEC §6): database `data_processing` with `market_ticks`,
//! `ohlc_bars`, `latest_prices`, `curve_points` and `dead_letters`, ReplacingMergeTree tables
//! keyed by record identity so that re-delivery is idempotent and
//! `SELECT … FINAL WHERE NOT deleted` equals the `dir:` output.
//!
//! Split by role: [`config`] (what to reach), [`ddl`] (the schema as text, per server
//! generation), [`encode`] (rows and their versions), [`rowbinary`] (the insert format),
//! [`client`] (HTTP), [`lookup`] (stored curve versions), [`migrate()`] and [`ClickhouseSink`]
//! (with its insert buffer and I/O thread, `buffer`).
//! Server unreachable → `Unavailable` (retry), server refusal → `Fatal`.

mod buffer;
pub mod client;
pub mod config;
pub mod ddl;
pub mod encode;
pub mod lookup;
mod migrate;
pub mod rowbinary;
mod sink;

pub use client::{ClickhouseError, Client};
pub use config::ClickhouseConfig;
pub use migrate::{migrate, MigrateReport};
pub use sink::ClickhouseSink;

#[cfg(test)]
mod tests;
