//! Realistic pricing locations per market, with the attributes their native files publish
//! (PJM `pnode_id`/`type`, NYISO PTID, ISO-NE location id/type, MISO type, ERCOT settlement point
//! type, SPP Pnode and BAA). Names are the ISOs' own public location names.

use operators::model::Market;
use operators::parse::Format;
use operators::time::Date;

/// One published pricing location.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    /// The market.
    pub market: Market,
    /// Location name as published (PJM `pnode_name`, ERCOT `SettlementPointName`, …).
    pub name: &'static str,
    /// Numeric id where the market publishes one (PJM `pnode_id`, NYISO PTID, ISO-NE Location
    /// ID); 0 otherwise.
    pub id: u64,
    /// Location type (PJM `type`, ISO-NE `Location Type`, MISO `Type`, ERCOT
    /// `SettlementPointType`); empty when not published.
    pub kind: &'static str,
    /// SPP `Pnode` name; empty elsewhere.
    pub pnode: &'static str,
    /// SPP balancing authority (`SPP`, `SWPW`); empty elsewhere.
    pub area: &'static str,
}

impl Site {
    const fn new(market: Market, name: &'static str, id: u64, kind: &'static str) -> Site {
        Site {
            market,
            name,
            id,
            kind,
            pnode: "",
            area: "",
        }
    }

    const fn spp(name: &'static str, pnode: &'static str, area: &'static str) -> Site {
        Site {
            market: Market::Spp,
            name,
            id: 0,
            kind: "",
            pnode,
            area,
        }
    }
}

use Market::*;

/// PJM hubs and zones: the aggregate first, then hubs, then transmission zones.
const PJM: &[Site] = &[
    Site::new(Pjm, "PJM-RTO", 1, "ZONE"),
    Site::new(Pjm, "WESTERN HUB", 51288, "HUB"),
    Site::new(Pjm, "EASTERN HUB", 51217, "HUB"),
    Site::new(Pjm, "DOMINION HUB", 35010337, "HUB"),
    Site::new(Pjm, "AEP-DAYTON HUB", 34497127, "HUB"),
    Site::new(Pjm, "N ILLINOIS HUB", 33092315, "HUB"),
    Site::new(Pjm, "NEW JERSEY HUB", 4669664, "HUB"),
    Site::new(Pjm, "WEST INT HUB", 51287, "HUB"),
    Site::new(Pjm, "CHICAGO HUB", 33092313, "HUB"),
    Site::new(Pjm, "CHICAGO GEN HUB", 33092311, "HUB"),
    Site::new(Pjm, "OHIO HUB", 34497151, "HUB"),
    Site::new(Pjm, "AEP GEN HUB", 34497125, "HUB"),
    Site::new(Pjm, "ATSI GEN HUB", 116013751, "HUB"),
    Site::new(Pjm, "AECO", 51291, "ZONE"),
    Site::new(Pjm, "BGE", 51292, "ZONE"),
    Site::new(Pjm, "DPL", 51293, "ZONE"),
    Site::new(Pjm, "JCPL", 51295, "ZONE"),
    Site::new(Pjm, "METED", 51296, "ZONE"),
    Site::new(Pjm, "PECO", 51297, "ZONE"),
    Site::new(Pjm, "PENELEC", 51298, "ZONE"),
    Site::new(Pjm, "PEPCO", 51299, "ZONE"),
    Site::new(Pjm, "PPL", 51300, "ZONE"),
    Site::new(Pjm, "PSEG", 51301, "ZONE"),
    Site::new(Pjm, "RECO", 7633629, "ZONE"),
    Site::new(Pjm, "AEP", 8445784, "ZONE"),
    Site::new(Pjm, "APS", 8394954, "ZONE"),
    Site::new(Pjm, "ATSI", 116013753, "ZONE"),
    Site::new(Pjm, "COMED", 33092371, "ZONE"),
    Site::new(Pjm, "DAY", 34508503, "ZONE"),
    Site::new(Pjm, "DEOK", 124076095, "ZONE"),
    Site::new(Pjm, "DOM", 34964545, "ZONE"),
    Site::new(Pjm, "DUQ", 37737283, "ZONE"),
    Site::new(Pjm, "EKPC", 970242670, "ZONE"),
];

