//! Driving sinks that talk to servers: when to flush, and retrying an unavailable sink with
//! capped exponential backoff (SPEC §11: a sink that is down makes the job wait — the worker
//! blocks here, which backpressures its sources — and never drops data).

use connectors::sink::{Sink, SinkError};
use std::time::{Duration, Instant};

/// First wait after a failure; doubles up to the cap.
const FIRST_BACKOFF_MS: u64 = 50;

/// How sinks are flushed and retried.
#[derive(Clone, Copy, Debug)]
pub struct FlushPolicy {
    /// Flush at least this often while the frontier advances.
    pub flush_interval_ms: u64,
    /// Cap of the backoff between attempts of an unavailable sink.
    pub retry_max_backoff_ms: u64,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy {
            flush_interval_ms: 1_000,
            retry_max_backoff_ms: 30_000,
        }
    }
}

/// The waits between attempts: 50 ms, 100 ms, … capped at `max_ms`.
pub fn backoff_ms(attempt: u32, max_ms: u64) -> u64 {
    FIRST_BACKOFF_MS
        .saturating_mul(1u64 << attempt.min(32))
        .min(max_ms.max(1))
}

/// Runs `op` on `sink` until it succeeds or fails for good: `Unavailable` is retried after a
/// capped exponential backoff (each attempt logged), `Fatal` is returned as the error text.
pub fn with_retry(
    sink: &mut dyn Sink,
    what: &str,
    max_backoff_ms: u64,
    mut op: impl FnMut(&mut dyn Sink) -> Result<(), SinkError>,
) -> Result<(), String> {
    let mut attempt = 0u32;
    let started = Instant::now();
    loop {
        match op(sink) {
            Ok(()) => {
                if attempt > 0 {
                    tracing::info!(
                        sink = sink.kind(),
                        attempts = attempt + 1,
                        waited_ms = started.elapsed().as_millis() as u64,
                        "sink available again"
                    );
                }
                return Ok(());
            }
            Err(SinkError::Unavailable(e)) => {
                let wait = backoff_ms(attempt, max_backoff_ms);
                tracing::warn!(sink = sink.kind(), op = what, attempt, backoff_ms = wait, error = %e, "sink unavailable, retrying");
                std::thread::sleep(Duration::from_millis(wait));
                attempt = attempt.saturating_add(1);
            }
            Err(e @ SinkError::Fatal(_)) => return Err(format!("{}: {e}", sink.kind())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap() {
        let waits: Vec<u64> = (0..8).map(|a| backoff_ms(a, 1_000)).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff_ms(200, 30_000), 30_000);
    }
}
