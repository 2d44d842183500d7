//! The `tickflow` command.

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    tickflow::cli::main()
}

/// Batches of megabytes are allocated and freed at a high rate. glibc's defaults serve each from
/// fresh `mmap`ed pages and return them on free, so every batch pays page faults and zeroing
/// (measured: ~10–20 % of the 1M-tick run, BENCHMARKS.md). Keep freed memory in the heap instead;
/// the resident set still follows the live state (it is flat as input grows).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
