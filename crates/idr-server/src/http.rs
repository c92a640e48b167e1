//! The axum application: GraphQL over HTTP, GraphiQL, health, and the thumbnail proxy.

use std::sync::Arc;
use std::time::Duration;

use async_graphql_axum::GraphQLResponse;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use idr_client::{Error as ClientError, IdrClient};
use idr_graphql::nesting::{self, MAX_NESTING};
use idr_graphql::IdrSchema;
use serde::Deserialize;
use serde_json::json;
use tower_http::limit::RequestBodyLimitLayer;

use crate::rate::{Limiter, RateLimit};

/// A route's query-string parameters, or a coded JSON 400 saying which is wrong (axum's
/// own `Query` answers plain text).
struct Params<T>(T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S>
    for Params<T>
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Params<T>, Response> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(query).map(Params).map_err(|e| {
            request_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the query string is not understood: {e}"),
            )
        })
    }
}

/// HTTP-level limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body accepted (query plus variables); larger gets 413.
    pub body_bytes: usize,
    /// Deadline for answering one GraphQL request. Execution itself is given this long
    /// (`SchemaLimits::deadline`): fields still waiting then give up and the response
    /// goes out partial. The HTTP layer cuts the request only [`BACKSTOP`] later.
    pub request_timeout: Duration,
    /// Requests per client address.
    pub rate: RateLimit,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            body_bytes: 256 * 1024,
            request_timeout: Duration::from_secs(60),
            rate: RateLimit::default(),
        }
    }
}

/// How long after its deadline a request is cut off outright, should execution not have
/// come back with its partial answer by then.
const BACKSTOP: Duration = Duration::from_secs(5);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub schema: IdrSchema,
    pub client: IdrClient,
    /// A one-line description of the upstream, for `/healthz`.
    pub upstream: Arc<str>,
    /// Answering from recordings: always ready, nothing to probe.
    pub offline: bool,
    pub limits: Limits,
    /// Known keys and values for checking IDR-QL.
    pub catalog: Arc<crate::ql::LiveCatalog>,
    /// Lets one `/readyz` probe of IDR run at a time.
    pub readiness: Arc<tokio::sync::Mutex<()>>,
    /// Identical GraphQL requests in flight, which run once.
    pub identical: Arc<crate::Identical>,
    /// Which web pages may call the API from another origin.
    pub cors: CorsOrigins,
    /// Serve `/metrics` on this router (`None`: not here, e.g. on `--metrics-listen`).
    pub metrics: Option<crate::Metrics>,
    /// What the replicas share (`--redis`), if they do.
    pub redis: Option<Arc<crate::shared::RedisTier>>,
}

/// The origins whose pages may call the API (CORS). The API is public, read-only and
/// takes no credentials, so by default any page may, as with GitHub's GraphQL API.
#[derive(Clone, Debug, Default)]
pub enum CorsOrigins {
    #[default]
    Any,
    /// Only these origins (`https://example.org`, scheme, host and port as a browser
    /// sends them in `Origin`).
    Only(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Parses `--cors-origins`: nothing (or `*`) for any origin, else each an origin as
    /// browsers write it, with no path.
    pub fn parse(origins: &[String]) -> Result<CorsOrigins, String> {
        if origins.is_empty() || origins.iter().any(|o| o == "*") {
            return Ok(CorsOrigins::Any);
        }
        let mut only = Vec::new();
        for origin in origins {
            let origin = origin.trim().trim_end_matches('/');
            let url = url::Url::parse(origin).map_err(|e| {
                format!("`{origin}` is not an origin such as https://example.org: {e}")
            })?;
            let host = url.host_str().unwrap_or_default();
            if !matches!(url.scheme(), "http" | "https") || host.is_empty() || url.path() != "/" {
                return Err(format!(
                    "`{origin}` is not an origin such as https://example.org (a scheme, a host and maybe a port; no path)"
                ));
            }
            let origin = url.origin().ascii_serialization();
            only.push(HeaderValue::from_str(&origin).map_err(|e| format!("`{origin}`: {e}"))?);
        }
        Ok(CorsOrigins::Only(only))
    }

    /// The layer that answers preflights and adds the CORS headers to every response (a
    /// 429 or a 413 too, so that a page can read why it was refused).
    fn layer(&self) -> tower_http::cors::CorsLayer {
        use axum::http::{HeaderName, Method};
        use tower_http::cors::{AllowOrigin, CorsLayer};
        let request_id = HeaderName::from_static("x-request-id");
        let layer = CorsLayer::new()
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::ACCEPT,
                request_id.clone(),
                // Apollo Client and urql send these; they carry nothing secret.
                HeaderName::from_static("apollo-require-preflight"),
                HeaderName::from_static("x-apollo-operation-name"),
            ])
            .expose_headers([request_id, header::RETRY_AFTER, header::ETAG])
            .max_age(Duration::from_secs(24 * 3600));
        match self {
            CorsOrigins::Any => layer.allow_origin(AllowOrigin::any()),
            CorsOrigins::Only(origins) => layer.allow_origin(AllowOrigin::list(origins.clone())),
        }
    }
}

