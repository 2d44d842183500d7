//! Configuration errors and warnings. Loading collects every problem it finds — syntax, unknown
//! keys, bad values from each layer, failed checks — into one [`ConfigErrors`], printed one per
//! line, so a user fixes them all in one round. No message quotes the value of a secret.

use std::fmt;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The `--config` TOML file.
    File(PathBuf),
    /// An environment variable (its name).
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Env(name) => write!(f, "environment {name}"),
        }
    }
}

/// One configuration problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("{}: cannot read: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The config file is not valid TOML.
    #[error("{}:{line}:{column}: TOML syntax error: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A TOML key that is not in the key table.
    #[error("{origin}: unknown key `{key}`{}", hint.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownKey {
        /// Where.
        origin: Origin,
        /// The dotted path as written.
        key: String,
        /// A suggestion.
        hint: Option<String>,
    },
    /// A value of the wrong type or out of range.
    #[error("{origin}: `{key}`: {message}")]
    BadValue {
        /// Where.
        origin: Origin,
        /// The dotted key path.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A check across the effective configuration failed.
    #[error("config: `{key}`: {message}")]
    Invalid {
        /// The key (or keys, comma-separated) involved.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// Every problem found while loading; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The problems, in the order found (file, environment, checks).
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Something suspicious that does not stop loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigWarning {
    /// A `DATA_PROC_*` variable no key reads.
    UnknownEnv {
        /// The variable.
        name: String,
        /// The nearest known variable.
        suggestion: Option<String>,
    },
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigWarning::UnknownEnv { name, suggestion } => {
                write!(f, "environment {name}: unknown variable, ignored")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean {s}?)")?;
                }
                Ok(())
            }
        }
    }
}
