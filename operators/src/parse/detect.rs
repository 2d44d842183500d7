//! Format detection from content (header, preamble, stamp spacing), then from the file name.
//!
//! Only the first 64 KiB are examined. A document whose format stays unknown or ambiguous is
//! rejected by the caller as one `PARSE_ERROR` dead letter.

use super::Format;

const PROBE_BYTES: usize = 64 * 1024;

/// Detects the format of a document from its bytes, falling back to its (file) name.
pub fn detect(bytes: &[u8], name: Option<&str>) -> Result<Format, String> {
    if super::zipdoc::is_zip(bytes) {
        return Ok(Format::CaisoOasis);
    }
    let probe = &bytes[..bytes.len().min(PROBE_BYTES)];
    let probe = probe.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(probe);
    let text = String::from_utf8_lossy(probe);
    let lower_name = name.map(|n| n.to_ascii_lowercase()).unwrap_or_default();
    let first = text.trim_start();
    if first.starts_with('{') || first.starts_with('[') {
        return detect_json(first, &lower_name);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(12)
        .collect();
    let Some(header) = lines.first() else {
        return Err("empty document".into());
    };
    let norm = |l: &str| l.replace('"', "").to_ascii_lowercase();
    let h = norm(header);

    // ISO-NE: every line starts with a record-type column "C", "H", "D" or "T". The market is
    // told by the comment (C) lines: the report title and its `Filename:` line.
    if h.starts_with("c,") || h.starts_with("h,") {
        let comments: String = text
            .lines()
            .map(norm)
            .filter(|l| l.trim_start().starts_with("c,"))
            .collect::<Vec<_>>()
            .join(" ");
        let says = |keys: &[&str], s: &str| keys.iter().any(|k| s.contains(k));
        let da = ["day-ahead", "day ahead", "dalmp", "da_lmp", "damlmp"];
        let rt = ["real-time", "real time", "realtime", "lmp_rt", "rt_lmp"];
        return if says(&da, &comments) {
            Ok(Format::IsoneDa)
        } else if says(&rt, &comments) {
            Ok(Format::IsoneRt)
        } else if says(&da, &lower_name) {
            Ok(Format::IsoneDa)
        } else if says(&rt, &lower_name) {
            Ok(Format::IsoneRt)
        } else {
            Err("ISO-NE report whose market (day-ahead or real-time) cannot be told".into())
        };
    }

    // MISO: a title preamble, then `Node,Type,Value,HE 1..`.
    if let Some(i) = lines
        .iter()
        .position(|l| norm(l).starts_with("node,type,value"))
    {
        let pre = lines[..i].join(" ").to_ascii_lowercase();
        return if pre.contains("day ahead")
            || pre.contains("day-ahead")
            || lower_name.contains("_da_")
        {
            Ok(Format::MisoDa)
        } else if pre.contains("real") || lower_name.contains("_rt_") {
            Ok(Format::MisoRt)
        } else {
            Err("MISO market report whose market (day-ahead or real-time) cannot be told".into())
        };
    }

    let cols: Vec<String> = h.split(',').map(|c| c.trim().to_string()).collect();
    let has = |c: &str| cols.iter().any(|x| x == c);
    let any_contains = |c: &str| cols.iter().any(|x| x.contains(c));

    if has("datetime_beginning_utc") || has("datetime_beginning_ept") {
        if has("total_lmp_da") {
            return Ok(Format::PjmDa);
        }
        if has("total_lmp_rt") {
            let five = stamp_minutes(
                &lines[1..],
                cols.iter().position(|c| c == "datetime_beginning_utc"),
            )
            .any(|m| m % 60 != 0);
            return Ok(if five || lower_name.contains("fivemin") {
                Format::PjmRt5
            } else {
                Format::PjmRt
            });
        }
    }
    if any_contains("rtd end time stamp") || any_contains("rtc end time stamp") {
        return Ok(Format::NyisoOasis);
    }
    if has("time stamp") && any_contains("lbmp") {
        // DA stamps are hour-beginning on the hour (`MM/DD/YYYY HH:MM`); RT stamps are
        // interval-ending every 5 minutes or off-grid (`MM/DD/YYYY HH:MM:SS`).
        let col = cols.iter().position(|c| c == "time stamp");
        let mut sample: Vec<&str> = text
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .collect();
        if bytes.len() > PROBE_BYTES {
            sample.pop(); // the probe may end inside a line
        }
        let mut minutes: Vec<i64> = stamp_minutes(&sample, col).collect();
        let stamp = lines.get(1).map(|l| l.replace('"', "")).unwrap_or_default();
        let stamp = stamp.split(',').next().unwrap_or("").trim().to_string();
        let colons = stamp.matches(':').count();
        minutes.sort_unstable();
        minutes.dedup();
        return if minutes.iter().any(|m| m % 60 != 0) {
            Ok(Format::NyisoRt)
        } else if minutes.len() >= 2 || lower_name.contains("damlbmp") {
            Ok(Format::NyisoDa)
        } else if lower_name.contains("realtime") || colons >= 2 {
            Ok(Format::NyisoRt)
        } else {
            Ok(Format::NyisoDa)
        };
    }
    if has("intervalstarttime_gmt") && (has("lmp_type") || has("xml_data_item")) {
        return Ok(Format::CaisoOasis);
    }
    if has("settlementpointprice") || has("settlement point price") {
        if has("deliveryinterval") {
            return Ok(Format::ErcotRt);
        }
        if has("hourending") || has("hour ending") {
            return Ok(Format::ErcotDam);
        }
        return Err("ERCOT CSV with neither DeliveryInterval nor HourEnding".into());
    }
    if (has("gmtintervalend") || has("gmt interval")) && has("lmp") {
        let gmt = cols
            .iter()
            .position(|c| c == "gmtintervalend" || c == "gmt interval");
        // A full file lists every location per interval: look at every line of the probe, not
        // just the first dozen, to see a second interval.
        let all: Vec<&str> = text
            .lines()
            .skip_while(|l| l.trim().is_empty())
            .skip(1)
            .collect();
        let minutes: Vec<i64> = stamp_minutes(&all, gmt).collect();
        if minutes.iter().any(|m| m % 60 != 0) {
            return Ok(Format::SppRtbm);
        }
        let mut distinct = minutes.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let step = distinct.windows(2).map(|w| w[1] - w[0]).min();
        return match step {
            Some(s) if s % 60 != 0 => Ok(Format::SppRtbm),
            _ if lower_name.contains("rtbm") => Ok(Format::SppRtbm),
            _ if lower_name.contains("da-lmp") || lower_name.contains("da_lmp") => Ok(Format::SppDa),
            Some(_) => Ok(Format::SppDa),
            None => Err("SPP file with one on-the-hour interval: day-ahead or RTBM cannot be told; give ?format=".into()),
        };
    }
    if has("price") && (has("ts_ms") || has("ts")) && (has("instrument_id") || has("node")) {
        return Ok(Format::SimpleCsv);
    }
    // Name-only fallbacks.
    for (needle, f) in [
        ("da_hrl_lmps", Format::PjmDa),
        ("rt_fivemin_hrl_lmps", Format::PjmRt5),
        ("rt_hrl_lmps", Format::PjmRt),
        ("damlbmp", Format::NyisoDa),
        ("realtime_zone", Format::NyisoRt),
        ("ww_dalmp", Format::IsoneDa),
        ("lmp_rt_", Format::IsoneRt),
        ("_da_lmp", Format::MisoDa),
        ("_rt_lmp", Format::MisoRt),
        ("prc_", Format::CaisoOasis),
        ("np6-905", Format::ErcotRt),
        ("np4-190", Format::ErcotDam),
        ("rtbm-lmp", Format::SppRtbm),
        ("da-lmp", Format::SppDa),
    ] {
        if lower_name.contains(needle) {
            return Ok(f);
        }
    }
    Err(format!(
        "unknown format: header {:?} matches no supported format",
        header.chars().take(200).collect::<String>()
    ))
}

fn detect_json(text: &str, lower_name: &str) -> Result<Format, String> {
    let head: String = text.chars().take(4096).collect();
    if head.contains("\"payload\"") || head.contains("\"event_id\"") {
        return Ok(Format::Envelope);
    }
    if (text.contains("\"fields\"") && text.contains("\"data\""))
        || lower_name.contains("np4-190")
        || lower_name.contains("np6-905")
    {
        return Ok(Format::ErcotApi);
    }
    Err("JSON document that is neither an envelope stream nor an ERCOT API report".into())
}

/// Minutes since the epoch-day start of the stamps in column `col` of the sample lines
/// (unparseable stamps are ignored).
fn stamp_minutes<'a>(lines: &'a [&'a str], col: Option<usize>) -> impl Iterator<Item = i64> + 'a {
    lines.iter().filter_map(move |l| {
        let col = col?;
        let l = l.replace('"', "");
        let field = l.split(',').nth(col)?.trim().to_string();
        let dt = super::fields::parse_us_datetime(&field).ok()?;
        Some(dt.naive_ms() / 60_000)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Option<Vec<u8>> {
        let path = crate::fixtures::dir()?.join(rel);
        Some(std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())))
    }

    #[test]
    fn east_fixtures_from_content() {
        for (rel, want) in [
            ("nyiso/nyiso_20220718damlbmp_zone.csv", Format::NyisoDa),
            ("nyiso/nyiso_20220718realtime_zone.csv", Format::NyisoRt),
            (
                "nyiso/nyiso_realtime_zone_20160218_pyiso_excerpt.csv",
                Format::NyisoRt,
            ),
            ("isone/isone_WW_DALMP_ISO_20260604.csv", Format::IsoneDa),
            ("miso/miso_20130507_da_lmp.csv", Format::MisoDa),
            ("miso/miso_20130508_rt_lmp_final.csv", Format::MisoRt),
        ] {
            let Some(bytes) = fixture(rel) else {
                return;
            };
            assert_eq!(detect(&bytes, None), Ok(want), "{rel}");
        }
    }

    #[test]
    fn east_hand_made() {
        let nyiso_da_with_seconds = "Time Stamp,Name,PTID,LBMP ($/MWHr)\n\
            11/03/2024 00:00:00,CAPITL,1,1\n11/03/2024 01:00:00,CAPITL,1,1\n";
        assert_eq!(
            detect(nyiso_da_with_seconds.as_bytes(), None),
            Ok(Format::NyisoDa)
        );
        let nyiso_rt_on_the_hour = "\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\"\n\
            \"11/03/2024 01:00:00\",\"CAPITL\",1,1\n";
        assert_eq!(
            detect(nyiso_rt_on_the_hour.as_bytes(), None),
            Ok(Format::NyisoRt)
        );
        let oasis = "\"RTC Execution Time Stamp\",\"RTC End Time Stamp\",\"Zone Name\",\"RTC Zonal LBMP\"\n";
        assert_eq!(detect(oasis.as_bytes(), None), Ok(Format::NyisoOasis));
        let isone_rt = "\"C\",\"Real-Time Energy Market Hourly Final LMP Report\"\n\
            \"C\",\"Filename: lmp_rt_final_20241103.csv\"\n\"H\",\"Date\"\n";
        assert_eq!(detect(isone_rt.as_bytes(), None), Ok(Format::IsoneRt));
        let isone_unknown = "\"H\",\"Date\",\"Hour Ending\"\n\"D\",\"11/03/2024\",\"01\"\n";
        assert!(detect(isone_unknown.as_bytes(), None).is_err());
        assert_eq!(
            detect(isone_unknown.as_bytes(), Some("WW_DALMP_ISO_20241103.csv")),
            Ok(Format::IsoneDa)
        );
        let miso_quoted = "\"Realtime Market LMPs (Preliminary)\"\n\"11/3/2024\"\n\n\
            \",,,All Hours-Ending are Eastern Standard Time (EST)\"\n\"Node\",\"Type\",\"Value\",\"HE 1\"\n";
        assert_eq!(detect(miso_quoted.as_bytes(), None), Ok(Format::MisoRt));
    }
}