/// NYISO's 11 NYCA zones and 4 external proxy zones, in the MIS files' (alphabetical) order.
const NYISO: &[Site] = &[
    Site::new(Nyiso, "CAPITL", 61757, ""),
    Site::new(Nyiso, "CENTRL", 61754, ""),
    Site::new(Nyiso, "DUNWOD", 61760, ""),
    Site::new(Nyiso, "GENESE", 61753, ""),
    Site::new(Nyiso, "H Q", 61844, ""),
    Site::new(Nyiso, "HUD VL", 61758, ""),
    Site::new(Nyiso, "LONGIL", 61762, ""),
    Site::new(Nyiso, "MHK VL", 61756, ""),
    Site::new(Nyiso, "MILLWD", 61759, ""),
    Site::new(Nyiso, "N.Y.C.", 61761, ""),
    Site::new(Nyiso, "NORTH", 61755, ""),
    Site::new(Nyiso, "NPX", 61845, ""),
    Site::new(Nyiso, "O H", 61846, ""),
    Site::new(Nyiso, "PJM", 61847, ""),
    Site::new(Nyiso, "WEST", 61752, ""),
];

/// ISO-NE hub, load zones, external nodes and network nodes.
const ISONE: &[Site] = &[
    Site::new(Isone, ".H.INTERNAL_HUB", 4000, "HUB"),
    Site::new(Isone, ".Z.MAINE", 4001, "LOAD ZONE"),
    Site::new(Isone, ".Z.NEWHAMPSHIRE", 4002, "LOAD ZONE"),
    Site::new(Isone, ".Z.VERMONT", 4003, "LOAD ZONE"),
    Site::new(Isone, ".Z.CONNECTICUT", 4004, "LOAD ZONE"),
    Site::new(Isone, ".Z.RHODEISLAND", 4005, "LOAD ZONE"),
    Site::new(Isone, ".Z.SEMASS", 4006, "LOAD ZONE"),
    Site::new(Isone, ".Z.WCMASS", 4007, "LOAD ZONE"),
    Site::new(Isone, ".Z.NEMASSBOST", 4008, "LOAD ZONE"),
    Site::new(Isone, ".I.SALBRYNB345 1", 4010, "EXT. NODE"),
    Site::new(Isone, ".I.ROSETON 345 1", 4011, "EXT. NODE"),
    Site::new(Isone, ".I.HQ_P1_P2345 5", 4012, "EXT. NODE"),
    Site::new(Isone, ".I.HQHIGATE120 2", 4013, "EXT. NODE"),
    Site::new(Isone, ".I.SHOREHAM138 99", 4014, "EXT. NODE"),
    Site::new(Isone, ".I.NRTHPORT138 5", 4017, "EXT. NODE"),
    Site::new(Isone, "HC.AYER    115", 6352, "HUB NODE"),
    Site::new(Isone, "HC.MILLBURY345", 6357, "HUB NODE"),
    Site::new(Isone, "HC.LUDLOW  345", 6355, "HUB NODE"),
    Site::new(Isone, "UN.FRNKLNSQ13.810CC", 321, "NETWORK NODE"),
    Site::new(Isone, "UN.FRNKLNSQ13.811CC", 322, "NETWORK NODE"),
    Site::new(Isone, "UN.ROXBURY 34.5TWNW", 77615, "NETWORK NODE"),
    Site::new(Isone, "UN.CONGRESS13.8CSFC", 77616, "NETWORK NODE"),
];

