//! [`ReplayServer`]: a real HTTP server on `127.0.0.1` that answers from a
//! [`RecordingStore`] or a generated IDR ([`crate::World`]), anything that is an
//! [`Answer`], so the whole stack (the client's HTTP upstream included) can be tested
//! offline, and that injects upstream faults on demand ([`Faults`]).
//!
//! Every request is turned into an [`idr_client::Request`] (method, path, decoded query
//! pairs sorted, a POST body as compact JSON) and answered with `store.answer(&req)`. A
//! request with no recording gets **404** with a plain-text body naming the request and the
//! nearest recordings, so a failing test says what to record.
//!
//! The server runs on its own thread with its own runtime, so it works from synchronous
//! tests and from any async runtime, and a test that blocks cannot starve it. Dropping the
//! handle stops it, including requests that are hanging on purpose.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, Method as HttpMethod, StatusCode, Uri};
use axum::response::Response as HttpResponse;
use axum::Router;
use idr_client::recording::RecordingStore;
use idr_client::{Error, Method, Request, Response};
use tokio::sync::oneshot;

/// Faults injected by a [`ReplayServer`]. The default injects none.
///
/// Path rules match when the request path (without the query) contains the given
/// substring. `latency` applies to every request first; then `random` may pick a fault;
/// then the rules are checked in this order, and the first that matches answers:
/// `hang`, `redirect`, `status`, `oversized`, `non_jpeg_thumbnails`. With `sessions`,
/// OMERO.web's session cookie is emulated (see [`ReplayServer::expire_sessions`]).
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Faults drawn at random, per request.
    pub random: Option<RandomFaults>,
    /// Emulate OMERO.web's sessions: a request to OMERO.web (not the search engine)
    /// without a session cookie logs in as the public user and gets `Set-Cookie`; one with
    /// an expired session gets a redirect to the login page.
    pub sessions: bool,
    /// Waited before handling every request.
    pub latency: Duration,
    /// Up to this much more is waited, drawn anew for each request.
    pub jitter: Duration,
    /// Matching requests are answered with this status instead of their recording.
    pub status: Option<ForcedStatus>,
    /// Matching requests are never answered (until the server is dropped).
    pub hang: Option<String>,
    /// Matching requests get `200` with a JSON-looking body of exactly this many bytes.
    pub oversized: Option<Oversized>,
    /// Matching requests are redirected (`302`), as a login page or a hostile proxy would.
    pub redirect: Option<Redirect>,
    /// Thumbnail requests (`render_thumbnail` in the path) get a PNG labelled `image/jpeg`,
    /// as OMERO.web's webclient does for a missing image.
    pub non_jpeg_thumbnails: bool,
}

impl Faults {
    /// Every request whose path contains `path_contains` gets `kind`.
    pub fn always(path_contains: &str, kind: FaultKind) -> Faults {
        let random = RandomFaults {
            path_contains: path_contains.to_owned(),
            rate: 1.0,
            kinds: vec![kind],
            seed: 1,
        };
        Faults { random: Some(random), ..Faults::default() }
    }

    /// Every request gets one of `kinds` with probability `rate`, drawn from `seed`.
    pub fn random(rate: f64, kinds: &[FaultKind], seed: u64) -> Faults {
        let random =
            RandomFaults { path_contains: "/".to_owned(), rate, kinds: kinds.to_vec(), seed };
        Faults { random: Some(random), ..Faults::default() }
    }
}

/// With probability `rate`, a matching request gets one of `kinds` (uniformly) instead of
/// its recording. Draws come from a generator seeded with `seed`.
#[derive(Clone, Debug)]
pub struct RandomFaults {
    pub path_contains: String,
    pub rate: f64,
    pub kinds: Vec<FaultKind>,
    pub seed: u64,
}

/// One way for an upstream answer to go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// This status, with an HTML body holding a Python stack trace.
    Status(u16),
    /// The connection is closed without an answer.
    Reset,
    /// No answer until the client gives up.
    Hang,
    /// `200` with the first half of the body, framed as if whole.
    CutShort,
    /// `200` with `Content-Length` of the whole body, but the connection is closed
    /// halfway through it.
    CutMidBody,
    /// `200` with OMERO.web's HTML login page.
    Html,
    /// `302` to OMERO.web's login page (an expired session).
    LoginRedirect,
    /// The body at one byte per second.
    Trickle,
    /// `200` with `{"error": …}`, as OMERO.web's webgateway reports failures.
    Reported,
    /// `200` with JSON of the wrong shape for every endpoint.
    Garbled,
}

