//! TODO: envelope parser (being written).
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
        vec!["envelope parser not implemented yet".into()],
        doc.bytes,
    ));
}
pub(super) fn parse(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    unimplemented_doc(doc, ctx, out)
}
