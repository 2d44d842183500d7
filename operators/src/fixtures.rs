//! Test-only access to the real ISO files under `../shared/fixtures/iso` (override with
//! `TICKFLOW_FIXTURES`). When they are absent a test fails under `CI=true` and otherwise says
//! clearly that it skips.

use crate::model::{FeedInfo, FeedKind};
use crate::parse::{parse_document, Document, ParseCtx, ParseOutput};
use std::path::PathBuf;

/// The fixture directory, or `None` (after printing why) when it is absent outside CI.
pub(crate) fn dir() -> Option<PathBuf> {
    let dir = std::env::var_os("TICKFLOW_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/iso")
        });
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!(
            "ISO fixtures not found at {} (CI=true: they are required)",
            dir.display()
        );
    }
    eprintln!(
        "SKIP: ISO fixtures not found at {}; set TICKFLOW_FIXTURES to run this test",
        dir.display()
    );
    None
}

/// Reads `rel` (e.g. `pjm/x.csv`) and parses it whole with format detection from content and
/// name; `None` when fixtures are absent.
pub(crate) fn parse(rel: &str) -> Option<ParseOutput> {
    let path = dir()?.join(rel);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let feed = FeedInfo {
        id: 0,
        display: rel.to_string(),
        kind: FeedKind::File,
    };
    let mut doc = Document::whole(&bytes, &feed);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    doc.name = name.as_deref();
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&doc, &mut ctx, &mut out);
    Some(out)
}

/// Distinct identities among the ticks (what dedupe leaves).
pub(crate) fn observations(out: &ParseOutput) -> usize {
    let mut ids: Vec<_> = out.ticks.iter().map(|t| t.identity()).collect();
    ids.sort();
    ids.dedup();
    ids.len()
}

/// (first, last) interval_start rendered.
pub(crate) fn span(out: &ParseOutput) -> (String, String) {
    let min = out
        .ticks
        .iter()
        .map(|t| t.interval_start_ms)
        .min()
        .unwrap_or(0);
    let max = out
        .ticks
        .iter()
        .map(|t| t.interval_start_ms)
        .max()
        .unwrap_or(0);
    (
        crate::model::render::time(min),
        crate::model::render::time(max),
    )
}
