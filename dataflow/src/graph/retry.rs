//! Driving sinks that talk to servers: when to flush, and retrying an unavailable sink with
//! capped exponential backoff (SPEC §11: a sink that is down makes the job wait — the worker
//! blocks here, which backpressures its sources — and never drops data).

use connectors::sink::{Sink, SinkError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static RETRIES: AtomicU64 = AtomicU64::new(0);

/// Attempts of unavailable sinks retried in this process so far (every sink, every worker).
pub fn retries_total() -> u64 {
    RETRIES.load(Ordering::Relaxed)
}

/// Counts and reports a failure of sink `kind` for good; returns the error text of the report.
pub fn sink_failed(kind: &str, e: &SinkError) -> String {
    crate::metrics::families::sink_error(kind);
    let text = format!("{kind}: {e}");
    crate::health::down(&format!("sink:{kind}"), &text);
    text
}

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
                    crate::health::up(&format!("sink:{}", sink.kind()));
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
                RETRIES.fetch_add(1, Ordering::Relaxed);
                crate::metrics::families::sink_error(sink.kind());
                crate::health::down(&format!("sink:{}", sink.kind()), &e);
                let wait = backoff_ms(attempt, max_backoff_ms);
                tracing::warn!(sink = sink.kind(), op = what, attempt, backoff_ms = wait, error = %e, "sink unavailable, retrying");
                std::thread::sleep(Duration::from_millis(wait));
                attempt = attempt.saturating_add(1);
            }
            Err(e @ SinkError::Fatal(_)) => return Err(sink_failed(sink.kind(), &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unavailable for its first `down` flushes.
    struct Flaky {
        down: u32,
        flushes: u32,
    }

    impl Sink for Flaky {
        fn kind(&self) -> &'static str {
            "flaky"
        }
        fn write(&mut self, _: u64, _: connectors::sink::Update<'_>) -> Result<(), SinkError> {
            Ok(())
        }
        fn flush(&mut self) -> Result<(), SinkError> {
            self.flushes += 1;
            if self.flushes <= self.down {
                Err(SinkError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        }
        fn finish(&mut self) -> Result<(), SinkError> {
            Err(SinkError::Fatal("broken".into()))
        }
        fn counts(&self) -> Vec<(&'static str, u64)> {
            Vec::new()
        }
    }

    #[test]
    fn unavailable_is_retried_until_it_succeeds_and_fatal_is_returned() {
        let mut s = Flaky {
            down: 3,
            flushes: 0,
        };
        let before = retries_total();
        assert_eq!(with_retry(&mut s, "flush", 1, |s| s.flush()), Ok(()));
        assert_eq!(s.flushes, 4);
        assert!(retries_total() >= before + 3);
        let err = with_retry(&mut s, "finish", 1, |s| s.finish()).unwrap_err();
        assert!(err.contains("flaky") && err.contains("broken"), "{err}");
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let waits: Vec<u64> = (0..8).map(|a| backoff_ms(a, 1_000)).collect();
        assert_eq!(waits, [50, 100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(backoff_ms(200, 30_000), 30_000);
    }
}
