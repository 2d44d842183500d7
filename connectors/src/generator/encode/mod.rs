//! Writers: one per native format family, each producing bytes laid out exactly like the files
//! the ISO publishes.
//!
//! Formats whose rows stand alone (PJM, NYISO, ISO-NE, ERCOT CSV, SPP, simple CSV) implement
//! [`RowFormat`] — columns, cells per observation, and how a time breaks — and share the
//! streaming [`CsvRows`] writer; the envelope writer reuses the same row formats for its
//! `csv-line` and `json` payloads. Wide (MISO), long (CAISO) and JSON (ERCOT API) documents are
//! buffered and written whole at the end.

mod caiso;
mod envelope;
mod ercot;
mod ercot_api;
mod isone;
mod miso;
mod num;
mod nyiso;
mod pjm;
mod simple;
mod spp;

pub(crate) use caiso::Caiso;
pub(crate) use num::*;

use super::{Breakage, GenerateError, GenerateSpec, Item, Observation};
use operators::parse::Format;
use std::io::{self, Write};

/// A streaming document writer.
pub(crate) trait Encoder {
    /// Writes what precedes the first row (preamble, header).
    fn begin(&mut self, w: &mut dyn Write) -> io::Result<()>;
    /// Writes (or buffers) one item.
    fn item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()>;
    /// Writes what follows the last row (buffered rows, trailer).
    fn end(&mut self, w: &mut dyn Write) -> io::Result<()>;
    /// Dead letters a correct parser must produce for the broken items written so far.
    fn expected_dead(&self) -> u64;
}

/// The writer for a spec.
pub(crate) fn encoder(spec: &GenerateSpec) -> Result<Box<dyn Encoder>, GenerateError> {
    Ok(match spec.format {
        Format::MisoDa | Format::MisoRt => Box::new(miso::Miso::new(spec)),
        Format::CaisoOasis => Box::new(caiso::Caiso::new(spec)),
        Format::ErcotApi => Box::new(ercot_api::ErcotApi::new(spec)),
        Format::Envelope => Box::new(envelope::Envelope::new(spec)),
        f => Box::new(CsvRows::new(row_format(f, spec))),
    })
}

/// The row format of a stand-alone-row format (anything else falls back to simple CSV).
pub(crate) fn row_format(format: Format, spec: &GenerateSpec) -> Box<dyn RowFormat> {
    match format {
        Format::PjmDa | Format::PjmRt | Format::PjmRt5 => Box::new(pjm::Pjm::new(format)),
        Format::NyisoDa | Format::NyisoRt | Format::NyisoOasis => {
            Box::new(nyiso::Nyiso::new(format))
        }
        Format::IsoneDa | Format::IsoneRt => Box::new(isone::Isone::new(format, spec)),
        Format::ErcotRt | Format::ErcotDam => Box::new(ercot::ErcotCsv::new(format)),
        Format::SppRtbm | Format::SppDa => Box::new(spp::Spp::new(format, spec.start_date())),
        _ => Box::new(simple::Simple::new(spec.mode)),
    }
}

/// One field of a row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Cell {
    /// Text (quoted where the format quotes strings; a JSON string).
    Str(String),
    /// A number as published (never quoted unless every field is; a JSON number when it
    /// parses as one, else a string; empty = null).
    Num(String),
    /// Raw bytes, written verbatim (deliberately broken content).
    Raw(Vec<u8>),
}

/// Which fields a CSV format quotes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quote {
    /// None.
    Never,
    /// Text fields (NYISO RT, ISO-NE).
    Strings,
    /// Every field (NYISO OASIS).
    All,
}

/// Line layout of a CSV format.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Style {
    /// Quoting.
    pub quote: Quote,
    /// CRLF line endings (PJM Data Miner).
    pub crlf: bool,
}

/// Where the price and location live in a row, for the generic breakages.
#[derive(Clone, Debug)]
pub(crate) struct Roles {
    /// Index of the total price cell.
    pub price: usize,
    /// Indices of the location cells (all are blanked for a missing node).
    pub nodes: Vec<usize>,
}

/// A format whose rows stand alone.
pub(crate) trait RowFormat {
    /// Quoting and line endings.
    fn style(&self) -> Style;
    /// Column names as published (SPP daily files keep their leading spaces).
    fn columns(&self) -> Vec<&'static str>;
    /// Lines before the header (ISO-NE `C` records); default none.
    fn preamble(&mut self, _out: &mut Vec<u8>) {}
    /// Writes the header line; default: the columns.
    fn header(&mut self, out: &mut Vec<u8>) {
        let cols: Vec<Cell> = self
            .columns()
            .into_iter()
            .map(|c| Cell::Str(c.to_string()))
            .collect();
        let style = self.style();
        write_line(out, &cols, style, self.style().quote != Quote::Never);
        end_line(out, style);
    }
    /// A record-type cell written before every data row (ISO-NE `D`).
    fn row_prefix(&self) -> Option<&'static str> {
        None
    }
    /// The cells of one observation.
    fn cells(&mut self, obs: &Observation, out: &mut Vec<Cell>);
    /// Price and location positions.
    fn roles(&self) -> Roles;
    /// Breaks the time cells of a row: `BadDate` or `NonExistentTime`.
    fn break_time(&mut self, kind: Breakage, obs: &Observation, cells: &mut [Cell]);
    /// What follows the last row's line break, given the number of data rows (ISO-NE `T`
    /// trailer, which has no final line break); default nothing.
    fn trailer(&mut self, _rows: u64, _out: &mut Vec<u8>) {}
}

