//! CAISO OASIS `PRC_LMP` (DAM) SingleZip CSV, or the raw zip around it.
//!
//! Long layout: one row per component (`LMP`/`LMP_PRC`, `MCC`/`LMP_CONG_PRC`,
//! `MCE`/`LMP_ENE_PRC`, `MCL`/`LMP_LOSS_PRC`, `MGHG`/`LMP_GHG_PRC`), rows grouped by node then
//! component, hours in no particular order inside a block, `GROUP` a running block number.
//! Times are UTC `…-00:00`; `OPR_DT`/`OPR_HR` give the Pacific operating day and its hour
//! (1..25 by position on DST days). Values have up to 5 decimals.
//!
//! A broken item breaks its whole pivot group, so every row of the group is one dead letter:
//! a bad `LMP` value (the other rows then form a group without a total), no `LMP` row at all,
//! or the same bad date, node, field count or bytes on every row.

use super::{bad_number, not_a_number, JUNK};
use super::{compact, oasis_utc, trimmed, ymd, Encoder, GenerateSpec, Item, Observation};
use crate::generator::localtime::Clock;
use crate::generator::rng::{hash, Rng};
use crate::generator::Breakage;
use operators::model::Market;
use operators::time::Date;
use std::io::{self, Cursor, Write};

const TYPES: [(&str, &str); 5] = [
    ("LMP", "LMP_PRC"),
    ("MCC", "LMP_CONG_PRC"),
    ("MCE", "LMP_ENE_PRC"),
    ("MCL", "LMP_LOSS_PRC"),
    ("MGHG", "LMP_GHG_PRC"),
];

pub(crate) struct Caiso {
    items: Vec<Item>,
    seed: u64,
    zip: bool,
    start: Date,
    end: Date,
    dead: u64,
    clock: Clock,
}

impl Caiso {
    pub(crate) fn new(spec: &GenerateSpec) -> Caiso {
        Caiso {
            items: Vec::new(),
            seed: spec.seed,
            zip: spec.zip,
            start: spec.start_date(),
            end: spec.end_date(),
            dead: 0,
            clock: Clock::of(Market::Caiso),
        }
    }

    /// The zip member name OASIS uses.
    pub(crate) fn member_name(&self) -> String {
        format!(
            "{}_{}_PRC_LMP_DAM_{}_22_14_34_v1.csv",
            compact(self.start),
            compact(self.end),
            compact(self.end.next_day())
        )
    }

    /// One row's fields for component `t` of an observation (`None`: the row is omitted).
    fn row(
        &mut self,
        t: usize,
        kind: Option<Breakage>,
        o: &Observation,
        seq: u64,
    ) -> Option<Vec<u8>> {
        let (lmp_type, item) = TYPES.get(t).copied().unwrap_or(TYPES[0]);
        let c = o.components;
        let value = match t {
            0 => o.price,
            1 => c.congestion.unwrap_or(0.0),
            2 => c.energy.unwrap_or(0.0),
            3 => c.loss.unwrap_or(0.0),
            _ => c.ghg.unwrap_or(0.0),
        };
        let mut mw = trimmed(value, 5);
        let he = self.clock.hour_ending(o.interval_start_ms);
        let mut start = oasis_utc(o.interval_start_ms);
        let mut node: Vec<u8> = o.site.name.as_bytes().to_vec();
        let mut drop_last = false;
        match (kind, t) {
            (Some(Breakage::BadNumber), 0) => mw = bad_number(seq).into(),
            (Some(Breakage::NotANumber), 0) => mw = not_a_number(seq).into(),
            (Some(Breakage::MissingPrice), 0) => return None,
            (Some(Breakage::MissingNode), _) => node.clear(),
            (Some(Breakage::JunkBytes), _) => node = JUNK.to_vec(),
            (Some(Breakage::WrongFieldCount), _) => drop_last = true,
            (Some(Breakage::BadDate | Breakage::NonExistentTime), _) => {
                start = format!("{}-02-30{}", he.date.year, start.get(10..).unwrap_or(""));
            }
            _ => {}
        }
        let mut out = Vec::with_capacity(200);
        let text = |out: &mut Vec<u8>, s: &str| {
            out.extend_from_slice(s.as_bytes());
            out.push(b',');
        };
        text(&mut out, &start);
        text(&mut out, &oasis_utc(o.interval_end_ms));
        text(&mut out, &ymd(he.date));
        text(&mut out, &(he.position + 1).to_string());
        text(&mut out, "0");
        for _ in 0..3 {
            out.extend_from_slice(&node);
            out.push(b',');
        }
        text(&mut out, "DAM");
        text(&mut out, lmp_type);
        text(&mut out, item);
        out.extend_from_slice(&node);
        out.push(b',');
        text(&mut out, "ALL");
        text(&mut out, "1");
        text(&mut out, &mw);
        if drop_last {
            out.pop();
        }
        Some(out)
    }

