//! PostgreSQL reference source and migrations against a real server (`scripts/services.sh up`,
//! or `TICKFLOW_TEST_PG_DSN`). Each test works in its own schema, so tests run in parallel; the
//! restart test runs its own throwaway cluster.

mod changes;
mod migrate;
mod restart;
mod snapshot;
mod support;
mod timeouts;
mod tls;