/// The cells of an item, broken as it asks.
pub(crate) fn item_cells(f: &mut dyn RowFormat, item: &Item, seq: u64, out: &mut Vec<Cell>) {
    out.clear();
    let (kind, obs) = match item {
        Item::Obs(o) => {
            f.cells(o, out);
            return;
        }
        Item::Broken(k, o) => (*k, o),
    };
    f.cells(obs, out);
    let roles = f.roles();
    let set = |out: &mut Vec<Cell>, i: usize, c: Cell| {
        if let Some(slot) = out.get_mut(i) {
            *slot = c;
        }
    };
    match kind {
        Breakage::BadNumber => set(out, roles.price, Cell::Num(bad_number(seq).into())),
        Breakage::NotANumber => set(out, roles.price, Cell::Num(not_a_number(seq).into())),
        Breakage::MissingPrice => set(out, roles.price, Cell::Num(String::new())),
        Breakage::MissingNode => {
            for i in &roles.nodes {
                set(out, *i, Cell::Str(String::new()));
            }
        }
        Breakage::BadDate | Breakage::NonExistentTime => f.break_time(kind, obs, out),
        Breakage::WrongFieldCount => {
            out.pop();
        }
        Breakage::JunkBytes => {
            if let Some(i) = roles.nodes.first() {
                set(out, *i, Cell::Raw(JUNK.to_vec()));
            }
        }
        // Envelope-level breakages leave the payload intact.
        Breakage::ChecksumMismatch | Breakage::UnsupportedEncoding => {}
    }
}

/// Bytes that are not UTF-8 and contain no CSV or JSON structure characters.
pub(crate) const JUNK: &[u8] = b"\xC3\x28\xA0\xA1\xFF\xFEjunk\x9C";

/// A price that is not a number, varied by `seq`.
pub(crate) fn bad_number(seq: u64) -> &'static str {
    ["12.3.4", "n/a", "$45.10", "4O.12", "--3.5"][(seq % 5) as usize]
}

/// A price that parses to a non-finite value, varied by `seq`.
pub(crate) fn not_a_number(seq: u64) -> &'static str {
    ["NaN", "inf", "-Infinity", "1e400"][(seq % 4) as usize]
}

/// Appends one CSV line (without its line break).
pub(crate) fn write_line(out: &mut Vec<u8>, cells: &[Cell], style: Style, quote_strings: bool) {
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match c {
            Cell::Str(s) => push_field(out, s.as_bytes(), quote_strings),
            Cell::Num(s) => push_field(out, s.as_bytes(), style.quote == Quote::All),
            Cell::Raw(b) => push_field(out, b, quote_strings),
        }
    }
}

/// Ends a line as the format does.
pub(crate) fn end_line(out: &mut Vec<u8>, style: Style) {
    if style.crlf {
        out.extend_from_slice(b"\r\n");
    } else {
        out.push(b'\n');
    }
}

fn push_field(out: &mut Vec<u8>, bytes: &[u8], quote: bool) {
    let needs = bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if quote || needs {
        out.push(b'"');
        for b in bytes {
            if *b == b'"' {
                out.push(b'"');
            }
            out.push(*b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

/// The streaming writer of stand-alone-row formats.
pub(crate) struct CsvRows {
    f: Box<dyn RowFormat>,
    buf: Vec<u8>,
    cells: Vec<Cell>,
    rows: u64,
    dead: u64,
}

impl CsvRows {
    pub(crate) fn new(f: Box<dyn RowFormat>) -> CsvRows {
        CsvRows {
            f,
            buf: Vec::with_capacity(256),
            cells: Vec::with_capacity(16),
            rows: 0,
            dead: 0,
        }
    }
}

impl Encoder for CsvRows {
    fn begin(&mut self, w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        self.f.preamble(&mut self.buf);
        self.f.header(&mut self.buf);
        w.write_all(&self.buf)
    }

    fn item(&mut self, item: &Item, w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        let style = self.f.style();
        item_cells(self.f.as_mut(), item, self.rows, &mut self.cells);
        if let Some(p) = self.f.row_prefix() {
            push_field(&mut self.buf, p.as_bytes(), style.quote != Quote::Never);
            self.buf.push(b',');
        }
        write_line(
            &mut self.buf,
            &self.cells,
            style,
            style.quote != Quote::Never,
        );
        end_line(&mut self.buf, style);
        self.rows += 1;
        if matches!(item, Item::Broken(..)) {
            self.dead += 1;
        }
        w.write_all(&self.buf)
    }

    fn end(&mut self, w: &mut dyn Write) -> io::Result<()> {
        self.buf.clear();
        self.f.trailer(self.rows, &mut self.buf);
        w.write_all(&self.buf)
    }

    fn expected_dead(&self) -> u64 {
        self.dead
    }
}
