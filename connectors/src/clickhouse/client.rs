//! A minimal ClickHouse HTTP client (`ureq`, synchronous): run a statement, insert a
//! `RowBinary` body, read the server version.
//!
//! Failures are split by what a caller can do about them: [`ClickhouseError::Unavailable`]
//! (connection refused or reset, timeout, HTTP 5xx other than a query error, 503) is worth a
//! retry; [`ClickhouseError::Rejected`] (the server answered with an exception: bad SQL, bad
//! row, unknown setting, authentication) is not. Messages never contain the password (it
//! travels in a header) nor the URL's user info.

use super::config::ClickhouseConfig;
use std::io::Read as _;
use std::time::Duration;

/// Why a ClickHouse request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClickhouseError {
    /// The server could not be reached or did not answer in time: retry later.
    #[error("clickhouse unavailable: {0}")]
    Unavailable(String),
    /// The server refused the request (its exception text).
    #[error("clickhouse rejected the request: {0}")]
    Rejected(String),
    /// A configuration problem (bad URL, unreadable CA file).
    #[error("clickhouse configuration: {0}")]
    Config(String),
}

/// A connection pool to one ClickHouse HTTP endpoint (clones share the pool).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    user: String,
    password: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("user", &self.user).finish()
    }
}

/// Exception codes that mean "the server is there but cannot serve now" (too many parts,
/// memory limit, table is read-only, timeout, too many simultaneous queries).
const RETRYABLE_CODES: [&str; 6] = [
    "Code: 252,",
    "Code: 241,",
    "Code: 242,",
    "Code: 159,",
    "Code: 202,",
    "Code: 209,",
];

impl Client {
    /// A client for `cfg` (no request is made).
    pub fn new(cfg: &ClickhouseConfig) -> Result<Client, ClickhouseError> {
        let base = cfg.url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClickhouseError::Config(
                "url must start with http:// or https://".into(),
            ));
        }
        let timeout = Duration::from_millis(cfg.request_timeout_ms.max(1));
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(timeout.min(Duration::from_secs(5)))
            .timeout(timeout);
        if let Some(ca) = &cfg.ca_path {
            builder = builder.tls_config(std::sync::Arc::new(tls_with_ca(ca)?));
        }
        Ok(Client {
            agent: builder.build(),
            base,
            user: cfg.user.clone(),
            password: cfg.password.clone(),
        })
    }

    /// Runs one statement and returns the response body (the query's output).
    pub fn query(&self, sql: &str) -> Result<String, ClickhouseError> {
        self.post("", sql.as_bytes())
    }

    /// Inserts a `RowBinary` body (rows in the table's column order, see
    /// [`super::rowbinary`]) into `database.table`.
    pub fn insert_rowbinary(
        &self,
        database: &str,
        table: &str,
        body: &[u8],
    ) -> Result<(), ClickhouseError> {
        let sql = format!(
            "INSERT INTO {}.{} FORMAT RowBinary",
            super::ddl::ident(database),
            super::ddl::ident(table)
        );
        self.post(&sql, body).map(|_| ())
    }

    /// The server's version string (`SELECT version()`).
    pub fn version(&self) -> Result<String, ClickhouseError> {
        Ok(self.query("SELECT version()")?.trim().to_string())
    }

    fn post(&self, query_param: &str, body: &[u8]) -> Result<String, ClickhouseError> {
        let mut req = self
            .agent
            .post(&format!("{}/", self.base))
            .set("X-ClickHouse-User", &self.user);
        if !self.password.is_empty() {
            req = req.set("X-ClickHouse-Key", &self.password);
        }
        if !query_param.is_empty() {
            req = req.query("query", query_param);
        }
        match req.send_bytes(body) {
            Ok(resp) => {
                let mut text = String::new();
                resp.into_reader()
                    .take(256 << 20)
                    .read_to_string(&mut text)
                    .map_err(|e| {
                        ClickhouseError::Unavailable(format!("reading the answer: {e}"))
                    })?;
                Ok(text)
            }
            Err(ureq::Error::Status(code, resp)) => {
                let text = resp.into_string().unwrap_or_default();
                let text = text.trim().chars().take(2_000).collect::<String>();
                if code == 503 || code == 502 || RETRYABLE_CODES.iter().any(|c| text.contains(c)) {
                    Err(ClickhouseError::Unavailable(format!("HTTP {code}: {text}")))
                } else {
                    Err(ClickhouseError::Rejected(format!("HTTP {code}: {text}")))
                }
            }
            Err(ureq::Error::Transport(t)) => Err(ClickhouseError::Unavailable(format!(
                "{:?}: {}",
                t.kind(),
                t.message().unwrap_or("transport error")
            ))),
        }
    }
}

fn tls_with_ca(path: &std::path::Path) -> Result<rustls::ClientConfig, ClickhouseError> {
    let pem = std::fs::read(path)
        .map_err(|e| ClickhouseError::Config(format!("ca_path {}: {e}", path.display())))?;
    use rustls_pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_slice_iter(&pem) {
        let cert =
            cert.map_err(|e| ClickhouseError::Config(format!("ca_path {}: {e}", path.display())))?;
        roots
            .add(cert)
            .map_err(|e| ClickhouseError::Config(format!("ca_path {}: {e}", path.display())))?;
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
