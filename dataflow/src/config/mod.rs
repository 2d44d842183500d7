//! # Configuration (SPEC §9)
//!
//! One [`Config`] per process, loaded by [`Config::load`] from four layers: the defaults
//! (`defaults.rs`, the only place a default is written) < the `--config` TOML file < `DATA_PROC_*`
//! environment variables < command-line flags ([`FlagOverrides`]). The key table ([`keys::KEYS`])
//! lists every key once with its environment name, kind, unit and description; it drives
//! environment loading, unknown-key detection and `docs/config.md` ([`docs_markdown`]).
//!
//! Failure: loading never stops at the first problem. TOML syntax errors (with line and column),
//! every unknown key, every bad value of the file or of the environment and every failed check are
//! returned together in [`ConfigErrors`]; unknown `DATA_PROC_*` variables are warnings.
//! Secrets ([`Secret`], [`SecretUrl`]) are masked in `Debug`, `Display`, serialization and
//! [`Config::print_masked`].

mod defaults;
mod docs;
mod error;
pub mod keys;
mod load;
mod lookup;
mod model;
mod resolve;
mod secret;
mod types;
mod validate;
mod values;

#[cfg(test)]
mod tests;

pub use docs::docs_markdown;
pub use error::{ConfigError, ConfigErrors, ConfigWarning, Origin};
pub use load::{FlagOverrides, Loaded, ENV_PREFIX};
pub use model::*;
pub use resolve::FeedTiming;
pub use secret::{mask_dsn, Secret, SecretUrl, MASK};
pub use types::{
    BarInterval, Compression, DeployEnv, LogFormat, OffsetReset, ParseOptionError, SaslMechanism,
    SecurityProtocol,
};
