//! TODO: ercot parser (being written).
#![allow(unused)]
use super::csvdoc::{Row, RowResult};
use super::{Document, Format, ParseCtx, ParseOutput};
use crate::model::ErrorCode;

fn unimplemented_doc(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    out.rows += 1;
    out.dead.push(ctx.dead(
        doc,
        1,
        0,
        0,
        ErrorCode::UnexpectedError,
        vec!["ercot parser not implemented yet".into()],
        doc.bytes,
    ));
}
pub(super) fn parse_csv(_f: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    unimplemented_doc(doc, ctx, out)
}
pub(super) fn parse_api(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    unimplemented_doc(doc, ctx, out)
}
pub(super) fn parse_row(
    _f: Format,
    _r: &Row<'_>,
    _d: &Document<'_>,
    _c: &mut ParseCtx,
    _o: &mut ParseOutput,
) -> RowResult {
    Err((ErrorCode::UnexpectedError, vec!["todo".into()]))
}
