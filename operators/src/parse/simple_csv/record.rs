//! One simple-CSV record (already split into fields) → one [`Tick`] or the reasons it is rejected.
//!
//! The instrument columns of a record are resolved through a cache keyed by their raw bytes
//! (kept between documents, bounded), so a repeated instrument costs one hash lookup and reference-count bumps, never an
//! allocation. Everything else is parsed straight from bytes.

use super::num;
use crate::model::{EpochMs, ErrorCode, Market, QualityFlags, Sym, Tick};
use crate::parse::{Document, ParseCtx};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// The `source_system` of simple-CSV ticks.
pub(crate) const SOURCE_SYSTEM: &str = "simple-csv";

/// Instruments a [`Builder`] remembers before it starts over.
const CACHE_MAX: usize = 1 << 16;

/// Earliest accepted time, 0001-01-01T00:00:00Z.
const MIN_MS: EpochMs = -62_135_596_800_000;
/// Latest accepted time, 9999-12-31T23:59:59.999Z.
const MAX_MS: EpochMs = 253_402_300_799_999;

/// The trimmed bytes of every named field of one record (`None` when the column is absent).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Fields<'b> {
    pub ts_ms: Option<&'b [u8]>,
    pub ts: Option<&'b [u8]>,
    pub price: Option<&'b [u8]>,
    pub instrument_id: Option<&'b [u8]>,
    pub node: Option<&'b [u8]>,
    pub market: Option<&'b [u8]>,
    pub run: Option<&'b [u8]>,
    pub volume: Option<&'b [u8]>,
    pub tenant_id: Option<&'b [u8]>,
    pub revision: Option<&'b [u8]>,
    pub trade_id: Option<&'b [u8]>,
}

/// Why a record was rejected.
#[derive(Debug)]
pub(crate) struct Reject {
    pub code: ErrorCode,
    pub issues: Vec<String>,
    /// The record's own tenant, when it named a readable one.
    pub tenant: Option<Sym>,
}

#[derive(Clone, Debug)]
struct Ident {
    instrument: Sym,
    node: Sym,
    run: Sym,
    market: Market,
}

/// Builds ticks from records; holds the caches (kept between documents, see [`Builder::bound`]).
#[derive(Debug)]
pub(crate) struct Builder {
    /// Records naming one identity field (instrument_id or node alone), keyed by its bytes.
    single: FxHashMap<Box<[u8]>, Ident>,
    /// Other records, keyed by every identity field length-prefixed (no split can collide).
    multi: FxHashMap<Box<[u8]>, Ident>,
    key: Vec<u8>,
    last_tenant: Option<(Box<[u8]>, Sym)>,
    source_system: Sym,
    empty: Sym,
    /// The last given header line and its columns: a feed's chunks all repeat one header, and
    /// resolving it builds a CSV reader.
    header: Option<(Box<[u8]>, super::SimpleCsvHeader)>,
}

fn non_empty(f: Option<&[u8]>) -> Option<&[u8]> {
    f.filter(|b| !b.is_empty())
}

fn show(b: &[u8]) -> String {
    let cut = &b[..b.len().min(80)];
    format!("{:?}", String::from_utf8_lossy(cut))
}

fn utf8<'b>(b: &'b [u8], what: &str, parse: &mut Vec<String>) -> Option<&'b str> {
    match std::str::from_utf8(b) {
        Ok(s) => Some(s),
        Err(_) => {
            parse.push(format!("field {what} is not valid UTF-8"));
            None
        }
    }
}

impl Builder {
    pub(crate) fn new(ctx: &mut ParseCtx) -> Builder {
        Builder {
            single: FxHashMap::default(),
            multi: FxHashMap::default(),
            key: Vec::new(),
            last_tenant: None,
            source_system: ctx.interner.intern(SOURCE_SYSTEM),
            empty: ctx.interner.intern(""),
            header: None,
        }
    }

