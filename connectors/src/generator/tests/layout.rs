//! The bundled sample set: it round-trips, and every writer's bytes carry the publisher's quirks.

use super::super::samples::sample_specs;
use super::*;

#[test]
fn sample_set_round_trips_and_looks_native() {
    let dir = tempfile::tempdir().unwrap();
    let files = sample_set(dir.path()).unwrap();
    assert_eq!(files.len(), 19);
    for f in Format::ALL {
        assert!(files.iter().any(|(g, _)| *g == f), "{f} missing");
    }
    for s in sample_specs() {
        let n = ticks(&s).unwrap().count();
        assert!((46..=500).contains(&n), "{} {n}", s.format);
        round_trip(&s).unwrap();
    }
    let read = |f: Format| {
        let (_, p) = files.iter().find(|(g, _)| *g == f).unwrap();
        std::fs::read(p).unwrap()
    };
    let text = |f: Format| String::from_utf8(read(f)).unwrap();

    let pjm = text(Format::PjmDa);
    assert!(pjm.starts_with("datetime_beginning_utc,datetime_beginning_ept,pnode_id,pnode_name,voltage,equipment,type,zone,system_energy_price_da,total_lmp_da,congestion_price_da,marginal_loss_price_da,row_is_current,version_nbr\r\n"));
    assert!(pjm.contains("11/3/2024 5:00:00 AM,11/3/2024 1:00:00 AM,1,PJM-RTO,,,ZONE,,"));
    assert!(pjm.contains("11/3/2024 6:00:00 AM,11/3/2024 1:00:00 AM,1,PJM-RTO,,,ZONE,,"));
    assert!(pjm
        .split('\n')
        .filter(|l| !l.is_empty())
        .all(|l| l.ends_with('\r')));
    assert!(text(Format::PjmRt).contains(",False,1\r\n"));

    let isone = text(Format::IsoneDa);
    assert!(isone.starts_with("\"C\",\"Day-Ahead Energy Market Hourly LMP Report\"\n"));
    assert!(isone.contains("\n\"H\",\"Date\",\"HE\",\"String\","));
    assert!(isone.contains("\"D\",\"11/03/2024\",\"02X\",\"4000\",\".H.INTERNAL_HUB\",\"HUB\","));
    assert!(isone.ends_with("\"T\",\"250 lines\""));
    assert!(
        !text(Format::IsoneRt).contains("\"02\""),
        "no HE02 on the spring day"
    );

    let nyiso = text(Format::NyisoRt);
    assert!(nyiso.starts_with("\"Time Stamp\",\"Name\",\"PTID\",\"LBMP ($/MWHr)\""));
    assert_eq!(
        nyiso
            .matches("\"11/03/2024 01:30:00\",\"CAPITL\",61757,")
            .count(),
        2
    );
    let da = text(Format::NyisoDa);
    assert_eq!(da.matches("11/03/2024 01:00,CAPITL,61757,").count(), 2);
    let oasis = text(Format::NyisoOasis);
    assert!(oasis.starts_with("\"RTD End Time Stamp\",\"Zone Name\""));
    assert!(!oasis.contains("2024/03/10 02:30:00") && oasis.contains("\"2024/03/10 03:00:00\""));

    let ercot = text(Format::ErcotRt);
    assert!(ercot.contains("11/03/2024,2,1,HB_HOUSTON,HU,") && ercot.contains(",Y\n"));
    assert!(text(Format::ErcotDam).contains("11/03/2024,02:00,HB_HOUSTON,"));
    let api = text(Format::ErcotApi);
    assert!(api.ends_with("\n}") && api.contains("\"reportEMIL\": \"NP4-190-CD\""));
    let v: serde_json::Value = serde_json::from_str(&api).unwrap();
    assert_eq!(v["data"].as_array().map(Vec::len), Some(50));
    assert_eq!(v["data"][0][1], "24:00");

    let miso = text(Format::MisoDa);
    assert!(miso.starts_with("Day Ahead Market LMPs\n11/03/2024\n\n,,,All Hours-Ending are Eastern Standard Time (EST)\nNode,Type,Value,HE 1,"));
    assert!(text(Format::MisoRt).starts_with("Realtime Market LMPs\n11/3/2024\n"));

    let spp = text(Format::SppRtbm);
    assert!(spp.starts_with(
        "Interval, GMT Interval, Settlement Location Name, PNODE Name, LMP, MLC, MCC, MEC\n"
    ));
    assert!(text(Format::SppDa).starts_with("Interval,GMTIntervalEnd,BAA,Settlement Location,"));

    let caiso = text(Format::CaisoOasis);
    assert!(
        caiso.starts_with("INTERVALSTARTTIME_GMT,INTERVALENDTIME_GMT,OPR_DT,OPR_HR,OPR_INTERVAL,")
    );
    assert!(caiso.contains(",DAM,MGHG,LMP_GHG_PRC,"));
    let zip = files
        .iter()
        .find(|(_, p)| p.extension().is_some_and(|e| e == "zip"))
        .map(|(_, p)| std::fs::read(p).unwrap())
        .unwrap();
    let members = unzip_members(&zip).unwrap();
    assert_eq!(members.len(), 1);
    assert!(members[0]
        .0
        .ends_with("_PRC_LMP_DAM_20240311_22_14_34_v1.csv"));

    let env = text(Format::Envelope);
    for line in env.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let raw = v["payload"]["raw_payload"].as_str().unwrap();
        let sum = format!(
            "{:x}",
            <sha2::Sha256 as sha2::Digest>::digest(raw.as_bytes())
        );
        assert_eq!(v["payload"]["checksum"], sum.as_str());
    }
    assert!(text(Format::SimpleCsv).starts_with("ts,market,run,node,price,volume,revision\n"));
}

#[test]
#[ignore = "writes the sample set to $TICKFLOW_SAMPLES_OUT for inspection"]
fn dump_samples() {
    if let Some(dir) = std::env::var_os("TICKFLOW_SAMPLES_OUT") {
        sample_set(std::path::Path::new(&dir)).unwrap();
        let mut s = spec(Mode::Malformed, Format::PjmRt, 60);
        s.seed = 3;
        for f in [
            Format::PjmRt,
            Format::IsoneRt,
            Format::CaisoOasis,
            Format::ErcotApi,
            Format::Envelope,
            Format::MisoDa,
            Format::SimpleCsv,
            Format::NyisoRt,
        ] {
            s.format = f;
            let p = std::path::Path::new(&dir).join(format!("malformed-{}", f.name()));
            std::fs::write(p, bytes_of(&s).unwrap().0).unwrap();
        }
        for f in [Format::ErcotRt, Format::PjmDa, Format::CaisoOasis] {
            let mut h = GenerateSpec::new(Mode::Historical, f);
            h.days = 30;
            let p = std::path::Path::new(&dir).join(format!("historical-{}", f.name()));
            std::fs::write(p, bytes_of(&h).unwrap().0).unwrap();
        }
        let mut hv = GenerateSpec::new(Mode::HighVolume, Format::SimpleCsv);
        hv.count = Some(1_000_000);
        let t0 = std::time::Instant::now();
        let (b, _) = bytes_of(&hv).unwrap();
        eprintln!(
            "high-volume simple-csv: 1e6 rows, {} bytes in {:?}",
            b.len(),
            t0.elapsed()
        );
    }
}