/// Forces a status on matching requests, e.g. `503` for `/webclient/imgData/`.
#[derive(Clone, Debug)]
pub struct ForcedStatus {
    pub path_contains: String,
    pub status: u16,
    /// Force it this many times, then answer normally (to test retries); `None` forces
    /// it for good. The count restarts whenever the faults are set.
    pub times: Option<u32>,
}

/// A `200` body of `bytes` bytes for matching requests.
#[derive(Clone, Debug)]
pub struct Oversized {
    pub path_contains: String,
    pub bytes: usize,
}

/// A `302` to `location` (typically another host) for matching requests.
#[derive(Clone, Debug)]
pub struct Redirect {
    pub path_contains: String,
    pub location: String,
}

/// What a replay server answers from.
pub trait Answer: Send + Sync + 'static {
    /// The answer to one request; an error becomes a 404 (not recorded) or a 500.
    fn answer(&self, req: &Request) -> Result<Response, Error>;
}

impl Answer for RecordingStore {
    fn answer(&self, req: &Request) -> Result<Response, Error> {
        RecordingStore::answer(self, req)
    }
}

impl<T: Answer> Answer for std::sync::Arc<T> {
    fn answer(&self, req: &Request) -> Result<Response, Error> {
        T::answer(self, req)
    }
}

impl Answer for crate::World {
    fn answer(&self, req: &Request) -> Result<Response, Error> {
        Ok(crate::World::answer(self, req))
    }
}

/// What the handlers share.
struct Shared {
    store: Box<dyn Answer>,
    faults: Mutex<FaultState>,
    calls: AtomicU64,
    requests: Mutex<Vec<String>>,
    /// Calls per route (the path with its numbers replaced by `{id}`).
    routes: Mutex<std::collections::BTreeMap<String, u64>>,
    in_flight: std::sync::atomic::AtomicUsize,
    max_in_flight: std::sync::atomic::AtomicUsize,
    /// When the server started: the origin of [`CallSpan`]s.
    started: std::time::Instant,
    /// Every answered request's route and time span, in the order they ended.
    timeline: Mutex<Vec<CallSpan>>,
}

/// When one request was being answered, from the server's start: from the moment its
/// head was read to the moment its answer was ready (latency included).
#[derive(Clone, Debug, PartialEq)]
pub struct CallSpan {
    /// The path with every run of digits replaced by `{id}`.
    pub route: String,
    pub start: Duration,
    pub end: Duration,
}

struct FaultState {
    faults: Faults,
    /// How often `faults.status` has been applied since the faults were set.
    forced: u32,
    rng: fastrand::Rng,
    /// Faults injected by `random` since the faults were set.
    injected: u64,
    /// Session ids that are valid, and the next one to hand out.
    sessions: std::collections::HashSet<u64>,
    next_session: u64,
    logins: u64,
}

impl FaultState {
    fn new(faults: Faults) -> FaultState {
        let seed = faults.random.as_ref().map_or(0, |r| r.seed);
        FaultState {
            faults,
            forced: 0,
            rng: fastrand::Rng::with_seed(seed),
            injected: 0,
            sessions: Default::default(),
            next_session: 1,
            logins: 0,
        }
    }
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a call, in all and on its route.
    fn count(&self, path: &str) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let route = route_of(path);
        *self.routes.lock().unwrap_or_else(|e| e.into_inner()).entry(route).or_default() += 1;
    }

    /// The random fault for `path`, if one is drawn (and counts it).
    fn draw_fault(&self, path: &str) -> Option<FaultKind> {
        let mut state = self.faults();
        let random = state.faults.random.clone()?;
        if !path.contains(&random.path_contains) || random.kinds.is_empty() {
            return None;
        }
        if state.rng.f64() >= random.rate {
            return None;
        }
        let kind = random.kinds[state.rng.usize(..random.kinds.len())];
        state.injected += 1;
        Some(kind)
    }

    /// With sessions emulated: `Ok(Some(cookie))` when this request logged in afresh,
    /// `Ok(None)` when it needs no session or brought a valid one, `Err(())` when its
    /// session expired.
    fn session(&self, path: &str, cookie: Option<&str>) -> Result<Option<String>, ()> {
        let mut state = self.faults();
        if !state.faults.sessions || path.starts_with("/searchengine/") {
            return Ok(None);
        }
        let given = cookie
            .into_iter()
            .flat_map(|c| c.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix("sessionid="))
            .find_map(|id| id.parse::<u64>().ok());
        match given {
            Some(id) if state.sessions.contains(&id) => Ok(None),
            Some(_) => Err(()),
            None => {
                let id = state.next_session;
                state.next_session += 1;
                state.sessions.insert(id);
                state.logins += 1;
                Ok(Some(format!("sessionid={id}; Path=/; HttpOnly")))
            }
        }
    }

    /// The forced status for `path`, if it applies to this request (and counts it).
    fn take_forced_status(&self, path: &str) -> Option<u16> {
        let mut state = self.faults();
        let forced = state.faults.status.as_ref()?;
        if !path.contains(&forced.path_contains) || forced.times.is_some_and(|t| state.forced >= t)
        {
            return None;
        }
        let status = forced.status;
        state.forced += 1;
        Some(status)
    }
}

