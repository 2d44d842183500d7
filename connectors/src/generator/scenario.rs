//! Modes → a deterministic stream of [`Item`]s.
//!
//! The base of every mode is a **grid**: a format's locations × consecutive intervals from local
//! midnight of the start day, walked time-major (all locations of an interval, then the next
//! interval), priced by `prices`. Modes reshape that walk:
//! - `batch`, `high-volume`, `continuous`: the walk itself, over a few locations (`continuous`
//!   without a count never ends);
//! - `historical`: every location for `days` whole operating days (23/25 hours on DST days);
//! - `malformed`: about one item in seven (never among the first 12, which format detection
//!   reads) becomes a broken row, cycling through every breakage the format can carry;
//! - `late`: some items are held back and released 2–10 items later, some are from two or more
//!   days before the stream's current time;
//! - `corrections`: some identities are re-sent 3–20 items later with a new price (and a higher
//!   revision where the format publishes one: PJM `version_nbr`, NYISO OASIS price version,
//!   simple-CSV `revision`; the PJM
//!   row superseded gets `row_is_current=False`), some as exact duplicates.
//!
//! Envelopes interleave several wrapped formats round-robin. NYISO stamps carry no offset, so
//! rows in a fall-back fold are never reordered or re-sent (the parser tells the two
//! occurrences apart by order).

use super::grid::Grid;
use super::prices::{self, Precision};
use super::rng::{hash, Rng};
use super::{Breakage, GenerateError, GenerateSpec, Item, Mode, Observation};
use operators::parse::Format;

/// Formats an envelope stream wraps, in round-robin order.
pub(crate) const ENVELOPE_FORMATS: [Format; 5] = [
    Format::PjmRt,
    Format::ErcotRt,
    Format::SppRtbm,
    Format::IsoneRt,
    Format::SimpleCsv,
];

/// Whether a format publishes a revision number.
fn carries_revision(format: Format) -> bool {
    matches!(
        format,
        Format::PjmDa | Format::PjmRt | Format::PjmRt5 | Format::NyisoOasis | Format::SimpleCsv
    )
}

/// The breakages a format can carry, in the order `malformed` cycles through them.
pub(crate) fn breakages(format: Format) -> &'static [Breakage] {
    use Breakage::*;
    match format {
        Format::MisoDa | Format::MisoRt => &[BadNumber, NotANumber],
        Format::NyisoDa
        | Format::NyisoRt
        | Format::NyisoOasis
        | Format::IsoneDa
        | Format::IsoneRt
        | Format::ErcotRt
        | Format::ErcotDam
        | Format::ErcotApi => &[
            BadNumber,
            NotANumber,
            MissingPrice,
            MissingNode,
            BadDate,
            NonExistentTime,
            WrongFieldCount,
            JunkBytes,
        ],
        Format::Envelope => &[
            BadNumber,
            NotANumber,
            MissingPrice,
            MissingNode,
            BadDate,
            WrongFieldCount,
            JunkBytes,
            ChecksumMismatch,
            UnsupportedEncoding,
        ],
        _ => &[
            BadNumber,
            NotANumber,
            MissingPrice,
            MissingNode,
            BadDate,
            WrongFieldCount,
            JunkBytes,
        ],
    }
}

/// The item stream of a spec (see the module doc).
pub struct Items {
    mode: Mode,
    grids: Vec<Grid>,
    cursor: usize,
    remaining: Option<u64>,
    rng: Rng,
    pending: Vec<(u64, Item)>,
    emitted: u64,
    kinds: &'static [Breakage],
    next_kind: usize,
    orderable: bool,
}

/// Checks that `spec` can be written, then returns its item stream.
pub fn items(spec: &GenerateSpec) -> Result<Items, GenerateError> {
    check(spec)?;
    let formats: Vec<Format> = if spec.format == Format::Envelope {
        ENVELOPE_FORMATS.to_vec()
    } else {
        vec![spec.format]
    };
    let mut grids: Vec<Grid> = formats
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let nodes = if spec.format == Format::Envelope {
                Some(spec.nodes.unwrap_or(2))
            } else {
                spec.nodes
            };
            Grid::new(*f, spec, nodes, hash(spec.seed, &[i as u64, 31, *f as u64]))
        })
        .collect();
    let mut remaining = spec.item_count();
    let miso = matches!(spec.format, Format::MisoDa | Format::MisoRt);
    if miso {
        // Whole node rows: every node has all 24 hour-ending cells.
        if let Some(g) = grids.first_mut() {
            if spec.nodes.is_none() && spec.mode != Mode::Historical {
                let want = remaining.unwrap_or(24).div_ceil(24).max(1) as usize;
                g.sites.truncate(want.min(g.sites.len()));
            }
            let len = 24 * g.width() as u64;
            g.len = Some(len);
            remaining = Some(len);
        }
    } else if spec.mode == Mode::Historical {
        let total: u64 = grids
            .iter_mut()
            .map(|g| {
                let l = g.days_len(spec);
                g.len = Some(l);
                l
            })
            .sum();
        remaining = Some(spec.count.map_or(total, |c| c.min(total)));
    }
    Ok(Items {
        mode: spec.mode,
        grids,
        cursor: 0,
        remaining,
        rng: Rng::new(hash(spec.seed, &[spec.format as u64, spec.mode as u64])),
        pending: Vec::new(),
        emitted: 0,
        kinds: breakages(spec.format),
        next_kind: 0,
        orderable: !matches!(
            spec.format,
            Format::MisoDa | Format::MisoRt | Format::CaisoOasis | Format::ErcotApi
        ),
    })
}

