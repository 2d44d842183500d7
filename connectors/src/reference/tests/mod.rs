//! Loader and diff tests: the bundled set, collected errors, snapshot changes.

mod live;

use super::{count_active, diff, load_dir, parse_table, Change, RowError};
use operators::enrich::alias::resolve_tick;
use operators::enrich::{enrich, ReferenceView};
use operators::model::render::parse_rfc3339_ms;
use operators::model::{ClassificationMethod, Market, ReferenceRow, SourcePos, Table, Tick};
use std::path::{Path, PathBuf};

fn bundled() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reference")
}

fn tick(instrument: &str, market: Market, at: &str) -> Tick {
    let at = parse_rfc3339_ms(at).unwrap_or(0);
    Tick {
        tenant_id: "default".into(),
        instrument_id: instrument.into(),
        market,
        node: "N".into(),
        market_run: "DA".into(),
        interval_start_ms: at,
        interval_end_ms: at + 3_600_000,
        price: 30.0,
        volume: None,
        extras: Default::default(),
        trade_id: None,
        revision: 0,
        version: 1,
        flags: Default::default(),
        source_system: "test".into(),
        source: SourcePos::default(),
        ingested_at_ms: 0,
        enrichment: None,
        horizon: Default::default(),
        slot: Default::default(),
    }
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write test file");
}

fn parse(table: Table, text: &str) -> (Vec<ReferenceRow>, Vec<RowError>) {
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    parse_table(table, "t.csv", text.as_bytes(), &mut rows, &mut errors);
    (rows, errors)
}

