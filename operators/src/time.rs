//! Local market stamps → UTC, with a real time-zone database (jiff's bundled tzdb, so results do
//! not depend on the machine's zoneinfo).
//!
//! Two conventions cover every ISO (SPEC §2.1):
//! - **local stamps** (NYISO): a wall-clock time in a zone; a time in the spring-forward gap does
//!   not exist (an error), a time in the fall-back fold is resolved by the caller as the first
//!   (daylight) or second (standard) occurrence;
//! - **hour-ending labels** (ISO-NE, MISO, ERCOT): `interval_start` = UTC of local midnight of the
//!   operating day + the label's position in that day's published hours. HE01 is position 0; on a
//!   23-hour day there is no HE02 and HE03 is position 1; on a 25-hour day HE02 is position 1, the
//!   repeated hour (`02X`, or a DST flag) position 2 and HE03 position 3 (US transitions are at 02:00).

use crate::model::EpochMs;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use std::fmt;

const HOUR_MS: i64 = 3_600_000;

/// Why a local time could not be placed on the UTC axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    /// The date or time fields are out of range (month 13, minute 61, …).
    Invalid(String),
    /// The local time falls in a spring-forward gap.
    NonExistent(String),
    /// The zone name is unknown.
    UnknownZone(String),
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Invalid(s) => write!(f, "invalid time: {s}"),
            TimeError::NonExistent(s) => write!(f, "non-existent local time: {s}"),
            TimeError::UnknownZone(s) => write!(f, "unknown time zone: {s}"),
        }
    }
}

impl std::error::Error for TimeError {}

/// Which occurrence of a repeated (fall-back) local time is meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fold {
    /// The first occurrence (daylight time).
    First,
    /// The second occurrence (standard time).
    Second,
}

/// A loaded zone.
#[derive(Clone, Debug)]
pub struct Zone {
    tz: TimeZone,
}

impl Zone {
    /// Loads an IANA zone from the bundled database.
    pub fn get(name: &str) -> Result<Zone, TimeError> {
        TimeZone::get(name)
            .map(|tz| Zone { tz })
            .map_err(|_| TimeError::UnknownZone(name.to_string()))
    }

    /// A fixed offset from UTC, in hours (MISO's EST is `-5`).
    pub fn fixed_hours(hours: i8) -> Zone {
        Zone {
            tz: TimeZone::fixed(jiff::tz::offset(hours)),
        }
    }

    /// True when the local time is in a fall-back fold (occurs twice).
    pub fn is_ambiguous(&self, dt: LocalDateTime) -> bool {
        match dt.to_jiff() {
            Ok(d) => matches!(
                self.tz.to_ambiguous_timestamp(d).offset(),
                AmbiguousOffset::Fold { .. }
            ),
            Err(_) => false,
        }
    }

    /// Converts a local wall-clock time to epoch ms UTC. A gap is an error; a fold is resolved by
    /// `fold`.
    pub fn to_utc_ms(&self, dt: LocalDateTime, fold: Fold) -> Result<EpochMs, TimeError> {
        let d = dt.to_jiff()?;
        let offset_s = match self.tz.to_ambiguous_timestamp(d).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset.seconds(),
            AmbiguousOffset::Gap { .. } => return Err(TimeError::NonExistent(dt.to_string())),
            AmbiguousOffset::Fold { before, after } => match fold {
                Fold::First => before.seconds(),
                Fold::Second => after.seconds(),
            },
        };
        Ok(dt.naive_ms() - i64::from(offset_s) * 1000)
    }

    /// UTC instant of local midnight starting `date`, and the day's length in hours (23, 24, 25).
    pub fn operating_day(&self, date: Date) -> Result<(EpochMs, i64), TimeError> {
        let start = self.midnight(date)?;
        let next = self.midnight(date.next_day())?;
        Ok((start, (next - start) / HOUR_MS))
    }

    fn midnight(&self, date: Date) -> Result<EpochMs, TimeError> {
        // Midnight never falls in a US gap or fold; resolve defensively to the first occurrence.
        let dt = LocalDateTime {
            date,
            hour: 0,
            minute: 0,
            second: 0,
        };
        match self.to_utc_ms(dt, Fold::First) {
            Ok(ms) => Ok(ms),
            Err(TimeError::NonExistent(_)) => self
                .to_utc_ms(
                    LocalDateTime {
                        date,
                        hour: 1,
                        minute: 0,
                        second: 0,
                    },
                    Fold::First,
                )
                .map(|ms| ms - HOUR_MS),
            Err(e) => Err(e),
        }
    }

    /// Start (epoch ms UTC) of the hour labelled hour-ending `he` (1..=25) on `date`; `repeated`
    /// marks the second occurrence of the fall-back hour (`02X`, ERCOT `DSTFlag=Y`).
    pub fn hour_ending_start_ms(
        &self,
        date: Date,
        he: u32,
        repeated: bool,
    ) -> Result<EpochMs, TimeError> {
        let (midnight, hours) = self.operating_day(date)?;
        let position = hour_ending_position(hours, he, repeated).ok_or_else(|| {
            TimeError::NonExistent(format!(
                "hour ending {he:02}{} on {date} ({hours}-hour day)",
                if repeated { " (repeated)" } else { "" }
            ))
        })?;
        Ok(midnight + position * HOUR_MS)
    }
}