/// MISO hubs, interfaces, load zones and generator nodes (market-report `Type` values).
const MISO: &[Site] = &[
    Site::new(Miso, "ILLINOIS.HUB", 0, "Hub"),
    Site::new(Miso, "INDIANA.HUB", 0, "Hub"),
    Site::new(Miso, "MICHIGAN.HUB", 0, "Hub"),
    Site::new(Miso, "MINN.HUB", 0, "Hub"),
    Site::new(Miso, "ARKANSAS.HUB", 0, "Hub"),
    Site::new(Miso, "LOUISIANA.HUB", 0, "Hub"),
    Site::new(Miso, "TEXAS.HUB", 0, "Hub"),
    Site::new(Miso, "AEC", 0, "Interface"),
    Site::new(Miso, "AECI", 0, "Interface"),
    Site::new(Miso, "AEP", 0, "Interface"),
    Site::new(Miso, "AECI.ALTW", 0, "Loadzone"),
    Site::new(Miso, "AECI.AMMO", 0, "Loadzone"),
    Site::new(Miso, "ALTE.ALTE", 0, "Loadzone"),
    Site::new(Miso, "ALTW.ALTW", 0, "Loadzone"),
    Site::new(Miso, "AMIL.CIPS", 0, "Loadzone"),
    Site::new(Miso, "AMIL.CILC", 0, "Loadzone"),
    Site::new(Miso, "ALTW.DAEC", 0, "Gennode"),
    Site::new(Miso, "AMMO.CALLAWAY1", 0, "Gennode"),
    Site::new(Miso, "CIN.LOGANOAKR", 0, "Gennode"),
    Site::new(Miso, "CONS.THETFORD4", 0, "Gennode"),
    Site::new(Miso, "DECO.STCLAIR6", 0, "Gennode"),
    Site::new(Miso, "NSP.GARWIN1", 0, "Gennode"),
    Site::new(Miso, "OTP.RUGBY1UPLS", 0, "Gennode"),
    Site::new(Miso, "WPS.EDGWTR41", 0, "Gennode"),
];

/// CAISO trading hubs, default load aggregation points and a few generator APnodes.
const CAISO: &[Site] = &[
    Site::new(Caiso, "TH_NP15_GEN-APND", 0, ""),
    Site::new(Caiso, "TH_SP15_GEN-APND", 0, ""),
    Site::new(Caiso, "TH_ZP26_GEN-APND", 0, ""),
    Site::new(Caiso, "DLAP_PGAE-APND", 0, ""),
    Site::new(Caiso, "DLAP_SCE-APND", 0, ""),
    Site::new(Caiso, "DLAP_SDGE-APND", 0, ""),
    Site::new(Caiso, "DLAP_VEA-APND", 0, ""),
    Site::new(Caiso, "BAYSHOR2_1_N001", 0, ""),
    Site::new(Caiso, "AFPR_1_TOT_GEN-APND", 0, ""),
    Site::new(Caiso, "AGRICO_7_UNIT-APND", 0, ""),
    Site::new(Caiso, "ALAMIT_2_PL1X3-APND", 0, ""),
    Site::new(Caiso, "ANTLPE_2_QF-APND", 0, ""),
];

/// ERCOT settlement points with their types; one name can carry several types.
const ERCOT: &[Site] = &[
    Site::new(Ercot, "HB_HOUSTON", 0, "HU"),
    Site::new(Ercot, "HB_NORTH", 0, "HU"),
    Site::new(Ercot, "HB_SOUTH", 0, "HU"),
    Site::new(Ercot, "HB_WEST", 0, "HU"),
    Site::new(Ercot, "LZ_AEN", 0, "LZ"),
    Site::new(Ercot, "LZ_AEN", 0, "LZEW"),
    Site::new(Ercot, "HB_PAN", 0, "HU"),
    Site::new(Ercot, "HB_BUSAVG", 0, "SH"),
    Site::new(Ercot, "HB_HUBAVG", 0, "AH"),
    Site::new(Ercot, "LZ_CPS", 0, "LZ"),
    Site::new(Ercot, "LZ_CPS", 0, "LZEW"),
    Site::new(Ercot, "LZ_HOUSTON", 0, "LZ"),
    Site::new(Ercot, "LZ_HOUSTON", 0, "LZEW"),
    Site::new(Ercot, "LZ_LCRA", 0, "LZ"),
    Site::new(Ercot, "LZ_LCRA", 0, "LZEW"),
    Site::new(Ercot, "LZ_NORTH", 0, "LZ"),
    Site::new(Ercot, "LZ_NORTH", 0, "LZEW"),
    Site::new(Ercot, "LZ_RAYBN", 0, "LZ"),
    Site::new(Ercot, "LZ_SOUTH", 0, "LZ"),
    Site::new(Ercot, "LZ_WEST", 0, "LZ"),
    Site::new(Ercot, "DC_E", 0, "LZ_DC"),
    Site::new(Ercot, "DC_E", 0, "LZ_DCEW"),
    Site::new(Ercot, "7RNCHSLR_ALL", 0, "RN"),
    Site::new(Ercot, "AJAXWIND_RN", 0, "RN"),
    Site::new(Ercot, "BRHEIGHT_RN", 0, "RN"),
    Site::new(Ercot, "CEDRVALE_RN", 0, "RN"),
    Site::new(Ercot, "NOBLESLR_ALL", 0, "RN"),
    Site::new(Ercot, "VERAWIND_ALL", 0, "RN"),
    Site::new(Ercot, "BASTEN_CCU", 0, "PCCRN"),
    Site::new(Ercot, "BTE_CC1", 0, "LCCRN"),
    Site::new(Ercot, "AMOCO_PUN1", 0, "PUN"),
];

