//! Canonical raw envelopes (SPEC §2.2), one JSON object per line, wrapping single rows of the
//! stand-alone-row formats: PJM and SPP rows as `csv-line` (header in `metadata.columns`), ERCOT
//! and ISO-NE rows as `json` objects in their native field names, simple-CSV rows alternately.
//! Timestamps alternate between epoch seconds, milliseconds, microseconds and RFC 3339 strings;
//! `checksum` is the SHA-256 hex of `raw_payload`. Ids derive from the seed and the sequence.
//!
//! Broken items: a payload broken like a native row, a line that is not JSON (non-UTF-8 bytes),
//! a missing `raw_payload`, a checksum mismatch or an unsupported `encoding`; each is one dead
//! letter.

use super::{item_cells, row_format, write_line, Cell, Encoder, GenerateSpec, Item, JUNK};
use super::{Observation, RowFormat};
use crate::generator::rng::hash;
use crate::generator::Breakage;
use operators::model::render::time;
use operators::parse::Format;
use sha2::{Digest, Sha256};
use std::io::{self, Write};

pub(crate) struct Envelope {
    spec: GenerateSpec,
    rows: Vec<(Format, Box<dyn RowFormat>)>,
    cells: Vec<Cell>,
    seq: u64,
    dead: u64,
}

fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A timestamp in one of the accepted spellings, chosen by `variant`.
fn stamp(ms: i64, variant: u64) -> String {
    match variant % 4 {
        0 => ms.to_string(),
        1 => js(&time(ms)),
        2 => (ms / 1000).to_string(),
        _ => (ms * 1000).to_string(),
    }
}

fn source_system(f: Format) -> &'static str {
    match f {
        Format::PjmDa | Format::PjmRt | Format::PjmRt5 => "pjm-dataminer",
        Format::ErcotRt | Format::ErcotDam => "ercot-mis",
        Format::SppRtbm | Format::SppDa => "spp-marketplace",
        Format::IsoneDa | Format::IsoneRt => "isone-express",
        _ => "tickflow-generator",
    }
}

impl Envelope {
    pub(crate) fn new(spec: &GenerateSpec) -> Envelope {
        Envelope {
            spec: spec.clone(),
            rows: Vec::new(),
            cells: Vec::new(),
            seq: 0,
            dead: 0,
        }
    }

    fn payload(
        &mut self,
        item: &Item,
        o: &Observation,
        csv_line: bool,
    ) -> (String, Vec<&'static str>) {
        let idx = match self.rows.iter().position(|(f, _)| *f == o.format) {
            Some(i) => i,
            None => {
                self.rows.push((o.format, row_format(o.format, &self.spec)));
                self.rows.len() - 1
            }
        };
        let Some((_, f)) = self.rows.get_mut(idx) else {
            return (String::new(), Vec::new());
        };
        item_cells(f.as_mut(), item, self.seq, &mut self.cells);
        let columns = f.columns();
        if csv_line {
            let mut line = Vec::with_capacity(200);
            let style = f.style();
            write_line(
                &mut line,
                &self.cells,
                style,
                style.quote != super::Quote::Never,
            );
            return (String::from_utf8_lossy(&line).into_owned(), columns);
        }
        let mut obj = String::from("{");
        for (i, (name, cell)) in columns.iter().zip(self.cells.iter()).enumerate() {
            if i > 0 {
                obj.push_str(", ");
            }
            obj.push_str(&js(name.trim()));
            obj.push_str(": ");
            match cell {
                Cell::Num(n) if n.is_empty() => obj.push_str("null"),
                Cell::Num(n) if serde_json::from_str::<serde_json::Number>(n).is_ok() => {
                    obj.push_str(n)
                }
                Cell::Num(s) | Cell::Str(s) => obj.push_str(&js(s)),
                Cell::Raw(b) => obj.push_str(&js(&String::from_utf8_lossy(b))),
            }
        }
        obj.push('}');
        (obj, columns)
    }
}

impl Encoder for Envelope {
    fn begin(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        self.seq += 1;
        let seq = self.seq;
        let o = item.observation();
        let kind = match item {
            Item::Broken(k, _) => {
                self.dead += 1;
                Some(*k)
            }
            Item::Obs(_) => None,
        };
        if kind == Some(Breakage::JunkBytes) {
            let mut line = JUNK.to_vec();
            line.extend_from_slice(b" {\"event_id\": truncated\n");
            return w.write_all(&line);
        }
        let csv_line = match o.format {
            Format::PjmRt | Format::PjmDa | Format::PjmRt5 | Format::SppRtbm | Format::SppDa => {
                true
            }
            Format::SimpleCsv => seq % 2 == 0,
            _ => false,
        };
        let (raw, columns) = self.payload(item, o, csv_line);
        let mut checksum = format!("{:x}", Sha256::digest(raw.as_bytes()));
        if kind == Some(Breakage::ChecksumMismatch) {
            checksum = format!("{:x}", Sha256::digest(format!("{raw} ").as_bytes()));
        }
        let encoding = match (kind, csv_line) {
            (Some(Breakage::UnsupportedEncoding), _) => "xml",
            (_, true) => "csv-line",
            _ => "json",
        };
        let h = hash(self.spec.seed, &[seq, 0xE1]);
        let event = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            format!(
                "https://tickflow.invalid/generator/{}/{seq}",
                self.spec.seed
            )
            .as_bytes(),
        );
        let occurred = o.interval_end_ms;
        let ingested = occurred + 1_500 + (h % 4_000) as i64;
        let mut metadata = format!("{{\"format\": {}", js(o.format.name()));
        if csv_line {
            let cols: Vec<String> = columns.iter().map(|c| js(c)).collect();
            metadata.push_str(&format!(", \"columns\": [{}]", cols.join(", ")));
        }
        metadata.push('}');
        let mut payload = format!(
            "{{\"source_system\": {}, \"market\": {}, \"symbol\": {}, \"sequence\": {seq}, \"received_at\": {}",
            js(source_system(o.format)),
            js(o.market.code()),
            js(&o.instrument_id()),
            js(&time(ingested - 250)),
        );
        if kind != Some(Breakage::WrongFieldCount) {
            payload.push_str(&format!(", \"raw_payload\": {}", js(&raw)));
        }
        payload.push_str(&format!(
            ", \"encoding\": \"{encoding}\", \"metadata\": {metadata}, \"retry_count\": 0, \"checksum\": \"{checksum}\"}}"
        ));
        let line = format!(
            "{{\"event_id\": \"{event}\", \"trace_id\": \"{:016x}{:016x}\", \"schema_version\": \"1.0\", \"tenant_id\": \"default\", \"producer\": \"tickflow-generator\", \"occurred_at\": {}, \"ingested_at\": {}, \"payload\": {payload}}}\n",
            h,
            hash(h, &[seq]),
            stamp(occurred, seq),
            stamp(ingested, seq + 1),
        );
        w.write_all(line.as_bytes())
    }

    fn end(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn expected_dead(&self) -> u64 {
        self.dead
    }
}
