//! NYISO zonal LBMP: MIS `damlbmp_zone` (hour-beginning `MM/DD/YYYY HH:MM`, unquoted), MIS
//! `realtime_zone` (interval-ending `MM/DD/YYYY HH:MM:SS`, header and strings quoted) and the
//! OASIS export (`"RTD End Time Stamp"`, `YYYY/MM/DD HH:MM:SS`, every field quoted).
//!
//! Stamps are Eastern prevailing time with no offset column: on the fall-back day the repeated
//! hour's stamps simply appear twice, EDT first. NYISO publishes congestion with the inverted
//! sign (LBMP = energy + losses − congestion), so the stored congestion is negated on the way out.

use super::{fixed, hm, hms, mdy, Breakage, Cell, Observation, Quote, Roles, RowFormat, Style};
use crate::generator::localtime::{spring_forward, Clock};
use operators::model::Market;
use operators::parse::Format;
use operators::time::LocalDateTime;

pub(crate) struct Nyiso {
    format: Format,
    clock: Clock,
}

impl Nyiso {
    pub(crate) fn new(format: Format) -> Nyiso {
        Nyiso {
            format,
            clock: Clock::of(Market::Nyiso),
        }
    }

    fn stamp(&self, t: LocalDateTime) -> String {
        match self.format {
            Format::NyisoDa => format!("{} {}", mdy(t.date), hm(t)),
            Format::NyisoOasis => format!(
                "{:04}/{:02}/{:02} {}",
                t.date.year,
                t.date.month,
                t.date.day,
                hms(t)
            ),
            _ => format!("{} {}", mdy(t.date), hms(t)),
        }
    }
}

impl RowFormat for Nyiso {
    fn style(&self) -> Style {
        Style {
            quote: match self.format {
                Format::NyisoDa => Quote::Never,
                Format::NyisoRt => Quote::Strings,
                _ => Quote::All,
            },
            crlf: false,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        if self.format == Format::NyisoOasis {
            vec![
                "RTD End Time Stamp",
                "Zone Name",
                "Zone PTID",
                "RTD Zonal LBMP",
                "RTD Zonal Losses",
                "RTD Zonal Congestion",
                "RTD Zonal Price Version",
            ]
        } else {
            vec![
                "Time Stamp",
                "Name",
                "PTID",
                "LBMP ($/MWHr)",
                "Marginal Cost Losses ($/MWHr)",
                "Marginal Cost Congestion ($/MWHr)",
            ]
        }
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let at = if self.format == Format::NyisoDa {
            o.interval_start_ms
        } else {
            o.interval_end_ms
        };
        let local = self.clock.local(at).dt;
        let c = o.components;
        out.extend([
            Cell::Str(self.stamp(local)),
            Cell::Str(o.site.name.to_string()),
            Cell::Num(o.site.id.to_string()),
            Cell::Num(fixed(o.price, 2)),
            Cell::Num(fixed(c.loss.unwrap_or(0.0), 2)),
            Cell::Num(fixed(-c.congestion.unwrap_or(0.0), 2)),
        ]);
        if self.format == Format::NyisoOasis {
            out.push(Cell::Num(o.revision.to_string()));
        }
    }

    fn roles(&self) -> Roles {
        Roles {
            price: 3,
            nodes: vec![1],
        }
    }

    fn break_time(&mut self, kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        let mut t = self.clock.local(o.interval_end_ms).dt;
        let text = if kind == Breakage::NonExistentTime {
            t.date = spring_forward(t.date.year);
            // Hour-beginning DA stamps sit on the hour; RT stamps inside the gap.
            t.hour = 2;
            t.minute = if self.format == Format::NyisoDa {
                0
            } else {
                30
            };
            t.second = 0;
            self.stamp(t)
        } else {
            // February 30th, in the format's own spelling.
            let s = self.stamp(t);
            match self.format {
                Format::NyisoOasis => {
                    format!("{:04}/02/30{}", t.date.year, s.get(10..).unwrap_or(""))
                }
                _ => format!("02/30{}", s.get(5..).unwrap_or("")),
            }
        };
        if let Some(c) = cells.get_mut(0) {
            *c = Cell::Str(text);
        }
    }
}
