//! The data generator behind `tickflow generate` (SPEC §8), the `generator:` input and the
//! bundled samples of `tickflow run`.
//!
//! A [`GenerateSpec`] (mode, format, count, days, start, seed, …) yields a deterministic stream
//! of [`Item`]s — observations, and in `malformed` mode deliberately broken rows — which a writer
//! per native format turns into bytes that look exactly like the files the ISOs publish
//! (headers, quoting, line endings, local stamps and DST conventions, see `encode`). Equal specs
//! give byte-identical output on every machine; nothing reads the wall clock.
//!
//! Entry points: [`generate`] writes one document, [`generate_files`] writes one file per
//! document into a directory, [`sample_set`] writes one realistic sample per format, and
//! [`ticks`]/[`items`] expose the observations as an iterator for the `generator:` source.
//!
//! Failure: a mode a format cannot express (corrections inside one CAISO pivot, a MISO wide
//! report spanning days in one document, an unbounded JSON document) is a
//! [`GenerateError::Unsupported`]; write errors are [`GenerateError::Io`]. Nothing panics.

mod encode;
mod grid;
mod localtime;
pub mod nodes;
mod prices;
mod rng;
mod samples;
mod scenario;
mod spec;
#[cfg(test)]
mod tests;

pub use localtime::{fall_back, spring_forward};
pub use samples::{file_name, sample_set};
pub use scenario::{items, Items};
pub use spec::{GenerateError, GenerateSpec, Mode};

use nodes::Site;
use operators::model::{Components, EpochMs, FeedInfo, Market, Tick};
use operators::parse::{Document, Draft, Format, ParseCtx};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One generated price observation: what a parser should read back from the written row.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The native format the observation is written in (for envelopes: the wrapped format).
    pub format: Format,
    /// The market.
    pub market: Market,
    /// The market run (`DA`, `RT`, `RT5`, …).
    pub run: &'static str,
    /// The published location.
    pub site: Site,
    /// The instrument's node (`{SettlementPointName}/{SettlementPointType}` for ERCOT RT).
    pub node: Arc<str>,
    /// Interval start, epoch ms UTC.
    pub interval_start_ms: EpochMs,
    /// Interval end, epoch ms UTC (equal to the start for simple-CSV point ticks).
    pub interval_end_ms: EpochMs,
    /// Total price, $/MWh, exactly as written.
    pub price: f64,
    /// Components as stored by tickflow (`price = energy + congestion + loss (+ ghg)`).
    pub components: Components,
    /// Publisher revision (PJM `version_nbr`, NYISO OASIS price version, simple-CSV `revision`;
    /// 0 where not published).
    pub revision: u64,
    /// False when a later row of the same document supersedes this one (PJM `row_is_current`).
    pub current: bool,
    /// Traded volume (simple CSV only).
    pub volume: Option<f64>,
    /// Trade id (simple CSV `high-volume` only).
    pub trade_id: Option<Arc<str>>,
}

impl Observation {
    /// `{MARKET}.{RUN}.{NODE}`.
    pub fn instrument_id(&self) -> String {
        format!("{}.{}.{}", self.market.code(), self.run, self.node)
    }

    /// The tick a parser makes of this observation, positioned at `line` of `feed` (the
    /// `generator:` source uses one line per observation).
    pub fn to_tick(&self, ctx: &mut ParseCtx, feed: &FeedInfo, line: u32) -> Tick {
        let doc = Document::whole(b"", feed);
        let mut tick = ctx.tick(
            &doc,
            Draft {
                market: self.market,
                run: self.run,
                node: &self.node,
                start_ms: self.interval_start_ms,
                end_ms: self.interval_end_ms,
                price: self.price,
                components: self.components,
                revision: self.revision,
                line,
                elem: 0,
                source_system: "generator",
            },
        );
        tick.volume = self.volume;
        tick.trade_id = self.trade_id.as_deref().map(|t| ctx.interner.intern(t));
        tick
    }
}

/// How a deliberately broken row is broken (`malformed` mode). Each becomes exactly one dead
/// letter per written row (a CAISO pivot group breaks all its rows; a MISO cell is one cell).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Breakage {
    /// The price is not a number (`12.3.4`, `n/a`, `$45.10`).
    BadNumber,
    /// The price is `NaN`, `inf` or overflows.
    NotANumber,
    /// The price is empty (CAISO: the group has no `LMP` row).
    MissingPrice,
    /// The location name is empty.
    MissingNode,
    /// The date does not exist (`02/30`, month 13).
    BadDate,
    /// The local time falls in the spring-forward gap.
    NonExistentTime,
    /// The row has a field too few (envelopes: `raw_payload` is missing).
    WrongFieldCount,
    /// The location name holds bytes that are not UTF-8 (envelopes: the whole line).
    JunkBytes,
    /// Envelope only: `checksum` does not match `raw_payload`.
    ChecksumMismatch,
    /// Envelope only: an `encoding` other than `json` or `csv-line`.
    UnsupportedEncoding,
}