    /// The columns of a given header line (cached for the last line seen).
    pub(crate) fn header_of(&mut self, line: &[u8]) -> super::SimpleCsvHeader {
        match &self.header {
            Some((bytes, h)) if **bytes == *line => h.clone(),
            _ => {
                let h = super::SimpleCsvHeader::from_line(line);
                self.header = Some((line.into(), h.clone()));
                h
            }
        }
    }

    /// Forgets the cached instruments when there are more than [`CACHE_MAX`] (a builder is
    /// kept between documents: a feed of ever new instruments must not grow it without end).
    pub(crate) fn bound(&mut self) {
        if self.single.len() + self.multi.len() > CACHE_MAX {
            self.single.clear();
            self.multi.clear();
        }
    }

    /// Parses one record at 1-based document line `line`.
    pub(crate) fn tick(
        &mut self,
        f: &Fields<'_>,
        doc: &Document<'_>,
        line: u32,
        ctx: &mut ParseCtx,
    ) -> Result<Tick, Reject> {
        // Issues of the PARSE_ERROR class (unreadable bytes) and of the VALIDATION_ERROR class.
        let mut parse = Vec::new();
        let mut valid = Vec::new();

        let tenant = match non_empty(f.tenant_id) {
            None => Some(ctx.default_tenant.clone()),
            Some(b) => self.tenant(b, ctx, &mut parse),
        };
        let start = time(f, &mut parse, &mut valid);
        let price = match non_empty(f.price) {
            None => {
                valid.push("missing price".to_string());
                None
            }
            Some(b) => num::parse_f64(b).or_else(|| {
                valid.push(format!("price: not a finite number: {}", show(b)));
                None
            }),
        };
        let volume = match non_empty(f.volume) {
            None => None,
            Some(b) => num::parse_f64(b).or_else(|| {
                valid.push(format!("volume: not a finite number: {}", show(b)));
                None
            }),
        };
        let revision = match non_empty(f.revision) {
            None => 0,
            Some(b) => num::parse_u64(b).unwrap_or_else(|| {
                valid.push(format!("revision: not a non-negative integer: {}", show(b)));
                0
            }),
        };
        let trade_id: Option<Sym> = non_empty(f.trade_id)
            .and_then(|b| utf8(b, "trade_id", &mut parse))
            .map(Arc::from);
        let ident = self.ident(f, ctx, &mut parse, &mut valid);

        let (tenant_id, start, price, ident) = match (tenant, start, price, ident) {
            (Some(t), Some(s), Some(p), Some(i)) if parse.is_empty() && valid.is_empty() => {
                (t, s, p, i)
            }
            (tenant, ..) => return Err(reject(parse, valid, tenant)),
        };
        let mut tick = Tick {
            tenant_id,
            instrument_id: ident.instrument,
            market: ident.market,
            node: ident.node,
            market_run: ident.run,
            interval_start_ms: start,
            interval_end_ms: start,
            price,
            volume,
            extras: Default::default(),
            trade_id,
            revision,
            version: 1,
            flags: QualityFlags::default(),
            source_system: self.source_system.clone(),
            source: doc.pos(line, 0),
            ingested_at_ms: doc.ingested_at_ms,
            enrichment: None,
            horizon: Default::default(),
            slot: Default::default(),
        };
        ctx.flag(&mut tick);
        Ok(tick)
    }

    fn tenant(&mut self, b: &[u8], ctx: &mut ParseCtx, parse: &mut Vec<String>) -> Option<Sym> {
        if let Some((bytes, sym)) = &self.last_tenant {
            if **bytes == *b {
                return Some(sym.clone());
            }
        }
        let s = utf8(b, "tenant_id", parse)?;
        let sym = ctx.interner.intern(s);
        self.last_tenant = Some((b.into(), sym.clone()));
        Some(sym)
    }

