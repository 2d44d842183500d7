//! For the same input, the `dir:` output is byte-identical at 1, 2 and 4 workers (SPEC §4), on
//! every real ISO fixture plus a simple-CSV file cut into many small batches.

use std::io::Write;
use tickflow_tests::{assert_same_dirs, fixtures, run_to_dir};

fn simple_csv(dir: &std::path::Path) -> String {
    let path = dir.join("ticks.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "ts_ms,node,price,volume").unwrap();
    // Duplicates and corrections across the file so that dedupe decides across batches.
    for i in 0..20_000u64 {
        let ts = 1_704_067_200_000 + (i % 5_000) * 1_000;
        let price = 30.0 + (i % 97) as f64 * 0.25 + if i >= 15_000 { 1.0 } else { 0.0 };
        writeln!(f, "{ts},NODE_{:02},{price},{}", i % 13, i % 7 + 1).unwrap();
    }
    path.display().to_string()
}

#[test]
fn dir_output_is_identical_at_1_2_4_workers() {
    let tmp = tempfile::tempdir().unwrap();
    let mut inputs = vec![format!("file:{}", simple_csv(tmp.path()))];
    if let Some(fx) = fixtures() {
        for market in ["pjm", "nyiso", "isone", "miso", "caiso", "ercot", "spp"] {
            inputs.push(format!("dir:{}", fx.join(market).display()));
        }
    }
    let base = tmp.path().join("w1");
    let r1 = run_to_dir(&inputs, &base, 1, None);
    assert!(r1.total.identities > 0);
    for w in [2, 4] {
        let out = tmp.path().join(format!("w{w}"));
        let r = run_to_dir(&inputs, &out, w, None);
        assert_eq!(r.workers, w);
        assert_eq!(r.total.identities, r1.total.identities);
        assert_same_dirs(&base, &out);
    }
}
