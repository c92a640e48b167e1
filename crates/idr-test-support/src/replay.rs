//! [`ReplayServer`]: a real HTTP server on `127.0.0.1` that answers from a
//! [`RecordingStore`], so the whole stack (the client's HTTP upstream included) can be
//! tested offline, and that injects upstream faults on demand ([`Faults`]).
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
/// substring. They are checked in this order, and the first that matches answers:
/// `hang`, `redirect`, `status`, `oversized`, `non_jpeg_thumbnails`. `latency` applies to
/// every request first.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Waited before handling every request.
    pub latency: Duration,
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

/// What the handlers share.
struct Shared {
    store: RecordingStore,
    faults: Mutex<FaultState>,
    calls: AtomicU64,
    requests: Mutex<Vec<String>>,
}

struct FaultState {
    faults: Faults,
    /// How often `faults.status` has been applied since the faults were set.
    forced: u32,
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, FaultState> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
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
    pub fn start(store: RecordingStore, faults: Faults) -> ReplayServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("replay server cannot bind 127.0.0.1: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("replay server address: {e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("replay server cannot set non-blocking: {e}"));
        let shared = Arc::new(Shared {
            store,
            faults: Mutex::new(FaultState { faults, forced: 0 }),
            calls: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let (shutdown, stop) = oneshot::channel::<()>();
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
                    let serve = std::future::IntoFuture::into_future(axum::serve(listener, app));
                    // Stop at once when asked: a graceful shutdown would wait for the
                    // requests that hang on purpose. Dropping the runtime cancels them.
                    tokio::select! {
                        _ = serve => {}
                        _ = stop => {}
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

    /// Replaces the faults; takes effect for the next request.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults() = FaultState { faults, forced: 0 };
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

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: HttpMethod,
    uri: Uri,
    body: Bytes,
) -> HttpResponse {
    shared.calls.fetch_add(1, Ordering::SeqCst);
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
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
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
    match shared.store.answer(&req) {
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