    /// Resolves the instrument columns (one cache lookup when seen before).
    fn ident(
        &mut self,
        f: &Fields<'_>,
        ctx: &mut ParseCtx,
        parse: &mut Vec<String>,
        valid: &mut Vec<String>,
    ) -> Option<Ident> {
        let instrument_id = non_empty(f.instrument_id);
        let node = non_empty(f.node);
        let market = non_empty(f.market);
        let run = non_empty(f.run);
        if instrument_id.is_none() && node.is_none() {
            valid.push("missing instrument (instrument_id or node)".to_string());
            return None;
        }
        // The key: the one identity field when only one is present (the common case, no copy),
        // else every field length-prefixed so that different splits cannot collide.
        let parts = [instrument_id, node, market, run];
        let single =
            market.is_none() && run.is_none() && (instrument_id.is_none() || node.is_none());
        let key: &[u8] = if single {
            instrument_id.or(node).unwrap_or_default()
        } else {
            self.key.clear();
            for p in parts {
                let p = p.unwrap_or_default();
                self.key.extend_from_slice(&(p.len() as u32).to_le_bytes());
                self.key.extend_from_slice(p);
            }
            &self.key
        };
        let map = if single {
            &mut self.single
        } else {
            &mut self.multi
        };
        if let Some(id) = map.get(key) {
            return Some(id.clone());
        }
        let instrument_id = match instrument_id {
            Some(b) => Some(utf8(b, "instrument_id", parse)?),
            None => None,
        };
        let node = match node {
            Some(b) => Some(utf8(b, "node", parse)?),
            None => None,
        };
        let market = match market {
            Some(b) => Some(utf8(b, "market", parse)?),
            None => None,
        };
        let run = match run {
            Some(b) => Some(utf8(b, "run", parse)?),
            None => None,
        };
        let run_text = run.or(market.map(|_| "RT")).unwrap_or("");
        let node_text = node.or(instrument_id).unwrap_or("");
        let instrument = match (instrument_id, market) {
            (Some(id), _) => ctx.interner.intern(id),
            (None, Some(m)) => ctx.instrument_id(m, run_text, node_text),
            (None, None) => ctx.interner.intern(node_text),
        };
        let ident = Ident {
            node: if Some(node_text) == instrument_id
                || (instrument_id.is_none() && market.is_none())
            {
                instrument.clone()
            } else {
                ctx.interner.intern(node_text)
            },
            run: if run_text.is_empty() {
                self.empty.clone()
            } else {
                ctx.interner.intern(run_text)
            },
            market: market.and_then(Market::from_code).unwrap_or(Market::Other),
            instrument,
        };
        map.insert(key.into(), ident.clone());
        Some(ident)
    }
}

fn time(f: &Fields<'_>, parse: &mut Vec<String>, valid: &mut Vec<String>) -> Option<EpochMs> {
    let ms = if let Some(b) = non_empty(f.ts_ms) {
        match num::parse_i64(b) {
            Some(ms) => ms,
            None => {
                valid.push(format!("ts_ms: not an integer: {}", show(b)));
                return None;
            }
        }
    } else if let Some(b) = non_empty(f.ts) {
        let s = utf8(b, "ts", parse)?;
        match crate::model::render::parse_rfc3339_ms(s) {
            Some(ms) => ms,
            None => {
                valid.push(format!("ts: not an RFC 3339 time: {}", show(b)));
                return None;
            }
        }
    } else {
        valid.push("missing time (ts_ms or ts)".to_string());
        return None;
    };
    if !(MIN_MS..=MAX_MS).contains(&ms) {
        valid.push(format!("time {ms} ms is outside years 1..=9999"));
        return None;
    }
    Some(ms)
}

fn reject(mut parse: Vec<String>, valid: Vec<String>, tenant: Option<Sym>) -> Reject {
    let code = if parse.is_empty() {
        ErrorCode::ValidationError
    } else {
        ErrorCode::ParseError
    };
    parse.extend(valid);
    if parse.is_empty() {
        parse.push("incomplete record".to_string());
    }
    Reject {
        code,
        issues: parse,
        tenant,
    }
}