/// How recently an upstream call must have succeeded for `/readyz` to say ready without
/// asking IDR itself.
const READY_WINDOW: Duration = Duration::from_secs(60);

/// The router. `main` only wires configuration into this.
pub fn app(state: AppState) -> Router {
    let body_limit = state.limits.body_bytes;
    let limiter = Limiter::new(state.limits.rate, state.redis.clone());
    let limited = Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/ql", axum::routing::post(ql_post))
        .layer(axum::middleware::from_fn_with_state(limiter.clone(), crate::rate::limit))
        .layer(axum::Extension(limiter.clone()));
    // Thumbnails are charged by what they cost IDR, in the handlers: a batch one token per
    // upstream call it needs, a cached thumbnail a tenth of one.
    let thumbnails = Router::new()
        .route("/thumbnails", get(thumbnails))
        .route("/thumbnails/{image_id}", get(thumbnail))
        .layer(axum::Extension(limiter));
    // Probes are exempt from the rate limit: a busy client's health check must not get
    // 429. They are cheap (/readyz asks IDR at most once at a time, and only when no
    // other call succeeded lately).
    let mut probes = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/version", get(version));
    if let Some(metrics) = state.metrics.clone() {
        probes = probes.merge(metrics_routes(metrics, state.client.clone()));
    }
    // CORS outermost: a preflight is answered before the rate limit sees it (it costs
    // nothing), and every refusal below carries the headers a page needs to read it.
    let cors = state.cors.layer();
    limited
        .merge(thumbnails)
        .merge(probes)
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(axum::middleware::from_fn(refuse_long_uris))
        .layer(axum::middleware::from_fn(access_log))
        .layer(axum::middleware::from_fn(request_id))
        .layer(cors)
        .layer(axum::middleware::from_fn(crate::metrics::record))
        .with_state(state)
}

/// A path the server does not serve: said, with where to go.
async fn not_found() -> Response {
    let text = "no such path: the GraphQL API is /graphql (GET or POST; in a browser, GraphiQL), IDR-QL is POST /ql, and /playground is its playground\n";
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text)
        .into_response()
}

/// A method a path does not take (`Allow` lists those it does).
async fn method_not_allowed(request: axum::extract::Request) -> Response {
    let text = format!(
        "{} is not a method of {}: see the Allow header for those it takes\n",
        request.method(),
        request.uri().path()
    );
    (StatusCode::METHOD_NOT_ALLOWED, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text)
        .into_response()
}

