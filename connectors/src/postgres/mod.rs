//! PostgreSQL plumbing shared by the reference source and `tickflow migrate`: the connection
//! string ([`PgDsn`], TLS options, password masking), [`connect`], the error type [`PgError`],
//! the reference tables' DDL ([`migrate`]), and [`load_csv_dir`] to seed them from CSV files.
//!
//! The client is the synchronous `postgres` crate (it is called from timely workers). Errors
//! never carry the password; [`PgError::is_retryable`] tells a broken connection (retry with
//! backoff) from a refused statement or a bad configuration.

mod client;
mod ddl;
mod dsn;
mod seed;

pub use client::{connect, PgError, DEFAULT_CONNECT_TIMEOUT};
pub use ddl::{migrate, table_ddl, DDL};
pub use dsn::{mask_password, split_tls, PgDsn, TlsOptions, Verify};
pub use seed::load_csv_dir;
