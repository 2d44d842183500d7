//! File names as the ISOs name their downloads, and the bundled sample set of `tickflow run`:
//! one small realistic file per format of SPEC §2.1 (plus the raw CAISO SingleZip), with DST
//! days for PJM, NYISO, ISO-NE, CAISO, ERCOT and SPP.

use super::encode::{compact, Caiso};
use super::{generate, GenerateError, GenerateSpec, Mode};
use operators::parse::Format;
use operators::time::Date;
use std::path::{Path, PathBuf};

/// The file name the ISO would give a document of `spec` (`da_hrl_lmps_20241103.csv`,
/// `20241103damlbmp_zone.csv`, `WW_DALMP_ISO_20241103.csv`, `cdr.00012301…SPPHLZNP6905_…csv`, …).
pub fn file_name(spec: &GenerateSpec) -> String {
    let d = compact(spec.start_date());
    let tag = || format!("{}_{}", spec.mode.name(), spec.seed);
    match spec.format {
        Format::PjmDa => format!("da_hrl_lmps_{d}.csv"),
        Format::PjmRt => format!("rt_hrl_lmps_{d}.csv"),
        Format::PjmRt5 => format!("rt_fivemin_hrl_lmps_{d}.csv"),
        Format::NyisoDa => format!("{d}damlbmp_zone.csv"),
        Format::NyisoRt => format!("{d}realtime_zone.csv"),
        Format::NyisoOasis => format!("OASIS_Real_Time_Dispatch_Zonal_LBMP_{d}.csv"),
        Format::IsoneDa => format!("WW_DALMP_ISO_{d}.csv"),
        Format::IsoneRt => format!("lmp_rt_final_{d}.csv"),
        Format::MisoDa => format!("{d}_da_expost_lmp.csv"),
        Format::MisoRt => format!("{d}_rt_lmp_final.csv"),
        Format::CaisoOasis => {
            let member = Caiso::new(spec).member_name();
            if spec.zip {
                member.replace("_v1.csv", "_v1.zip")
            } else {
                member
            }
        }
        Format::ErcotRt => {
            format!("cdr.00012301.0000000000000000.{d}.010211.SPPHLZNP6905_{d}_0100.csv")
        }
        Format::ErcotDam => format!("cdr.00012331.0000000000000000.{d}.123002.DAMSPNP4190.csv"),
        Format::ErcotApi => format!("np4-190-cd_dam_stlmnt_pnt_prices_{d}.json"),
        Format::SppRtbm => format!("RTBM-LMP-DAILY-SL-{d}.csv"),
        Format::SppDa => format!("DA-LMP-SL-{d}0100.csv"),
        Format::Envelope => format!("envelopes_{}.jsonl", tag()),
        Format::SimpleCsv => format!("ticks_{}.csv", tag()),
    }
}

fn day(year: i32, month: u32, day: u32) -> Date {
    Date { year, month, day }
}

/// The sample specs: (format, mode, start, nodes, count, zip).
pub(crate) fn sample_specs() -> Vec<GenerateSpec> {
    let fall = day(2024, 11, 3);
    let spring = day(2024, 3, 10);
    let rows: [(Format, Mode, Date, usize, u64, bool); 19] = [
        (Format::PjmDa, Mode::Batch, fall, 5, 125, false),
        (Format::PjmRt, Mode::Corrections, spring, 6, 150, false),
        (Format::PjmRt5, Mode::Batch, fall, 4, 192, false),
        (Format::NyisoDa, Mode::Batch, fall, 15, 375, false),
        (Format::NyisoRt, Mode::Batch, fall, 5, 240, false),
        (Format::NyisoOasis, Mode::Batch, spring, 5, 180, false),
        (Format::IsoneDa, Mode::Batch, fall, 10, 250, false),
        (Format::IsoneRt, Mode::Batch, spring, 10, 230, false),
        (Format::MisoDa, Mode::Batch, fall, 8, 192, false),
        (Format::MisoRt, Mode::Batch, fall, 8, 192, false),
        (Format::CaisoOasis, Mode::Batch, fall, 4, 100, false),
        (Format::CaisoOasis, Mode::Batch, spring, 2, 46, true),
        (Format::ErcotRt, Mode::Batch, fall, 20, 400, false),
        (Format::ErcotDam, Mode::Batch, fall, 15, 375, false),
        (Format::ErcotApi, Mode::Batch, fall, 2, 50, false),
        (Format::SppRtbm, Mode::Batch, fall, 3, 108, false),
        (Format::SppDa, Mode::Batch, day(2026, 6, 1), 6, 144, false),
        (
            Format::Envelope,
            Mode::Batch,
            day(2025, 7, 1),
            2,
            200,
            false,
        ),
        (
            Format::SimpleCsv,
            Mode::Batch,
            day(2025, 7, 1),
            8,
            300,
            false,
        ),
    ];
    rows.into_iter()
        .map(|(format, mode, start, nodes, count, zip)| GenerateSpec {
            mode,
            format,
            count: Some(count),
            days: 1,
            start: Some(start),
            seed: 20241103,
            rate: None,
            nodes: Some(nodes),
            zip,
        })
        .collect()
}

/// Writes the bundled sample set into `dir`: one realistic small file per format name of SPEC
/// §2.1 (50–500 rows, DST days included) plus the raw CAISO SingleZip. Returns each file's
/// format and path, in format order.
pub fn sample_set(dir: &Path) -> Result<Vec<(Format, PathBuf)>, GenerateError> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for spec in sample_specs() {
        let path = dir.join(file_name(&spec));
        let mut f = std::fs::File::create(&path)?;
        generate(&spec, &mut f, &mut |_| {})?;
        written.push((spec.format, path));
    }
    Ok(written)
}
