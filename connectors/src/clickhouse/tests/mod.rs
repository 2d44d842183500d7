//! Tests of the ClickHouse schema, encoding and sink; `server` runs against a real server
//! (`TICKFLOW_TEST_CLICKHOUSE_URL`, default `http://127.0.0.1:58123`) and fails when it is
//! unreachable.

mod buffer;
mod ddl;
mod rowbinary;
mod server;
