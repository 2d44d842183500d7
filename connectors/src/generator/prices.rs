//! The price model: a deterministic function of (seed, market, location, interval) giving a
//! total price and components that sum to it exactly at the format's published precision.
//!
//! System energy follows a daily load shape around a per-market level (20–80 $/MWh), with a
//! day-to-day level change and interval noise; a few intervals go negative (more often in ERCOT,
//! SPP and CAISO, where wind and solar push prices below zero) and a few spike. Each location
//! adds its own congestion basis and a loss factor. Values are drawn as integers in units of the
//! format's last published decimal, so what a writer prints parses back to the identical `f64`.

use super::nodes::Site;
use super::rng::{hash, str_hash, unit};
use operators::model::{Components, Market};
use operators::parse::Format;

/// How a format publishes prices: decimals and which components exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Precision {
    /// Decimals of the congestion, loss and total values.
    pub decimals: u32,
    /// Decimals of the energy component (PJM publishes the system energy price in cents).
    pub energy_decimals: u32,
    /// Whether energy/congestion/loss components are published at all (ERCOT and simple CSV:
    /// no).
    pub components: bool,
    /// Whether a greenhouse-gas component is published (CAISO DAM `MGHG`).
    pub ghg: bool,
}

impl Precision {
    /// The precision of a native format.
    pub fn of(format: Format) -> Precision {
        let p = |decimals, energy_decimals, components, ghg| Precision {
            decimals,
            energy_decimals,
            components,
            ghg,
        };
        match format {
            Format::PjmDa | Format::PjmRt | Format::PjmRt5 => p(6, 2, true, false),
            Format::CaisoOasis => p(5, 5, true, true),
            Format::SppRtbm | Format::SppDa => p(4, 4, true, false),
            Format::ErcotRt | Format::ErcotDam | Format::ErcotApi => p(2, 2, false, false),
            Format::SimpleCsv | Format::Envelope => p(2, 2, false, false),
            _ => p(2, 2, true, false),
        }
    }

    /// `10^decimals`.
    pub fn scale(self) -> f64 {
        10f64.powi(self.decimals as i32)
    }

    /// `x` in units of the last decimal.
    pub fn units(self, x: f64) -> i64 {
        (x * self.scale()).round() as i64
    }

    /// Units back to a value.
    pub fn value(self, units: i64) -> f64 {
        units as f64 / self.scale()
    }
}

fn market_level(m: Market) -> f64 {
    match m {
        Market::Pjm => 38.0,
        Market::Nyiso => 42.0,
        Market::Isone => 48.0,
        Market::Miso => 32.0,
        Market::Caiso => 46.0,
        Market::Ercot => 30.0,
        Market::Spp => 26.0,
        Market::Other => 40.0,
    }
}

fn negative_chance(m: Market) -> f64 {
    match m {
        Market::Ercot | Market::Spp => 0.05,
        Market::Caiso => 0.035,
        _ => 0.012,
    }
}

/// Relative load at a local hour (0..23): overnight trough, morning shoulder, evening peak.
fn load_shape(hour: u32) -> f64 {
    let h = f64::from(hour);
    let bump = |c: f64, w: f64| (-((h - c) * (h - c)) / w).exp();
    0.78 + 0.38 * bump(18.0, 9.0) + 0.14 * bump(8.0, 5.0) - 0.08 * bump(3.5, 6.0)
}

/// The price of `site` for the interval starting at `start_ms` (local hour `local_hour`), at
/// the precision of `format`: `(total, components)`, with `total = sum(components)` exactly.
pub fn price(
    seed: u64,
    format: Format,
    site: &Site,
    start_ms: i64,
    local_hour: u32,
) -> (f64, Components) {
    let prec = Precision::of(format);
    let m = site.market;
    let mk = m as u64 + 1;
    let hour_key = start_ms.div_euclid(3_600_000) as u64;
    let day_key = start_ms.div_euclid(86_400_000) as u64;
    let level = market_level(m);
    let day = 0.85 + 0.3 * unit(hash(seed, &[mk, day_key, 1]));
    let noise = (unit(hash(seed, &[mk, start_ms as u64, 2])) - 0.5) * 0.08;
    let mut energy = level * load_shape(local_hour) * day * (1.0 + noise);
    let event = unit(hash(seed, &[mk, hour_key, 3]));
    let size = unit(hash(seed, &[mk, hour_key, 4]));
    if event < negative_chance(m) {
        energy = -(2.0 + 30.0 * size);
    } else if event > 1.0 - 0.006 {
        energy = (energy * (4.0 + 20.0 * size)).min(2500.0);
    }

    let node = str_hash(site.name);
    let basis = (unit(hash(seed, &[node, 5])) - 0.5) * 0.3 * level;
    let mut congestion = basis * load_shape(local_hour)
        + (unit(hash(seed, &[node, start_ms as u64, 6])) - 0.5) * 3.0;
    if unit(hash(seed, &[node, hour_key, 7])) < 0.03 {
        let sign = if hash(seed, &[node, hour_key, 8]) & 1 == 0 {
            1.0
        } else {
            -1.0
        };
        congestion += sign * (10.0 + 50.0 * unit(hash(seed, &[node, hour_key, 9])));
    }
    let loss = energy.abs() * (unit(hash(seed, &[node, 10])) - 0.5) * 0.06;

    let energy_u = {
        let step = 10i64.pow(prec.decimals.saturating_sub(prec.energy_decimals));
        let coarse = (energy * 10f64.powi(prec.energy_decimals as i32)).round() as i64;
        coarse * step
    };
    let mut cong_u = prec.units(congestion);
    let loss_u = prec.units(loss);
    if site.kind.ends_with("EW") {
        // ERCOT publishes energy-weighted zone prices a cent or so apart from the plain zone.
        cong_u -= (hash(seed, &[node, start_ms as u64, 11]) % 2) as i64;
    }
    let total_u = energy_u + cong_u + loss_u;
    let components = if prec.components {
        Components {
            energy: Some(prec.value(energy_u)),
            congestion: Some(prec.value(cong_u)),
            loss: Some(prec.value(loss_u)),
            ghg: prec.ghg.then_some(0.0),
        }
    } else {
        Components::default()
    };
    (prec.value(total_u), components)
}

/// Moves a price (and its congestion component, keeping the sum exact) by `delta_units` of the
/// format's last decimal: how a correction changes a published value.
pub fn shift(format: Format, price: f64, comps: &mut Components, delta_units: i64) -> f64 {
    let prec = Precision::of(format);
    if let Some(c) = comps.congestion.as_mut() {
        *c = prec.value(prec.units(*c) + delta_units);
    }
    prec.value(prec.units(price) + delta_units)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generator::nodes::sites;
    use operators::time::Date;

    #[test]
    fn components_sum_exactly_and_levels_are_realistic() {
        let d = Date::new(2025, 7, 1).unwrap();
        for f in Format::ALL {
            let prec = Precision::of(f);
            let mut sum = 0.0;
            let mut n = 0.0;
            for site in sites(f, d) {
                for h in 0..24 * 30 {
                    let t = 1_751_328_000_000 + h * 3_600_000;
                    let (p, c) = price(7, f, &site, t, (h % 24) as u32);
                    if let Some(s) = c.sum() {
                        assert_eq!(prec.units(p), prec.units(s), "{f}");
                    }
                    sum += p;
                    n += 1.0;
                }
            }
            let mean = sum / n;
            assert!((15.0..90.0).contains(&mean), "{f}: mean {mean}");
        }
    }
}
