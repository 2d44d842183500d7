//! Tests of the whole configuration: layering, error collection, masking, the key table and docs.

mod docs;
mod layers;
mod masking;

use super::{Config, ConfigErrors, FlagOverrides, Loaded};
use std::path::Path;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(toml: &str, vars: &[(&str, &str)], flags: &FlagOverrides) -> Result<Loaded, ConfigErrors> {
    Config::load_str(Path::new("tickflow.toml"), toml, &env(vars), flags)
}

fn ok(toml: &str, vars: &[(&str, &str)]) -> Config {
    match load(toml, vars, &FlagOverrides::default()) {
        Ok(l) => l.config,
        Err(e) => panic!("unexpected errors:\n{e}"),
    }
}

fn errors(toml: &str, vars: &[(&str, &str)]) -> Vec<String> {
    match load(toml, vars, &FlagOverrides::default()) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors().iter().map(ToString::to_string).collect(),
    }
}
