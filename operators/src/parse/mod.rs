//! Per-market parsers: pure functions from a framed [`Document`] to ticks and dead letters.
//!
//! Every data row of a document ends in a [`Tick`] or a [`DeadLetter`] with a reason, never
//! silently skipped (SPEC §2.1 "Accounting"), and nothing here panics on input bytes. Columns are
//! mapped by trimmed, case-insensitive name, never by position. The format comes from an explicit
//! hint when given, else from content, else from the file name ([`detect`]).
//!
//! One module per format family; each exposes `parse(doc, ctx, out)`. Formats whose rows stand
//! alone (PJM, ISO-NE, ERCOT, SPP, simple CSV) also expose a row parser used by envelopes.

mod caiso;
mod checks;
mod csvdoc;
mod detect;
mod envelope;
mod ercot;
mod fields;
mod format;
mod isone;
mod miso;
mod nyiso;
mod pjm;
mod simple_csv;
mod spp;
mod zipdoc;

pub use csvdoc::{CsvDoc, Row};
pub use detect::detect;
pub use fields::{parse_f64, parse_mdy, parse_us_datetime, parse_ymd, Columns};
pub use format::Format;
pub use simple_csv::SimpleCsvHeader;
pub use zipdoc::unzip_members;

use crate::model::{
    Components, DeadLetter, EpochMs, ErrorCode, Extras, FeedInfo, Interner, Market, QualityFlag,
    QualityFlags, SourcePos, Stage, Sym, Tick,
};

/// One framed input document: a whole native file or message, or a chunk of a simple-CSV or
/// envelope file cut at a record boundary.
#[derive(Clone, Copy, Debug)]
pub struct Document<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// The feed the document belongs to.
    pub feed: &'a FeedInfo,
    /// Kafka offset of the message (0 for files).
    pub offset: u64,
    /// 1-based line number of the document's first byte within its feed.
    pub first_line: u32,
    /// The header line for chunks of a simple-CSV file that do not start at the file's start.
    pub header: Option<&'a [u8]>,
    /// File or zip-member name, used for format detection as a last resort.
    pub name: Option<&'a str>,
    /// Explicit format hint (`?format=`, topic config, Kafka header).
    pub format: Option<Format>,
    /// Wall-clock ingestion time of the document, epoch ms.
    pub ingested_at_ms: EpochMs,
}

impl<'a> Document<'a> {
    /// A whole document with no hint, starting at line 1 of its feed.
    pub fn whole(bytes: &'a [u8], feed: &'a FeedInfo) -> Document<'a> {
        Document {
            bytes,
            feed,
            offset: 0,
            first_line: 1,
            header: None,
            name: None,
            format: None,
            ingested_at_ms: 0,
        }
    }

    /// The source position of a record at 1-based document line `line`.
    pub fn pos(&self, line: u32, elem: u32) -> SourcePos {
        SourcePos {
            feed: self.feed.id,
            offset: self.offset,
            line: self.first_line.saturating_add(line.saturating_sub(1)),
            elem,
        }
    }
}

/// Per-market price bounds outside which a tick is flagged `out_of_range` (SPEC §3).
#[derive(Clone, Debug)]
pub struct PriceBounds {
    /// Default lower bound, $/MWh.
    pub min_price: f64,
    /// Default upper bound, $/MWh.
    pub max_price: f64,
    /// Per-market overrides (min, max).
    pub per_market: Vec<(Market, f64, f64)>,
}

impl Default for PriceBounds {
    fn default() -> Self {
        PriceBounds {
            min_price: -1000.0,
            max_price: 10_000.0,
            per_market: Vec::new(),
        }
    }
}

impl PriceBounds {
    fn bounds(&self, market: Market) -> (f64, f64) {
        self.per_market
            .iter()
            .find(|(m, _, _)| *m == market)
            .map(|(_, lo, hi)| (*lo, *hi))
            .unwrap_or((self.min_price, self.max_price))
    }
}

