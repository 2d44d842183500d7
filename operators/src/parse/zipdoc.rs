//! Zip containers (CAISO OASIS returns a SingleZip): every member is parsed as its own document.

use super::{parse_as, Document, Format, ParseCtx, ParseOutput};
use crate::model::ErrorCode;
use std::io::Read;

/// Largest member tickflow inflates (guards against zip bombs).
const MAX_MEMBER_BYTES: u64 = 1 << 30;

/// True when `bytes` start with a zip local-file header.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Inflates every file member of a zip archive, in archive order: `(name, bytes)`.
pub fn unzip_members(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| format!("bad zip: {e}"))?;
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive
            .by_index(i)
            .map_err(|e| format!("bad zip member {i}: {e}"))?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let mut buf = Vec::with_capacity(file.size().min(MAX_MEMBER_BYTES) as usize);
        (&mut file)
            .take(MAX_MEMBER_BYTES + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("zip member {name}: {e}"))?;
        if buf.len() as u64 > MAX_MEMBER_BYTES {
            return Err(format!(
                "zip member {name} inflates beyond {MAX_MEMBER_BYTES} bytes"
            ));
        }
        members.push((name, buf));
    }
    Ok(members)
}

/// Parses each member of a zip document as `format` (or detects it per member). Members share the
/// document's feed; their names are used for detection. Files read from disk are split into one
/// feed per member by the file connector instead, so that `source` names `path#member`.
pub(super) fn parse_zip(
    format: Format,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) {
    match unzip_members(doc.bytes) {
        Ok(members) => {
            for (name, bytes) in &members {
                let member = Document {
                    bytes,
                    name: Some(name),
                    format: Some(format),
                    ..*doc
                };
                if is_zip(bytes) {
                    out.rows += 1;
                    out.dead.push(ctx.dead(
                        doc,
                        1,
                        0,
                        0,
                        ErrorCode::ParseError,
                        vec![format!("nested zip member {name} is not supported")],
                        b"",
                    ));
                    continue;
                }
                parse_as(format, &member, ctx, out);
            }
        }
        Err(why) => {
            out.rows += 1;
            out.dead
                .push(ctx.dead(doc, 1, 0, 0, ErrorCode::ParseError, vec![why], doc.bytes));
        }
    }
}