/// Position (0-based hour of the operating day) of hour-ending label `he` on a day of `hours`
/// hours; `None` when the label does not exist that day.
pub fn hour_ending_position(hours: i64, he: u32, repeated: bool) -> Option<i64> {
    let he = i64::from(he);
    match (hours, he, repeated) {
        (_, h, _) if !(1..=25).contains(&h) => None,
        (24, h, false) if h <= 24 => Some(h - 1),
        (23, 1, false) => Some(0),
        (23, h, false) if (3..=24).contains(&h) => Some(h - 2),
        (25, 1, false) => Some(0),
        (25, 2, false) => Some(1),
        (25, 2, true) => Some(2),
        (25, h, false) if (3..=24).contains(&h) => Some(h),
        // Some publishers number the 25-hour day 1..=25 instead of using a repeat marker.
        (25, 25, false) => Some(24),
        _ => None,
    }
}

/// A calendar date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month 1..=12.
    pub month: u32,
    /// Day 1..=31.
    pub day: u32,
}

impl Date {
    /// Builds a date, checking that it exists.
    pub fn new(year: i32, month: u32, day: u32) -> Result<Date, TimeError> {
        let d = Date { year, month, day };
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(TimeError::Invalid(format!("{year:04}-{month:02}-{day:02}")));
        }
        Ok(d)
    }

    /// Days since 1970-01-01.
    pub fn days(self) -> i64 {
        crate::model::render::days_from_civil(i64::from(self.year), self.month, self.day)
    }

    /// The next calendar day.
    pub fn next_day(self) -> Date {
        let (y, m, d) = crate::model::render::civil_from_days(self.days() + 1);
        Date {
            year: y as i32,
            month: m,
            day: d,
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A local wall-clock date and time (no zone).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime {
    /// Date.
    pub date: Date,
    /// Hour 0..=23 (24:00 is accepted and means the next midnight).
    pub hour: u32,
    /// Minute 0..=59.
    pub minute: u32,
    /// Second 0..=59.
    pub second: u32,
}

impl LocalDateTime {
    /// Builds a checked local date-time; `24:00:00` becomes the next day's `00:00:00`.
    pub fn new(
        date: Date,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Result<LocalDateTime, TimeError> {
        if hour == 24 && minute == 0 && second == 0 {
            return Ok(LocalDateTime {
                date: date.next_day(),
                hour: 0,
                minute: 0,
                second: 0,
            });
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimeError::Invalid(format!(
                "{date} {hour:02}:{minute:02}:{second:02}"
            )));
        }
        Ok(LocalDateTime {
            date,
            hour,
            minute,
            second,
        })
    }

    /// Milliseconds of this wall-clock reading as if it were UTC.
    pub fn naive_ms(self) -> EpochMs {
        (self.date.days() * 86_400 + i64::from(self.hour * 3600 + self.minute * 60 + self.second))
            * 1000
    }

    fn to_jiff(self) -> Result<DateTime, TimeError> {
        DateTime::new(
            self.date.year as i16,
            self.date.month as i8,
            self.date.day as i8,
            self.hour as i8,
            self.minute as i8,
            self.second as i8,
            0,
        )
        .map_err(|_| TimeError::Invalid(self.to_string()))
    }
}

impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::render::time;

    fn ny() -> Zone {
        Zone::get("America/New_York").unwrap()
    }

    #[test]
    fn hour_ending_examples_from_spec() {
        let d = Date::new(2024, 3, 10).unwrap();
        assert_eq!(
            time(ny().hour_ending_start_ms(d, 3, false).unwrap()),
            "2024-03-10T06:00:00Z"
        );
        assert!(ny().hour_ending_start_ms(d, 2, false).is_err());
        let d = Date::new(2024, 11, 3).unwrap();
        assert_eq!(
            time(ny().hour_ending_start_ms(d, 2, false).unwrap()),
            "2024-11-03T05:00:00Z"
        );
        assert_eq!(
            time(ny().hour_ending_start_ms(d, 2, true).unwrap()),
            "2024-11-03T06:00:00Z"
        );
        assert_eq!(
            time(ny().hour_ending_start_ms(d, 3, false).unwrap()),
            "2024-11-03T07:00:00Z"
        );
        let est = Zone::fixed_hours(-5);
        let d = Date::new(2013, 5, 7).unwrap();
        assert_eq!(
            time(est.hour_ending_start_ms(d, 1, false).unwrap()),
            "2013-05-07T05:00:00Z"
        );
    }

    #[test]
    fn hour_ending_24_ends_at_next_local_midnight() {
        let chi = Zone::get("America/Chicago").unwrap();
        let d = Date::new(2026, 9, 26).unwrap();
        let start = chi.hour_ending_start_ms(d, 24, false).unwrap();
        assert_eq!(time(start), "2026-09-27T04:00:00Z");
        assert_eq!(time(start + HOUR_MS), "2026-09-27T05:00:00Z");
    }

    #[test]
    fn folds_and_gaps() {
        let d = Date::new(2024, 11, 3).unwrap();
        let dt = LocalDateTime::new(d, 1, 30, 0).unwrap();
        assert!(ny().is_ambiguous(dt));
        assert_eq!(
            time(ny().to_utc_ms(dt, Fold::First).unwrap()),
            "2024-11-03T05:30:00Z"
        );
        assert_eq!(
            time(ny().to_utc_ms(dt, Fold::Second).unwrap()),
            "2024-11-03T06:30:00Z"
        );
        let gap = LocalDateTime::new(Date::new(2024, 3, 10).unwrap(), 2, 30, 0).unwrap();
        assert!(matches!(
            ny().to_utc_ms(gap, Fold::First),
            Err(TimeError::NonExistent(_))
        ));
        assert!(Date::new(2023, 2, 29).is_err());
        assert!(Date::new(2024, 2, 29).is_ok());
    }
}