/// Parser state that lives across documents of one worker: interned strings and settings.
#[derive(Debug)]
pub struct ParseCtx {
    /// Interned strings.
    pub interner: Interner,
    /// Tenant for records that name none.
    pub default_tenant: Sym,
    /// Bounds for `out_of_range`.
    pub bounds: PriceBounds,
    scratch: String,
    /// The simple-CSV record builder with its instrument cache, kept between documents (a
    /// batch comes in many small pieces, each of which would otherwise resolve every
    /// instrument again).
    simple_csv: Option<simple_csv::Builder>,
}

impl Default for ParseCtx {
    fn default() -> Self {
        ParseCtx::new("default", PriceBounds::default())
    }
}

impl ParseCtx {
    /// A context with the given default tenant and bounds.
    pub fn new(default_tenant: &str, bounds: PriceBounds) -> ParseCtx {
        let mut interner = Interner::default();
        let default_tenant = interner.intern(default_tenant);
        ParseCtx {
            interner,
            default_tenant,
            bounds,
            scratch: String::new(),
            simple_csv: None,
        }
    }

    /// Interns `{MARKET}.{RUN}.{NODE}`.
    pub fn instrument_id(&mut self, market: &str, run: &str, node: &str) -> Sym {
        self.interner
            .intern_parts(&[market, ".", run, ".", node], &mut self.scratch)
    }

    /// Finishes a draft into a tick: builds the instrument id, sets quality flags.
    pub fn tick(&mut self, doc: &Document<'_>, d: Draft<'_>) -> Tick {
        let instrument_id = self.instrument_id(d.market.code(), d.run, d.node);
        let node = self.interner.intern(d.node);
        let run = self.interner.intern(d.run);
        let source_system = self.interner.intern(d.source_system);
        let mut tick = Tick {
            tenant_id: self.default_tenant.clone(),
            instrument_id,
            market: d.market,
            node,
            market_run: run,
            interval_start_ms: d.start_ms,
            interval_end_ms: d.end_ms,
            price: d.price,
            volume: None,
            extras: Extras::components(d.components),
            trade_id: None,
            revision: d.revision,
            version: 1,
            flags: QualityFlags::default(),
            source_system,
            source: doc.pos(d.line, d.elem),
            ingested_at_ms: doc.ingested_at_ms,
            enrichment: None,
            horizon: Default::default(),
            slot: Default::default(),
        };
        self.flag(&mut tick);
        tick
    }

    /// Sets the value-derived quality flags of a tick (valid, price_negative, out_of_range,
    /// components_mismatch).
    pub fn flag(&self, tick: &mut Tick) {
        let (lo, hi) = self.bounds.bounds(tick.market);
        if tick.price < 0.0 {
            tick.flags.insert(QualityFlag::PriceNegative);
        }
        if tick.price < lo || tick.price > hi {
            tick.flags.insert(QualityFlag::OutOfRange);
        }
        if let Some(sum) = tick.components().sum() {
            if (tick.price - sum).abs() > 0.01 + 1e-9 {
                tick.flags.insert(QualityFlag::ComponentsMismatch);
            }
        }
        tick.flags.refresh_valid();
    }

    /// A normalization dead letter for a record of `doc` at document line `line`.
    #[allow(clippy::too_many_arguments)]
    pub fn dead(
        &self,
        doc: &Document<'_>,
        line: u32,
        elem: u32,
        index: u32,
        code: ErrorCode,
        issues: Vec<String>,
        raw: &[u8],
    ) -> DeadLetter {
        DeadLetter::new(
            Stage::Normalization,
            code,
            issues,
            doc.feed.render(&doc.pos(line, elem)),
            index,
            raw,
            self.default_tenant.clone(),
            doc.ingested_at_ms,
        )
    }
}

/// The values a format parser extracts from one observation; [`ParseCtx::tick`] finishes it.
#[derive(Clone, Copy, Debug)]
pub struct Draft<'a> {
    /// Market.
    pub market: Market,
    /// Run code (`DA`, `RT`, …).
    pub run: &'a str,
    /// Node name.
    pub node: &'a str,
    /// Interval start, epoch ms UTC.
    pub start_ms: EpochMs,
    /// Interval end, epoch ms UTC.
    pub end_ms: EpochMs,
    /// Total price.
    pub price: f64,
    /// Components.
    pub components: Components,
    /// Publisher revision.
    pub revision: u64,
    /// 1-based line of the record within the document.
    pub line: u32,
    /// 1-based JSON array element (0 = none).
    pub elem: u32,
    /// Source system name (the format name for native files).
    pub source_system: &'a str,
}

