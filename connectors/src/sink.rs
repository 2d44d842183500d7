//! The sink contract.
//!
//! Each worker owns one instance of every configured sink and hands it the updates of the views
//! it maintains (its share, routed by instrument). A sink makes what it has been given durable on
//! [`Sink::flush`]; only then may the positions of the inputs they derive from be committed
//! (SPEC §11). Record-level rejections are dead letters; a sink that cannot reach its server
//! returns [`SinkError::Unavailable`] and the runtime retries with capped backoff.

use operators::model::{Bar, CurvePoint, DeadLetter, LatestPrice, Tick};

/// One update of a maintained view.
#[derive(Clone, Copy, Debug)]
pub enum Update<'a> {
    /// A tick entering (+1) or leaving (−1) the `ticks` view.
    Tick(&'a Tick, i64),
    /// A bar entering or leaving the `bars` view (a changed bar: `−1` old, `+1` new).
    Bar(&'a Bar, i64),
    /// A latest-price row entering or leaving the `latest` view.
    Latest(&'a LatestPrice, i64),
    /// A curve point entering or leaving the `curves` view.
    Curve(&'a CurvePoint, i64),
    /// A dead letter (never retracted).
    DeadLetter(&'a DeadLetter),
}

/// Why a sink failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Temporarily unavailable: retry later.
    #[error("sink unavailable: {0}")]
    Unavailable(String),
    /// A permanent failure (bad path, permission denied, …).
    #[error("sink failed: {0}")]
    Fatal(String),
}

impl From<std::io::Error> for SinkError {
    fn from(e: std::io::Error) -> Self {
        SinkError::Fatal(e.to_string())
    }
}

/// A per-worker sink.
pub trait Sink {
    /// The metric label of the sink (`dir`, `stdout`, `null`, …).
    fn kind(&self) -> &'static str;
    /// Accepts one update produced at timely time `time`.
    fn write(&mut self, time: u64, update: Update<'_>) -> Result<(), SinkError>;
    /// Makes everything written so far durable.
    fn flush(&mut self) -> Result<(), SinkError>;
    /// Whether a successful [`Sink::flush`] (after [`Sink::complete_before`]) really leaves
    /// every update of the completed times durable at its destination, so input positions may
    /// be committed while the job runs. Default `false`: sinks that write at `finish()` (`dir:`)
    /// or to a stream nobody can re-read (`stdout`) allow commits only at the end of a run.
    fn durable_on_flush(&self) -> bool {
        false
    }
    /// Hands what is ready (live rows, retractions of complete times) to the server without
    /// waiting for it to be durable — for sinks whose server I/O runs on their own thread, so
    /// that served values become visible between flushes. The runtime calls it whenever the
    /// inputs' frontier advances (after [`Sink::complete_before`]); an error is handled like a
    /// flush's. Default: nothing (the sink writes at `flush`).
    fn ship(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    /// Starts a flush without waiting for it: hands everything [`Sink::flush`] would make
    /// durable to the server; [`Sink::flush_done`] tells when it is. For sinks whose server
    /// I/O runs on their own thread, so a slow server does not stop the worker (and the sinks
    /// after it). Default: [`Sink::flush`] (done when it returns).
    fn flush_start(&mut self) -> Result<(), SinkError> {
        self.flush()
    }
    /// Whether everything the last [`Sink::flush_start`] handed over is durable now (never
    /// waits). An error is handled like a flush's (an `Unavailable` sink is then flushed with
    /// retries). Default: `true`.
    fn flush_done(&mut self) -> Result<bool, SinkError> {
        Ok(true)
    }
    /// Every update at a time before `frontier` has been written: those times are complete, so a
    /// retraction seen at one of them that no `+1` of the same key followed is final. The runtime
    /// calls this when its inputs' frontier advances. Default: nothing (sinks that write every
    /// update as it comes need not know).
    fn complete_before(&mut self, _frontier: u64) {}
    /// End of input: writes whatever is held and closes.
    fn finish(&mut self) -> Result<(), SinkError>;
    /// Updates written so far, per view stem.
    fn counts(&self) -> Vec<(&'static str, u64)>;
}
