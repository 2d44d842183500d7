//! The `stdout` sink: every update as one JSON line, `view` and `diff` added, as it happens.

use crate::sink::{Sink, SinkError, Update};
use operators::model::{render, FeedTable};
use std::io::Write;
use std::sync::Arc;

/// Writes updates to standard output (locked per batch of lines).
pub struct StdoutSink {
    feeds: Arc<FeedTable>,
    buf: String,
    ticks: u64,
    views: u64,
    dead_letters: u64,
}

impl StdoutSink {
    /// A sink rendering `source` fields with `feeds`.
    pub fn new(feeds: Arc<FeedTable>) -> StdoutSink {
        StdoutSink {
            feeds,
            buf: String::new(),
            ticks: 0,
            views: 0,
            dead_letters: 0,
        }
    }
}

impl Sink for StdoutSink {
    fn kind(&self) -> &'static str {
        "stdout"
    }
    fn write(&mut self, _time: u64, update: Update<'_>) -> Result<(), SinkError> {
        match update {
            Update::Tick(t, diff) => {
                self.ticks += 1;
                self.buf.push_str("{\"view\":\"ticks\",\"diff\":");
                self.buf.push_str(if diff > 0 { "1," } else { "-1," });
                let start = self.buf.len();
                render::push_tick_json(&mut self.buf, t, &self.feeds, true);
                self.buf.remove(start); // drop the tick object's own '{'
            }
            Update::Bar(b, diff) => {
                self.views += 1;
                let mut line = String::new();
                b.push_csv(&mut line);
                push_csv_view(&mut self.buf, "bars", diff, &line);
            }
            Update::Latest(l, diff) => {
                self.views += 1;
                let mut line = String::new();
                l.push_csv(&mut line);
                push_csv_view(&mut self.buf, "latest", diff, &line);
            }
            Update::Curve(p, diff) => {
                self.views += 1;
                self.buf.push_str("{\"view\":\"curves\",\"diff\":");
                self.buf.push_str(if diff > 0 { "1," } else { "-1," });
                let start = self.buf.len();
                operators::model::push_curve_point_json(&mut self.buf, p);
                self.buf.remove(start);
            }
            Update::DeadLetter(d) => {
                self.dead_letters += 1;
                self.buf.push_str("{\"view\":\"dead_letters\",");
                let start = self.buf.len();
                render::push_dead_letter_json(&mut self.buf, d, true);
                self.buf.remove(start);
            }
        }
        self.buf.push('\n');
        if self.buf.len() > 1 << 16 {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        let mut out = std::io::stdout().lock();
        out.write_all(self.buf.as_bytes())?;
        out.flush()?;
        self.buf.clear();
        Ok(())
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.flush()
    }
    fn counts(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("ticks", self.ticks),
            ("bars_latest_curves", self.views),
            ("dead_letters", self.dead_letters),
        ]
    }
}

/// A bar or latest row as `{"view":…,"diff":…,"csv":"<the dir: CSV line>"}`.
fn push_csv_view(buf: &mut String, view: &str, diff: i64, line: &str) {
    buf.push_str("{\"view\":\"");
    buf.push_str(view);
    buf.push_str("\",\"diff\":");
    buf.push_str(if diff > 0 { "1," } else { "-1," });
    buf.push_str("\"csv\":");
    render::push_json_str(buf, line);
    buf.push('}');
}