/// `GET /metrics`: the Prometheus exposition text. Never rate-limited.
fn metrics_routes<S: Clone + Send + Sync + 'static>(
    metrics: crate::Metrics,
    client: IdrClient,
) -> Router<S> {
    Router::new().route(
        "/metrics",
        get(move || {
            let (metrics, client) = (metrics.clone(), client.clone());
            async move {
                (
                    [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                    metrics.render(&client),
                )
            }
        }),
    )
}

/// The router of `--metrics-listen`: `/metrics` alone.
pub fn metrics_app(metrics: crate::Metrics, client: IdrClient) -> Router {
    metrics_routes(metrics, client)
}

/// Gives every request an id: the client's `X-Request-Id` when it is a short token, else
/// a fresh one. Everything logged for the request carries it (a `request` span), and the
/// response returns it in `X-Request-Id`, so a user's report can be found in the logs.
async fn request_id(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use tracing::Instrument as _;
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| format!("{:016x}", fastrand::u64(..)));
    // At ERROR level so that the span, and with it the id on every line logged inside it,
    // is kept whatever `RUST_LOG` filters out (a span is filtered by its own level).
    let span = tracing::error_span!("request", id = %id);
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// What a handler reports of its request for the access log: the upstream calls and
/// cache hits it cost, and the GraphQL operation's name. A response extension.
#[derive(Clone, Debug, Default)]
pub(crate) struct Accounted {
    pub(crate) upstream_calls: u64,
    pub(crate) cache_hits: u64,
    pub(crate) operation: Option<String>,
    /// It joined an identical request in flight and got its answer.
    pub(crate) joined: bool,
}

/// One line per request, at INFO under the target `access`, inside the request's span
/// (so with its id): method, route (the pattern matched, never the raw path, which can
/// hold a whole query), status, duration, and what the handler accounted.
async fn access_log(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let started = std::time::Instant::now();
    let method = crate::metrics::method_label(&request);
    let route = crate::metrics::route_label(&request);
    let response = next.run(request).await;
    let accounted = response.extensions().get::<Accounted>().cloned().unwrap_or_default();
    tracing::info!(
        target: "access",
        method = %method,
        route = %route,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        upstream_calls = accounted.upstream_calls,
        cache_hits = accounted.cache_hits,
        operation = %accounted.operation.as_deref().unwrap_or("-"),
        joined = accounted.joined,
        "request"
    );
    response
}

/// The longest request target accepted: room for a GET query near the 16 KiB document
/// cap; larger documents are POSTed.
const MAX_URI_BYTES: usize = 18 * 1024;

/// Refuses over-long request targets (huge GET queries) with 414 before any parsing.
async fn refuse_long_uris(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.uri().to_string().len() > MAX_URI_BYTES {
        return plain(
            StatusCode::URI_TOO_LONG,
            "the request URI is too long; POST the query instead",
        );
    }
    next.run(request).await
}

/// A GraphQL-over-HTTP error body for requests that never reached execution.
fn request_error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = json!({"data": null, "errors": [{"message": message.into(), "extensions": {"code": code}}]});
    (status, Json(body)).into_response()
}

/// Refuses JSON that nests deeper than a document may, before serde recurses into it.
fn too_deep(json: &[u8]) -> Option<Response> {
    let at = nesting::check_json(json, MAX_NESTING).err()?;
    Some(request_error(
        StatusCode::BAD_REQUEST,
        "QUERY_TOO_DEEP",
        format!(
            "the JSON nests more than {MAX_NESTING} levels deep (line {}, column {})",
            at.line, at.column
        ),
    ))
}

#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    /// JSON, as Apollo clients send it for persisted queries.
    extensions: Option<String>,
}

/// GraphiQL for a browser; a query when `?query=` is given (GraphQL over HTTP's GET form).
async fn graphql_get(
    State(state): State<AppState>,
    cost: Cost,
    headers: HeaderMap,
    Params(params): Params<GetParams>,
) -> Response {
    if params.query.is_none() && params.extensions.is_none() {
        return crate::web::graphiql();
    }
    let mut request = async_graphql::Request::new(params.query.unwrap_or_default());
    if let Some(extensions) = params.extensions {
        if let Some(refused) = too_deep(extensions.as_bytes()) {
            return refused;
        }
        match serde_json::from_str::<async_graphql::Extensions>(&extensions) {
            Ok(extensions) => request.extensions = extensions,
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    format!("`extensions` is not a JSON object: {e}"),
                )
            }
        }
    }
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        if let Some(refused) = too_deep(variables.as_bytes()) {
            return refused;
        }
        match serde_json::from_str(&variables) {
            Ok(v) => request = request.variables(async_graphql::Variables::from_json(v)),
            Err(e) => {
                return request_error(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    format!("`variables` is not JSON: {e}"),
                )
            }
        }
    }
    // GET must not change anything. The schema has no mutations or subscriptions, so
    // every operation that validates is a query.
    let (answer, ran) = match answer(&state, &cost, request).await {
        Ok(answered) => answered,
        Err(mut refused) => {
            // A refusal (an unknown persisted query among them) must not be kept.
            refused
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return refused;
        }
    };
    let mut response = cacheable(&state, &answer, &headers);
    response.extensions_mut().insert(answer.accounted(ran.operation, ran.ran));
    response
}

