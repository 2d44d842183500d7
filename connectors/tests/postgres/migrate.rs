//! `migrate` creates every table, index and trigger, and running it again changes nothing.

use crate::support::TestSchema;
use connectors::postgres::migrate;
use operators::model::Table;

fn schema_objects(s: &mut TestSchema) -> Vec<String> {
    let sql = "SELECT 'table ' || table_name FROM information_schema.tables WHERE table_schema = $1
               UNION ALL SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type
                 FROM information_schema.columns WHERE table_schema = $1
               UNION ALL SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = $1
               UNION ALL SELECT 'trigger ' || t.tgname || ' ' || pg_get_triggerdef(t.oid)
                 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE n.nspname = $1 AND NOT t.tgisinternal
               ORDER BY 1";
    s.client
        .query(sql, &[&s.name])
        .expect("catalog")
        .into_iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn migrate_twice_is_idempotent_and_creates_everything() {
    let mut s = TestSchema::new("migrate");
    let first = schema_objects(&mut s);
    let tables = migrate(&mut s.client).expect("second migrate");
    assert_eq!(tables, Table::ALL.to_vec());
    assert_eq!(
        schema_objects(&mut s),
        first,
        "the second migrate changed the schema"
    );
    for t in Table::ALL {
        let name = t.name();
        for needed in [
            format!("table {name}"),
            format!("column {name}.updated_at timestamp with time zone"),
            format!("column {name}.changed_txid xid8"),
        ] {
            assert!(first.contains(&needed), "missing {needed}");
        }
        for index in ["tenant_updated_at", "changed_txid"] {
            let prefix = format!("index {name}_{index} ");
            assert!(
                first.iter().any(|o| o.starts_with(&prefix)),
                "missing {prefix}"
            );
        }
        for trigger in ["touch", "deleted", "truncated"] {
            let prefix = format!("trigger {name}_{trigger} ");
            assert!(
                first.iter().any(|o| o.starts_with(&prefix)),
                "missing {prefix}"
            );
        }
    }
    assert!(first.contains(&"table reference_deletions".to_string()));
    // Data survives a re-run.
    s.client
        .execute(
            "INSERT INTO api_keys (key_sha256, scopes) VALUES (repeat('a', 64), '{read}')",
            &[],
        )
        .expect("insert");
    migrate(&mut s.client).expect("third migrate");
    let n: i64 = s
        .client
        .query_one("SELECT count(*) FROM api_keys", &[])
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn update_trigger_bumps_updated_at_unless_set() {
    let mut s = TestSchema::new("trigger");
    let c = &mut s.client;
    c.batch_execute(
        "INSERT INTO instrument_aliases (tenant_id, alias, instrument_id, updated_at)
         VALUES ('t', 'A', 'B', '2020-01-01Z')",
    )
    .expect("insert");
    let at = |c: &mut postgres::Client| -> String {
        c.query_one("SELECT updated_at::text FROM instrument_aliases", &[])
            .expect("select")
            .get(0)
    };
    assert_eq!(
        at(c),
        "2020-01-01 00:00:00+00",
        "insert keeps an explicit updated_at"
    );
    c.batch_execute("UPDATE instrument_aliases SET instrument_id = 'C'")
        .expect("update");
    assert_ne!(
        at(c),
        "2020-01-01 00:00:00+00",
        "update without updated_at bumps it"
    );
    c.batch_execute(
        "UPDATE instrument_aliases SET instrument_id = 'D', updated_at = '2021-01-01Z'",
    )
    .expect("update");
    assert_eq!(at(c), "2021-01-01 00:00:00+00");
}
