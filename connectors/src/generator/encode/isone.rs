//! ISO-NE ISO Express hourly LMP reports (`WW_DALMP_ISO`, `lmp_rt_final`): `C` comment lines,
//! an `H` header, a second `H` row of data types, quoted `D` rows (`"01"`..`"24"` hour ending,
//! `"02X"` for the repeated fall-back hour; numbers unquoted in Python spelling) and a
//! `"T","N lines"` trailer with no final line break.

use super::{
    compact, mdy, py_repr, Breakage, Cell, GenerateSpec, Observation, Quote, Roles, RowFormat,
    Style,
};
use crate::generator::localtime::{naive, spring_forward, Clock};
use operators::model::Market;
use operators::parse::Format;
use operators::time::Date;

pub(crate) struct Isone {
    format: Format,
    clock: Clock,
    start: Date,
    end: Date,
}

impl Isone {
    pub(crate) fn new(format: Format, spec: &GenerateSpec) -> Isone {
        Isone {
            format,
            clock: Clock::of(Market::Isone),
            start: spec.start_date(),
            end: spec.end_date(),
        }
    }

    fn da(&self) -> bool {
        self.format == Format::IsoneDa
    }
}

fn quoted(out: &mut Vec<u8>, fields: &[&str]) {
    let line: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
    out.extend_from_slice(line.join(",").as_bytes());
    out.push(b'\n');
}

impl RowFormat for Isone {
    fn style(&self) -> Style {
        Style {
            quote: Quote::Strings,
            crlf: false,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        vec![
            "Date",
            "Hour Ending",
            "Location ID",
            "Location Name",
            "Location Type",
            "Locational Marginal Price",
            "Energy Component",
            "Congestion Component",
            "Marginal Loss Component",
        ]
    }

    fn preamble(&mut self, out: &mut Vec<u8>) {
        let (title, file, generated) = if self.da() {
            (
                "Day-Ahead Energy Market Hourly LMP Report",
                format!("WW_DALMP_ISO_{}.csv", compact(self.start)),
                // Published the afternoon before the operating day.
                (self.start.days() - 1, "12:57:12"),
            )
        } else {
            (
                "Real-Time Energy Market Hourly Final LMP Report",
                format!("lmp_rt_final_{}.csv", compact(self.start)),
                (self.end.days() + 3, "09:14:31"),
            )
        };
        let gen_date = naive(generated.0 * 86_400_000).date;
        let at = self.clock.midnight(gen_date) + 13 * 3_600_000;
        let offset = self.clock.local(at).dt.naive_ms() - at;
        let abbr = if offset == -4 * 3_600_000 {
            "EDT"
        } else {
            "EST"
        };
        let lines = [
            title.to_string(),
            format!("Filename: {file}"),
            format!("Report for: {} - {}", mdy(self.start), mdy(self.end)),
            format!("Report generated: {} {} {abbr}", mdy(gen_date), generated.1),
        ];
        for l in lines {
            quoted(out, &["C", &l]);
        }
    }

    fn header(&mut self, out: &mut Vec<u8>) {
        let mut h = vec!["H"];
        h.extend(self.columns());
        quoted(out, &h);
        quoted(
            out,
            &[
                "H", "Date", "HE", "String", "String", "String", "Number", "Number", "Number",
                "Number",
            ],
        );
    }

    fn row_prefix(&self) -> Option<&'static str> {
        Some("D")
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let he = self.clock.hour_ending(o.interval_start_ms);
        let label = if he.repeated {
            format!("{:02}X", he.he)
        } else {
            format!("{:02}", he.he)
        };
        let c = o.components;
        out.extend([
            Cell::Str(mdy(he.date)),
            Cell::Str(label),
            Cell::Str(o.site.id.to_string()),
            Cell::Str(o.site.name.to_string()),
            Cell::Str(o.site.kind.to_string()),
            Cell::Num(py_repr(o.price, 2)),
            Cell::Num(py_repr(c.energy.unwrap_or(0.0), 2)),
            Cell::Num(py_repr(c.congestion.unwrap_or(0.0), 2)),
            Cell::Num(py_repr(c.loss.unwrap_or(0.0), 2)),
        ]);
    }

    fn roles(&self) -> Roles {
        Roles {
            price: 5,
            nodes: vec![3],
        }
    }

    fn break_time(&mut self, kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        let he = self.clock.hour_ending(o.interval_start_ms);
        let (date, label) = if kind == Breakage::NonExistentTime {
            (mdy(spring_forward(he.date.year)), "02".to_string())
        } else {
            (
                format!("02/30/{:04}", he.date.year),
                format!("{:02}", he.he),
            )
        };
        if let Some(c) = cells.get_mut(0) {
            *c = Cell::Str(date);
        }
        if let Some(c) = cells.get_mut(1) {
            *c = Cell::Str(label);
        }
    }

    fn trailer(&mut self, rows: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("\"T\",\"{rows} lines\"").as_bytes());
    }
}
