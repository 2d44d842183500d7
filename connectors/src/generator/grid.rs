//! The base walk of every mode: a format's locations × consecutive intervals from local
//! midnight of the start day, walked time-major and priced by `prices`.

use super::localtime::Clock;
use super::nodes::{self, Site};
use super::prices;
use super::rng::hash;
use super::{GenerateSpec, Mode, Observation};
use operators::model::Market;
use operators::parse::Format;
use std::sync::Arc;

/// A format's locations × intervals, walked time-major.
pub(crate) struct Grid {
    pub(crate) format: Format,
    pub(crate) sites: Vec<(Site, Arc<str>)>,
    start_ms: i64,
    pub(crate) step_ms: i64,
    point: bool,
    run: &'static str,
    clock: Clock,
    seed: u64,
    revision: u64,
    trades: bool,
    pub(crate) next: u64,
    pub(crate) len: Option<u64>,
    /// (interval index, local hour) of the last interval priced: every location of an
    /// interval shares it.
    hour: (i64, u32),
}

fn run_of(format: Format) -> &'static str {
    match format {
        Format::PjmRt5 => "RT5",
        Format::PjmDa
        | Format::NyisoDa
        | Format::IsoneDa
        | Format::MisoDa
        | Format::CaisoOasis
        | Format::ErcotDam
        | Format::ErcotApi
        | Format::SppDa => "DA",
        _ => "RT",
    }
}

fn step_ms(format: Format, mode: Mode) -> i64 {
    match format {
        Format::PjmRt5 | Format::NyisoRt | Format::NyisoOasis | Format::SppRtbm => 300_000,
        Format::ErcotRt => 900_000,
        Format::SimpleCsv if matches!(mode, Mode::HighVolume | Mode::Continuous) => 50,
        Format::SimpleCsv => 1_000,
        _ => 3_600_000,
    }
}

/// A few prominent locations for the non-historical modes; the most `historical` may use.
fn node_counts(format: Format) -> (usize, usize) {
    match format {
        Format::PjmRt5 => (4, 5),
        Format::ErcotApi => (2, 64),
        Format::ErcotRt => (6, 64),
        Format::SppRtbm => (3, 10),
        Format::SppDa => (6, 10),
        Format::CaisoOasis => (4, 64),
        Format::SimpleCsv => (8, 8),
        Format::Envelope => (2, 2),
        _ => (5, 64),
    }
}

impl Grid {
    pub(crate) fn new(
        format: Format,
        spec: &GenerateSpec,
        nodes: Option<usize>,
        seed: u64,
    ) -> Grid {
        let start = spec.start_date();
        let all = nodes::sites(format, start);
        let (few, most) = node_counts(format);
        let want = match (nodes, spec.mode) {
            (Some(n), _) => n,
            (None, Mode::Historical) => most,
            (None, _) => few,
        };
        let take = want.clamp(1, all.len().max(1));
        let sites = all
            .into_iter()
            .take(take)
            .map(|s| {
                let node: Arc<str> = if format == Format::ErcotRt && !s.kind.is_empty() {
                    Arc::from(format!("{}/{}", s.name, s.kind))
                } else {
                    Arc::from(s.name)
                };
                (s, node)
            })
            .collect();
        let market = format.market().unwrap_or(Market::Other);
        let clock = Clock::of(market);
        let start_ms = clock.midnight(start);
        Grid {
            format,
            sites,
            start_ms,
            step_ms: step_ms(format, spec.mode),
            point: format == Format::SimpleCsv,
            run: run_of(format),
            clock,
            seed,
            // PJM `version_nbr` and NYISO OASIS price versions start at 1.
            revision: u64::from(matches!(
                format,
                Format::PjmDa | Format::PjmRt | Format::PjmRt5 | Format::NyisoOasis
            )),
            trades: format == Format::SimpleCsv
                && matches!(spec.mode, Mode::HighVolume | Mode::Continuous),
            next: 0,
            len: None,
            hour: (i64::MIN, 0),
        }
    }

    pub(crate) fn width(&self) -> i64 {
        self.sites.len().max(1) as i64
    }

    /// Positions covering whole operating days from the start through `spec.end_date()`.
    pub(crate) fn days_len(&self, spec: &GenerateSpec) -> u64 {
        let end = self.clock.midnight(spec.end_date().next_day());
        let intervals = ((end - self.start_ms) / self.step_ms).max(0) as u64;
        intervals * self.width() as u64
    }

    pub(crate) fn exhausted(&self) -> bool {
        self.len.is_some_and(|l| self.next >= l)
    }

    pub(crate) fn draw(&mut self) -> Observation {
        let pos = self.next as i64;
        self.next += 1;
        self.at(pos)
    }

    pub(crate) fn at(&mut self, pos: i64) -> Observation {
        let i = pos.div_euclid(self.width());
        let (site, node) = match self.sites.get(pos.rem_euclid(self.width()) as usize) {
            Some((s, n)) => (*s, n.clone()),
            None => (nodes::mixed()[0], Arc::from(nodes::mixed()[0].name)),
        };
        let start = self.start_ms + i * self.step_ms;
        if self.hour.0 != i {
            self.hour = (i, self.clock.local(start).dt.hour);
        }
        let hour = self.hour.1;
        let (price, components) = prices::price(self.seed, self.format, &site, start, hour);
        let simple = self.format == Format::SimpleCsv;
        Observation {
            format: self.format,
            market: if simple {
                site.market
            } else {
                self.format.market().unwrap_or(site.market)
            },
            run: self.run,
            site,
            node,
            interval_start_ms: start,
            interval_end_ms: if self.point {
                start
            } else {
                start + self.step_ms
            },
            price,
            components,
            revision: self.revision,
            current: true,
            volume: simple.then(|| (hash(self.seed, &[pos as u64, 21]) % 4990 + 10) as f64 / 10.0),
            trade_id: self.trades.then(|| Arc::from(format!("T{pos:010}"))),
        }
    }

    /// True when the row's local stamp is ambiguous and only its order tells the occurrences
    /// apart (NYISO publishes no offset).
    pub(crate) fn fragile(&mut self, o: &Observation) -> bool {
        let stamp = match o.format {
            Format::NyisoDa => o.interval_start_ms,
            Format::NyisoRt | Format::NyisoOasis => o.interval_end_ms,
            _ => return false,
        };
        let local = self.clock.local(stamp);
        local.fold == operators::time::Fold::Second || self.clock.zone().is_ambiguous(local.dt)
    }
}
