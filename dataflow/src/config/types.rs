//! Small value types of the configuration: bar intervals and the enumerated options. Each parses
//! from the same strings that TOML, the environment and the command line accept; an unknown string
//! is an error naming the accepted ones.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A string that is not one of an option's accepted values.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} '{given}' (expected one of: {expected})")]
pub struct ParseOptionError {
    /// What was being parsed (`bar interval`, `log format`, …).
    pub what: &'static str,
    /// The rejected input.
    pub given: String,
    /// The accepted values, comma-separated.
    pub expected: String,
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $var:ident = $s:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s $(, alias = $alias)*)] $var),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// The accepted spellings (canonical names first, then aliases), as the key table lists them.
            pub const NAMES: &'static [&'static str] = &[$($s),+ $($(, $alias)*)+];

            /// The canonical name, as written in TOML and printed by `config print`.
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $s),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = ParseOptionError;
            /// Case-insensitive; surrounding blanks are ignored.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim();
                $(
                    if t.eq_ignore_ascii_case($s) $(|| t.eq_ignore_ascii_case($alias))* {
                        return Ok($name::$var);
                    }
                )+
                Err(ParseOptionError {
                    what: $what,
                    given: s.to_string(),
                    expected: [$($s),+].join(", "),
                })
            }
        }
    };
}

string_enum!(
    /// A bar interval (SPEC §3): tumbling windows aligned to the UTC epoch below one day; `1d`
    /// follows the market's operating day in local prevailing time.
    BarInterval, "bar interval", {
        /// One minute.
        M1 = "1m",
        /// Five minutes.
        M5 = "5m",
        /// Fifteen minutes.
        M15 = "15m",
        /// One hour.
        H1 = "1h",
        /// One operating day (23, 24 or 25 hours).
        D1 = "1d",
    }
);

impl BarInterval {
    /// The window width in milliseconds; for `1d` the nominal 24 hours (DST days differ).
    pub fn nominal_ms(self) -> i64 {
        match self {
            BarInterval::M1 => 60_000,
            BarInterval::M5 => 300_000,
            BarInterval::M15 => 900_000,
            BarInterval::H1 => 3_600_000,
            BarInterval::D1 => 86_400_000,
        }
    }

    /// Parses a comma-separated list (`5m,1h,1d`); blanks around items are ignored, empty items
    /// skipped. Every bad item is reported.
    pub fn parse_list(s: &str) -> Result<Vec<BarInterval>, Vec<ParseOptionError>> {
        let mut out = Vec::new();
        let mut errs = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            match item.parse() {
                Ok(i) => out.push(i),
                Err(e) => errs.push(e),
            }
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs)
        }
    }
}

string_enum!(
    /// How log lines are written.
    LogFormat, "log format", {
        /// Human-readable lines.
        Text = "text",
        /// One JSON object per line.
        Json = "json",
    }
);

string_enum!(
    /// The deployment environment (the predecessor's `DATA_PROC_ENV`; Helm's `production` is
    /// accepted for `prod`).
    DeployEnv, "environment", {
        /// A developer machine.
        Local = "local",
        /// Shared development.
        Dev = "dev",
        /// Pre-production.
        Staging = "staging",
        /// Production.
        Prod = "prod" | "production",
    }
);

string_enum!(
    /// Kafka `security.protocol`.
    SecurityProtocol, "Kafka security protocol", {
        /// No TLS, no SASL.
        Plaintext = "plaintext",
        /// TLS without SASL.
        Ssl = "ssl",
        /// SASL without TLS.
        SaslPlaintext = "sasl_plaintext",
        /// SASL over TLS.
        SaslSsl = "sasl_ssl",
    }
);

impl SecurityProtocol {
    /// True when the protocol authenticates with SASL.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

string_enum!(
    /// Kafka `sasl.mechanism`.
    SaslMechanism, "SASL mechanism", {
        /// No SASL (only valid without a `sasl_*` protocol).
        None = "none",
        /// SASL/PLAIN.
        Plain = "PLAIN",
        /// SCRAM with SHA-256.
        ScramSha256 = "SCRAM-SHA-256",
        /// SCRAM with SHA-512.
        ScramSha512 = "SCRAM-SHA-512",
    }
);

string_enum!(
    /// Kafka producer `compression.type`.
    Compression, "compression", {
        /// Uncompressed.
        None = "none",
        /// gzip.
        Gzip = "gzip",
        /// Snappy.
        Snappy = "snappy",
        /// LZ4.
        Lz4 = "lz4",
        /// Zstandard.
        Zstd = "zstd",
    }
);

string_enum!(
    /// Kafka `auto.offset.reset`: where a consumer group without committed offsets starts.
    OffsetReset, "offset reset", {
        /// The oldest retained message.
        Earliest = "earliest",
        /// Only messages produced from now on.
        Latest = "latest",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_parse_and_print() {
        let v = BarInterval::parse_list(" 1m, 5m,15m ,1h,1d,").unwrap();
        assert_eq!(v, BarInterval::ALL);
        assert_eq!(
            v.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            ["1m", "5m", "15m", "1h", "1d"]
        );
        assert_eq!("1H".parse::<BarInterval>(), Ok(BarInterval::H1));
        let errs = BarInterval::parse_list("5m,7m,1w").unwrap_err();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            "invalid bar interval '7m' (expected one of: 1m, 5m, 15m, 1h, 1d)"
        );
        assert_eq!(BarInterval::D1.nominal_ms(), 86_400_000);
    }

    #[test]
    fn aliases_parse() {
        assert_eq!("production".parse::<DeployEnv>(), Ok(DeployEnv::Prod));
        assert_eq!(
            DeployEnv::NAMES,
            ["local", "dev", "staging", "prod", "production"]
        );
        assert_eq!(
            "SASL_SSL".parse::<SecurityProtocol>(),
            Ok(SecurityProtocol::SaslSsl)
        );
        assert!("scram-sha-512".parse::<SaslMechanism>().is_ok());
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