    fn render(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.items.len() * 5 * 190 + 256);
        out.extend_from_slice(b"INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,NODE_ID_XML,NODE_ID,NODE,MARKET_RUN_ID,LMP_TYPE,XML_DATA_ITEM,PNODE_RESMRID,GRP_TYPE,POS,MW,GROUP\n");
        let mut nodes: Vec<&'static str> = Vec::new();
        for it in &self.items {
            let n = it.observation().site.name;
            if !nodes.contains(&n) {
                nodes.push(n);
            }
        }
        let items = std::mem::take(&mut self.items);
        let mut group = 0u64;
        let mut rng = Rng::new(hash(self.seed, &[0xCA150]));
        let ghg = items
            .iter()
            .any(|i| i.observation().components.ghg.is_some());
        let types = if ghg { 5 } else { 4 };
        for node in nodes {
            let members: Vec<(usize, &Item)> = items
                .iter()
                .enumerate()
                .filter(|(_, i)| i.observation().site.name == node)
                .collect();
            for t in 0..types {
                group += 1;
                let mut rows: Vec<Vec<u8>> = Vec::with_capacity(members.len());
                for (seq, it) in &members {
                    let (kind, o) = match it {
                        Item::Obs(o) => (None, o),
                        Item::Broken(k, o) => (Some(*k), o),
                    };
                    if let Some(mut r) = self.row(t, kind, o, *seq as u64) {
                        if kind != Some(Breakage::WrongFieldCount) {
                            r.extend_from_slice(group.to_string().as_bytes());
                        }
                        r.push(b'\n');
                        rows.push(r);
                        if kind.is_some() {
                            self.dead += 1;
                        }
                    }
                }
                // OASIS returns the hours of a block in no particular order.
                for i in (1..rows.len()).rev() {
                    let j = rng.range(0, i as u64) as usize;
                    rows.swap(i, j);
                }
                for r in rows {
                    out.extend_from_slice(&r);
                }
            }
        }
        out
    }
}

impl Encoder for Caiso {
    fn begin(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn item(&mut self, item: &Item, _w: &mut dyn Write) -> io::Result<()> {
        self.items.push(item.clone());
        Ok(())
    }

    fn end(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let csv = self.render();
        if !self.zip {
            return w.write_all(&csv);
        }
        let name = self.member_name();
        let mut zw = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stamp = zip::DateTime::from_date_and_time(
            self.end.year.clamp(1980, 2107) as u16,
            self.end.month as u8,
            self.end.day as u8,
            22,
            14,
            34,
        )
        .unwrap_or_default();
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(stamp);
        zw.start_file(name, opts).map_err(io::Error::other)?;
        zw.write_all(&csv)?;
        let bytes = zw.finish().map_err(io::Error::other)?.into_inner();
        w.write_all(&bytes)
    }

    fn expected_dead(&self) -> u64 {
        self.dead
    }
}
