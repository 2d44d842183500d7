//! The `null` sink: counts updates and drops them (benchmarks, dry runs).

use crate::sink::{Sink, SinkError, Update};

/// Counts and drops.
#[derive(Debug, Default)]
pub struct NullSink {
    ticks: u64,
    bars: u64,
    latest: u64,
    curves: u64,
    dead_letters: u64,
}

impl Sink for NullSink {
    fn kind(&self) -> &'static str {
        "null"
    }
    fn durable_on_flush(&self) -> bool {
        true // nothing to keep
    }
    fn write(&mut self, _time: u64, update: Update<'_>) -> Result<(), SinkError> {
        match update {
            Update::Tick(..) => self.ticks += 1,
            Update::Bar(..) => self.bars += 1,
            Update::Latest(..) => self.latest += 1,
            Update::Curve(..) => self.curves += 1,
            Update::DeadLetter(_) => self.dead_letters += 1,
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("ticks", self.ticks),
            ("bars", self.bars),
            ("latest", self.latest),
            ("curves", self.curves),
            ("dead_letters", self.dead_letters),
        ]
    }
}
