//! SPP Marketplace settlement-location LMP CSV: RTBM 5-minute and day-ahead hourly.
//!
//! `Interval` is the Central prevailing interval **end** and `GMTIntervalEnd` / ` GMT Interval`
//! the UTC end. Before the April 2026 RTO West expansion the RTBM daily file has a space after
//! every comma of its header (`Interval, GMT Interval, Settlement Location Name, …`) and no BAA;
//! afterwards a `BAA` column appears — last in RTBM files, third in day-ahead files. RTBM stamps
//! are `MM/DD/YYYY HH:MM:SS` with 4 fixed decimals; day-ahead stamps are `M/D/YYYY HH:MM` with
//! trailing zeros dropped. `LMP = MEC + MCC + MLC`.

use super::{fixed, hm, hms, mdy, mdy_short, trimmed};
use super::{Breakage, Cell, Observation, Quote, Roles, RowFormat, Style};
use crate::generator::localtime::{naive, Clock};
use crate::generator::nodes::spp_expansion;
use operators::model::Market;
use operators::parse::Format;
use operators::time::{Date, LocalDateTime};

pub(crate) struct Spp {
    format: Format,
    clock: Clock,
    baa: bool,
}

impl Spp {
    pub(crate) fn new(format: Format, start: Date) -> Spp {
        Spp {
            format,
            clock: Clock::of(Market::Spp),
            baa: start >= spp_expansion(),
        }
    }

    fn rt(&self) -> bool {
        self.format == Format::SppRtbm
    }

    fn stamp(&self, t: LocalDateTime) -> String {
        if self.rt() {
            format!("{} {}", mdy(t.date), hms(t))
        } else {
            format!("{} {}", mdy_short(t.date), hm(t))
        }
    }

    fn num(&self, x: f64) -> String {
        if self.rt() {
            fixed(x, 4)
        } else {
            trimmed(x, 4)
        }
    }
}

impl RowFormat for Spp {
    fn style(&self) -> Style {
        Style {
            quote: Quote::Never,
            crlf: false,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        match (self.rt(), self.baa) {
            (true, false) => vec![
                "Interval",
                " GMT Interval",
                " Settlement Location Name",
                " PNODE Name",
                " LMP",
                " MLC",
                " MCC",
                " MEC",
            ],
            (true, true) => vec![
                "Interval",
                "GMTIntervalEnd",
                "Settlement Location",
                "Pnode",
                "LMP",
                "MLC",
                "MCC",
                "MEC",
                "BAA",
            ],
            (false, true) => vec![
                "Interval",
                "GMTIntervalEnd",
                "BAA",
                "Settlement Location",
                "Pnode",
                "LMP",
                "MLC",
                "MCC",
                "MEC",
            ],
            (false, false) => vec![
                "Interval",
                "GMTIntervalEnd",
                "Settlement Location",
                "Pnode",
                "LMP",
                "MLC",
                "MCC",
                "MEC",
            ],
        }
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let local = self.clock.local(o.interval_end_ms).dt;
        let gmt = naive(o.interval_end_ms);
        let c = o.components;
        for col in self.columns() {
            out.push(match col.trim() {
                "Interval" => Cell::Str(self.stamp(local)),
                "GMT Interval" | "GMTIntervalEnd" => Cell::Str(self.stamp(gmt)),
                "BAA" => Cell::Str(o.site.area.to_string()),
                "Settlement Location" | "Settlement Location Name" => {
                    Cell::Str(o.site.name.to_string())
                }
                "Pnode" | "PNODE Name" => Cell::Str(o.site.pnode.to_string()),
                "LMP" => Cell::Num(self.num(o.price)),
                "MLC" => Cell::Num(self.num(c.loss.unwrap_or(0.0))),
                "MCC" => Cell::Num(self.num(c.congestion.unwrap_or(0.0))),
                _ => Cell::Num(self.num(c.energy.unwrap_or(0.0))),
            });
        }
    }

    fn roles(&self) -> Roles {
        let cols = self.columns();
        let at = |names: &[&str]| cols.iter().position(|c| names.contains(&c.trim()));
        Roles {
            price: at(&["LMP"]).unwrap_or(0),
            nodes: [
                at(&["Settlement Location", "Settlement Location Name"]),
                at(&["Pnode", "PNODE Name"]),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }

    fn break_time(&mut self, _kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        // Times are UTC-keyed, so only an impossible date breaks them.
        for (i, at) in [o.interval_end_ms].into_iter().cycle().take(2).enumerate() {
            let mut t = naive(at);
            t.date.month = 2;
            t.date.day = 30;
            let text = if self.rt() {
                format!("02/30/{:04} {}", t.date.year, hms(t))
            } else {
                format!("2/30/{:04} {}", t.date.year, hm(t))
            };
            if let Some(c) = cells.get_mut(i) {
                *c = Cell::Str(text);
            }
        }
    }
}
