//! Event-time windows and OHLC bars (SPEC §3 "Bar", §4): the pure cores, without timely or I/O.
//!
//! - [`assign`]: which window of a [`BarInterval`] a tick belongs to — tumbling and aligned to the
//!   UTC epoch below one day, the market's local operating day for `1d` — with a per-market cache so
//!   the hot path never consults the time-zone database.
//! - [`ohlc`]: [`BarAcc`], the state of one bar, fed by differential tick updates `(tick, ±1)`;
//!   retractions are exact and sums are fixed point, so a bar is a function of its live ticks only
//!   (identical at any worker count and in any update order).
//! - [`bars`]: [`BarBook`], every open bar of one worker: applies tick updates for the configured
//!   intervals, emits changed bars as differential updates, finalizes windows as the watermark
//!   passes and answers whether a tick is too late for every window.
//!
//! ## Lateness in one number
//! SPEC §4 closes a window *for a tick* when `window_end + allowed_lateness_ms <= watermark`. The
//! APIs here take the equivalent **horizon** `watermark − allowed_lateness_ms`: a window is closed
//! for a tick when `window_end <= horizon` ([`horizon`] computes it without overflow; pass
//! `EpochMs::MIN` when nothing is closed yet). A tick updates every window that is open for it and
//! is a `LATE_DATA` dead letter only when every configured window is closed
//! ([`WindowAssigner::closed_for`], [`BarBook::is_too_late`]).
//!
//! Nothing here panics on data: unknown zones fall back to UTC days, arithmetic saturates, and
//! a retraction of a tick the bar never held is ignored and counted ([`BarStats`]).

pub mod assign;
pub mod bars;
mod instrument;
pub mod ohlc;
#[cfg(test)]
mod tests;

pub use crate::model::BarInterval;
pub use assign::{window_of, WindowAssigner};
pub use bars::{BarBook, BarStats};
pub use ohlc::BarAcc;

use crate::model::EpochMs;

/// The lateness horizon of SPEC §4: windows with `window_end <= horizon` are closed for a tick
/// judged against `watermark_ms` with `allowed_lateness_ms` of lateness. Saturates at the ends
/// (`EpochMs::MAX` as the watermark of a finished input closes everything).
pub fn horizon(watermark_ms: EpochMs, allowed_lateness_ms: i64) -> EpochMs {
    if watermark_ms == EpochMs::MAX {
        return EpochMs::MAX;
    }
    watermark_ms.saturating_sub(allowed_lateness_ms.max(0))
}