/// Who answered a GraphQL request: its operation's name, and whether it ran the
/// execution or joined an identical one.
struct Ran {
    operation: Option<String>,
    ran: bool,
}

/// A GET answer with the headers HTTP caches go by: a whole answer may be kept as long
/// as the upstream answers it was made of (the client's cache TTL; revalidated each time
/// when the cache is off), one with errors not at all. Its `ETag` is a hash of the bytes,
/// and a client that sends it back in `If-None-Match` gets 304 without the body.
fn cacheable(state: &AppState, answer: &crate::identical::Answer, request: &HeaderMap) -> Response {
    use std::hash::{Hash as _, Hasher as _};
    let mut response = answer.response();
    let cache = if !answer.is_ok() {
        "no-store".to_owned()
    } else if state.client.caches() {
        format!("public, max-age={}", state.client.cache_ttl().as_secs())
    } else {
        "no-cache".to_owned()
    };
    // The answer without its `extensions` (the cost of this one request: cold and warm
    // answers differ there and nowhere else), so the tag is weak: equal data, not bytes.
    let mut hasher = std::hash::DefaultHasher::new();
    answer.data_bytes().hash(&mut hasher);
    let etag = format!("W/\"{:016x}\"", hasher.finish());
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static("no-store")),
    );
    if !answer.is_ok() {
        return response;
    }
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| weak_eq(t, &etag)));
    if matches {
        let mut not_modified = StatusCode::NOT_MODIFIED.into_response();
        for name in [header::CACHE_CONTROL, header::ETAG] {
            if let Some(value) = response.headers().get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return not_modified;
    }
    response
}

/// POST with `Content-Type: application/json` only: browsers cannot send that cross-site
/// without a preflight, so a "simple" `text/plain` form post (CSRF) is refused.
async fn graphql_post(
    State(state): State<AppState>,
    cost: Cost,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if media_type(&headers) != "application/json" {
        return request_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the request as `Content-Type: application/json`",
        );
    }
    if let Some(refused) = too_deep(&body) {
        return refused;
    }
    let value: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the body is not JSON: {e}"),
            )
        }
    };
    if value.is_array() {
        return request_error(
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "batched requests are not supported; send one operation",
        );
    }
    let request: async_graphql::Request = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                format!("the body is not a GraphQL request: {e}"),
            )
        }
    };
    execute(&state, &cost, request).await
}

/// The request's media type, lower-cased, without parameters; empty when there is none.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Charges a request's extra cost (root fields, or IDR-QL queries, beyond the first) to
/// its client.
struct Cost {
    limiter: Option<Limiter>,
    ip: Option<std::net::IpAddr>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Cost {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Cost, Self::Rejection> {
        let ip = crate::proxies::client_ip(&parts.extensions);
        Ok(Cost { limiter: parts.extensions.get::<Limiter>().cloned(), ip })
    }
}

impl Cost {
    /// Takes `units` tokens, in full: a request costing more than a bucket passes once
    /// the bucket is full, and its client owes the rest (see [`Limiter::take_owing`]).
    /// Err is the `Retry-After`, in seconds.
    async fn take(&self, units: f64) -> Result<(), u64> {
        let (Some(limiter), Some(ip)) = (&self.limiter, self.ip) else { return Ok(()) };
        limiter.take_decided(ip, units, units).await
    }

