//! MISO market reports (`YYYYMMDD_da_expost_lmp.csv`, `YYYYMMDD_rt_lmp_final.csv`): a 4-line
//! preamble (title, date — zero-padded in DA, not in RT — a blank line and the EST notice), then
//! `Node,Type,Value,HE 1..HE 24` with every node's `LMP` row, then every `MCC` row, then every
//! `MLC` row, nodes in name order. Hours are EST all year, so every day has 24 columns. DA numbers
//! drop trailing zeros and the leading zero (`-.19`, `43`); RT numbers have 2 fixed decimals.
//! MISO publishes no energy row: the reader derives MEC = LMP − MCC − MLC.
//!
//! A broken item is one broken `LMP` cell (the node's MCC/MLC cells stay valid); a correct reader
//! makes one dead letter of it and ticks of the other 23 hours.

use super::{bad_number, not_a_number};
use super::{fixed, mdy, mdy_short, unpadded, Encoder, GenerateSpec, Item, Observation};
use crate::generator::localtime::Clock;
use crate::generator::Breakage;
use operators::model::Market;
use operators::parse::Format;
use operators::time::Date;
use rustc_hash::FxHashMap;
use std::io::{self, Write};

#[derive(Default)]
struct NodeRow {
    kind: &'static str,
    lmp: Vec<String>,
    mcc: Vec<String>,
    mlc: Vec<String>,
}

pub(crate) struct Miso {
    da: bool,
    date: Date,
    clock: Clock,
    nodes: FxHashMap<&'static str, NodeRow>,
    dead: u64,
    seq: u64,
}

impl Miso {
    pub(crate) fn new(spec: &GenerateSpec) -> Miso {
        Miso {
            da: spec.format == Format::MisoDa,
            date: spec.start_date(),
            clock: Clock::of(Market::Miso),
            nodes: FxHashMap::default(),
            dead: 0,
            seq: 0,
        }
    }

    fn num(&self, x: f64) -> String {
        if self.da {
            unpadded(x, 2)
        } else {
            fixed(x, 2)
        }
    }

    fn place(&mut self, o: &Observation, lmp: String) {
        let he = self.clock.hour_ending(o.interval_start_ms);
        let Some(i) = he.he.checked_sub(1).map(|i| i as usize).filter(|i| *i < 24) else {
            return;
        };
        let c = o.components;
        let mcc = self.num(c.congestion.unwrap_or(0.0));
        let mlc = self.num(c.loss.unwrap_or(0.0));
        let row = self.nodes.entry(o.site.name).or_insert_with(|| NodeRow {
            kind: o.site.kind,
            lmp: vec![String::new(); 24],
            mcc: vec![String::new(); 24],
            mlc: vec![String::new(); 24],
        });
        if let (Some(a), Some(b), Some(d)) =
            (row.lmp.get_mut(i), row.mcc.get_mut(i), row.mlc.get_mut(i))
        {
            *a = lmp;
            *b = mcc;
            *d = mlc;
        }
    }
}

impl Encoder for Miso {
    fn begin(&mut self, _w: &mut dyn Write) -> io::Result<()> {
        Ok(())
    }

    fn item(&mut self, item: &Item, _w: &mut dyn Write) -> io::Result<()> {
        self.seq += 1;
        match item {
            Item::Obs(o) => {
                let lmp = self.num(o.price);
                self.place(o, lmp);
            }
            Item::Broken(kind, o) => {
                let text = if *kind == Breakage::NotANumber {
                    not_a_number(self.seq)
                } else {
                    bad_number(self.seq)
                };
                self.dead += 1;
                self.place(o, text.to_string());
            }
        }
        Ok(())
    }

    fn end(&mut self, w: &mut dyn Write) -> io::Result<()> {
        let mut out = String::with_capacity(self.nodes.len() * 3 * 200 + 512);
        let (title, date) = if self.da {
            ("Day Ahead Market LMPs", mdy(self.date))
        } else {
            ("Realtime Market LMPs", mdy_short(self.date))
        };
        out.push_str(title);
        out.push('\n');
        out.push_str(&date);
        out.push_str("\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\n");
        out.push_str("Node,Type,Value");
        for h in 1..=24 {
            out.push_str(&format!(",HE {h}"));
        }
        out.push('\n');
        let mut names: Vec<&&'static str> = self.nodes.keys().collect();
        names.sort();
        for value in ["LMP", "MCC", "MLC"] {
            for name in &names {
                let Some(row) = self.nodes.get(**name) else {
                    continue;
                };
                let cells = match value {
                    "LMP" => &row.lmp,
                    "MCC" => &row.mcc,
                    _ => &row.mlc,
                };
                out.push_str(name);
                out.push(',');
                out.push_str(row.kind);
                out.push(',');
                out.push_str(value);
                for c in cells {
                    out.push(',');
                    out.push_str(c);
                }
                out.push('\n');
            }
        }
        w.write_all(out.as_bytes())
    }

    fn expected_dead(&self) -> u64 {
        self.dead
    }
}