fn messages(errors: &[RowError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn bundled_set_loads_without_errors() {
    let rows = load_dir(&bundled()).unwrap_or_else(|e| panic!("{e}"));
    let counts: Vec<(Table, usize)> = count_active(&rows);
    assert_eq!(
        counts,
        [
            (Table::Instruments, 32),
            (Table::Aliases, 11),
            (Table::CommodityRules, 6),
            (Table::RegionRules, 6),
            (Table::CurveDefinitions, 3),
            (Table::CurveMembers, 12),
            (Table::ApiKeys, 2),
        ]
    );
    assert_eq!(rows.len(), 32 + 1 + 11 + 1 + 6 + 6 + 3 + 12 + 3);
    // The bundled keys (the query API keeps their versions, `http::auth::LiveKeys`): the test
    // key is live, the other one's last version revokes it.
    let key_active = |sha: &str| {
        rows.iter()
            .filter_map(|r| match r {
                operators::model::ReferenceRow::ApiKey(k) if &*k.key_sha256 == sha => Some(k),
                _ => None,
            })
            .max_by_key(|k| k.updated_at_ms)
            .map(|k| k.active)
    };
    let test_key = "402386fd6677a2b68c456ff1a265a6463cea95dfc34c87a30b8a6bc7d02a1214";
    assert_eq!(key_active(test_key), Some(true));
    let revoked = "8106a0ecb85a76171f3dc4e320e2fc7d467b000cd8b8c37915a152150239e031";
    assert_eq!(key_active(revoked), Some(false));
    let view = ReferenceView::from_rows(rows);
    // The two versions of PJM.RT.WESTERN HUB, both exercised by the samples.
    let west = |at| enrich(&tick("PJM.RT.WESTERN HUB", Market::Pjm, at), &view);
    let (v1, v2) = (west("2024-03-10T05:00:00Z"), west("2025-07-01T23:00:00Z"));
    assert_eq!(
        (v1.product_tier.as_deref(), v1.tick_size),
        (Some("standard"), Some(0.01))
    );
    assert_eq!(
        (v2.product_tier.as_deref(), v2.tick_size),
        (Some("premium"), Some(0.005))
    );
    assert_eq!(v2.classification_method, ClassificationMethod::Database);
    // Rules for sample instruments without a row.
    let e = enrich(
        &tick("MISO.DA.ARKANSAS.HUB", Market::Miso, "2024-11-03T05:00:00Z"),
        &view,
    );
    assert_eq!(
        (e.region.as_deref(), e.classification_confidence),
        (Some("south"), 0.8)
    );
    assert!(e.missing_metadata);
    let e = enrich(
        &tick("PJM.RT.N ILLINOIS HUB", Market::Pjm, "2024-03-10T05:00:00Z"),
        &view,
    );
    assert_eq!(e.region.as_deref(), Some("midwest"));
    let e = enrich(
        &tick("NYISO.RT.CAPITL", Market::Nyiso, "2024-03-10T05:00:00Z"),
        &view,
    );
    assert_eq!(e.classification_method, ClassificationMethod::RuleBased);
    // The alias of the simple-CSV ERCOT name.
    let mut t = tick("ERCOT.RT.HB_HOUSTON", Market::Ercot, "2025-07-01T00:00:00Z");
    assert!(resolve_tick(&mut t, &view));
    assert_eq!(enrich(&t, &view).region.as_deref(), Some("texas"));
    assert_eq!(
        view.curve_members("default", "SPP.NORTH_HUB.FWD").count(),
        5
    );
}

#[test]
fn every_bad_row_of_every_file_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    write(
        d,
        "taxonomy_instruments.csv",
        "tenant_id,instrument_id,commodity,region,product_tier,unit,contract_size,tick_size,metadata,active,valid_from,updated_at\n\
         default,PJM.DA.X,electricity,northeast,standard,$/MWh,1,0.01,{},true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n\
         default,,electricity,,,,-1,NaN,[1],yes,2024-01-01,2024-01-01T00:00:00Z\n\
         default,PJM.DA.Y,electricity\n\
         default,PJM.DA.X,gas,,,,,,,true,2024-01-01T00:00:00Z,2024-02-01T00:00:00Z\n",
    );
    write(
        d,
        "taxonomy_region_rules.csv",
        "tenant_id,region,keywords,priority,active,valid_from,updated_at\n\
         default,west,SP15;N.P.15,high,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n\
         default,east,,1,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n",
    );
    write(d, "curve_members.csv", "tenant_id,curve_id,tenor\n");
    write(
        d,
        "curve_definitions.csv",
        "tenant_id,curve_id,name,commodity,region,interpolation,active,valid_from,updated_at\n\
         default,C,C,,,cubic,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n",
    );
    write(d, "taxonomy_instrument.csv", "");
    write(d, "notes.txt", "not a table");
    let errors = load_dir(d).err().map(|e| e.0).unwrap_or_default();
    let file = |name: &str| d.join(name).display().to_string();
    let text = messages(&errors).join("\n");
    let expected = [
        format!("{}:1: missing column(s): active, valid_from, updated_at, instrument_id, delivery_start, delivery_end", file("curve_members.csv")),
        format!("{}:2: interpolation: `cubic` is not linear or flat", file("curve_definitions.csv")),
        format!("{}:3: instrument_id: required", file("taxonomy_instruments.csv")),
        format!("{}:3: active: `yes` is not true or false", file("taxonomy_instruments.csv")),
        format!("{}:3: valid_from: `2024-01-01` is not an RFC 3339 time", file("taxonomy_instruments.csv")),
        format!("{}:3: contract_size: `-1` is not a positive number", file("taxonomy_instruments.csv")),
        format!("{}:3: tick_size: `NaN` is not a positive number", file("taxonomy_instruments.csv")),
        format!("{}:3: metadata: not a JSON object", file("taxonomy_instruments.csv")),
        format!("{}:4: expected 12 fields, found 3", file("taxonomy_instruments.csv")),
        format!("{}:5: duplicate of line 2 (same key and valid_from)", file("taxonomy_instruments.csv")),
        format!("{}: unknown reference table; expected taxonomy_instruments.csv, instrument_aliases.csv, taxonomy_commodity_rules.csv, taxonomy_region_rules.csv, curve_definitions.csv, curve_members.csv, api_keys.csv", file("taxonomy_instrument.csv")),
        format!("{}:2: keywords: `N.P.15` can never equal a token (letters and digits only)", file("taxonomy_region_rules.csv")),
        format!("{}:2: priority: `high` is not an integer", file("taxonomy_region_rules.csv")),
        format!("{}:3: keywords: required", file("taxonomy_region_rules.csv")),
    ];
    for e in &expected {
        assert!(text.contains(e.as_str()), "missing `{e}` in\n{text}");
    }
    assert_eq!(errors.len(), expected.len(), "{text}");
    assert!(load_dir(&d.join("nope")).is_err());
}

#[test]
fn headers_by_name_bom_extra_columns_and_missing_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(
        dir.path(),
        "instrument_aliases.csv",
        "\u{feff} Instrument_ID ,id,ALIAS,valid_from,updated_at,active,tenant_id\n\
         X.Y,7,\"X Y\",2024-01-01T00:00:00-05:00,2024-01-01T00:00:00Z,TRUE,acme\n\n",
    );
    let rows = load_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let [ReferenceRow::Alias(a)] = rows.as_slice() else {
        panic!("{rows:?}");
    };
    assert_eq!(
        (&*a.alias, &*a.instrument_id, &*a.tenant_id),
        ("X Y", "X.Y", "acme")
    );
    assert_eq!(a.valid_from_ms, 1_704_085_200_000);
    assert!(a.active);
    let (rows, errors) = parse(Table::Aliases, "");
    assert!(rows.is_empty() && errors.is_empty());
}

