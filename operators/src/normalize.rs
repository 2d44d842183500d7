//! Normalize (placeholder).