/// `path` with every run of digits replaced by `{id}`.
fn route_of(path: &str) -> String {
    let mut route = String::with_capacity(path.len());
    let mut in_digits = false;
    for c in path.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                route.push_str("{id}");
            }
            in_digits = true;
        } else {
            route.push(c);
            in_digits = false;
        }
    }
    route
}

/// A running replay server; see the module docs. Stops when dropped.
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ReplayServer {
    /// Binds `127.0.0.1` on a free port and starts serving `store`. Panics if it cannot
    /// bind (tests cannot do anything useful then).
    pub fn start(store: impl Answer, faults: Faults) -> ReplayServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("replay server cannot bind 127.0.0.1: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("replay server address: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("replay server cannot set non-blocking: {e}"));
        let shared = Arc::new(Shared {
            store: Box::new(store),
            routes: Mutex::default(),
            faults: Mutex::new(FaultState::new(faults)),
            calls: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            in_flight: Default::default(),
            max_in_flight: Default::default(),
            started: std::time::Instant::now(),
            timeline: Mutex::default(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let shared_for_loop = shared.clone();
        let (shutdown, mut stop) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("replay-server-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap_or_else(|e| panic!("replay server runtime: {e}"));
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)
                        .unwrap_or_else(|e| panic!("replay server listener: {e}"));
                    // Stop at once when asked: a graceful shutdown would wait for the
                    // requests that hang on purpose. Dropping the runtime cancels them.
                    loop {
                        let stream = tokio::select! {
                            accepted = listener.accept() => match accepted {
                                Ok((stream, _)) => stream,
                                Err(_) => continue,
                            },
                            _ = &mut stop => break,
                        };
                        tokio::spawn(serve_connection(
                            stream,
                            app.clone(),
                            shared_for_loop.clone(),
                        ));
                    }
                });
            })
            .unwrap_or_else(|e| panic!("replay server thread: {e}"));
        ReplayServer { addr, shared, shutdown: Some(shutdown), thread: Some(thread) }
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far, whatever they were answered with.
    pub fn calls(&self) -> u64 {
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// The requests received so far, in order, as request lines (`GET /path?query`, with
    /// the JSON body after a space for a POST).
    pub fn requests(&self) -> Vec<String> {
        self.shared.requests.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the faults; takes effect for the next request. Sessions start afresh.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults() = FaultState::new(faults);
    }

    /// Calls so far per route: the path with every run of digits replaced by `{id}`, for
    /// example `/webclient/imgData/{id}/`.
    pub fn calls_by_route(&self) -> std::collections::BTreeMap<String, u64> {
        self.shared.routes.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Starts [`ReplayServer::max_in_flight`] again from the requests in flight now.
    pub fn reset_max_in_flight(&self) {
        let now = self.shared.in_flight.load(Ordering::SeqCst);
        self.shared.max_in_flight.store(now, Ordering::SeqCst);
    }

    /// Every answered request's route and span so far, in the order they ended (a
    /// benchmark reads rounds and the critical path from it).
    pub fn timeline(&self) -> Vec<CallSpan> {
        self.shared.timeline.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Faults `random` has injected since the faults were set.
    pub fn injected(&self) -> u64 {
        self.shared.faults().injected
    }

    /// Ends every session (as OMERO.web does after an hour): requests that bring one are
    /// redirected to the login page until they come without it.
    pub fn expire_sessions(&self) {
        self.shared.faults().sessions.clear();
    }

    /// Sessions handed out (public-user logins) since the faults were set.
    pub fn logins(&self) -> u64 {
        self.shared.faults().logins
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults().faults.clone()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread only stops its runtime; a panic there has already been printed.
            let _ = thread.join();
        }
    }
}

/// Builds the canonical request IDR would have seen, or says why it cannot.
fn to_request(method: &HttpMethod, uri: &Uri, body: &Bytes) -> Result<Request, String> {
    let method = match *method {
        HttpMethod::GET => Method::Get,
        HttpMethod::POST => Method::Post,
        ref other => {
            return Err(format!("the replay server only answers GET and POST, not {other}"))
        }
    };
    let Query(mut query) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|e| format!("bad query string in {uri}: {e}"))?;
    query.sort();
    let body = match (method, body.is_empty()) {
        (Method::Post, false) => Some(match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(json) => json.to_string(),
            Err(_) => String::from_utf8_lossy(body).into_owned(),
        }),
        _ => None,
    };
    Ok(Request { method, path: uri.path().to_owned(), query, body })
}

