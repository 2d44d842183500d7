//! The `tickflow` command.

fn main() -> std::process::ExitCode {
    tickflow::cli::main()
}
