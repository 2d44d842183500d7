//! Opening a PostgreSQL connection from a [`PgDsn`] with the TLS it asks for, and [`PgError`].
//!
//! [`connect`] applies tickflow's defaults where the string sets nothing (`connect_timeout` 5 s,
//! `application_name` `tickflow`, `statement_timeout` 30 s through `options`, `tcp_user_timeout`
//! 30 s, keepalives after 30 s idle — so a server that hangs or a network that drops packets
//! turns into an error the caller retries, never a poll that blocks the job for ever), builds a native-tls connector for `sslmode` (libpq semantics:
//! `prefer`/`require` encrypt without checking the certificate unless `sslrootcert` is given,
//! `verify-ca` checks the chain, `verify-full` also the host name) and connects. Errors are
//! [`PgError`]s that say whether retrying can help and never contain the password.

use super::dsn::{mask_password, split_tls, PgDsn, Verify};
use postgres::Client;
use postgres_native_tls::MakeTlsConnector;
use std::time::Duration;

/// Connect timeout when the connection string sets none.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Statement timeout (server side) when the connection string's `options` set none.
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// How long sent data may stay unacknowledged, and how long a connection may be idle before
/// keepalive probes start, when the connection string sets neither.
pub const DEFAULT_TCP_TIMEOUT: Duration = Duration::from_secs(30);

/// A PostgreSQL failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PgError {
    /// The connection string cannot be used (retrying will not help).
    #[error("invalid PostgreSQL connection string: {0}")]
    Config(String),
    /// The TLS settings cannot be used (unreadable root certificate, …).
    #[error("PostgreSQL TLS setup failed: {0}")]
    Tls(String),
    /// The server cannot be reached or the connection broke (retryable).
    #[error("PostgreSQL unavailable: {0}")]
    Unavailable(String),
    /// The server refused a statement.
    #[error("PostgreSQL error: {0}")]
    Server(String),
}

impl PgError {
    /// Classifies a client error: a statement refused by the server is [`PgError::Server`];
    /// anything that ends the session (I/O, closed connection, timeout, a FATAL error such as
    /// a shutdown) is [`PgError::Unavailable`].
    pub fn from_server(e: postgres::Error) -> PgError {
        match e.as_db_error() {
            Some(db) => {
                let mut text = format!("{}: {}", db.severity(), db.message());
                if let Some(detail) = db.detail() {
                    text.push_str(&format!(" ({detail})"));
                }
                // FATAL and PANIC end the session (server shutting down, connection limit…).
                if matches!(db.severity(), "FATAL" | "PANIC") {
                    PgError::Unavailable(text)
                } else {
                    PgError::Server(text)
                }
            }
            None => {
                // The client's message is generic ("error connecting to server"): add causes.
                let mut text = e.to_string();
                let mut cause = std::error::Error::source(&e);
                while let Some(c) = cause {
                    let c_text = c.to_string();
                    if !text.contains(&c_text) {
                        text.push_str(&format!(": {c_text}"));
                    }
                    cause = c.source();
                }
                PgError::Unavailable(text)
            }
        }
    }

    /// True when trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, PgError::Unavailable(_))
    }

    fn masked(self, dsn: &PgDsn) -> PgError {
        let m = |s: String| mask_password(&s, dsn.expose());
        match self {
            PgError::Config(s) => PgError::Config(m(s)),
            PgError::Tls(s) => PgError::Tls(m(s)),
            PgError::Unavailable(s) => PgError::Unavailable(m(s)),
            PgError::Server(s) => PgError::Server(m(s)),
        }
    }
}

fn tls_connector(
    verify: Verify,
    root_cert: Option<&std::path::Path>,
) -> Result<MakeTlsConnector, PgError> {
    let mut builder = native_tls::TlsConnector::builder();
    match verify {
        Verify::None => {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
        }
        Verify::Ca => {
            builder.danger_accept_invalid_hostnames(true);
        }
        Verify::Full => {}
    }
    if let Some(path) = root_cert {
        let pem = std::fs::read(path)
            .map_err(|e| PgError::Tls(format!("sslrootcert {}: {e}", path.display())))?;
        let cert = native_tls::Certificate::from_pem(&pem)
            .map_err(|e| PgError::Tls(format!("sslrootcert {}: {e}", path.display())))?;
        builder
            .add_root_certificate(cert)
            .disable_built_in_roots(true);
    }
    let connector = builder.build().map_err(|e| PgError::Tls(e.to_string()))?;
    Ok(MakeTlsConnector::new(connector))
}

/// Connects to the server `dsn` names (blocking, at most the connect timeout per host).
pub fn connect(dsn: &PgDsn) -> Result<Client, PgError> {
    connect_inner(dsn).map_err(|e| e.masked(dsn))
}

fn connect_inner(dsn: &PgDsn) -> Result<Client, PgError> {
    let (plain, tls) = split_tls(dsn.expose());
    let mut config: postgres::Config = plain
        .parse()
        .map_err(|e: postgres::Error| PgError::Config(e.to_string()))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("tickflow");
    }
    let options = config.get_options().unwrap_or("").to_string();
    if !options.contains("statement_timeout") {
        let ms = DEFAULT_STATEMENT_TIMEOUT.as_millis();
        config.options(format!("{options} -c statement_timeout={ms}").trim());
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(DEFAULT_TCP_TIMEOUT);
    }
    if !plain.contains("keepalives_idle") {
        config.keepalives(true).keepalives_idle(DEFAULT_TCP_TIMEOUT);
    }
    let connector = tls_connector(tls.verify, tls.root_cert.as_deref())?;
    config.connect(connector).map_err(PgError::from_server)
}
