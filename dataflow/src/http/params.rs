//! Query parameters of the API routes (SPEC §7), parsed and checked before any state is read.
//! Pure: a raw query string in, a typed request or a [`BadParam`] (HTTP 400 with its message)
//! out. Unknown and repeated parameters are errors, so a typo never silently widens a query.

use operators::model::render::parse_rfc3339_ms;
use operators::model::{BarInterval, EpochMs};
use std::collections::BTreeMap;

/// A bad parameter: the message of a 400 answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadParam(pub String);

fn bad(msg: impl Into<String>) -> BadParam {
    BadParam(msg.into())
}

/// The tenant when none is given.
pub const DEFAULT_TENANT: &str = "default";

/// Decoded parameters, each at most once, only from `allowed`.
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Decodes `query` (`application/x-www-form-urlencoded`) and checks the names.
    pub fn parse(query: Option<&str>, allowed: &[&str]) -> Result<Params, BadParam> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or(""))
            .map_err(|e| bad(format!("malformed query string: {e}")))?;
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if !allowed.contains(&k.as_str()) {
                return Err(bad(format!(
                    "unknown parameter {k:?} (allowed: {})",
                    allowed.join(", ")
                )));
            }
            if map.insert(k.clone(), v).is_some() {
                return Err(bad(format!("parameter {k:?} given more than once")));
            }
        }
        Ok(Params(map))
    }

    /// A parameter's value; empty counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(|s| s.as_str())
            .filter(|s| !s.is_empty())
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, BadParam> {
        self.get(name)
            .ok_or_else(|| bad(format!("missing required parameter {name:?}")))
    }

    /// `tenant_id`, or [`DEFAULT_TENANT`].
    pub fn tenant(&self) -> &str {
        self.get("tenant_id").unwrap_or(DEFAULT_TENANT)
    }

    /// An RFC 3339 time parameter.
    pub fn time(&self, name: &str) -> Result<Option<EpochMs>, BadParam> {
        match self.get(name) {
            None => Ok(None),
            Some(s) => parse_rfc3339_ms(s).map(Some).ok_or_else(|| {
                bad(format!(
                    "parameter {name:?}: {s:?} is not an RFC 3339 time (e.g. 2024-11-03T05:00:00Z)"
                ))
            }),
        }
    }
}

/// `GET /v1/latest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LatestQuery {
    /// Tenant.
    pub tenant: String,
    /// One instrument, or every instrument with a prefix.
    pub select: Select,
    /// `at`: the price in effect at this event time.
    pub at_ms: Option<EpochMs>,
}

/// Which instruments a query names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Select {
    /// `instrument_id=`: one instrument (404 when absent).
    One(String),
    /// `prefix=`: a list (`[]` when none).
    Prefix(String),
}

impl LatestQuery {
    /// Parses `/v1/latest` parameters: exactly one of `instrument_id` and `prefix`.
    pub fn parse(query: Option<&str>) -> Result<LatestQuery, BadParam> {
        let p = Params::parse(query, &["instrument_id", "prefix", "at", "tenant_id"])?;
        let select = match (p.0.get("instrument_id"), p.0.get("prefix")) {
            (Some(_), Some(_)) => return Err(bad("give either instrument_id or prefix, not both")),
            (Some(_), None) => Select::One(p.required("instrument_id")?.to_string()),
            (None, Some(prefix)) => Select::Prefix(prefix.clone()),
            (None, None) => return Err(bad("missing parameter: instrument_id or prefix")),
        };
        Ok(LatestQuery {
            tenant: p.tenant().to_string(),
            select,
            at_ms: p.time("at")?,
        })
    }
}

/// `GET /v1/bars`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarsQuery {
    /// Tenant.
    pub tenant: String,
    /// Instrument.
    pub instrument: String,
    /// One interval, or all.
    pub interval: Option<BarInterval>,
    /// Window starts from (inclusive).
    pub from_ms: EpochMs,
    /// Window starts to (exclusive).
    pub to_ms: EpochMs,
}

impl BarsQuery {
    /// Parses `/v1/bars` parameters; `from < to` when both are given.
    pub fn parse(query: Option<&str>) -> Result<BarsQuery, BadParam> {
        let p = Params::parse(
            query,
            &["instrument_id", "interval", "from", "to", "tenant_id"],
        )?;
        let interval = match p.get("interval") {
            None => None,
            Some(s) => Some(BarInterval::from_name(s).ok_or_else(|| {
                bad(format!(
                    "parameter \"interval\": unknown interval {s:?} (one of 1m, 5m, 15m, 1h, 1d)"
                ))
            })?),
        };
        let from_ms = p.time("from")?.unwrap_or(EpochMs::MIN);
        let to_ms = p.time("to")?.unwrap_or(EpochMs::MAX);
        if from_ms >= to_ms {
            return Err(bad(
                "\"from\" must be before \"to\" (the range is [from, to))",
            ));
        }
        Ok(BarsQuery {
            tenant: p.tenant().to_string(),
            instrument: p.required("instrument_id")?.to_string(),
            interval,
            from_ms,
            to_ms,
        })
    }
}