    /// Charges `units` of work beyond the first, which the request already paid for; a
    /// full bucket always lets one request through, and the rest is owed. Err is the
    /// `Retry-After`, in seconds.
    fn charge(&self, units: usize) -> Result<(), u64> {
        let (Some(limiter), Some(ip)) = (&self.limiter, self.ip) else { return Ok(()) };
        let extra = units.saturating_sub(1) as f64;
        if extra > 0.0 {
            limiter.take_owing(ip, extra, extra.min(limiter.burst() - 1.0))
        } else {
            Ok(())
        }
    }
}

/// Runs `work` within the request's deadline plus [`BACKSTOP`]; past it, a coded error.
async fn within_deadline(
    state: &AppState,
    work: impl std::future::Future<Output = Response>,
) -> Response {
    match tokio::time::timeout(state.limits.request_timeout + BACKSTOP, work).await {
        Ok(response) => response,
        Err(_) => request_error(
            StatusCode::OK,
            "REQUEST_TIMEOUT",
            "the request did not finish within its deadline",
        ),
    }
}

async fn execute(state: &AppState, cost: &Cost, request: async_graphql::Request) -> Response {
    match answer(state, cost, request).await {
        Ok((answer, ran)) => {
            let mut response = answer.response();
            response.extensions_mut().insert(answer.accounted(ran.operation, ran.ran));
            response
        }
        Err(refused) => refused,
    }
}

/// `If-None-Match` compares tags weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
pub(crate) fn weak_eq(given: &str, tag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    given.trim() == "*" || bare(given) == bare(tag)
}

/// Checks, charges and runs a request (joining an identical one in flight); Err is the
/// response that refused it or ran out of time.
async fn answer(
    state: &AppState,
    cost: &Cost,
    request: async_graphql::Request,
) -> Result<(std::sync::Arc<crate::identical::Answer>, Ran), Response> {
    let admitted = match idr_graphql::admitted(&state.schema, request, |n| cost.charge(n)) {
        Ok(Ok(admitted)) => admitted,
        Ok(Err(refused)) => {
            crate::metrics::graphql_refused(&crate::metrics::codes(&refused));
            return Err(GraphQLResponse::from(refused).into_response());
        }
        Err(retry_after) => {
            crate::metrics::graphql_refused(&[]);
            return Err(crate::rate::too_many(retry_after));
        }
    };
    let schema = state.schema.clone();
    let identity = admitted.identity();
    let operation = admitted.operation_name();
    let (flight, joined) =
        state.identical.run(identity, async move { admitted.run(&schema).await });
    match tokio::time::timeout(state.limits.request_timeout + BACKSTOP, flight).await {
        Ok(answer) => {
            answer.count();
            Ok((answer, Ran { operation, ran: !joined }))
        }
        Err(_) => {
            crate::metrics::graphql_answer(&["REQUEST_TIMEOUT".to_owned()], false);
            Err(request_error(
                StatusCode::OK,
                "REQUEST_TIMEOUT",
                "the request did not finish within its deadline",
            ))
        }
    }
}

#[derive(Deserialize)]
struct QlParams {
    /// `false`: check and compile only (what an editor asks as the user types).
    run: Option<bool>,
}

/// Rows returned per query by `POST /ql` at most.
const QL_MAX_ROWS: usize = 1_000;

/// `POST /ql`: IDR-QL text in (`Content-Type: application/x-idr-ql`, or JSON
/// `{"query": …}`), the compiled GraphQL and rows out, or the diagnostics with spans (400).
async fn ql_post(
    State(state): State<AppState>,
    cost: Cost,
    Params(params): Params<QlParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media = media_type(&headers);
    if media == "application/json" {
        if let Some(refused) = too_deep(&body) {
            return refused;
        }
    }
    let text = match media.as_str() {
        "application/x-idr-ql" => match String::from_utf8(body.to_vec()) {
            Ok(text) => text,
            Err(_) => return request_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "the body is not UTF-8"),
        },
        "application/json" => match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Object(map)) if map.get("query").is_some_and(|q| q.is_string()) => {
                map["query"].as_str().unwrap_or_default().to_owned()
            }
            _ => return request_error(StatusCode::BAD_REQUEST, "BAD_REQUEST", "send JSON like {\"query\": \"images where …\"}"),
        },
        _ => {
            return request_error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "BAD_REQUEST",
                "send IDR-QL as `Content-Type: application/x-idr-ql`, or JSON {\"query\": …} as `application/json`",
            )
        }
    };
    let run = params.run.unwrap_or(true);
    // Each query of the text is one request's worth of work; a check runs none of them.
    if run {
        if let Err(retry_after) = cost.charge(idr_ql::parse(&text).queries.len()) {
            return crate::rate::too_many(retry_after);
        }
    }
    let catalog = state.catalog.get(&state.client);
    // One deadline for every query and page of the text; past it, what was answered
    // stays, and only BACKSTOP later is the request cut.
    let deadline = tokio::time::Instant::now() + state.limits.request_timeout;
    let answer = crate::ql::answer(&state.schema, &text, &catalog, QL_MAX_ROWS, deadline, run);
    within_deadline(&state, async {
        match answer.await {
            (true, json) => (StatusCode::OK, Json(json)).into_response(),
            // A check succeeded whatever it found: the diagnostics say what.
            (false, json) if !run => (StatusCode::OK, Json(json)).into_response(),
            (false, json) => (StatusCode::BAD_REQUEST, Json(json)).into_response(),
        }
    })
    .await
}

