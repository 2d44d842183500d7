//! ERCOT Public Reports API JSON for `NP4-190-CD` (`dam_stlmnt_pnt_prices`), laid out as the API
//! returns it (2-space indentation, `_meta`/`report`/`fields`/`data`/`_links`, no final line
//! break). `data` holds `[deliveryDate, hourEnding, settlementPoint, settlementPointPrice,
//! DSTFlag]` arrays sorted by date, hours descending within a date; whole prices are JSON
//! integers; `DSTFlag` is a JSON boolean marking the repeated fall-back hour.
//!
//! A broken item is one broken `data` element: a price that is a string or `null`, a null
//! settlement point, an impossible date, hour ending 02 of the spring-forward day, an element
//! of 4 values, or an element that is not an array.

use super::{bad_number, not_a_number, trimmed, ymd, Encoder, GenerateSpec, Item};
use crate::generator::localtime::{spring_forward, Clock};
use crate::generator::Breakage;
use operators::model::Market;
use operators::time::Date;
use std::io::{self, Write};

struct Entry {
    date: Date,
    position: i64,
    json: String,
}

pub(crate) struct ErcotApi {
    entries: Vec<Entry>,
    clock: Clock,
    start: Date,
    end: Date,
    points: Vec<&'static str>,
    dead: u64,
}

fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl ErcotApi {
    pub(crate) fn new(spec: &GenerateSpec) -> ErcotApi {
        ErcotApi {
            entries: Vec::new(),
            clock: Clock::of(Market::Ercot),
            start: spec.start_date(),
            end: spec.end_date(),
            points: Vec::new(),
            dead: 0,
        }
    }
}

impl Encoder for ErcotApi {
    fn begin(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn item(&mut self, item: &Item, _w: &mut dyn Write) -> io::Result<()> {
        let o = item.observation();
        let he = self.clock.hour_ending(o.interval_start_ms);
        if !self.points.contains(&o.site.name) {
            self.points.push(o.site.name);
        }
        let seq = self.entries.len() as u64;
        let mut date = js(&ymd(he.date));
        let mut hour = js(&format!("{:02}:00", he.he));
        let mut point = js(o.site.name);
        let mut price = trimmed(o.price, 2);
        let dst = if he.repeated { "true" } else { "false" };
        let mut json = None;
        if let Item::Broken(kind, _) = item {
            self.dead += 1;
            match kind {
                Breakage::BadNumber => price = js(bad_number(seq)),
                Breakage::NotANumber => price = js(not_a_number(seq)),
                Breakage::MissingPrice => price = "null".into(),
                Breakage::MissingNode => point = "null".into(),
                Breakage::BadDate => date = js(&format!("{:04}-02-30", he.date.year)),
                Breakage::NonExistentTime => {
                    date = js(&ymd(spring_forward(he.date.year)));
                    hour = js("02:00");
                }
                Breakage::WrongFieldCount => {
                    json = Some(format!(
                        "    [\n      {date},\n      {hour},\n      {point},\n      {dst}\n    ]"
                    ));
                }
                _ => json = Some(format!("    {}", js("\u{0}\u{fffd} not a row"))),
            }
        }
        let json = json.unwrap_or_else(|| {
            format!(
                "    [\n      {date},\n      {hour},\n      {point},\n      {price},\n      {dst}\n    ]"
            )
        });
        self.entries.push(Entry {
            date: he.date,
            position: he.position,
            json,
        });
        Ok(())
    }

    fn end(&mut self, w: &mut dyn Write) -> io::Result<()> {
        // Dates ascending, hours descending within a date (stable: repeats keep their order).
        self.entries
            .sort_by(|a, b| a.date.cmp(&b.date).then(b.position.cmp(&a.position)));
        let n = self.entries.len();
        let mut params = vec![
            format!("\"deliveryDateFrom\": {}", js(&ymd(self.start))),
            format!("\"deliveryDateTo\": {}", js(&ymd(self.end))),
        ];
        if let [one] = self.points.as_slice() {
            params.push(format!("\"settlementPoint\": {}", js(one)));
        }
        let mut out = String::with_capacity(n * 120 + 2048);
        out.push_str("{\n  \"_meta\": {\n");
        out.push_str(&format!("    \"totalRecords\": {n},\n"));
        out.push_str(&format!("    \"pageSize\": {},\n", n.max(1000)));
        out.push_str("    \"totalPages\": 1,\n    \"currentPage\": 1,\n    \"query\": {\n");
        out.push_str(&format!("      \"parameterCount\": {},\n", params.len()));
        out.push_str("      \"parameters\": {\n        ");
        out.push_str(&params.join(",\n        "));
        out.push_str("\n      },\n      \"sortedBy\": \"deliveryDate: ASC\"\n    }\n  },\n");
        out.push_str("  \"report\": {\n    \"reportName\": \"dam_stlmnt_pnt_prices\",\n    \"reportDisplayName\": \"DAM Settlement Point Prices\",\n    \"reportId\": \"12331\",\n    \"reportEMIL\": \"NP4-190-CD\",\n    \"downloadLimit\": 2000000\n  },\n");
        out.push_str("  \"fields\": [\n");
        let fields = [
            ("deliveryDate", "Delivery Date", "DATE", true),
            ("hourEnding", "Hour Ending", "VARCHAR", false),
            ("settlementPoint", "Settlement Point", "VARCHAR", false),
            (
                "settlementPointPrice",
                "Settlement Point Price",
                "DOUBLE",
                true,
            ),
            ("DSTFlag", "DST Flag", "BOOLEAN", false),
        ];
        let fields: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, (name, label, ty, range))| {
                format!(
                    "    {{\n      \"name\": \"{name}\",\n      \"label\": \"{label}\",\n      \"cardinality\": {},\n      \"dataType\": \"{ty}\",\n      \"searchable\": true,\n      \"sortable\": true,\n      \"hasRange\": {range}\n    }}",
                    i + 1
                )
            })
            .collect();
        out.push_str(&fields.join(",\n"));
        out.push_str("\n  ],\n");
        if n == 0 {
            out.push_str("  \"data\": [],\n");
        } else {
            out.push_str("  \"data\": [\n");
            let rows: Vec<&str> = self.entries.iter().map(|e| e.json.as_str()).collect();
            out.push_str(&rows.join(",\n"));
            out.push_str("\n  ],\n");
        }
        out.push_str("  \"_links\": {\n    \"self\": {\n      \"href\": \"https://api.ercot.com/api/public-reports/np4-190-cd/dam_stlmnt_pnt_prices\"\n    },\n    \"parent\": {\n      \"href\": \"https://api.ercot.com/api/public-reports/np4-190-cd\"\n    }\n  }\n}");
        w.write_all(out.as_bytes())
    }

    fn expected_dead(&self) -> u64 {
        self.dead
    }
}
