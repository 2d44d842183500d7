//! Runnable examples of tickflow, one concept each (`cargo run -p tickflow-examples --example NAME`):
//! - `parse_file`: parse one native ISO file with the pure parsers, print ticks and dead letters;
//! - `corrections`: identity, duplicates and corrections in the dedupe core;
//! - `pipeline`: the whole pipeline in-process on two workers.
