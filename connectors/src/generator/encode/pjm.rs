//! PJM Data Miner 2 CSV (`da_hrl_lmps`, `rt_hrl_lmps`, `rt_fivemin_hrl_lmps`): CRLF, unquoted,
//! hour-beginning `M/D/YYYY h:mm:ss AM` stamps in UTC and Eastern prevailing time (the repeated
//! fall-back hour appears twice in EPT with distinct UTC), blank voltage/equipment/zone for hubs
//! and zones, DA energy with 2 decimals and every other price with 6, and
//! `row_is_current`/`version_nbr` revisions.

use super::{fixed, us12, Breakage, Cell, Observation, Quote, Roles, RowFormat, Style};
use crate::generator::localtime::{naive, Clock};
use operators::model::Market;
use operators::parse::Format;

pub(crate) struct Pjm {
    format: Format,
    clock: Clock,
}

impl Pjm {
    pub(crate) fn new(format: Format) -> Pjm {
        Pjm {
            format,
            clock: Clock::of(Market::Pjm),
        }
    }

    fn da(&self) -> bool {
        self.format == Format::PjmDa
    }
}

impl RowFormat for Pjm {
    fn style(&self) -> Style {
        Style {
            quote: Quote::Never,
            crlf: true,
        }
    }

    fn columns(&self) -> Vec<&'static str> {
        let prices: [&'static str; 4] = if self.da() {
            [
                "system_energy_price_da",
                "total_lmp_da",
                "congestion_price_da",
                "marginal_loss_price_da",
            ]
        } else {
            [
                "system_energy_price_rt",
                "total_lmp_rt",
                "congestion_price_rt",
                "marginal_loss_price_rt",
            ]
        };
        let mut cols = vec![
            "datetime_beginning_utc",
            "datetime_beginning_ept",
            "pnode_id",
            "pnode_name",
            "voltage",
            "equipment",
            "type",
            "zone",
        ];
        cols.extend(prices);
        cols.extend(["row_is_current", "version_nbr"]);
        cols
    }

    fn cells(&mut self, o: &Observation, out: &mut Vec<Cell>) {
        let c = o.components;
        let energy = c.energy.unwrap_or(0.0);
        out.extend([
            Cell::Str(us12(naive(o.interval_start_ms))),
            Cell::Str(us12(self.clock.local(o.interval_start_ms).dt)),
            Cell::Num(o.site.id.to_string()),
            Cell::Str(o.site.name.to_string()),
            Cell::Str(String::new()),
            Cell::Str(String::new()),
            Cell::Str(o.site.kind.to_string()),
            Cell::Str(String::new()),
            Cell::Num(fixed(energy, if self.da() { 2 } else { 6 })),
            Cell::Num(fixed(o.price, 6)),
            Cell::Num(fixed(c.congestion.unwrap_or(0.0), 6)),
            Cell::Num(fixed(c.loss.unwrap_or(0.0), 6)),
            Cell::Str(if o.current { "True" } else { "False" }.to_string()),
            Cell::Num(o.revision.to_string()),
        ]);
    }

    fn roles(&self) -> Roles {
        Roles {
            price: 9,
            nodes: vec![3],
        }
    }

    fn break_time(&mut self, _kind: Breakage, o: &Observation, cells: &mut [Cell]) {
        // The UTC column is the key; PJM stamps carry no local-only ambiguity, so a
        // non-existent time is written as an impossible date too.
        let t = naive(o.interval_start_ms);
        let bad = format!("2/30/{} {}:00:00 AM", t.date.year, (t.hour % 12) + 1);
        if let Some(c) = cells.get_mut(0) {
            *c = Cell::Str(bad.clone());
        }
        if let Some(c) = cells.get_mut(1) {
            *c = Cell::Str(bad);
        }
    }
}
