//! Market (ISO/RTO) codes.

use serde::{Deserialize, Serialize};

/// The market a tick comes from (SPEC §2.1). `Other` covers simple-CSV and envelope records whose
/// market is not one of the seven ISOs; metrics label it `other`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub enum Market {
    /// PJM Interconnection.
    Pjm,
    /// New York ISO.
    Nyiso,
    /// ISO New England.
    Isone,
    /// Midcontinent ISO.
    Miso,
    /// California ISO.
    Caiso,
    /// Electric Reliability Council of Texas.
    Ercot,
    /// Southwest Power Pool.
    Spp,
    /// Anything else.
    #[default]
    Other,
}

impl Market {
    /// All seven ISO markets, in code order.
    pub const ISOS: [Market; 7] = [
        Market::Pjm,
        Market::Nyiso,
        Market::Isone,
        Market::Miso,
        Market::Caiso,
        Market::Ercot,
        Market::Spp,
    ];

    /// Every market, in discriminant order (`Market::ALL[m as usize] == m`): the seven ISOs,
    /// then `Other`.
    pub const ALL: [Market; 8] = [
        Market::Pjm,
        Market::Nyiso,
        Market::Isone,
        Market::Miso,
        Market::Caiso,
        Market::Ercot,
        Market::Spp,
        Market::Other,
    ];

    /// The upper-case market code used in instrument ids (`PJM`, `ISONE`, …); `OTHER` for others.
    pub fn code(self) -> &'static str {
        match self {
            Market::Pjm => "PJM",
            Market::Nyiso => "NYISO",
            Market::Isone => "ISONE",
            Market::Miso => "MISO",
            Market::Caiso => "CAISO",
            Market::Ercot => "ERCOT",
            Market::Spp => "SPP",
            Market::Other => "OTHER",
        }
    }

    /// The lower-case metric label (`pjm`, …, `other`).
    pub fn label(self) -> &'static str {
        match self {
            Market::Pjm => "pjm",
            Market::Nyiso => "nyiso",
            Market::Isone => "isone",
            Market::Miso => "miso",
            Market::Caiso => "caiso",
            Market::Ercot => "ercot",
            Market::Spp => "spp",
            Market::Other => "other",
        }
    }

    /// Parses a market code case-insensitively (`ISO-NE` and `ISONE` both work); `None` when unknown.
    pub fn from_code(s: &str) -> Option<Market> {
        let up: String = s
            .trim()
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        Some(match up.as_str() {
            "PJM" => Market::Pjm,
            "NYISO" => Market::Nyiso,
            "ISONE" => Market::Isone,
            "MISO" => Market::Miso,
            "CAISO" => Market::Caiso,
            "ERCOT" => Market::Ercot,
            "SPP" => Market::Spp,
            _ => return None,
        })
    }

    /// The IANA zone of the market's operating day (MISO publishes EST all year: fixed UTC−5).
    pub fn operating_zone(self) -> Option<&'static str> {
        match self {
            Market::Pjm | Market::Nyiso | Market::Isone => Some("America/New_York"),
            Market::Miso => Some("Etc/GMT+5"),
            Market::Caiso => Some("America/Los_Angeles"),
            Market::Ercot | Market::Spp => Some("America/Chicago"),
            Market::Other => None,
        }
    }
}

impl std::fmt::Display for Market {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
