//! The header of a simple-CSV document: which known column sits where.

use super::record::Fields;
use crate::parse::fields::Columns;

/// The resolved header of a simple-CSV document: the position of every known column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SimpleCsvHeader {
    /// Number of columns in the header.
    pub width: usize,
    /// `ts_ms`: epoch milliseconds UTC.
    pub ts_ms: Option<usize>,
    /// `ts`: RFC 3339 time with any offset.
    pub ts: Option<usize>,
    /// `price`.
    pub price: Option<usize>,
    /// `instrument_id`.
    pub instrument_id: Option<usize>,
    /// `node`.
    pub node: Option<usize>,
    /// `market`.
    pub market: Option<usize>,
    /// `run`.
    pub run: Option<usize>,
    /// `volume`.
    pub volume: Option<usize>,
    /// `tenant_id`.
    pub tenant_id: Option<usize>,
    /// `revision`.
    pub revision: Option<usize>,
    /// `trade_id`.
    pub trade_id: Option<usize>,
}

impl SimpleCsvHeader {
    /// Resolves the columns of a header (names trimmed, case-insensitive).
    pub fn from_columns(cols: &Columns) -> SimpleCsvHeader {
        let at = |n: &str| cols.find(&[n]);
        SimpleCsvHeader {
            width: cols.len(),
            ts_ms: at("ts_ms"),
            ts: at("ts"),
            price: at("price"),
            instrument_id: at("instrument_id"),
            node: at("node"),
            market: at("market"),
            run: at("run"),
            volume: at("volume"),
            tenant_id: at("tenant_id"),
            revision: at("revision"),
            trade_id: at("trade_id"),
        }
    }

    /// Parses a header line (CSV, quotes allowed; a UTF-8 BOM is dropped).
    pub fn from_line(line: &[u8]) -> SimpleCsvHeader {
        let mut rec = csv::ByteRecord::new();
        read_one(line, &mut rec);
        SimpleCsvHeader::from_columns(&Columns::new(rec.iter()))
    }

    /// One `missing required column …` issue per required column the header lacks.
    pub fn missing(&self) -> Vec<String> {
        let mut issues = Vec::new();
        if self.ts_ms.is_none() && self.ts.is_none() {
            issues.push("missing required column ts_ms or ts".to_string());
        }
        if self.price.is_none() {
            issues.push("missing required column price".to_string());
        }
        if self.instrument_id.is_none() && self.node.is_none() {
            issues.push("missing required column instrument_id or node".to_string());
        }
        issues
    }

    pub(super) fn fields<'b>(&self, get: impl Fn(usize) -> Option<&'b [u8]>) -> Fields<'b> {
        let at = |i: Option<usize>| i.and_then(&get).map(<[u8]>::trim_ascii);
        Fields {
            ts_ms: at(self.ts_ms),
            ts: at(self.ts),
            price: at(self.price),
            instrument_id: at(self.instrument_id),
            node: at(self.node),
            market: at(self.market),
            run: at(self.run),
            volume: at(self.volume),
            tenant_id: at(self.tenant_id),
            revision: at(self.revision),
            trade_id: at(self.trade_id),
        }
    }
}

/// Reads one CSV record from the start of `bytes` into `rec`; returns the bytes consumed
/// (through the record's line break).
pub(super) fn read_one(bytes: &[u8], rec: &mut csv::ByteRecord) -> usize {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(bytes.len().clamp(64, 8 * 1024))
        .from_reader(bytes);
    match rdr.read_byte_record(rec) {
        Ok(true) => {}
        _ => rec.clear(),
    }
    let mut end = usize::try_from(rdr.position().byte())
        .unwrap_or(bytes.len())
        .min(bytes.len());
    // A CRLF-terminated record may stop between the CR and the LF.
    if end > 0 && bytes[end - 1] == b'\r' && bytes.get(end) == Some(&b'\n') {
        end += 1;
    }
    end
}
