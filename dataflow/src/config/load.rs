//! Loading: defaults < TOML file < `DATA_PROC_*` environment < command-line flags.
//!
//! The file is parsed into a `toml::Table` and walked against the key table, so that *every*
//! unknown key and bad value is reported (serde's `deny_unknown_fields` would stop at the first).
//! Environment variables are parsed by the kind their key declares. Good values of both layers
//! are merged into one table, deserialized over the defaults, overridden by flags, and the result
//! is checked as a whole (`validate.rs`). Any error makes the load fail with all of them.

use super::error::{ConfigError, ConfigErrors, ConfigWarning, Origin};
use super::lookup::{closest, display_path, env_names, lookup, lookup_env, Lookup};
use super::types::{BarInterval, LogFormat};
use super::validate::validate;
use super::values::{check_toml, parse_env};
use super::Config;
use std::path::{Path, PathBuf};
use toml::{Table, Value};

/// Prefix of every tickflow environment variable.
pub const ENV_PREFIX: &str = "DATA_PROC_";

/// Values given on the command line; `None` = flag not given. The CLI fills this from clap.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FlagOverrides {
    /// `-w/--workers`: `cluster.workers`.
    pub workers: Option<u32>,
    /// `-n/--processes`: `cluster.processes`.
    pub processes: Option<u32>,
    /// `-p/--process-index`: `cluster.process_index`.
    pub process_index: Option<u32>,
    /// `--hostfile`: `cluster.hostfile`.
    pub hostfile: Option<PathBuf>,
    /// `--tenant`: `pipeline.tenant_id`.
    pub tenant_id: Option<String>,
    /// `--log-format`: `logging.format`.
    pub log_format: Option<LogFormat>,
    /// `--log-level`: `logging.level`.
    pub log_level: Option<String>,
    /// `--bar-intervals`: `aggregation.bar_intervals`.
    pub bar_intervals: Option<Vec<BarInterval>>,
    /// `--http-port`: `http.port`.
    pub http_port: Option<u16>,
    /// `--input` (repeated): `pipeline.inputs`.
    pub inputs: Option<Vec<String>>,
    /// `--output` (repeated): `output.sinks`.
    pub outputs: Option<Vec<String>>,
    /// `--reference`: `reference.source`.
    pub reference: Option<String>,
    /// `--state-dir`: `pipeline.state_dir`.
    pub state_dir: Option<PathBuf>,
    /// `--changes`: `output.changes`.
    pub changes: Option<bool>,
}

impl FlagOverrides {
    fn apply(&self, c: &mut Config) {
        fn set<T: Clone>(dst: &mut T, src: &Option<T>) {
            if let Some(v) = src {
                *dst = v.clone();
            }
        }
        set(&mut c.cluster.workers, &self.workers);
        set(&mut c.cluster.processes, &self.processes);
        set(&mut c.cluster.process_index, &self.process_index);
        set(&mut c.cluster.hostfile, &self.hostfile);
        set(&mut c.pipeline.tenant_id, &self.tenant_id);
        set(&mut c.logging.format, &self.log_format);
        set(&mut c.logging.level, &self.log_level);
        set(&mut c.aggregation.bar_intervals, &self.bar_intervals);
        set(&mut c.http.port, &self.http_port);
        set(&mut c.pipeline.inputs, &self.inputs);
        set(&mut c.output.sinks, &self.outputs);
        set(&mut c.reference.source, &self.reference);
        set(&mut c.pipeline.state_dir, &self.state_dir);
        set(&mut c.output.changes, &self.changes);
    }
}

/// A loaded configuration and what looked suspicious on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// The effective configuration.
    pub config: Config,
    /// Warnings (unknown `DATA_PROC_*` variables) for `config check` and the start-up log.
    pub warnings: Vec<ConfigWarning>,
}

