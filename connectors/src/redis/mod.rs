//! The Redis projection (SPEC §6): served latest prices, last bars and curve snapshots, each
//! change published on `projection.updates`, values never replaced by older data (enforced
//! inside Redis by Lua scripts comparing versions).
//!
//! Split by role: [`config`], [`keys`] (key names, values and versions: pure), [`script`] (the
//! Lua), and [`RedisSink`]. A Redis that is down → `Unavailable` (the runtime retries; the sink
//! reconnects and re-sends); a refusal → `Fatal`.

pub mod config;
pub mod keys;
pub mod script;
mod sink;

pub use config::{RedisConfig, DEFAULT_SHIP_INTERVAL_MS};
pub use sink::RedisSink;

#[cfg(test)]
mod tests;