/// Serves one connection; a [`FaultKind::Reset`] drawn for a request closes it unanswered.
async fn serve_connection(stream: tokio::net::TcpStream, app: Router, shared: Arc<Shared>) {
    let service =
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let app = app.clone();
            let shared = shared.clone();
            async move {
                let fault = shared.draw_fault(request.uri().path());
                if fault == Some(FaultKind::Reset) {
                    shared.count(request.uri().path());
                    let line = format!("{} {}", request.method(), request.uri());
                    shared.requests.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "injected reset",
                    ));
                }
                request.extensions_mut().insert(Drawn(fault));
                let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
                let _leaving = Leaving(&shared.in_flight);
                let route = route_of(request.uri().path());
                let start = shared.started.elapsed();
                let response = tower::ServiceExt::oneshot(app, request)
                    .await
                    .unwrap_or_else(|never| match never {});
                let span = CallSpan { route, start, end: shared.started.elapsed() };
                shared.timeline.lock().unwrap_or_else(|e| e.into_inner()).push(span);
                Ok(response)
            }
        });
    let io = hyper_util::rt::TokioIo::new(stream);
    let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
}

/// Counts a request out of `in_flight` however it ends (answered, or dropped mid-way).
struct Leaving<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The random fault drawn for a request, if any (not `Reset`, which never gets here).
#[derive(Clone, Copy)]
struct Drawn(Option<FaultKind>);

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: HttpMethod,
    uri: Uri,
    headers: axum::http::HeaderMap,
    drawn: Option<axum::Extension<Drawn>>,
    body: Bytes,
) -> HttpResponse {
    shared.count(uri.path());
    let req = match to_request(&method, &uri, &body) {
        Ok(req) => req,
        Err(message) => {
            shared
                .requests
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!("{method} {uri}"));
            return text(400, message);
        }
    };
    shared.requests.lock().unwrap_or_else(|e| e.into_inner()).push(req.to_string());
    let faults = shared.faults().faults.clone();
    let jitter = Duration::from_micros(fastrand::u64(..=faults.jitter.as_micros() as u64));
    if !(faults.latency + jitter).is_zero() {
        tokio::time::sleep(faults.latency + jitter).await;
    }
    let path = req.path.as_str();
    let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok());
    let set_cookie = match shared.session(path, cookie) {
        Ok(set_cookie) => set_cookie,
        Err(()) => return login_redirect(&uri),
    };
    let drawn = drawn.and_then(|d| d.0 .0);
    let mut response = match drawn {
        Some(kind) => injected(kind, &shared, &req, &uri).await,
        None => answer(&shared, &faults, &req).await,
    };
    if let Some(cookie) = set_cookie.and_then(|c| header::HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// A redirect to OMERO.web's login page, as an expired session gets.
fn login_redirect(uri: &Uri) -> HttpResponse {
    HttpResponse::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, format!("/webclient/login/?url={}", uri.path()))
        .body(Body::empty())
        .unwrap_or_else(|e| text(500, e.to_string()))
}

