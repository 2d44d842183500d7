//! TLS options of the DSN reach the connection: `sslmode=require` encrypts, `verify-ca` checks
//! the chain against `sslrootcert`, `verify-full` also the host name.

use crate::support::PrivateCluster;
use connectors::postgres::{connect, PgDsn};
use std::path::Path;
use std::process::Command;

const CERT: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
const KEY: &str = "/etc/ssl/private/ssl-cert-snakeoil.key";

fn tls_cluster() -> PrivateCluster {
    assert!(
        Path::new(CERT).exists() && Path::new(KEY).exists(),
        "the snakeoil certificate ({CERT}, from the ssl-cert package that postgresql installs) is missing"
    );
    PrivateCluster::start_prepared(
        "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        |dir| {
            let data = dir.join("data");
            std::fs::copy(CERT, data.join("server.crt")).expect("copy cert");
            std::fs::copy(KEY, data.join("server.key")).expect("copy key");
            for f in ["server.crt", "server.key"] {
                let p = data.join(f).display().to_string();
                let ok = Command::new("chown").args(["postgres:", &p]).status();
                assert!(ok.is_ok_and(|s| s.success()), "chown {p}");
                let ok = Command::new("chmod").args(["0600", &p]).status();
                assert!(ok.is_ok_and(|s| s.success()), "chmod {p}");
            }
        },
    )
}

fn uses_tls(dsn: &str) -> Result<bool, String> {
    let mut c = connect(&PgDsn::new(dsn)).map_err(|e| e.to_string())?;
    let row = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[test]
fn sslmode_and_root_certificate_pass_through() {
    let cluster = tls_cluster();
    let base = |host: &str| {
        format!(
            "host={host} port={} user=postgres dbname=postgres",
            cluster.port
        )
    };
    assert_eq!(
        uses_tls(&format!("{} sslmode=disable", base("127.0.0.1"))),
        Ok(false)
    );
    assert_eq!(
        uses_tls(&format!("{} sslmode=require", base("127.0.0.1"))),
        Ok(true)
    );
    assert_eq!(
        uses_tls(&format!(
            "{} sslmode=verify-ca sslrootcert={CERT}",
            base("127.0.0.1")
        )),
        Ok(true)
    );
    // The certificate names `localhost`: verify-full accepts that name and refuses the address.
    assert_eq!(
        uses_tls(&format!(
            "{} sslmode=verify-full sslrootcert={CERT}",
            base("localhost")
        )),
        Ok(true)
    );
    let refused = uses_tls(&format!(
        "{} sslmode=verify-full sslrootcert={CERT}",
        base("127.0.0.1")
    ));
    let e = refused.expect_err("refused");
    assert!(e.contains("certificate"), "{e}");
    // verify-ca against an unrelated root: refused (the chain is really checked).
    let other = cluster.path().join("other-ca.pem");
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=other",
        ])
        .arg("-keyout")
        .arg(cluster.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other)
        .output()
        .expect("openssl");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let refused = uses_tls(&format!(
        "{} sslmode=verify-ca sslrootcert={}",
        base("127.0.0.1"),
        other.display()
    ));
    let e = refused.expect_err("refused");
    assert!(e.contains("certificate"), "{e}");
    // The URL form too.
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={}",
        cluster.port,
        CERT.replace('/', "%2F")
    );
    assert_eq!(uses_tls(&url), Ok(true));
}
