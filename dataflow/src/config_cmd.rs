//! `tickflow config check|print` (wired to the configuration module).

use crate::cli::ConfigAction;
use std::process::ExitCode;

/// Runs `tickflow config`.
pub fn config_command(_action: ConfigAction) -> ExitCode {
    eprintln!("error: configuration commands are not wired in this build yet");
    ExitCode::FAILURE
}
