//! Number and time spellings used by the ISOs' files. Values arrive quantized to the format's
//! last decimal (see `prices`), so every spelling is exact.

use crate::generator::localtime::naive;
use operators::model::EpochMs;
use operators::time::{Date, LocalDateTime};
use std::fmt::Write as _;

/// `x` with exactly `d` decimals (`23.710000`, `-0.10`).
pub(crate) fn fixed(x: f64, d: u32) -> String {
    let scale = 10i64.pow(d);
    let units = (x * scale as f64).round() as i64;
    let mut s = String::with_capacity(16);
    if units < 0 {
        s.push('-');
    }
    let a = units.unsigned_abs();
    let _ = write!(s, "{}", a / scale as u64);
    if d > 0 {
        let _ = write!(s, ".{:0width$}", a % scale as u64, width = d as usize);
    }
    s
}

/// `x` with up to `d` decimals and no trailing zeros (`26.721`, `40`, `-0.005`).
pub(crate) fn trimmed(x: f64, d: u32) -> String {
    let mut s = fixed(x, d);
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

/// MISO day-ahead spelling: trimmed, without a leading zero (`-.19`, `.5`, `43`, `0`).
pub(crate) fn unpadded(x: f64, d: u32) -> String {
    let s = trimmed(x, d);
    if let Some(rest) = s.strip_prefix("0.") {
        format!(".{rest}")
    } else if let Some(rest) = s.strip_prefix("-0.") {
        format!("-.{rest}")
    } else {
        s
    }
}

/// Python `repr` of a float with up to `d` decimals (ISO-NE: `47.82`, `0.0`, `43.5`).
pub(crate) fn py_repr(x: f64, d: u32) -> String {
    let mut s = trimmed(x, d);
    if !s.contains('.') {
        s.push_str(".0");
    }
    s
}

/// `MM/DD/YYYY`.
pub(crate) fn mdy(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.month, d.day, d.year)
}

/// `M/D/YYYY` (no zero padding).
pub(crate) fn mdy_short(d: Date) -> String {
    format!("{}/{}/{:04}", d.month, d.day, d.year)
}

/// `YYYY-MM-DD`.
pub(crate) fn ymd(d: Date) -> String {
    d.to_string()
}

/// `YYYYMMDD`.
pub(crate) fn compact(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year, d.month, d.day)
}

/// `HH:MM:SS`.
pub(crate) fn hms(t: LocalDateTime) -> String {
    format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second)
}

/// `HH:MM`.
pub(crate) fn hm(t: LocalDateTime) -> String {
    format!("{:02}:{:02}", t.hour, t.minute)
}

/// PJM Data Miner stamp `M/D/YYYY h:mm:ss AM`.
pub(crate) fn us12(t: LocalDateTime) -> String {
    let (h12, ampm) = match t.hour {
        0 => (12, "AM"),
        1..=11 => (t.hour, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{} {}:{:02}:{:02} {}",
        mdy_short(t.date),
        h12,
        t.minute,
        t.second,
        ampm
    )
}

/// CAISO OASIS UTC stamp `YYYY-MM-DDTHH:MM:SS-00:00`.
pub(crate) fn oasis_utc(ms: EpochMs) -> String {
    let t = naive(ms);
    format!("{}T{}-00:00", ymd(t.date), hms(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(fixed(23.71, 6), "23.710000");
        assert_eq!(fixed(-0.1, 2), "-0.10");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(trimmed(40.0, 2), "40");
        assert_eq!(trimmed(-0.005, 4), "-0.005");
        assert_eq!(trimmed(-0.001, 2), "0");
        assert_eq!(unpadded(-0.19, 2), "-.19");
        assert_eq!(unpadded(27.4, 2), "27.4");
        assert_eq!(unpadded(0.0, 2), "0");
        assert_eq!(py_repr(0.0, 2), "0.0");
        assert_eq!(py_repr(-2.97, 2), "-2.97");
        let t = naive(1_730_610_000_000); // 2024-11-03T05:00:00Z
        assert_eq!(us12(t), "11/3/2024 5:00:00 AM");
        assert_eq!(oasis_utc(1_730_610_000_000), "2024-11-03T05:00:00-00:00");
        let noon = naive(1_730_635_200_000);
        assert_eq!(us12(noon), "11/3/2024 12:00:00 PM");
    }
}
