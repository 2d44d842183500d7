//! Field-level helpers shared by the parsers: column maps by name, exact number parsing and the
//! date/time spellings the ISOs publish.

use crate::time::{Date, LocalDateTime, TimeError};
use rustc_hash::FxHashMap;

/// Column positions by trimmed, lower-cased header name.
#[derive(Clone, Debug, Default)]
pub struct Columns {
    names: Vec<String>,
    index: FxHashMap<String, usize>,
}

impl Columns {
    /// Builds the map from header fields (leading/trailing spaces and quotes already removed by
    /// the CSV reader; a UTF-8 BOM on the first name is dropped).
    pub fn new<'a>(header: impl IntoIterator<Item = &'a [u8]>) -> Columns {
        let mut cols = Columns::default();
        for (i, raw) in header.into_iter().enumerate() {
            let raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            let name = String::from_utf8_lossy(raw).trim().to_ascii_lowercase();
            cols.index.entry(name.clone()).or_insert(i);
            cols.names.push(name);
        }
        cols
    }

    /// Index of the first of `names` present (names are matched case-insensitively).
    pub fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.index
                .get(*n)
                .copied()
                .or_else(|| self.names.iter().position(|c| c.eq_ignore_ascii_case(n)))
        })
    }

    /// Index of the first of `names` present, or a `missing required column` message.
    pub fn require(&self, names: &[&str]) -> Result<usize, String> {
        self.find(names)
            .ok_or_else(|| format!("missing required column {}", names.join(" or ")))
    }

    /// True when a column of that name exists.
    pub fn has(&self, name: &str) -> bool {
        self.find(&[name]).is_some()
    }

    /// The lower-cased names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when there is no column.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Parses a decimal number exactly (bit-identical to `str::parse::<f64>`), rejecting empty text,
/// trailing junk and non-finite values (`NaN`, `inf`, overflow).
pub fn parse_f64(s: &str) -> Result<f64, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty number".into());
    }
    match fast_float2::parse::<f64, _>(t) {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("non-finite number {t:?}")),
        Err(_) => Err(format!("not a number: {t:?}")),
    }
}

fn num<T: std::str::FromStr>(s: &str, what: &str, whole: &str) -> Result<T, String> {
    s.trim()
        .parse::<T>()
        .map_err(|_| format!("bad {what} in {whole:?}"))
}

/// Parses `M/D/YYYY` or `MM/DD/YYYY`.
pub fn parse_mdy(s: &str) -> Result<Date, String> {
    let t = s.trim();
    let mut it = t.split('/');
    let (Some(m), Some(d), Some(y), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(format!("expected M/D/YYYY, got {t:?}"));
    };
    if y.trim().len() != 4 {
        return Err(format!("expected a 4-digit year in {t:?}"));
    }
    Date::new(num(y, "year", t)?, num(m, "month", t)?, num(d, "day", t)?).map_err(|e| e.to_string())
}

/// Parses `YYYY-MM-DD` or `YYYY/MM/DD`.
pub fn parse_ymd(s: &str) -> Result<Date, String> {
    let t = s.trim();
    let sep = if t.contains('-') { '-' } else { '/' };
    let mut it = t.split(sep);
    let (Some(y), Some(m), Some(d), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(format!("expected YYYY-MM-DD, got {t:?}"));
    };
    if y.trim().len() != 4 {
        return Err(format!("expected a 4-digit year in {t:?}"));
    }
    Date::new(num(y, "year", t)?, num(m, "month", t)?, num(d, "day", t)?).map_err(|e| e.to_string())
}

/// Parses `H:MM`, `HH:MM:SS`, with an optional `AM`/`PM` suffix (12-hour clock).
pub fn parse_clock(s: &str) -> Result<(u32, u32, u32), String> {
    let t = s.trim();
    let (clock, meridiem) = match t.rsplit_once(' ') {
        Some((c, m)) if m.eq_ignore_ascii_case("AM") || m.eq_ignore_ascii_case("PM") => {
            (c.trim(), Some(m.eq_ignore_ascii_case("PM")))
        }
        _ => (t, None),
    };
    let mut it = clock.split(':');
    let h: u32 = num(it.next().unwrap_or(""), "hour", t)?;
    let m: u32 = num(
        it.next().ok_or_else(|| format!("expected H:MM in {t:?}"))?,
        "minute",
        t,
    )?;
    let sec: u32 = match it.next() {
        Some(x) => {
            // Fractional seconds are truncated (published stamps carry none in practice).
            let whole = x.split('.').next().unwrap_or(x);
            num(whole, "second", t)?
        }
        None => 0,
    };
    if it.next().is_some() {
        return Err(format!("too many ':' in {t:?}"));
    }
    let h = match meridiem {
        Some(pm) => {
            if !(1..=12).contains(&h) {
                return Err(format!("bad 12-hour clock hour in {t:?}"));
            }
            (h % 12) + if pm { 12 } else { 0 }
        }
        None => h,
    };
    Ok((h, m, sec))
}