/// What parsing a document produced.
#[derive(Debug, Default)]
pub struct ParseOutput {
    /// Accepted ticks.
    pub ticks: Vec<Tick>,
    /// Rejected records.
    pub dead: Vec<DeadLetter>,
    /// Data rows read (header, preamble and trailer lines are not rows).
    pub rows: u64,
}

impl ParseOutput {
    /// Clears the buffers, keeping their capacity.
    pub fn clear(&mut self) {
        self.ticks.clear();
        self.dead.clear();
        self.rows = 0;
    }
}

/// Parses one document of any supported format, appending to `out`.
///
/// The format is `doc.format` when given, else detected from content and name; an undetectable
/// document becomes one `PARSE_ERROR` dead letter holding its bytes.
pub fn parse_document(doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    let format = match doc.format {
        Some(f) => f,
        None => match detect(doc.bytes, doc.name) {
            Ok(f) => f,
            Err(why) => {
                if doc.bytes.iter().all(u8::is_ascii_whitespace) {
                    // An empty document has no rows to account for.
                    return;
                }
                out.rows += 1;
                out.dead
                    .push(ctx.dead(doc, 1, 0, 0, ErrorCode::ParseError, vec![why], doc.bytes));
                return;
            }
        },
    };
    parse_as(format, doc, ctx, out);
}

/// Parses `doc` as `format`.
pub fn parse_as(format: Format, doc: &Document<'_>, ctx: &mut ParseCtx, out: &mut ParseOutput) {
    if zipdoc::is_zip(doc.bytes) {
        zipdoc::parse_zip(format, doc, ctx, out);
        return;
    }
    match format {
        Format::PjmDa | Format::PjmRt | Format::PjmRt5 => pjm::parse(format, doc, ctx, out),
        Format::NyisoDa | Format::NyisoRt | Format::NyisoOasis => {
            nyiso::parse(format, doc, ctx, out)
        }
        Format::IsoneDa | Format::IsoneRt => isone::parse(format, doc, ctx, out),
        Format::MisoDa | Format::MisoRt => miso::parse(format, doc, ctx, out),
        Format::CaisoOasis => caiso::parse(doc, ctx, out),
        Format::ErcotRt | Format::ErcotDam => ercot::parse_csv(format, doc, ctx, out),
        Format::ErcotApi => ercot::parse_api(doc, ctx, out),
        Format::SppRtbm | Format::SppDa => spp::parse(format, doc, ctx, out),
        Format::Envelope => envelope::parse(doc, ctx, out),
        Format::SimpleCsv => simple_csv::parse(doc, ctx, out),
    }
}

/// Parses one stand-alone record given as named fields (an envelope's `raw_payload`), for the
/// formats whose rows stand alone. Returns the issues when the record is rejected.
pub fn parse_row(
    format: Format,
    row: &Row<'_>,
    doc: &Document<'_>,
    ctx: &mut ParseCtx,
    out: &mut ParseOutput,
) -> Result<(), (ErrorCode, Vec<String>)> {
    match format {
        Format::PjmDa | Format::PjmRt | Format::PjmRt5 => pjm::parse_row(format, row, doc, ctx, out),
        Format::IsoneDa | Format::IsoneRt => isone::parse_row(format, row, doc, ctx, out),
        Format::ErcotRt | Format::ErcotDam | Format::ErcotApi => {
            ercot::parse_row(format, row, doc, ctx, out)
        }
        Format::SppRtbm | Format::SppDa => spp::parse_row(format, row, doc, ctx, out),
        Format::SimpleCsv => simple_csv::parse_row(row, doc, ctx, out),
        other => Err((
            ErrorCode::ContractViolation,
            vec![format!(
                "format {} does not carry stand-alone rows; send whole documents on its market topic",
                other.name()
            )],
        )),
    }
}
