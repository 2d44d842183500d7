//! UTC instants → the local stamps and hour-ending labels the ISOs publish, computed with the
//! `operators::time` helpers the parsers use, so a written stamp always parses back to the
//! instant it came from (including the repeated fall-back hour and the missing spring hour).

use operators::model::render::civil_from_days;
use operators::model::{EpochMs, Market};
use operators::time::{Date, Fold, LocalDateTime, Zone};

const HOUR_MS: i64 = 3_600_000;

/// A market's operating zone with a one-entry offset cache.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: Zone,
    last_offset_h: i64,
}

/// A local wall-clock reading and which occurrence it is (second = the repeated fall-back hour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Local {
    /// The wall-clock reading.
    pub dt: LocalDateTime,
    /// `Fold::Second` for the second occurrence of a repeated reading.
    pub fold: Fold,
}

/// An hour-ending label: operating day, label 1..=24 and the repeated-hour marker, plus the
/// 1-based 15-minute interval within the hour and the label's position in the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourEnding {
    /// Operating day.
    pub date: Date,
    /// Hour-ending label 1..=24.
    pub he: u32,
    /// True for the repeated fall-back hour (`02X`, `DSTFlag=Y`).
    pub repeated: bool,
    /// 0-based position of the hour within the operating day (23/24/25-hour days).
    pub position: i64,
    /// 1-based quarter hour within the hour (ERCOT `DeliveryInterval`).
    pub quarter: u32,
    /// Hours in the operating day.
    pub day_hours: i64,
}

/// The wall-clock reading of `ms` if it were UTC.
pub fn naive(ms: EpochMs) -> LocalDateTime {
    let days = ms.div_euclid(86_400_000);
    let secs = ms.rem_euclid(86_400_000) / 1000;
    let (y, m, d) = civil_from_days(days);
    LocalDateTime {
        date: Date {
            year: y as i32,
            month: m,
            day: d,
        },
        hour: (secs / 3600) as u32,
        minute: ((secs / 60) % 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// The UTC date of `ms`.
pub fn utc_date(ms: EpochMs) -> Date {
    naive(ms).date
}

impl Clock {
    /// The clock of a market's operating zone (MISO: EST all year); UTC for `Other`.
    pub fn of(market: Market) -> Clock {
        let zone = market
            .operating_zone()
            .and_then(|z| Zone::get(z).ok())
            .unwrap_or_else(|| Zone::fixed_hours(0));
        let last_offset_h = match market {
            Market::Other => 0,
            Market::Caiso => -8,
            Market::Ercot | Market::Spp => -6,
            _ => -5,
        };
        Clock {
            zone,
            last_offset_h,
        }
    }

    /// The zone.
    pub fn zone(&self) -> &Zone {
        &self.zone
    }

    fn try_offset(&self, ms: EpochMs, offset_h: i64) -> Option<Local> {
        let dt = naive(ms + offset_h * HOUR_MS);
        [Fold::First, Fold::Second]
            .into_iter()
            .find(|fold| self.zone.to_utc_ms(dt, *fold) == Ok(ms))
            .map(|fold| Local { dt, fold })
    }

    /// The local reading of `ms`, found by probing whole-hour offsets (the last one found
    /// first) against the zone's own local→UTC conversion; US zones change offsets by whole
    /// hours.
    pub fn local(&mut self, ms: EpochMs) -> Local {
        if let Some(l) = self.try_offset(ms, self.last_offset_h) {
            return l;
        }
        for o in (-12..=14).rev().filter(|o| *o != self.last_offset_h) {
            if let Some(l) = self.try_offset(ms, o) {
                self.last_offset_h = o;
                return l;
            }
        }
        // Unreachable for whole-hour zones; fall back to the UTC reading.
        Local {
            dt: naive(ms),
            fold: Fold::First,
        }
    }

    /// UTC instant of local midnight starting `date`.
    pub fn midnight(&self, date: Date) -> EpochMs {
        self.zone
            .operating_day(date)
            .map(|(ms, _)| ms)
            .unwrap_or_else(|_| date.days() * 86_400_000)
    }

    /// The hour-ending label of the interval starting at `start_ms`.
    pub fn hour_ending(&mut self, start_ms: EpochMs) -> HourEnding {
        let mut date = self.local(start_ms).dt.date;
        let (mut midnight, mut hours) = self
            .zone
            .operating_day(date)
            .unwrap_or((date.days() * 86_400_000, 24));
        if start_ms < midnight {
            // Cannot happen for whole-hour zones; keep the label inside the day defensively.
            date = utc_date(start_ms);
            midnight = date.days() * 86_400_000;
            hours = 24;
        }
        let into = start_ms - midnight;
        let position = into / HOUR_MS;
        let quarter = ((into % HOUR_MS) / 900_000) as u32 + 1;
        let (he, repeated) = label(hours, position);
        HourEnding {
            date,
            he,
            repeated,
            position,
            quarter,
            day_hours: hours,
        }
    }
}

/// Hour-ending label of 0-based `position` on a day of `hours` hours: the inverse of
/// `operators::time::hour_ending_position`.
pub fn label(hours: i64, position: i64) -> (u32, bool) {
    let p = position.clamp(0, 24) as u32;
    match hours {
        23 if p >= 1 => (p + 2, false),
        25 if p == 2 => (2, true),
        25 if p >= 3 => (p, false),
        _ => (p + 1, false),
    }
}

/// A spring-forward day (second Sunday of March) of `year`: the day whose 02:00 hour does not
/// exist in US prevailing time, used for deliberately non-existent stamps.
pub fn spring_forward(year: i32) -> Date {
    let march1 = Date {
        year,
        month: 3,
        day: 1,
    };
    // 1970-01-01 was a Thursday; weekday 0 = Sunday.
    let wd = (march1.days() + 4).rem_euclid(7) as u32;
    let first_sunday = 1 + (7 - wd) % 7;
    Date {
        year,
        month: 3,
        day: first_sunday + 7,
    }
}

/// The fall-back day (first Sunday of November) of `year`.
pub fn fall_back(year: i32) -> Date {
    let nov1 = Date {
        year,
        month: 11,
        day: 1,
    };
    let wd = (nov1.days() + 4).rem_euclid(7) as u32;
    Date {
        year,
        month: 11,
        day: 1 + (7 - wd) % 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use operators::model::render::time;
    use operators::time::hour_ending_position;

    #[test]
    fn fall_back_local_and_labels() {
        let mut ny = Clock::of(Market::Nyiso);
        let d = fall_back(2024);
        assert_eq!(d, Date::new(2024, 11, 3).unwrap());
        assert_eq!(spring_forward(2024), Date::new(2024, 3, 10).unwrap());
        let five = ny.midnight(d) + HOUR_MS; // 05:00Z = 01:00 EDT
        let l1 = ny.local(five);
        let l2 = ny.local(five + HOUR_MS);
        assert_eq!((l1.dt.hour, l1.fold), (1, Fold::First));
        assert_eq!((l2.dt.hour, l2.fold), (1, Fold::Second));
        let he = ny.hour_ending(five + HOUR_MS);
        assert_eq!((he.he, he.repeated, he.day_hours), (2, true, 25));
        for hours in [23, 24, 25] {
            for p in 0..hours {
                let (he, rep) = label(hours, p);
                assert_eq!(hour_ending_position(hours, he, rep), Some(p));
            }
        }
        let mut est = Clock::of(Market::Miso);
        assert_eq!(
            time(est.midnight(Date::new(2024, 7, 1).unwrap())),
            "2024-07-01T05:00:00Z"
        );
        assert_eq!(est.local(0).dt.hour, 19);
    }
}
