//! The `tickflow` command.

// The pipeline allocates and frees large batches at a high rate; mimalloc keeps them in
// reusable segments instead of fresh zeroed pages (measured in BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tickflow::cli::main()
}
