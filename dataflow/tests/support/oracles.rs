//! Independent recomputations for the metrics tests: simple-CSV rows, a dedupe oracle, PJM
//! stamps and civil dates.
#![allow(dead_code)]

use std::collections::HashMap;

/// Rows of a simple CSV: header name → value.
pub fn csv_rows(text: &str) -> Vec<HashMap<String, String>> {
    let mut it = text.lines();
    let header: Vec<String> = it.next().unwrap().split(',').map(str::to_string).collect();
    it.filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// (market, run, node, ts) of a simple-CSV row.
pub type Identity = (String, String, String, String);

/// Duplicates and corrections recomputed from simple-CSV rows in file order (one batch, one
/// worker): the winner of an identity is the arrival of greatest (revision, position); a later
/// arrival equal in price is a duplicate, one that outranks the winner with another price a
/// correction.
pub fn dedupe_oracle(rows: &[HashMap<String, String>]) -> (u64, u64) {
    let mut winners: HashMap<Identity, (u64, usize, String)> = HashMap::new();
    let (mut duplicates, mut corrections) = (0, 0);
    for (pos, r) in rows.iter().enumerate() {
        let key = (
            r["market"].clone(),
            r["run"].clone(),
            r["node"].clone(),
            r["ts"].clone(),
        );
        let rev: u64 = r["revision"].parse().unwrap();
        let price = r["price"].clone();
        match winners.get_mut(&key) {
            None => {
                winners.insert(key, (rev, pos, price));
            }
            Some(w) => {
                if w.2 == price {
                    duplicates += 1;
                } else if (rev, pos) > (w.0, w.1) {
                    corrections += 1;
                }
                if (rev, pos) > (w.0, w.1) {
                    *w = (rev, pos, price);
                }
            }
        }
    }
    (duplicates, corrections)
}

/// Civil date → days since 1970-01-01 (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A PJM `datetime_beginning_utc` (`7/1/2025 4:00:00 AM`) as hours since the epoch.
pub fn pjm_hour(s: &str) -> i64 {
    let mut parts = s.split(' ');
    let date: Vec<i64> = parts
        .next()
        .unwrap()
        .split('/')
        .map(|x| x.parse().unwrap())
        .collect();
    let hour: i64 = parts
        .next()
        .unwrap()
        .split(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let pm = parts.next().unwrap() == "PM";
    let h24 = hour % 12 + if pm { 12 } else { 0 };
    days_from_civil(date[2], date[0], date[1]) * 24 + h24
}
