//! Simple tick CSV (SPEC §2.3). Batch-like modes write named instruments
//! (`ts,market,run,node,price,volume,revision` with RFC 3339 times); `high-volume` and
//! `continuous` write the compact bulk layout (`ts_ms,instrument_id,price,volume,trade_id`).

use super::{trimmed, Breakage, Cell, Observation, Quote, Roles, RowFormat, Style};
use crate::generator::Mode;
use operators::model::render::time;

pub(crate) struct Simple {
    bulk: bool,
}

impl Simple {
    pub(crate) fn new(mode: Mode) -> Simple {
        Simple {
            bulk: matches!(mode, Mode::HighVolume | Mode::Continuous),
        }
    }
}

impl RowFormat for Simple {
    fn style(&self) -> Style {
        Style {
            quote: Quote::Never,
            crlf: false,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        if self.bulk {
            vec!["ts_ms", "instrument_id", "price", "volume", "trade_id"]
        } else {
            vec!["ts", "market", "run", "node", "price", "volume", "revision"]
        }
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let volume = Cell::Num(o.volume.map(|v| trimmed(v, 1)).unwrap_or_default());
        if self.bulk {
            out.extend([
                Cell::Num(o.interval_start_ms.to_string()),
                Cell::Str(o.instrument_id()),
                Cell::Num(trimmed(o.price, 2)),
                volume,
                Cell::Str(o.trade_id.as_deref().unwrap_or("").to_string()),
            ]);
        } else {
            out.extend([
                Cell::Str(time(o.interval_start_ms)),
                Cell::Str(o.market.code().to_string()),
                Cell::Str(o.run.to_string()),
                Cell::Str(o.node.to_string()),
                Cell::Num(trimmed(o.price, 2)),
                volume,
                Cell::Num(o.revision.to_string()),
            ]);
        }
    }

    fn roles(&self) -> Roles {
        if self.bulk {
            Roles {
                price: 2,
                nodes: vec![1],
            }
        } else {
            Roles {
                price: 4,
                nodes: vec![3],
            }
        }
    }

    fn break_time(&mut self, _kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        let text = if self.bulk {
            format!("{}x", o.interval_start_ms / 1000)
        } else {
            let t = time(o.interval_start_ms);
            format!(
                "{}-02-30{}",
                t.get(..4).unwrap_or("2025"),
                t.get(10..).unwrap_or("")
            )
        };
        if let Some(c) = cells.get_mut(0) {
            *c = Cell::Str(text);
        }
    }
}
