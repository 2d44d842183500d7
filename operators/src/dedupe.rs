//! Dedupe (placeholder).