/// Readiness: 503 while the circuit breaker is open, or when no upstream call has
/// succeeded within [`READY_WINDOW`] and a probe of IDR fails; the JSON says why.
async fn readyz(State(state): State<AppState>) -> Response {
    let (redis_up, refusing) = match &state.redis {
        Some(redis) => (redis.check().await, redis.refusing()),
        None => (false, None),
    };
    let answer = |ready: bool, reason: String| {
        let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        let mut body = json!({"ready": ready, "reason": reason, "upstream": &*state.upstream});
        // Redis down degrades (each replica alone), it does not make a replica unready.
        if state.redis.is_some() {
            let mode = match (redis_up, &refusing) {
                (true, None) => "shared",
                (true, Some(_)) => "Redis refuses calls: what it refuses is this replica's alone",
                (false, _) => "this replica alone (cache, rate limit and upstream cap per replica)",
            };
            body["redis"] = json!({"up": redis_up, "mode": mode, "refusing": refusing});
        }
        (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
    };
    if state.offline {
        return answer(true, "offline: answers come from recordings".to_owned());
    }
    let recent =
        |health: idr_client::Health| health.since_success.is_some_and(|s| s < READY_WINDOW);
    let health = state.client.health();
    if health.breaker_open {
        return answer(
            false,
            "IDR failed repeatedly: the circuit breaker is open, and calls resume after a probe"
                .to_owned(),
        );
    }
    if recent(health) {
        return answer(true, "an upstream call succeeded within the last minute".to_owned());
    }
    // One probe at a time; whoever waited for it reads its outcome from the client.
    let _probing = state.readiness.lock().await;
    if recent(state.client.health()) {
        return answer(true, "an upstream call succeeded within the last minute".to_owned());
    }
    match state.client.probe().await {
        Ok(()) => answer(true, "IDR answered a probe".to_owned()),
        Err(error) => {
            tracing::warn!(%error, "readiness probe failed");
            let why = match error {
                ClientError::Timeout { .. } => "did not answer in time",
                ClientError::CircuitOpen => "is failing (the circuit breaker is open)",
                ClientError::Status { .. } => "answered with an error status",
                _ => "could not be reached or gave an unusable answer",
            };
            answer(
                false,
                format!("no upstream call succeeded within the last minute, and IDR {why}"),
            )
        }
    }
}

/// The version of this server (the same as `idr --version` and the `User-Agent` it sends
/// IDR), the schema it serves (a SHA-256 of its SDL, which changes with any change to the
/// schema), and the vendored GraphiQL and React.
async fn version() -> Json<serde_json::Value> {
    static SCHEMA: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use sha2::Digest as _;
        format!("{:x}", sha2::Sha256::digest(idr_graphql::sdl().as_bytes()))
    });
    Json(json!({
        "name": "idr-graph",
        "version": env!("CARGO_PKG_VERSION"),
        "userAgent": idr_client::upstream::USER_AGENT,
        "schemaSha256": &*SCHEMA,
        "graphiql": crate::web::GRAPHIQL_VERSION,
        "react": crate::web::REACT_VERSION,
    }))
}

async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({
        "status": "ok",
        "upstream": &*state.upstream,
        "upstreamCalls": state.client.upstream_calls(),
        "cacheBytes": state.client.cache_bytes(),
    }))
}

#[derive(Deserialize)]
struct ThumbParams {
    size: Option<String>,
}

