//! ERCOT MIS CSV: `NP6-905-CD` real-time settlement point prices (`DeliveryDate`,
//! `DeliveryHour` 1..24 hour ending, `DeliveryInterval` 1..4, name and type) and `NP4-190-CD`
//! day-ahead prices (`HourEnding` `01:00`..`24:00`). Central prevailing time; `DSTFlag` `Y` marks
//! the second occurrence of the repeated fall-back hour. Prices have up to 2 decimals, trailing
//! zeros dropped.

use super::{mdy, trimmed, Breakage, Cell, Observation, Quote, Roles, RowFormat, Style};
use crate::generator::localtime::{spring_forward, Clock};
use operators::model::Market;
use operators::parse::Format;

pub(crate) struct ErcotCsv {
    format: Format,
    clock: Clock,
}

impl ErcotCsv {
    pub(crate) fn new(format: Format) -> ErcotCsv {
        ErcotCsv {
            format,
            clock: Clock::of(Market::Ercot),
        }
    }

    fn rt(&self) -> bool {
        self.format == Format::ErcotRt
    }
}

impl RowFormat for ErcotCsv {
    fn style(&self) -> Style {
        Style {
            quote: Quote::Never,
            crlf: false,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        if self.rt() {
            vec![
                "DeliveryDate",
                "DeliveryHour",
                "DeliveryInterval",
                "SettlementPointName",
                "SettlementPointType",
                "SettlementPointPrice",
                "DSTFlag",
            ]
        } else {
            vec![
                "DeliveryDate",
                "HourEnding",
                "SettlementPoint",
                "SettlementPointPrice",
                "DSTFlag",
            ]
        }
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let he = self.clock.hour_ending(o.interval_start_ms);
        let dst = Cell::Str(if he.repeated { "Y" } else { "N" }.to_string());
        let price = Cell::Num(trimmed(o.price, 2));
        if self.rt() {
            out.extend([
                Cell::Str(mdy(he.date)),
                Cell::Num(he.he.to_string()),
                Cell::Num(he.quarter.to_string()),
                Cell::Str(o.site.name.to_string()),
                Cell::Str(o.site.kind.to_string()),
                price,
                dst,
            ]);
        } else {
            out.extend([
                Cell::Str(mdy(he.date)),
                Cell::Str(format!("{:02}:00", he.he)),
                Cell::Str(o.site.name.to_string()),
                price,
                dst,
            ]);
        }
    }

    fn roles(&self) -> Roles {
        if self.rt() {
            Roles {
                price: 5,
                nodes: vec![3],
            }
        } else {
            Roles {
                price: 3,
                nodes: vec![2],
            }
        }
    }

    fn break_time(&mut self, kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        let he = self.clock.hour_ending(o.interval_start_ms);
        if kind == Breakage::NonExistentTime {
            // Hour ending 02 of the spring-forward day does not exist.
            if let Some(c) = cells.get_mut(0) {
                *c = Cell::Str(mdy(spring_forward(he.date.year)));
            }
            if let Some(c) = cells.get_mut(1) {
                *c = if self.rt() {
                    Cell::Num("2".into())
                } else {
                    Cell::Str("02:00".into())
                };
            }
            if let Some(c) = cells.last_mut() {
                *c = Cell::Str("N".into());
            }
        } else if let Some(c) = cells.get_mut(0) {
            *c = Cell::Str(format!("02/30/{:04}", he.date.year));
        }
    }
}