/// One generated item: an observation, or a row broken on purpose.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A valid observation.
    Obs(Observation),
    /// A broken row, rendered from an otherwise valid observation.
    Broken(Breakage, Observation),
}

impl Item {
    /// The observation (for a broken row: the one it was rendered from).
    pub fn observation(&self) -> &Observation {
        match self {
            Item::Obs(o) | Item::Broken(_, o) => o,
        }
    }
}

/// What a [`generate`] call wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Items written (observations and broken rows).
    pub items: u64,
    /// Valid observations written.
    pub observations: u64,
    /// Dead letters a correct parser must produce for the broken rows.
    pub dead_letters: u64,
}

/// Writes one document for `spec` to `out`. `progress` receives the number of items written so
/// far: after every item in `continuous` mode (the output is flushed first, so a caller pacing at
/// `rate` inside `progress` releases rows as it paces), otherwise every 4096 items and at the end.
pub fn generate(
    spec: &GenerateSpec,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> Result<Summary, GenerateError> {
    let items = items(spec)?;
    let mut enc = encode::encoder(spec)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 16, out);
    let streaming = spec.mode == Mode::Continuous;
    let mut summary = Summary::default();
    enc.begin(&mut w)?;
    for item in items {
        if matches!(item, Item::Obs(_)) {
            summary.observations += 1;
        }
        enc.item(&item, &mut w)?;
        summary.items += 1;
        if streaming {
            w.flush()?;
            progress(summary.items);
        } else if summary.items % 4096 == 0 {
            progress(summary.items);
        }
    }
    enc.end(&mut w)?;
    w.flush()?;
    progress(summary.items);
    summary.dead_letters = enc.expected_dead();
    Ok(summary)
}

/// Writes `spec` into `dir` as files named like the ISO's own downloads ([`file_name`]). MISO
/// market reports hold one operating day each, so a multi-day MISO request writes one file per
/// day (each day seeded from `seed` and the day). Returns the paths written.
pub fn generate_files(
    spec: &GenerateSpec,
    dir: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<PathBuf>, GenerateError> {
    std::fs::create_dir_all(dir)?;
    let per_day = matches!(spec.format, Format::MisoDa | Format::MisoRt)
        && spec.mode == Mode::Historical
        && spec.days > 1;
    let mut specs = Vec::new();
    if per_day {
        let mut day = spec.start_date();
        for i in 0..spec.days {
            let mut s = spec.clone();
            s.start = Some(day);
            s.days = 1;
            s.seed = rng::hash(spec.seed, &[u64::from(i)]);
            specs.push(s);
            day = day.next_day();
        }
    } else {
        specs.push(spec.clone());
    }
    let mut paths = Vec::new();
    let mut done = 0;
    for s in specs {
        let path = dir.join(file_name(&s));
        let mut f = std::fs::File::create(&path)?;
        let base = done;
        let summary = generate(&s, &mut f, &mut |n| progress(base + n))?;
        done += summary.items;
        paths.push(path);
    }
    Ok(paths)
}

/// The valid observations of `spec` as an iterator (broken rows of `malformed` mode are left
/// out; use [`items`] to see them). Unbounded for `continuous` without a count.
pub fn ticks(spec: &GenerateSpec) -> Result<impl Iterator<Item = Observation>, GenerateError> {
    Ok(items(spec)?.filter_map(|i| match i {
        Item::Obs(o) => Some(o),
        Item::Broken(..) => None,
    }))
}

/// Paces a stream at a fixed rate: call [`Pacer::wait`] with the number of items released so
/// far and it sleeps until that many are due.
#[derive(Debug)]
pub struct Pacer {
    start: std::time::Instant,
    per_item: std::time::Duration,
}

impl Pacer {
    /// A pacer releasing `rate` items per second (at most one million).
    pub fn new(rate: f64) -> Pacer {
        let rate = if rate.is_finite() {
            rate.clamp(1e-3, 1e6)
        } else {
            1e6
        };
        Pacer {
            start: std::time::Instant::now(),
            per_item: std::time::Duration::from_secs_f64(1.0 / rate),
        }
    }

    /// Sleeps until item `n` is due.
    pub fn wait(&self, n: u64) {
        let due = self
            .per_item
            .saturating_mul(u32::try_from(n).unwrap_or(u32::MAX));
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}
