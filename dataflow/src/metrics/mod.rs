//! Prometheus metrics of SPEC §10: one process-wide registry, rendered as Prometheus text at
//! `/metrics`. Metrics are exempt from determinism (SPEC §10); registering the same name twice
//! is a programming error caught by the tests, so registration happens once, lazily.
//!
//! [`families`] defines every family once; [`Meter`] moves one worker's stage counters into
//! them at batch granularity; [`http::count_requests`] counts HTTP requests. `docs/metrics.md`
//! says where each metric is counted.

pub mod families;
pub mod http;
pub mod meter;

pub use families::{families, Families};
pub use meter::Meter;

use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::LazyLock;

/// The registry every tickflow metric is registered in.
pub fn registry() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
        let registry = Registry::new();
        register_build_info(&registry);
        registry
    });
    &REGISTRY
}

/// `tickflow_build_info{version}`: constant 1, labelled with the crate version.
fn register_build_info(registry: &Registry) {
    let opts = Opts::new(
        "tickflow_build_info",
        "Build information; the value is always 1.",
    );
    if let Ok(gauge) = IntGaugeVec::new(opts, &["version"]) {
        gauge.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        if let Err(e) = registry.register(Box::new(gauge)) {
            tracing::error!(error = %e, "cannot register tickflow_build_info");
        }
    }
}

/// Every registered metric in the Prometheus text exposition format.
pub fn render() -> String {
    families::refresh();
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&registry().gather(), &mut buf) {
        tracing::error!(error = %e, "cannot encode metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}