fn check(spec: &GenerateSpec) -> Result<(), GenerateError> {
    let no = |why: &'static str| {
        Err(GenerateError::Unsupported {
            mode: spec.mode,
            format: spec.format,
            why,
        })
    };
    if spec.zip && spec.format != Format::CaisoOasis {
        return Err(GenerateError::BadParam(
            "zip=true is only for caiso-oasis".into(),
        ));
    }
    match (spec.format, spec.mode) {
        (Format::MisoDa | Format::MisoRt, Mode::Late | Mode::Corrections | Mode::Continuous) => {
            no("a MISO report is one wide table per operating day; row order and repeated identities cannot be expressed")
        }
        (Format::MisoDa | Format::MisoRt, Mode::Historical) if spec.days > 1 => {
            no("a MISO report holds one operating day; write to a directory to get one file per day")
        }
        (Format::CaisoOasis, Mode::Corrections) => {
            no("a second row of a component in one OASIS pivot group is a contract violation")
        }
        (Format::CaisoOasis | Format::ErcotApi, Mode::Continuous) => {
            no("the document is written whole (sorted rows, JSON), so it cannot be unbounded")
        }
        _ => Ok(()),
    }
}

impl Items {
    fn draw(&mut self) -> Option<(usize, Observation)> {
        let n = self.grids.len();
        for k in 0..n {
            let gi = (self.cursor + k) % n;
            if let Some(g) = self.grids.get_mut(gi) {
                if !g.exhausted() {
                    self.cursor = (gi + 1) % n;
                    return Some((gi, g.draw()));
                }
            }
        }
        None
    }

    fn emit(&mut self, item: Item) -> Option<Item> {
        self.emitted += 1;
        if let Some(r) = self.remaining.as_mut() {
            *r = r.saturating_sub(1);
        }
        Some(item)
    }

    fn pop_pending(&mut self, only_due: bool) -> Option<Item> {
        let (idx, due) = self
            .pending
            .iter()
            .enumerate()
            .min_by_key(|(i, (due, _))| (*due, *i))
            .map(|(i, (due, _))| (i, *due))?;
        if only_due && due > self.emitted {
            return None;
        }
        Some(self.pending.remove(idx).1)
    }

    fn correction(&mut self, o: &mut Observation) -> Observation {
        let mut c = o.clone();
        let prec = Precision::of(o.format);
        let magnitude = (o.price.abs() * (0.02 + 0.08 * self.rng.f64()) * prec.scale()) as i64;
        let delta = magnitude.max(1) * if self.rng.chance(0.5) { 1 } else { -1 };
        c.price = prices::shift(o.format, o.price, &mut c.components, delta);
        if carries_revision(o.format) {
            c.revision = o.revision + 1;
            o.current = !matches!(o.format, Format::PjmDa | Format::PjmRt | Format::PjmRt5);
        }
        c
    }
}

impl Iterator for Items {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            if self.remaining == Some(0) {
                return None;
            }
            if let Some(item) = self.pop_pending(true) {
                return self.emit(item);
            }
            let room = self.remaining.is_none_or(|r| r > self.pending.len() as u64);
            let drawn = if room { self.draw() } else { None };
            let Some((gi, mut obs)) = drawn else {
                // No more base items: release what is held, then stop.
                return match self.pop_pending(false) {
                    Some(item) => self.emit(item),
                    None => {
                        self.remaining = Some(0);
                        None
                    }
                };
            };
            let fragile = self.grids.get_mut(gi).is_some_and(|g| g.fragile(&obs));
            match self.mode {
                Mode::Malformed if self.emitted >= 12 && self.rng.chance(1.0 / 7.0) => {
                    let kind = self.kinds[self.next_kind % self.kinds.len().max(1)];
                    self.next_kind += 1;
                    return self.emit(Item::Broken(kind, obs));
                }
                Mode::Late => {
                    if self.orderable && !fragile && self.rng.chance(0.12) {
                        let due = self.emitted + self.rng.range(2, 10);
                        self.pending.push((due, Item::Obs(obs)));
                        continue;
                    }
                    if self.rng.chance(0.03) {
                        if let Some(g) = self.grids.get_mut(gi) {
                            let per_day = (86_400_000 / g.step_ms).max(1);
                            let back = per_day * 2 + self.rng.range(0, per_day as u64) as i64;
                            let pos = g.next as i64 - 1 - back * g.width();
                            let old = g.at(pos);
                            if !g.fragile(&old) {
                                self.pending.push((self.emitted + 1, Item::Obs(obs)));
                                return self.emit(Item::Obs(old));
                            }
                        }
                    }
                }
                Mode::Corrections if self.orderable && !fragile => {
                    let r = self.rng.f64();
                    if r < 0.10 {
                        let c = self.correction(&mut obs);
                        let due = self.emitted + self.rng.range(3, 20);
                        self.pending.push((due, Item::Obs(c)));
                    } else if r < 0.15 {
                        let due = self.emitted + self.rng.range(3, 20);
                        self.pending.push((due, Item::Obs(obs.clone())));
                    }
                }
                _ => {}
            }
            return self.emit(Item::Obs(obs));
        }
    }
}
