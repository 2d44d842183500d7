//! Format names (SPEC §2.1), also used by `generate --format`.

use crate::model::Market;

/// Every input format tickflow reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// PJM Data Miner 2 `da_hrl_lmps`.
    PjmDa,
    /// PJM Data Miner 2 `rt_hrl_lmps`.
    PjmRt,
    /// PJM Data Miner 2 `rt_fivemin_hrl_lmps`.
    PjmRt5,
    /// NYISO MIS `damlbmp_zone` (hour-beginning).
    NyisoDa,
    /// NYISO MIS `realtime_zone` (interval-ending).
    NyisoRt,
    /// NYISO OASIS zonal LBMP export (`RTC`/`RTD End Time Stamp`).
    NyisoOasis,
    /// ISO-NE ISO Express `WW_DALMP_ISO`.
    IsoneDa,
    /// ISO-NE ISO Express `lmp_rt_final` / `lmp_rt_prelim`.
    IsoneRt,
    /// MISO day-ahead market report (wide).
    MisoDa,
    /// MISO real-time market report (wide; prelim or final).
    MisoRt,
    /// CAISO OASIS SingleZip CSV (long), or its raw zip.
    CaisoOasis,
    /// ERCOT MIS CSV NP6-905-CD (15-minute real-time SPP).
    ErcotRt,
    /// ERCOT MIS CSV NP4-190-CD (day-ahead SPP).
    ErcotDam,
    /// ERCOT Public Reports API JSON (either product).
    ErcotApi,
    /// SPP Marketplace RTBM 5-minute LMP.
    SppRtbm,
    /// SPP Marketplace day-ahead LMP.
    SppDa,
    /// Canonical JSON envelope, one per line (SPEC §2.2).
    Envelope,
    /// Simple tick CSV (SPEC §2.3).
    SimpleCsv,
}

impl Format {
    /// Every format, in name order of SPEC §2.1.
    pub const ALL: [Format; 18] = [
        Format::PjmDa,
        Format::PjmRt,
        Format::PjmRt5,
        Format::NyisoDa,
        Format::NyisoRt,
        Format::NyisoOasis,
        Format::IsoneDa,
        Format::IsoneRt,
        Format::MisoDa,
        Format::MisoRt,
        Format::CaisoOasis,
        Format::ErcotRt,
        Format::ErcotDam,
        Format::ErcotApi,
        Format::SppRtbm,
        Format::SppDa,
        Format::Envelope,
        Format::SimpleCsv,
    ];

    /// The format's name (`pjm-da`, `caiso-oasis`, `simple-csv`, …).
    pub fn name(self) -> &'static str {
        match self {
            Format::PjmDa => "pjm-da",
            Format::PjmRt => "pjm-rt",
            Format::PjmRt5 => "pjm-rt5",
            Format::NyisoDa => "nyiso-da",
            Format::NyisoRt => "nyiso-rt",
            Format::NyisoOasis => "nyiso-oasis",
            Format::IsoneDa => "isone-da",
            Format::IsoneRt => "isone-rt",
            Format::MisoDa => "miso-da",
            Format::MisoRt => "miso-rt",
            Format::CaisoOasis => "caiso-oasis",
            Format::ErcotRt => "ercot-rt",
            Format::ErcotDam => "ercot-dam",
            Format::ErcotApi => "ercot-api",
            Format::SppRtbm => "spp-rtbm",
            Format::SppDa => "spp-da",
            Format::Envelope => "envelope",
            Format::SimpleCsv => "simple-csv",
        }
    }

    /// Looks a format up by name (case-insensitive).
    pub fn from_name(name: &str) -> Option<Format> {
        let name = name.trim().to_ascii_lowercase();
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The market of a native format; `None` for envelopes and simple CSV.
    pub fn market(self) -> Option<Market> {
        Some(match self {
            Format::PjmDa | Format::PjmRt | Format::PjmRt5 => Market::Pjm,
            Format::NyisoDa | Format::NyisoRt | Format::NyisoOasis => Market::Nyiso,
            Format::IsoneDa | Format::IsoneRt => Market::Isone,
            Format::MisoDa | Format::MisoRt => Market::Miso,
            Format::CaisoOasis => Market::Caiso,
            Format::ErcotRt | Format::ErcotDam | Format::ErcotApi => Market::Ercot,
            Format::SppRtbm | Format::SppDa => Market::Spp,
            Format::Envelope | Format::SimpleCsv => return None,
        })
    }

    /// True for formats read as a stream of stand-alone records, cut into batches by size
    /// (envelopes and simple CSV); native formats are one document per file or message.
    pub fn is_record_stream(self) -> bool {
        matches!(self, Format::Envelope | Format::SimpleCsv)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