/// `size`, when given: 16–1024 pixels.
fn thumbnail_size(size: Option<&str>) -> Result<Option<u32>, &'static str> {
    match size {
        None => Ok(None),
        Some(s) => match s.parse::<u32>() {
            Ok(n @ 16..=1024) => Ok(Some(n)),
            _ => Err("`size` must be an integer from 16 to 1024"),
        },
    }
}

/// What a cached thumbnail asked for on its own is charged against the rate limit, in
/// tokens (one is an upstream call's worth): an `<img>` per well of a 384-well plate
/// stays inside the default burst. The batch route charges less (one token a call's
/// worth of thumbnails, [`THUMBNAILS_PER_TOKEN`]).
const CACHED_THUMBNAIL_COST: f64 = 0.1;

/// Cached thumbnails a batch serves for one token: as many as one upstream call holds.
const THUMBNAILS_PER_TOKEN: f64 = idr_client::endpoints::MAX_THUMBNAIL_IDS as f64;

/// Ids one `GET /thumbnails?ids=` may name: a 1,536-well plate (the largest plate
/// format) in one request, within the request-URI cap.
const MAX_THUMBNAIL_IDS: usize = 1536;

#[derive(Deserialize)]
struct ThumbsParams {
    ids: Option<String>,
    size: Option<String>,
}