#[test]
fn api_keys_and_non_utf8_cells() {
    let (rows, errors) = parse(
        Table::ApiKeys,
        "tenant_id,key_sha256,scopes,active,valid_from,updated_at\n\
         ,402386FD6677A2B68C456FF1A265A6463CEA95DFC34C87A30B8A6BC7D02A1214,read; subscribe,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n\
         default,abc,read,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n",
    );
    assert_eq!(
        messages(&errors),
        ["t.csv:3: key_sha256: not 64 hex digits"]
    );
    let [ReferenceRow::ApiKey(k)] = rows.as_slice() else {
        panic!("{rows:?}");
    };
    assert_eq!(k.tenant_id, None);
    assert_eq!(k.scopes, ["read", "subscribe"]);
    assert!(k.key_sha256.starts_with("402386fd"));
    let mut bytes =
        b"tenant_id,alias,instrument_id,active,valid_from,updated_at\ndefault,A".to_vec();
    bytes.extend_from_slice(b"\xff,B,true,2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n");
    let (mut rows, mut errors) = (Vec::new(), Vec::new());
    parse_table(Table::Aliases, "a.csv", &bytes, &mut rows, &mut errors);
    assert_eq!(messages(&errors), ["a.csv:2: alias: not UTF-8"]);
}

fn alias_row(alias: &str, target: &str, active: bool) -> ReferenceRow {
    let text = format!(
        "tenant_id,alias,instrument_id,active,valid_from,updated_at\n\
         default,{alias},{target},{active},2024-01-01T00:00:00Z,2024-01-01T00:00:00Z\n"
    );
    let (rows, _) = parse(Table::Aliases, &text);
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("bad test row"))
}

#[test]
fn snapshot_diff_inserts_updates_and_deactivates() {
    let old = vec![
        alias_row("A", "X", true),
        alias_row("B", "X", true),
        alias_row("C", "X", true),
        alias_row("D", "X", false),
        alias_row("E", "X", true),
    ];
    let new = vec![
        alias_row("A", "X", true),  // unchanged
        alias_row("B", "Y", true),  // updated
        alias_row("C", "X", false), // deactivated
        alias_row("D", "X", true),  // re-activated = inserted
        alias_row("F", "X", true),  // inserted; E removed = deactivated
    ];
    let changes = diff(&old, &new);
    assert_eq!(
        changes,
        [
            Change::Updated {
                old: alias_row("B", "X", true),
                new: alias_row("B", "Y", true)
            },
            Change::Deactivated(alias_row("C", "X", true)),
            Change::Inserted(alias_row("D", "X", true)),
            Change::Deactivated(alias_row("E", "X", true)),
            Change::Inserted(alias_row("F", "X", true)),
        ]
    );
    assert!(diff(&new, &new).is_empty());
    // Applying the updates to a view of `old` gives the view of `new`.
    let mut view = ReferenceView::from_rows(old);
    view.apply_all(changes.into_iter().flat_map(Change::updates));
    let resolved = |v: &ReferenceView| -> Vec<Option<String>> {
        ["A", "B", "C", "D", "E", "F"]
            .iter()
            .map(|a| v.resolve_alias("default", a, 0).map(|s| s.to_string()))
            .collect()
    };
    assert_eq!(resolved(&view), resolved(&ReferenceView::from_rows(new)));
    assert_eq!(view.row_count(Table::Aliases), 4);
}