/// SPP settlement locations before the April 2026 RTO West expansion (one BAA).
const SPP_EAST: &[Site] = &[
    Site::spp("AEC", "SOUC", "SPP"),
    Site::spp("SPPNORTH_HUB", "SPPNORTH_H", "SPP"),
    Site::spp("SPPSOUTH_HUB", "SPPSOUTH_H", "SPP"),
    Site::spp("KCPL", "KCPL_KCPL", "SPP"),
    Site::spp("OKGE", "OKGE_OKGE", "SPP"),
    Site::spp("SPS", "SPS_SPS", "SPP"),
    Site::spp("WR", "WR_WR", "SPP"),
    Site::spp("GRDA", "GRDA_GRDA", "SPP"),
    Site::spp("OPPD", "OPPD_OPPD", "SPP"),
    Site::spp("CSWS", "CSWS_CSWS", "SPP"),
];

/// SPP settlement locations after the expansion: the `SWPW` BAA joins.
const SPP_WEST: &[Site] = &[
    Site::spp("AEC", "SOUC", "SPP"),
    Site::spp("CISO", "CISO", "SWPW"),
    Site::spp("PSCO", "PSCO", "SWPW"),
    Site::spp("SPPNORTH_HUB", "SPPNORTH_H", "SPP"),
    Site::spp("SPPSOUTH_HUB", "SPPSOUTH_H", "SPP"),
    Site::spp("SWPW_HUB", "SWPW_HUB_H", "SWPW"),
    Site::spp("KCPL", "KCPL_KCPL", "SPP"),
    Site::spp("OKGE", "OKGE_OKGE", "SPP"),
    Site::spp("SPS", "SPS_SPS", "SPP"),
    Site::spp("WR", "WR_WR", "SPP"),
];

/// First operating day of SPP's RTO West expansion: files from then on carry a `BAA` column.
pub fn spp_expansion() -> Date {
    Date {
        year: 2026,
        month: 4,
        day: 1,
    }
}

/// The locations a native format publishes on `date`, most prominent first. Formats that key
/// rows by name only (ERCOT DAM and API) list each name once.
pub fn sites(format: Format, date: Date) -> Vec<Site> {
    let table: &[Site] = match format.market() {
        Some(Pjm) => PJM,
        Some(Nyiso) => NYISO,
        Some(Isone) => ISONE,
        Some(Miso) => MISO,
        Some(Caiso) => CAISO,
        Some(Ercot) => ERCOT,
        Some(Spp) if date >= spp_expansion() => SPP_WEST,
        Some(Spp) => SPP_EAST,
        _ => return mixed(),
    };
    let mut out: Vec<Site> = Vec::with_capacity(table.len());
    for s in table {
        if format == Format::ErcotRt || !out.iter().any(|o| o.name == s.name) {
            out.push(*s);
        }
    }
    out
}

/// A mix of well-known locations across markets, for simple CSV and envelopes.
pub fn mixed() -> Vec<Site> {
    vec![
        PJM[1],
        ERCOT[0],
        CAISO[1],
        NYISO[9],
        ISONE[0],
        MISO[0],
        SPP_EAST[1],
        PJM[0],
    ]
}
