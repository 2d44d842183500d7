//! `tickflow config check|print`.

use crate::cli::{load_config, ConfigAction};
use crate::config::FlagOverrides;
use std::process::ExitCode;

/// Runs `tickflow config check` (every error at once; exit 2 when there is one) or `print` (the
/// effective configuration as TOML, secrets masked).
pub fn config_command(action: ConfigAction) -> ExitCode {
    match action {
        ConfigAction::Check(args) => {
            match load_config(args.config.as_deref(), &FlagOverrides::default()) {
                Ok(_) => {
                    println!("configuration OK");
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        ConfigAction::Print(args) => {
            match load_config(args.config.as_deref(), &FlagOverrides::default()) {
                Ok(config) => {
                    print!("{}", config.print_masked());
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
    }
}