/// The answer for a request that drew a random fault.
async fn injected(kind: FaultKind, shared: &Shared, req: &Request, uri: &Uri) -> HttpResponse {
    let whole = || match shared.store.answer(req) {
        Ok(resp) => resp,
        Err(e) => Response {
            status: 404,
            content_type: Some("text/plain".to_owned()),
            body: e.to_string().into_bytes().into(),
        },
    };
    match kind {
        FaultKind::Status(status) => HttpResponse::builder()
            .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
            .header(header::CONTENT_TYPE, "text/html")
            .body(Body::from(format!(
                "<html><title>{status}</title><pre>Traceback (most recent call last):\n  File \"/opt/omero/web/venv/lib/python3.9/site-packages/omeroweb/webgateway/views.py\", line 1, in wrapped\nException: injected</pre></html>"
            )))
            .unwrap_or_else(|e| text(500, e.to_string())),
        FaultKind::Reset => text(500, "a reset is injected by the connection, not here".to_owned()),
        FaultKind::Hang => std::future::pending().await,
        FaultKind::CutShort => {
            let resp = whole();
            let half = resp.body.slice(..resp.body.len() / 2);
            reply(Response { body: half, ..resp })
        }
        FaultKind::CutMidBody => {
            let resp = whole();
            let half = resp.body.slice(..resp.body.len() / 2);
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "injected cut")),
            ];
            let mut builder = HttpResponse::builder()
                .status(resp.status)
                .header(header::CONTENT_LENGTH, resp.body.len());
            if let Some(content_type) = &resp.content_type {
                builder = builder.header(header::CONTENT_TYPE, content_type.as_str());
            }
            builder
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap_or_else(|e| text(500, e.to_string()))
        }
        FaultKind::Html => HttpResponse::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/html; charset=utf-8")
            .body(Body::from("<!DOCTYPE html><html><head><title>OMERO.web - Login</title></head><body><form action=\"/webclient/login/\"></form></body></html>"))
            .unwrap_or_else(|e| text(500, e.to_string())),
        FaultKind::LoginRedirect => login_redirect(uri),
        FaultKind::Reported => reply(Response::json(
            200,
            r#"{"error": "Traceback (most recent call last): omero.ApiUsageException"}"#,
        )),
        FaultKind::Garbled => reply(Response::json(
            200,
            r#"{"id": "x", "grid": 5, "annotations": 7, "data": 1, "results": "x", "plates": {}, "meta": []}"#,
        )),
        FaultKind::Trickle => {
            let resp = whole();
            let bytes = resp.body.clone();
            let stream = futures_util::stream::unfold(0usize, move |i| {
                let bytes = bytes.clone();
                async move {
                    if i >= bytes.len() {
                        return None;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Some((Ok::<_, std::io::Error>(bytes.slice(i..i + 1)), i + 1))
                }
            });
            let mut builder = HttpResponse::builder().status(resp.status);
            if let Some(content_type) = &resp.content_type {
                builder = builder.header(header::CONTENT_TYPE, content_type.as_str());
            }
            builder.body(Body::from_stream(stream)).unwrap_or_else(|e| text(500, e.to_string()))
        }
    }
}

/// The answer by the fixed fault rules, or the recording.
async fn answer(shared: &Shared, faults: &Faults, req: &Request) -> HttpResponse {
    let path = req.path.as_str();
    if faults.hang.as_ref().is_some_and(|p| path.contains(p.as_str())) {
        std::future::pending::<()>().await;
    }
    if let Some(redirect) = faults.redirect.as_ref().filter(|r| path.contains(&r.path_contains)) {
        return HttpResponse::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, redirect.location.as_str())
            .body(Body::empty())
            .unwrap_or_else(|e| text(500, e.to_string()));
    }
    if let Some(status) = shared.take_forced_status(path) {
        return text(status, format!("status {status} forced by the replay server"));
    }
    if let Some(big) = faults.oversized.as_ref().filter(|o| path.contains(&o.path_contains)) {
        return reply(Response::json(200, oversized_body(big.bytes)));
    }
    if faults.non_jpeg_thumbnails && path.contains("render_thumbnail") {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR not a jpeg".to_vec();
        return reply(Response {
            status: 200,
            content_type: Some("image/jpeg".to_owned()),
            body: png.into(),
        });
    }
    match shared.store.answer(req) {
        Ok(resp) => reply(resp),
        Err(e @ Error::NotRecorded { .. }) => text(404, e.to_string()),
        Err(e) => text(500, e.to_string()),
    }
}

/// `{"pad":"xxx…"}` of exactly `bytes` bytes (just `x`s when that is too short for JSON).
fn oversized_body(bytes: usize) -> Vec<u8> {
    const OPEN: &[u8] = b"{\"pad\":\"";
    const CLOSE: &[u8] = b"\"}";
    if bytes < OPEN.len() + CLOSE.len() {
        return vec![b'x'; bytes];
    }
    let mut body = Vec::with_capacity(bytes);
    body.extend_from_slice(OPEN);
    body.resize(bytes - CLOSE.len(), b'x');
    body.extend_from_slice(CLOSE);
    body
}

fn reply(resp: Response) -> HttpResponse {
    let mut builder = HttpResponse::builder().status(resp.status);
    if let Some(content_type) = &resp.content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type.as_str());
    }
    builder.body(Body::from(resp.body)).unwrap_or_else(|e| text(500, format!("bad recording: {e}")))
}

fn text(status: u16, message: String) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(message))
        .unwrap_or_else(|_| HttpResponse::new(Body::empty()))
}
