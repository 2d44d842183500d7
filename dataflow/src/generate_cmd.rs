//! `tickflow generate` (wired to the generator library).

use crate::cli::GenerateArgs;
use std::process::ExitCode;

/// Runs `tickflow generate`.
pub fn generate_command(_args: GenerateArgs) -> ExitCode {
    eprintln!("error: the generator is not wired in this build yet");
    ExitCode::FAILURE
}
