//! The whole pipeline in-process on two workers: the bundled samples into `./out-example/`.
//!
//! `cargo run -p tickflow-examples --example pipeline`

use tickflow::runtime::{run, RunOptions};
use tickflow::spec::{parse_input, parse_output};

fn main() {
    let samples = tickflow::cli::samples_dir();
    let opts = RunOptions {
        inputs: vec![
            parse_input(&format!("dir:{}", samples.display())).unwrap_or_else(|e| panic!("{e}"))
        ],
        outputs: vec![parse_output("dir:out-example", false).unwrap_or_else(|e| panic!("{e}"))],
        workers: 2,
        ..RunOptions::default()
    };
    match run(opts) {
        Ok(Some(report)) => print!("{}", report.render()),
        Ok(None) => {}
        Err(e) => eprintln!("error: {e}"),
    }
}
