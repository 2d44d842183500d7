//! Every real ISO fixture through the whole pipeline: the distinct ticks after dedupe equal the
//! observations an independent parser finds (SOURCES.md), with no dead letter, and the
//! `dir:` output holds exactly those ticks.

use tickflow_tests::{fixtures, run_to_dir};

/// (file, data rows, observations) from the table at the end of SOURCES.md.
const EXPECTED: &[(&str, u64, u64)] = &[
    ("pjm/pjm_dataminer_da_hrl_lmps_hubs_2025-05_2025-07.csv", 26_508, 26_508),
    ("pjm/pjm_dataminer_rt_hrl_lmps_hubs_2025-05_2025-07.csv", 26_508, 26_508),
    ("pjm/pjm_dataminer_rt_hrl_lmps_pjm-rto_2024.csv", 8_808, 8_784),
    ("nyiso/nyiso_20220718damlbmp_zone.csv", 360, 360),
    ("nyiso/nyiso_20220718realtime_zone.csv", 4_575, 4_575),
    ("nyiso/nyiso_realtime_zone_20160218_pyiso_excerpt.csv", 45, 45),
    ("isone/isone_WW_DALMP_ISO_20260604.csv", 29_016, 29_016),
    ("miso/miso_20130507_da_lmp.csv", 5_271, 42_168),
    ("miso/miso_20130508_rt_lmp_final.csv", 5_271, 42_168),
    ("caiso/caiso_oasis_prc_lmp_dam_20200101_subset.csv", 2_144, 536),
    ("caiso/caiso_oasis_prc_hasp_lmp_20240312_20240314.csv", 412, 103),
    ("caiso/caiso_oasis_prc_lmp_dam_20240311_20240312_singlezip.zip", 125, 25),
    (
        "ercot/ercot_np6-905_rt_spp_cdr.00012301.0000000000000000.20240329.010211.SPPHLZNP6905_20240329_0100.csv",
        908,
        908,
    ),
    ("ercot/ercot_api_np4-190-cd_dam_spp_LZ_HOUSTON_20260926-27.json", 48, 48),
    ("spp/spp_RTBM-LMP-DAILY-SL-20250701_excerpt.csv", 69, 69),
    ("spp/spp_RTBM-LMP-SL-202606011205_excerpt.csv", 6, 6),
    ("spp/spp_DA-LMP-SL-202606010100_excerpt.csv", 12, 12),
];

#[test]
fn every_fixture_yields_the_independent_observation_count() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (i, (file, rows, observations)) in EXPECTED.iter().enumerate() {
        let out = tmp.path().join(format!("o{i}"));
        let input = format!("file:{}", fx.join(file).display());
        let report = run_to_dir(&[input], &out, 1, None);
        assert_eq!(report.total.rows, *rows, "{file}: rows");
        assert_eq!(
            report.dead_letters(),
            0,
            "{file}: dead letters {:?}",
            report.total.dead_letters
        );
        assert_eq!(
            report.total.identities, *observations,
            "{file}: distinct ticks"
        );
        let ticks = std::fs::read_to_string(out.join("ticks.jsonl")).unwrap();
        assert_eq!(
            ticks.lines().count() as u64,
            *observations,
            "{file}: ticks.jsonl lines"
        );
    }
}

#[test]
fn pjm_fall_back_hour_appears_twice_and_versions_count_arrivals() {
    let Some(fx) = fixtures() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let input = format!(
        "file:{}",
        fx.join("pjm/pjm_dataminer_rt_hrl_lmps_pjm-rto_2024.csv")
            .display()
    );
    run_to_dir(&[input], tmp.path(), 2, None);
    let ticks = std::fs::read_to_string(tmp.path().join("ticks.jsonl")).unwrap();
    for start in ["2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z"] {
        let needle = format!("\"interval_start\":\"{start}\"");
        assert_eq!(
            ticks.lines().filter(|l| l.contains(&needle)).count(),
            1,
            "{start}"
        );
    }
    // 2024-03-05 was published twice (version_nbr 1 and 2): every hour has two arrivals.
    let revised: Vec<_> = ticks
        .lines()
        .filter(|l| l.contains("\"version\":2"))
        .collect();
    assert_eq!(revised.len(), 24);
    assert!(revised
        .iter()
        .all(|l| l.contains("\"revision\":2") && l.contains("\"interval_start\":\"2024-03-0")));
    // No 2 AM EPT on 2024-03-10: 07:00Z is 03:00 EDT, directly after 06:00Z (01:00 EST).
    assert!(ticks.contains("\"interval_start\":\"2024-03-10T06:00:00Z\""));
    assert!(ticks.contains("\"interval_start\":\"2024-03-10T07:00:00Z\""));
}
