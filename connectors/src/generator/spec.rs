//! What to generate: the mode, the format and their parameters, as given to `tickflow generate`
//! or in a `generator:mode=…,count=…,seed=…` input.

use operators::parse::{parse_ymd, Format};
use operators::time::Date;
use std::fmt;

/// A generation scenario (SPEC §8 `generate --mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A fixed count of ticks over a few nodes.
    Batch,
    /// `days` of data for every node of the market, from the start date.
    Historical,
    /// Many ticks over a few instruments, as fast as the writer goes.
    HighVolume,
    /// Valid rows mixed with rows broken in every way a parser must reject.
    Malformed,
    /// Out-of-order ticks and some far too late.
    Late,
    /// Identities re-sent with a higher revision and a new price, and exact duplicates.
    Corrections,
    /// An unbounded stream (bounded only by `count`), paced by the caller at `rate`.
    Continuous,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 7] = [
        Mode::Batch,
        Mode::Historical,
        Mode::HighVolume,
        Mode::Malformed,
        Mode::Late,
        Mode::Corrections,
        Mode::Continuous,
    ];

    /// The mode's CLI name (`batch`, `high-volume`, …).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Batch => "batch",
            Mode::Historical => "historical",
            Mode::HighVolume => "high-volume",
            Mode::Malformed => "malformed",
            Mode::Late => "late",
            Mode::Corrections => "corrections",
            Mode::Continuous => "continuous",
        }
    }

    /// Looks a mode up by name (case-insensitive; `_` and `-` are interchangeable).
    pub fn from_name(name: &str) -> Option<Mode> {
        let n = name.trim().to_ascii_lowercase().replace('_', "-");
        Mode::ALL.into_iter().find(|m| m.name() == n)
    }

    /// The number of items generated when no count is given (`None`: unbounded).
    pub fn default_count(self) -> Option<u64> {
        match self {
            Mode::Batch | Mode::Late | Mode::Corrections => Some(1_000),
            Mode::Malformed => Some(200),
            Mode::HighVolume => Some(1_000_000),
            Mode::Historical | Mode::Continuous => None,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a generation request cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A parameter is unknown or malformed.
    #[error("bad generator parameter: {0}")]
    BadParam(String),
    /// The mode cannot be expressed in the format (e.g. corrections inside one CAISO pivot).
    #[error("mode {mode} cannot be written as {format}: {why}")]
    Unsupported {
        /// The mode.
        mode: Mode,
        /// The format.
        format: Format,
        /// Why.
        why: &'static str,
    },
    /// Writing failed.
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A generation request.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateSpec {
    /// The scenario.
    pub mode: Mode,
    /// The output format (any name of SPEC §2.1).
    pub format: Format,
    /// Items to write (rows for row formats, observations for wide and long ones); `None` uses
    /// the mode's default. MISO documents hold whole node rows, so their count is rounded up to
    /// a multiple of 24.
    pub count: Option<u64>,
    /// Operating days covered by `historical` (default 3).
    pub days: u32,
    /// First operating day; `None` uses the mode's default (historical starts on 2024-11-02 so
    /// that three days cover the 2024 fall-back day).
    pub start: Option<Date>,
    /// Seed: equal specs give byte-identical output.
    pub seed: u64,
    /// Ticks per second for `continuous` (the caller paces; see [`super::Pacer`]).
    pub rate: Option<f64>,
    /// Number of locations; `None` picks a few (all of them for `historical`).
    pub nodes: Option<usize>,
    /// CAISO only: write the raw OASIS SingleZip instead of the CSV.
    pub zip: bool,
}

impl GenerateSpec {
    /// A spec with defaults for everything but the mode and format.
    pub fn new(mode: Mode, format: Format) -> GenerateSpec {
        GenerateSpec {
            mode,
            format,
            count: None,
            days: 3,
            start: None,
            seed: 1,
            rate: None,
            nodes: None,
            zip: false,
        }
    }

    /// Parses `mode=…,format=…,count=…,days=…,start=YYYY-MM-DD,seed=…,rate=…,nodes=…,zip=…`
    /// (the `generator:` input syntax); the format defaults to `simple-csv` and the mode to
    /// `batch`. Every problem is reported at once.
    pub fn from_params(params: &str) -> Result<GenerateSpec, GenerateError> {
        let mut spec = GenerateSpec::new(Mode::Batch, Format::SimpleCsv);
        let mut errors = Vec::new();
        for part in params.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((key, value)) = part.split_once('=') else {
                errors.push(format!("{part:?} is not key=value"));
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            let num = |errors: &mut Vec<String>| -> Option<u64> {
                value
                    .replace('_', "")
                    .parse::<u64>()
                    .map_err(|_| errors.push(format!("{key}={value:?} is not a whole number")))
                    .ok()
            };
            match key.as_str() {
                "mode" => match Mode::from_name(value) {
                    Some(m) => spec.mode = m,
                    None => errors.push(format!("unknown mode {value:?}")),
                },
                "format" => match Format::from_name(value) {
                    Some(f) => spec.format = f,
                    None => errors.push(format!("unknown format {value:?}")),
                },
                "count" => spec.count = num(&mut errors).or(spec.count),
                "seed" => spec.seed = num(&mut errors).unwrap_or(spec.seed),
                "days" => match num(&mut errors) {
                    Some(d) if (1..=3660).contains(&d) => spec.days = d as u32,
                    Some(_) => errors.push(format!("days={value} is outside 1..=3660")),
                    None => {}
                },
                "nodes" => match num(&mut errors) {
                    Some(n) if n >= 1 => spec.nodes = Some(n as usize),
                    Some(_) => errors.push("nodes must be at least 1".into()),
                    None => {}
                },
                "start" => match parse_ymd(value) {
                    Ok(d) => spec.start = Some(d),
                    Err(e) => errors.push(format!("start: {e}")),
                },
                "rate" => match value.parse::<f64>() {
                    Ok(r) if r.is_finite() && r > 0.0 => spec.rate = Some(r),
                    _ => errors.push(format!("rate={value:?} is not a positive number")),
                },
                "zip" => match value {
                    "true" | "1" | "yes" => spec.zip = true,
                    "false" | "0" | "no" => spec.zip = false,
                    _ => errors.push(format!("zip={value:?} is not a boolean")),
                },
                _ => errors.push(format!("unknown key {key:?}")),
            }
        }
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(GenerateError::BadParam(errors.join("; ")))
        }
    }

    /// The first operating day.
    pub fn start_date(&self) -> Date {
        self.start.unwrap_or(match self.mode {
            Mode::Historical => Date {
                year: 2024,
                month: 11,
                day: 2,
            },
            _ => Date {
                year: 2025,
                month: 7,
                day: 1,
            },
        })
    }

    /// The last operating day covered (historical: start + days − 1; otherwise the start).
    pub fn end_date(&self) -> Date {
        let mut d = self.start_date();
        if self.mode == Mode::Historical {
            for _ in 1..self.days.max(1) {
                d = d.next_day();
            }
        }
        d
    }

    /// The number of items to generate; `None` = unbounded (or, for historical, all days).
    pub fn item_count(&self) -> Option<u64> {
        self.count.or(self.mode.default_count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        let s = GenerateSpec::from_params("mode=high_volume, count=1_000,seed=9,format=pjm-rt")
            .unwrap();
        assert_eq!(
            (s.mode, s.count, s.seed, s.format),
            (Mode::HighVolume, Some(1000), 9, Format::PjmRt)
        );
        let e = GenerateSpec::from_params("mode=nope,count=x,color=red").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("unknown mode") && msg.contains("count") && msg.contains("color"));
        let s = GenerateSpec::from_params("mode=historical,days=2,start=2024-03-09").unwrap();
        assert_eq!(s.end_date(), Date::new(2024, 3, 10).unwrap());
    }
}