/// Parses a US-style stamp `M/D/YYYY h:mm[:ss] [AM|PM]` or an ISO-style `YYYY-MM-DD HH:MM[:SS]` /
/// `YYYY/MM/DD HH:MM:SS` into a local date-time (`24:00` rolls to the next midnight).
pub fn parse_us_datetime(s: &str) -> Result<LocalDateTime, String> {
    let t = s.trim();
    let (date, clock) = t
        .split_once([' ', 'T'])
        .ok_or_else(|| format!("expected date and time in {t:?}"))?;
    let date = if date.len() >= 5
        && date.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && date.as_bytes()[4].is_ascii_punctuation()
    {
        parse_ymd(date)?
    } else {
        parse_mdy(date)?
    };
    let (h, m, sec) = parse_clock(clock)?;
    LocalDateTime::new(date, h, m, sec).map_err(|e: TimeError| e.to_string())
}

/// Collects the issues of one record while its fields are read, so a rejected record lists every
/// problem at once. Unreadable text (not UTF-8, a JSON field that is not a scalar) makes the
/// record a `PARSE_ERROR`; any other issue a `VALIDATION_ERROR`.
#[derive(Debug, Default)]
pub(crate) struct RowIssues {
    /// The issues, in the order found.
    pub list: Vec<String>,
    /// True when some field could not be read at all.
    pub unreadable: bool,
}

impl RowIssues {
    /// Records an issue.
    pub fn push(&mut self, issue: impl Into<String>) {
        self.list.push(issue.into());
    }

    /// The value of `r`, or `None` after recording its error.
    pub fn check<T>(&mut self, r: Result<T, String>) -> Option<T> {
        r.map_err(|e| self.list.push(e)).ok()
    }

    /// An optional text field (`None` when absent or empty).
    pub fn text<'a>(
        &mut self,
        row: &super::Row<'a>,
        names: &[&str],
    ) -> Option<std::borrow::Cow<'a, str>> {
        row.text(names).unwrap_or_else(|e| {
            self.unreadable = true;
            self.list.push(e);
            None
        })
    }

    /// A required text field; absence or emptiness is an issue naming `names[0]`.
    pub fn require<'a>(
        &mut self,
        row: &super::Row<'a>,
        names: &[&str],
    ) -> Option<std::borrow::Cow<'a, str>> {
        let before = self.list.len();
        let v = self.text(row, names);
        if v.is_none() && self.list.len() == before {
            self.list.push(format!(
                "missing {}",
                names.first().copied().unwrap_or("field")
            ));
        }
        v
    }

    /// An optional finite number (`None` when absent or empty; an issue when not a number).
    pub fn num(&mut self, row: &super::Row<'_>, names: &[&str]) -> Option<f64> {
        let t = self.text(row, names)?;
        let what = names.first().copied().unwrap_or("number");
        self.check(parse_f64(&t).map_err(|e| format!("{what}: {e}")))
    }

    /// A required finite number.
    pub fn require_num(&mut self, row: &super::Row<'_>, names: &[&str]) -> Option<f64> {
        let t = self.require(row, names)?;
        let what = names.first().copied().unwrap_or("number");
        self.check(parse_f64(&t).map_err(|e| format!("{what}: {e}")))
    }

    /// `Ok` when no issue was found, else the error code and the issues.
    pub fn finish(self) -> Result<(), (crate::model::ErrorCode, Vec<String>)> {
        if self.list.is_empty() {
            return Ok(());
        }
        let code = if self.unreadable {
            crate::model::ErrorCode::ParseError
        } else {
            crate::model::ErrorCode::ValidationError
        };
        Err((code, self.list))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_f64("-.19").unwrap(), -0.19);
        assert_eq!(parse_f64(" 43 ").unwrap(), 43.0);
        assert_eq!(parse_f64("27.4").unwrap(), "27.4".parse::<f64>().unwrap());
        assert!(parse_f64("NaN").is_err());
        assert!(parse_f64("inf").is_err());
        assert!(parse_f64("1e400").is_err());
        assert!(parse_f64("").is_err());
        assert!(parse_f64("12abc").is_err());
    }

    #[test]
    fn stamps() {
        let dt = parse_us_datetime("5/1/2025 4:00:00 AM").unwrap();
        assert_eq!((dt.date.month, dt.date.day, dt.hour), (5, 1, 4));
        let dt = parse_us_datetime("11/3/2024 12:00:00 PM").unwrap();
        assert_eq!(dt.hour, 12);
        let dt = parse_us_datetime("11/3/2024 12:00:00 AM").unwrap();
        assert_eq!(dt.hour, 0);
        let dt = parse_us_datetime("2022/07/18 00:05:00").unwrap();
        assert_eq!((dt.date.year, dt.minute), (2022, 5));
        let dt = parse_us_datetime("6/1/2026 01:00").unwrap();
        assert_eq!((dt.date.day, dt.hour), (1, 1));
        let dt = parse_us_datetime("07/18/2022 24:00").unwrap();
        assert_eq!((dt.date.day, dt.hour), (19, 0));
        assert!(parse_us_datetime("13/1/2024 01:00").is_err());
        assert!(parse_us_datetime("2/30/2024 01:00").is_err());
        assert!(parse_us_datetime("garbage").is_err());
    }
}
