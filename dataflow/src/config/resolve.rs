//! Reading the effective configuration: settings in force for one feed or market (global values
//! overridden per market, then per source), and the optional paths that are empty when unset.

use super::model::{AggregationConfig, ClusterConfig, NormalizationConfig, PipelineConfig};
use super::Config;
use operators::model::Market;
use std::path::Path;

/// Watermark and lateness settings in force for one feed (SPEC §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedTiming {
    /// Watermark = greatest event time of earlier batches − this.
    pub watermark_delay_ms: u64,
    /// A window is closed for a tick when `window_end + allowed_lateness_ms` ≤ the watermark.
    pub allowed_lateness_ms: u64,
    /// A live feed silent this long stops holding the global watermark back.
    pub idle_timeout_ms: u64,
}

impl AggregationConfig {
    /// Settings for a feed of `market` read from `source` (a Kafka topic or an input path as
    /// given): the source's overrides beat the market's, which beat the global values.
    pub fn timing(&self, market: Market, source: &str) -> FeedTiming {
        let layers = [self.sources.get(source), self.markets.get(market.code())];
        let pick = |global: u64, get: fn(&super::model::TimingOverride) -> Option<u64>| {
            layers
                .iter()
                .flatten()
                .find_map(|o| get(o))
                .unwrap_or(global)
        };
        FeedTiming {
            watermark_delay_ms: pick(self.watermark_delay_ms, |o| o.watermark_delay_ms),
            allowed_lateness_ms: pick(self.allowed_lateness_ms, |o| o.allowed_lateness_ms),
            idle_timeout_ms: pick(self.idle_timeout_ms, |o| o.idle_timeout_ms),
        }
    }
}

impl NormalizationConfig {
    /// `(min_price, max_price)` in $/MWh for `market`: its overrides, else the global bounds.
    pub fn bounds(&self, market: Market) -> (f64, f64) {
        let o = self.markets.get(market.code());
        (
            o.and_then(|b| b.min_price).unwrap_or(self.min_price),
            o.and_then(|b| b.max_price).unwrap_or(self.max_price),
        )
    }
}

fn non_empty(p: &Path) -> Option<&Path> {
    (!p.as_os_str().is_empty()).then_some(p)
}

impl ClusterConfig {
    /// The hostfile, when one is set.
    pub fn hostfile(&self) -> Option<&Path> {
        non_empty(&self.hostfile)
    }
}

impl PipelineConfig {
    /// The state directory, when checkpoints are on.
    pub fn state_dir(&self) -> Option<&Path> {
        non_empty(&self.state_dir)
    }
}

impl Config {
    /// The effective configuration as TOML, every secret masked (`***`, passwords inside
    /// connection strings too): the output of `tickflow config print`.
    pub fn print_masked(&self) -> String {
        match toml::to_string(self) {
            Ok(s) => s,
            Err(e) => format!("# cannot render the configuration: {e}\n"),
        }
    }
}