impl Config {
    /// Loads the configuration: defaults, then `file` (TOML), then the `DATA_PROC_*` variables
    /// of `env` (pass `std::env::vars().collect::<Vec<_>>()`), then `flags`; then checks it.
    /// Fails with every problem found.
    pub fn load(
        file: Option<&Path>,
        env: &[(String, String)],
        flags: &FlagOverrides,
    ) -> Result<Loaded, ConfigErrors> {
        let mut errors = Vec::new();
        let text = file.and_then(|path| match std::fs::read_to_string(path) {
            Ok(text) => Some((path, text)),
            Err(e) => {
                errors.push(ConfigError::Io {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
                None
            }
        });
        let source = text.as_ref().map(|(p, t)| (*p, t.as_str()));
        load_layers(source, env, flags, errors)
    }

    /// Like [`Config::load`] with the file's text given (`path` names it in messages).
    pub fn load_str(
        path: &Path,
        text: &str,
        env: &[(String, String)],
        flags: &FlagOverrides,
    ) -> Result<Loaded, ConfigErrors> {
        load_layers(Some((path, text)), env, flags, Vec::new())
    }
}

fn load_layers(
    file: Option<(&Path, &str)>,
    env: &[(String, String)],
    flags: &FlagOverrides,
    mut errors: Vec<ConfigError>,
) -> Result<Loaded, ConfigErrors> {
    let mut merged = Table::new();
    if let Some((path, text)) = file {
        match text.parse::<Table>() {
            Ok(table) => {
                let origin = Origin::File(path.to_path_buf());
                walk(&table, &mut Vec::new(), &origin, &mut merged, &mut errors);
            }
            Err(e) => errors.push(syntax_error(path, text, &e)),
        }
    }
    let mut warnings = Vec::new();
    env_layer(env, &mut merged, &mut errors, &mut warnings);
    let mut config = match Value::Table(merged).try_into::<Config>() {
        Ok(c) => c,
        Err(e) => {
            // Unreachable when the key table and the structs agree; reported, never panicked on.
            errors.push(ConfigError::Invalid {
                key: String::new(),
                message: e.message().to_string(),
            });
            Config::default()
        }
    };
    flags.apply(&mut config);
    errors.extend(validate(&config));
    if errors.is_empty() {
        Ok(Loaded { config, warnings })
    } else {
        Err(ConfigErrors(errors))
    }
}

fn syntax_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let start = e.span().map_or(0, |s| s.start).min(text.len());
    let before = text.get(..start).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    ConfigError::Syntax {
        path: path.to_path_buf(),
        line,
        column,
        message: e.message().trim().to_string(),
    }
}

/// Checks every entry of a file table; good values go into `out` at their path.
fn walk(
    table: &Table,
    prefix: &mut Vec<String>,
    origin: &Origin,
    out: &mut Table,
    errors: &mut Vec<ConfigError>,
) {
    for (k, v) in table {
        prefix.push(k.clone());
        match lookup(prefix) {
            Lookup::Leaf(key) => match check_toml(key.kind, v) {
                Ok(value) => set_path(out, prefix, value),
                Err(message) => errors.push(ConfigError::BadValue {
                    origin: origin.clone(),
                    key: display_path(prefix),
                    message,
                }),
            },
            Lookup::Branch => match v {
                Value::Table(t) => {
                    // An empty table still exists (e.g. `[aggregation.markets.PJM]`).
                    if t.is_empty() {
                        set_path(out, prefix, Value::Table(Table::new()));
                    }
                    walk(t, prefix, origin, out, errors)
                }
                other => errors.push(ConfigError::BadValue {
                    origin: origin.clone(),
                    key: display_path(prefix),
                    message: format!("expected a table, found {}", other.type_str()),
                }),
            },
            Lookup::Unknown(hint) => errors.push(ConfigError::UnknownKey {
                origin: origin.clone(),
                key: display_path(prefix),
                hint,
            }),
        }
        prefix.pop();
    }
}

/// Sets `value` at `path`, creating tables on the way (and replacing a non-table in the way).
pub(crate) fn set_path(root: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = root;
    for seg in parents {
        let entry = table
            .entry(seg.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(t) = entry else { return };
        table = t;
    }
    table.insert(last.clone(), value);
}

fn env_layer(
    env: &[(String, String)],
    out: &mut Table,
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<ConfigWarning>,
) {
    for (name, raw) in env {
        if !name.starts_with(ENV_PREFIX) {
            continue;
        }
        match lookup_env(name) {
            Some((key, path)) => match parse_env(key.kind, raw) {
                Ok(value) => set_path(out, &path, value),
                Err(message) => errors.push(ConfigError::BadValue {
                    origin: Origin::Env(name.clone()),
                    key: display_path(&path),
                    message,
                }),
            },
            None => warnings.push(ConfigWarning::UnknownEnv {
                name: name.clone(),
                suggestion: closest(name, env_names()),
            }),
        }
    }
}