/// `GET /projections/curve_snapshot` and `/v1/curves/{curve_id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurveQuery {
    /// Tenant.
    pub tenant: String,
    /// Curve id.
    pub curve_id: String,
    /// Keep tenors whose label starts with this, case-insensitive.
    pub horizon: Option<String>,
}

impl CurveQuery {
    /// `/v1/curves/{curve_id}`: only `tenant_id`.
    pub fn parse_v1(curve_id: &str, query: Option<&str>) -> Result<CurveQuery, BadParam> {
        let p = Params::parse(query, &["tenant_id"])?;
        Ok(CurveQuery {
            tenant: p.tenant().to_string(),
            curve_id: curve_id.to_string(),
            horizon: None,
        })
    }

    /// `/projections/curve_snapshot`: `instrument_id` names the curve.
    pub fn parse_projection(query: Option<&str>) -> Result<CurveQuery, BadParam> {
        let p = Params::parse(query, &["instrument_id", "tenant_id", "horizon"])?;
        Ok(CurveQuery {
            tenant: p.tenant().to_string(),
            curve_id: p.required("instrument_id")?.to_string(),
            horizon: p.get("horizon").map(str::to_string),
        })
    }
}

/// True when `tenor` starts with `horizon`, ignoring ASCII case.
pub fn horizon_keeps(horizon: &str, tenor: &str) -> bool {
    tenor
        .get(..horizon.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(horizon))
}

/// `GET /projections/latest_price`.
pub fn parse_projection_latest(query: Option<&str>) -> Result<(String, String), BadParam> {
    let p = Params::parse(query, &["instrument_id", "tenant_id"])?;
    Ok((
        p.tenant().to_string(),
        p.required("instrument_id")?.to_string(),
    ))
}

/// Which view a subscription follows, and its filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeQuery {
    /// Tenant.
    pub tenant: String,
    /// The view and its filter.
    pub view: SubscribeView,
}

/// A subscription's view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscribeView {
    /// Latest prices of one instrument or a prefix (none = all).
    Latest(Option<Select>),
    /// Bars of one instrument or a prefix (none = all), of one interval or all.
    Bars(Option<Select>, Option<BarInterval>),
    /// Points of one curve, or all.
    Curves(Option<String>),
}

impl SubscribeQuery {
    /// Parses `/v1/subscribe` parameters.
    pub fn parse(query: Option<&str>) -> Result<SubscribeQuery, BadParam> {
        let p = Params::parse(
            query,
            &[
                "view",
                "tenant_id",
                "instrument_id",
                "prefix",
                "interval",
                "curve_id",
            ],
        )?;
        let select = match (p.get("instrument_id"), p.0.get("prefix")) {
            (Some(_), Some(_)) => return Err(bad("give either instrument_id or prefix, not both")),
            (Some(i), None) => Some(Select::One(i.to_string())),
            (None, Some(x)) => Some(Select::Prefix(x.clone())),
            (None, None) => None,
        };
        let view = match p.required("view")? {
            "latest" | "bars" | "curves" => p.required("view")?,
            v => {
                return Err(bad(format!(
                    "parameter \"view\": {v:?} is not one of latest, bars, curves"
                )))
            }
        };
        let only = |names: &[&str], view: &str| -> Result<(), BadParam> {
            for n in names {
                if p.get(n).is_some() {
                    return Err(bad(format!(
                        "parameter {n:?} does not apply to view={view}"
                    )));
                }
            }
            Ok(())
        };
        let view = match view {
            "latest" => {
                only(&["interval", "curve_id"], view)?;
                SubscribeView::Latest(select)
            }
            "bars" => {
                only(&["curve_id"], view)?;
                let interval = match p.get("interval") {
                    None => None,
                    Some(s) => Some(
                        BarInterval::from_name(s)
                            .ok_or_else(|| bad(format!("unknown interval {s:?}")))?,
                    ),
                };
                SubscribeView::Bars(select, interval)
            }
            _ => {
                only(&["interval", "instrument_id", "prefix"], view)?;
                SubscribeView::Curves(p.get("curve_id").map(str::to_string))
            }
        };
        Ok(SubscribeQuery {
            tenant: p.tenant().to_string(),
            view,
        })
    }
}

/// True when `instrument` is selected by `select` (none selects all).
pub fn selects(select: &Option<Select>, instrument: &str) -> bool {
    match select {
        None => true,
        Some(Select::One(i)) => i == instrument,
        Some(Select::Prefix(p)) => instrument.starts_with(p.as_str()),
    }
}

#[cfg(test)]
#[path = "tests/params.rs"]
mod tests;