/// `GET /thumbnails?ids=1,2,3[&size=N]`: many thumbnails in one request, as JSON data URIs
/// (`{"thumbnails": {"<id>": "data:image/jpeg;base64,…" or null}, "errors": […]}`), through
/// IDR's batch endpoint, 50 a call. `null` is IDR having no thumbnail; an id whose call
/// failed is left out of `thumbnails` and named in an error with its code. Charged one
/// rate-limit token per upstream call it needs (at least one).
async fn thumbnails(
    State(state): State<AppState>,
    cost: Cost,
    Params(params): Params<ThumbsParams>,
) -> Response {
    let bad = |message: String| request_error(StatusCode::BAD_REQUEST, "BAD_USER_INPUT", message);
    let size = match thumbnail_size(params.size.as_deref()) {
        Ok(size) => size,
        Err(message) => return bad(message.to_owned()),
    };
    let Some(raw) = params.ids.filter(|ids| !ids.trim().is_empty()) else {
        return bad("give the image ids as `ids=1,2,3`".to_owned());
    };
    let mut ids: Vec<u64> = Vec::new();
    for part in raw.split(',') {
        let Some(id) = parse_positive_id(part.trim()) else {
            let shown: String = part.chars().take(40).collect();
            return bad(format!("`{shown}` is not an image id (a positive integer)"));
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > MAX_THUMBNAIL_IDS {
            return bad(format!("at most {MAX_THUMBNAIL_IDS} ids per request"));
        }
    }
    // One token per upstream call it needs, and one per 50 it serves from the cache
    // (what a call's worth of thumbnails costs here to encode and send); at least one.
    let (calls, cached) = state.client.thumbnail_plan(&ids, size);
    let units = (calls as f64 + cached as f64 / THUMBNAILS_PER_TOKEN).max(1.0);
    if let Err(retry_after) = cost.take(units).await {
        return crate::rate::too_many(retry_after);
    }
    let tally = std::sync::Arc::new(idr_client::tally::Tally::default());
    let fetched = tokio::time::timeout(
        state.limits.request_timeout,
        tally.clone().scope(state.client.thumbnails(&ids, size)),
    );
    let Ok(answers) = fetched.await else {
        return request_error(
            StatusCode::GATEWAY_TIMEOUT,
            "UPSTREAM_TIMEOUT",
            "IDR did not answer in time",
        );
    };
    let mut thumbnails = serde_json::Map::new();
    // (code, message, ids), in the order first met.
    let mut failed: Vec<(&'static str, String, Vec<String>)> = Vec::new();
    for id in &ids {
        match answers.get(id) {
            Some(Ok(idr_client::endpoints::Thumbnail::Jpeg(jpeg))) => {
                use base64::Engine as _;
                let data = base64::engine::general_purpose::STANDARD.encode(jpeg);
                thumbnails.insert(id.to_string(), format!("data:image/jpeg;base64,{data}").into());
            }
            Some(Ok(idr_client::endpoints::Thumbnail::Missing)) => {
                thumbnails.insert(id.to_string(), serde_json::Value::Null);
            }
            Some(Err(error)) => {
                let (code, message) = idr_graphql::describe_upstream_error(error);
                match failed.iter_mut().find(|(c, m, _)| *c == code && *m == message) {
                    Some((_, _, ids)) => ids.push(id.to_string()),
                    None => {
                        tracing::warn!(%error, "thumbnails failed");
                        failed.push((code, message, vec![id.to_string()]));
                    }
                }
            }
            None => {}
        }
    }
    let errors: Vec<serde_json::Value> = failed
        .into_iter()
        .map(|(code, message, ids)| json!({"message": message, "ids": ids, "extensions": {"code": code}}))
        .collect();
    // Whole answers may be kept as long as IDR's thumbnails are, those with an image IDR
    // has no thumbnail for as long as any "not found", partial ones not at all.
    let missing = thumbnails.values().any(serde_json::Value::is_null);
    let cache = if !errors.is_empty() {
        "no-store".to_owned()
    } else if missing {
        format!("public, max-age={}", state.client.negative_ttl().as_secs())
    } else {
        "public, max-age=86400".to_owned()
    };
    let cache = HeaderValue::from_str(&cache).unwrap_or(HeaderValue::from_static("no-store"));
    let counts = tally.counts();
    let mut response = (
        [(header::CACHE_CONTROL, cache)],
        Json(json!({"size": size, "thumbnails": thumbnails, "errors": errors})),
    )
        .into_response();
    response.extensions_mut().insert(Accounted {
        upstream_calls: counts.upstream_calls,
        cache_hits: counts.cache_hits,
        operation: None,
        joined: false,
    });
    response
}

/// Streams an image's JPEG thumbnail from IDR. Only digit ids are accepted, redirects are
/// never followed, and anything but a JPEG within the body cap is refused (502).
async fn thumbnail(
    State(state): State<AppState>,
    cost: Cost,
    Path(raw_id): Path<String>,
    Params(params): Params<ThumbParams>,
) -> Response {
    let Some(image_id) = parse_positive_id(&raw_id) else {
        return plain(StatusCode::BAD_REQUEST, "the image id must be a positive integer");
    };
    let size = match thumbnail_size(params.size.as_deref()) {
        Ok(size) => size,
        Err(message) => return plain(StatusCode::BAD_REQUEST, message),
    };
    let units =
        if state.client.has_thumbnail(image_id, size) { CACHED_THUMBNAIL_COST } else { 1.0 };
    if let Err(retry_after) = cost.take(units).await {
        return crate::rate::too_many(retry_after);
    }
    let thumbnail =
        tokio::time::timeout(state.limits.request_timeout, state.client.thumbnail(image_id, size));
    let Ok(thumbnail) = thumbnail.await else {
        return plain(StatusCode::GATEWAY_TIMEOUT, "IDR did not answer in time");
    };
    match thumbnail {
        Ok(Some(jpeg)) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
                (header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400")),
            ],
            jpeg,
        )
            .into_response(),
        Ok(None) => plain(StatusCode::NOT_FOUND, "IDR has no thumbnail for this image"),
        Err(error) => {
            tracing::warn!(%error, image_id, "thumbnail failed");
            match error {
                ClientError::Timeout { .. } => {
                    plain(StatusCode::GATEWAY_TIMEOUT, "IDR did not answer in time")
                }
                ClientError::NotRecorded { .. } => plain(
                    StatusCode::NOT_FOUND,
                    "offline mode: this thumbnail is not in the recordings",
                ),
                _ => plain(StatusCode::BAD_GATEWAY, "IDR did not return a usable thumbnail"),
            }
        }
    }
}

/// A plain-text error answer. Never cached: a failure must not outlive its cause.
pub(crate) fn plain(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
        message,
    )
        .into_response()
}

/// A positive decimal id that fits OMERO's `long`: no signs, dots, slashes or encodings.
pub(crate) fn parse_positive_id(raw: &str) -> Option<u64> {
    if raw.is_empty() || raw.len() > 19 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<u64>().ok().filter(|n| *n > 0 && *n <= i64::MAX as u64)
}
