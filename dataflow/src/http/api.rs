//! The query routes of SPEC §7, answered from the process's [`Served`] state: `/v1/latest`,
//! `/v1/bars`, `/v1/curves/{curve_id}`, `/v1/subscribe` (see `http::sse`) and the predecessor's
//! `/projections/latest_price` and `/projections/curve_snapshot`.
//!
//! Every answer is computed under one read of the state, so it reflects one complete point of
//! the stream. Records render exactly as the `dir:` sink and the Redis projection render them
//! (`connectors::redis::keys`), so the API agrees with those outputs. Errors are JSON
//! `{"error": "…"}`: 400 for bad parameters, 401/403 from `http::auth`, 404 for an absent
//! instrument or curve, 400 when an answer would exceed [`MAX_ITEMS`] (work per request is
//! bounded). Nothing a request does can block the dataflow for longer than one bounded read.

use super::auth::{AuthError, Grant, LiveKeys};
use super::params::{self, BadParam, BarsQuery, CurveQuery, LatestQuery, Select};
use super::Served;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use connectors::redis::keys;
use operators::model::{CurvePoint, LatestPrice};
use std::sync::Arc;

/// Most records one answer carries; a larger answer is a 400 asking to narrow the query.
pub const MAX_ITEMS: usize = 50_000;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiContext {
    /// The process's served state.
    pub served: Arc<Served>,
    /// The API keys, configured and live from the `api_keys` table (none = open).
    pub keys: Arc<LiveKeys>,
}

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400.
    #[error("{0}")]
    Bad(#[from] BadParam),
    /// 401 / 403.
    #[error("{0}")]
    Auth(#[from] AuthError),
    /// 404.
    #[error("{0}")]
    NotFound(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Bad(_) => StatusCode::BAD_REQUEST,
            ApiError::Auth(AuthError::Unauthorized) => StatusCode::UNAUTHORIZED,
            ApiError::Auth(AuthError::Forbidden | AuthError::MissingScope) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        };
        let mut body = String::from("{\"error\":");
        operators::model::render::push_json_str(&mut body, &self.to_string());
        body.push('}');
        let mut resp = (status, json_headers(), body).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

fn json_headers() -> [(header::HeaderName, &'static str); 1] {
    [(header::CONTENT_TYPE, "application/json")]
}

fn json(body: String) -> Response {
    (StatusCode::OK, json_headers(), body).into_response()
}

fn too_many(e: super::state::TooMany) -> ApiError {
    ApiError::Bad(BadParam(e.to_string()))
}

/// The scope of the query routes (the `api_keys` table's `scopes`).
pub const READ: &str = "read";

/// The request's grant for a route needing `scope` (401 when keys are configured and the
/// request has no valid one, 403 without the scope).
pub fn authenticate(ctx: &ApiContext, headers: &HeaderMap, scope: &str) -> Result<Grant, ApiError> {
    let h = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    Ok(ctx.keys.authenticate(h, scope)?)
}

/// The paths of the query routes, in the order [`api_routes`] registers them (the OpenAPI
/// document `docs/openapi.json` is checked against this list).
pub const ROUTE_PATHS: [&str; 6] = [
    "/v1/latest",
    "/v1/bars",
    "/v1/curves/{curve_id}",
    "/v1/subscribe",
    "/projections/latest_price",
    "/projections/curve_snapshot",
];

/// The query routes (all `GET`), to be merged with the base and health routes.
pub fn api_routes(ctx: ApiContext) -> Router {
    let handlers: [MethodRouter<ApiContext>; 6] = [
        get(latest),
        get(bars),
        get(curve),
        get(super::sse::subscribe),
        get(projection_latest),
        get(projection_curve),
    ];
    ROUTE_PATHS
        .into_iter()
        .zip(handlers)
        .fold(Router::new(), |r, (path, h)| r.route(path, h))
        .with_state(ctx)
}

fn json_array<T>(items: &[T], mut f: impl FnMut(&T) -> String) -> String {
    let mut s = String::from("[");
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&f(x));
    }
    s.push(']');
    s
}

async fn latest(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, READ)?;
    let q = LatestQuery::parse(q.as_deref())?;
    grant.allows(&q.tenant)?;
    let state = ctx.served.read();
    match &q.select {
        Select::One(instrument) => {
            let row = match q.at_ms {
                None => state.latest(&q.tenant, instrument).cloned(),
                Some(at) => state.latest_at(&q.tenant, instrument, at),
            };
            drop(state);
            let row = row.ok_or_else(|| {
                ApiError::NotFound(match q.at_ms {
                    None => format!("no latest price for instrument {instrument:?}"),
                    Some(_) => {
                        format!("no price of instrument {instrument:?} in effect at that time")
                    }
                })
            })?;
            Ok(json(keys::latest_json(&row)))
        }
        Select::Prefix(prefix) => {
            let rows = state
                .latest_prefix(&q.tenant, prefix, q.at_ms, MAX_ITEMS)
                .map_err(too_many)?;
            drop(state);
            Ok(json(json_array(&rows, keys::latest_json)))
        }
    }
}

async fn bars(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, READ)?;
    let q = BarsQuery::parse(q.as_deref())?;
    grant.allows(&q.tenant)?;
    let bars = ctx
        .served
        .read()
        .bars(
            &q.tenant,
            &q.instrument,
            q.interval,
            q.from_ms,
            q.to_ms,
            MAX_ITEMS,
        )
        .map_err(too_many)?;
    Ok(json(json_array(&bars, keys::bar_json)))
}

/// A curve snapshot as the Redis projection stores it: `{"tenant_id","curve_id","points":[…]}`.
pub fn snapshot_json(tenant: &str, curve_id: &str, points: &[CurvePoint]) -> String {
    let mut s = keys::snapshot_head(tenant, curve_id);
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        operators::model::push_curve_point_json(&mut s, p);
    }
    s.push_str("]}");
    s
}

fn curve_answer(ctx: &ApiContext, grant: &Grant, q: &CurveQuery) -> Result<Response, ApiError> {
    grant.allows(&q.tenant)?;
    let points = ctx.served.read().curve(&q.tenant, &q.curve_id);
    let mut points =
        points.ok_or_else(|| ApiError::NotFound(format!("no curve {:?}", q.curve_id)))?;
    if let Some(h) = &q.horizon {
        points.retain(|p| params::horizon_keeps(h, &p.tenor));
    }
    Ok(json(snapshot_json(&q.tenant, &q.curve_id, &points)))
}

async fn curve(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    Path(curve_id): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, READ)?;
    let q = CurveQuery::parse_v1(&curve_id, q.as_deref())?;
    curve_answer(&ctx, &grant, &q)
}

async fn projection_curve(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, READ)?;
    let q = CurveQuery::parse_projection(q.as_deref())?;
    curve_answer(&ctx, &grant, &q)
}

async fn projection_latest(
    State(ctx): State<ApiContext>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let grant = authenticate(&ctx, &headers, READ)?;
    let (tenant, instrument) = params::parse_projection_latest(q.as_deref())?;
    grant.allows(&tenant)?;
    let row: Option<LatestPrice> = ctx.served.read().latest(&tenant, &instrument).cloned();
    let row = row.ok_or_else(|| ApiError::NotFound("Projection not found".into()))?;
    Ok(json(keys::latest_json(&row)))
}
