//! Dead letters: one per rejected input record, carrying the reason and the raw bytes.

use super::{EpochMs, Sym};
use serde::{Deserialize, Serialize};

/// Raw events above this size are truncated in the dead letter (`raw_truncated: true`);
/// `tickflow dlq reprocess` re-reads the original from `source`.
pub const RAW_EVENT_MAX_BYTES: usize = 64 * 1024;

/// The pipeline stage that rejected a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Parsing and validation of input documents.
    Normalization,
    /// Reference-data enrichment.
    Enrichment,
    /// Windowing (lateness).
    Aggregation,
    /// An output sink.
    Sink,
}

impl Stage {
    /// Upper-case name as in dead letters (`NORMALIZATION`, …).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Normalization => "NORMALIZATION",
            Stage::Enrichment => "ENRICHMENT",
            Stage::Aggregation => "AGGREGATION",
            Stage::Sink => "SINK",
        }
    }
    /// Lower-case metric label.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Normalization => "normalization",
            Stage::Enrichment => "enrichment",
            Stage::Aggregation => "aggregation",
            Stage::Sink => "sink",
        }
    }
}

/// Why a record was rejected (SPEC §3 table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Unreadable bytes, bad CSV/JSON/zip syntax, unknown or ambiguous format, missing column.
    ParseError,
    /// Envelope contract broken, checksum mismatch, CAISO group without LMP.
    ContractViolation,
    /// Missing/non-finite price, bad or non-existent time, inverted interval, missing instrument.
    ValidationError,
    /// Too late for every window.
    LateData,
    /// Anything else.
    UnexpectedError,
}

impl ErrorCode {
    /// All codes.
    pub const ALL: [ErrorCode; 5] = [
        ErrorCode::ParseError,
        ErrorCode::ContractViolation,
        ErrorCode::ValidationError,
        ErrorCode::LateData,
        ErrorCode::UnexpectedError,
    ];
    /// Upper-case name as in dead letters.
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "PARSE_ERROR",
            ErrorCode::ContractViolation => "CONTRACT_VIOLATION",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::LateData => "LATE_DATA",
            ErrorCode::UnexpectedError => "UNEXPECTED_ERROR",
        }
    }
    /// Lower-case metric label.
    pub fn label(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "parse_error",
            ErrorCode::ContractViolation => "contract_violation",
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::LateData => "late_data",
            ErrorCode::UnexpectedError => "unexpected_error",
        }
    }
}

/// One rejected input record (SPEC §3). `source` is already rendered (`path:line`, …) because
/// dead letters are rare and must stand alone on the dead-letter topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Stage that rejected the record.
    pub failure_stage: Stage,
    /// Reason code.
    pub error_code: ErrorCode,
    /// Human-readable summary.
    pub error_message: String,
    /// Every problem found with the record (at least one).
    pub issues: Vec<String>,
    /// Rendered source position of the record.
    pub source: String,
    /// 0-based position of the record within its source position (cell, pivot row, element).
    pub index: u32,
    /// The raw bytes of the record (at most [`RAW_EVENT_MAX_BYTES`]).
    pub raw: Vec<u8>,
    /// True when `raw` was cut at [`RAW_EVENT_MAX_BYTES`].
    pub raw_truncated: bool,
    /// Tenant the record was addressed to.
    pub tenant_id: Sym,
    /// Wall-clock ingestion time (exempt from determinism; not written to `dir:` files).
    pub ingested_at_ms: EpochMs,
    /// How many times this record has been re-processed.
    pub retry_count: u32,
}

impl DeadLetter {
    /// Builds a dead letter, truncating `raw` to [`RAW_EVENT_MAX_BYTES`].
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        failure_stage: Stage,
        error_code: ErrorCode,
        issues: Vec<String>,
        source: String,
        index: u32,
        raw: &[u8],
        tenant_id: Sym,
        ingested_at_ms: EpochMs,
    ) -> DeadLetter {
        let raw_truncated = raw.len() > RAW_EVENT_MAX_BYTES;
        let raw = raw[..raw.len().min(RAW_EVENT_MAX_BYTES)].to_vec();
        let error_message = match issues.first() {
            Some(first) if issues.len() > 1 => format!("{first} (+{} more)", issues.len() - 1),
            Some(first) => first.clone(),
            None => error_code.name().to_string(),
        };
        DeadLetter {
            failure_stage,
            error_code,
            error_message,
            issues,
            source,
            index,
            raw,
            raw_truncated,
            tenant_id,
            ingested_at_ms,
            retry_count: 0,
        }
    }

    /// The deterministic `event_id` (SPEC §3).
    pub fn event_id(&self) -> uuid::Uuid {
        super::ids::dead_letter_id(
            &self.source,
            self.index,
            self.failure_stage,
            self.error_code,
        )
    }

    /// Sort key for `dead_letters.jsonl`: (source, index, stage, error_code).
    pub fn sort_key(&self) -> (&str, u32, Stage, ErrorCode) {
        (
            &self.source,
            self.index,
            self.failure_stage,
            self.error_code,
        )
    }
}
