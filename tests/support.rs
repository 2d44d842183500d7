//! Shared helpers of the integration tests: where the real ISO fixtures are, how to run the
//! pipeline in-process, and how to compare output directories.
#![allow(missing_docs)]

pub mod compare;
pub mod kafka;
pub mod servers;

use std::path::{Path, PathBuf};
use tickflow::runtime::{run, RunOptions};
use tickflow::spec::{parse_input, parse_output};

/// The fixture directory (`TICKFLOW_FIXTURES`, else `../shared/fixtures/iso` beside the repo).
/// `None` (with a printed reason) when absent outside CI; a panic under `CI=true`.
pub fn fixtures() -> Option<PathBuf> {
    let dir = std::env::var_os("TICKFLOW_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/iso")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "ISO fixtures not found at {} (CI=true: they are required)",
            dir.display()
        );
    }
    eprintln!(
        "SKIP: ISO fixtures not found at {}; set TICKFLOW_FIXTURES",
        dir.display()
    );
    None
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Options for an in-process run on `inputs` with `workers` workers: the bundled reference
/// data, and small batches, so record streams are cut into many stripes dealt across workers.
fn base_options(inputs: &[String], workers: usize) -> RunOptions {
    let reference =
        tickflow::cli::reference_rows(&format!("dir:{}", repo_root().join("reference").display()))
            .expect("bundled reference data loads");
    let mut opts = RunOptions {
        workers,
        batch_max_bytes: 64 * 1024,
        ..RunOptions::default()
    };
    opts.normalize.reference = reference;
    for i in inputs {
        opts.inputs.push(parse_input(i).expect("input spec"));
    }
    opts
}

/// Runs the pipeline in-process on `inputs` into `out` with `workers` workers.
pub fn run_to_dir(
    inputs: &[String],
    out: &Path,
    workers: usize,
    extra_output: Option<&str>,
) -> tickflow::summary::RunReport {
    let mut opts = base_options(inputs, workers);
    let mut spec = format!("dir:{}", out.display());
    if let Some(q) = extra_output {
        spec.push_str(q);
    }
    opts.outputs
        .push(parse_output(&spec, false).expect("output spec"));
    run(opts).expect("run").expect("report on process 0")
}

/// Every regular file of a directory as (name, bytes), sorted by name.
pub fn dir_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read output dir")
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

/// Asserts two output directories hold byte-identical files, naming the first difference.
pub fn assert_same_dirs(a: &Path, b: &Path) {
    let fa = dir_files(a);
    let fb = dir_files(b);
    let names_a: Vec<_> = fa.iter().map(|f| &f.0).collect();
    let names_b: Vec<_> = fb.iter().map(|f| &f.0).collect();
    assert_eq!(
        names_a,
        names_b,
        "different files in {} and {}",
        a.display(),
        b.display()
    );
    for ((name, x), (_, y)) in fa.iter().zip(fb.iter()) {
        if x != y {
            let lx: Vec<_> = x.split(|c| *c == b'\n').collect();
            let ly: Vec<_> = y.split(|c| *c == b'\n').collect();
            let i = lx
                .iter()
                .zip(ly.iter())
                .position(|(p, q)| p != q)
                .unwrap_or(lx.len().min(ly.len()));
            panic!(
                "{name} differs between {} and {} at line {}:\n  {}\n  {}",
                a.display(),
                b.display(),
                i + 1,
                String::from_utf8_lossy(lx.get(i).copied().unwrap_or_default()),
                String::from_utf8_lossy(ly.get(i).copied().unwrap_or_default())
            );
        }
    }
}

/// Runs the pipeline in-process on `inputs` into the `dir:` output `out` (a final-state
/// directory, or `{stem}.changes.*` logs with `changes`), after `tweak` adjusted the options
/// (batch size, bar intervals, watermark delay, allowed lateness, reference data, …). Starts
/// from the bundled reference data and 64 KiB batches, like [`run_to_dir`].
pub fn run_with(
    inputs: &[String],
    out: &Path,
    workers: usize,
    changes: bool,
    tweak: impl FnOnce(&mut RunOptions),
) -> tickflow::summary::RunReport {
    let mut opts = base_options(inputs, workers);
    opts.outputs
        .push(parse_output(&format!("dir:{}", out.display()), changes).expect("output spec"));
    tweak(&mut opts);
    run(opts).expect("run").expect("report on process 0")
}

/// Loads reference data from a directory of `<table>.csv` files (SPEC §5).
pub fn reference_from(dir: &Path) -> Option<std::sync::Arc<Vec<operators::model::ReferenceRow>>> {
    tickflow::cli::reference_rows(&format!("dir:{}", dir.display())).expect("reference data loads")
}
