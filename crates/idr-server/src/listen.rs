//! Accepting connections politely under attack, and letting them go gracefully.
//!
//! axum's own `serve` has no connection caps and no deadlines, so connections are served
//! here with hyper's HTTP/1 directly. Each connection is watched through three phases,
//! each with a deadline:
//!
//! 1. **Waiting for a request**: from accept until a request's headers are complete
//!    (`header_timeout`). This covers a connection that sends nothing at all, which
//!    hyper's own header timer does not see.
//! 2. **Serving a request**: from complete headers until the response's last byte is
//!    handed to the socket (`request_timeout`), so a body that trickles in or a client
//!    that never reads its answer cannot hold the connection.
//! 3. **Idle between requests** on a kept-alive connection (`idle_timeout`).
//!
//! Past a deadline an idle connection is closed; a busy one is cut. Open connections are
//! capped in all (`max_connections`) and per client address (`max_per_address`, IPv6
//! counted per /64), so one address cannot take the pool. When `shutdown` completes, the
//! listener stops accepting, idle connections close, requests in flight finish and are
//! answered, and `serve` returns once all are done or `drain_timeout` has passed.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::proxies::{ClientIp, TrustedProxies};
use crate::rate::address_key;

/// Connection-level limits.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// Open connections at once; further ones are closed on accept.
    pub max_connections: usize,
    /// Open connections at once from one client address (IPv6: one /64).
    pub max_per_address: usize,
    /// From accept until a request's headers are complete.
    pub header_timeout: Duration,
    /// From complete headers until the response is written.
    pub request_timeout: Duration,
    /// A kept-alive connection with no request is closed after this.
    pub idle_timeout: Duration,
    /// After shutdown is asked for, how long requests in flight may take to finish.
    pub drain_timeout: Duration,
    /// Proxies that connect for many clients: not held to `max_per_address`, and their
    /// `X-Forwarded-For` names each request's client (see [`TrustedProxies`]).
    pub trusted_proxies: TrustedProxies,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 1024,
            max_per_address: 64,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// The largest request head buffered.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` completes, then drains (see module docs).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_address = PerAddress::new(limits.max_per_address.max(1));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Connections refused at the global cap, warned about at most every 10 s.
    let (mut refused, mut last_warning) = (0u64, None);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // A trusted proxy's connections carry many clients: only the total cap holds them.
        let address_slot = if limits.trusted_proxies.contains(peer.ip()) {
            None
        } else {
            let Some(slot) = per_address.take(peer.ip()) else {
                metrics::counter!("idr_connections_refused_total", "reason" => "per_address")
                    .increment(1);
                tracing::debug!(%peer, "per-address connection limit reached; closing new connection");
                continue;
            };
            Some(slot)
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("idr_connections_refused_total", "reason" => "total").increment(1);
            refused += 1;
            if last_warning.is_none_or(|at: Instant| at.elapsed() >= Duration::from_secs(10)) {
                tracing::warn!(refused, "connection limit reached; closing new connections");
                last_warning = Some(Instant::now());
                refused = 0;
            }
            continue;
        };
        let app = app.clone();
        let stop = stop_rx.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let _slots = (permit, address_slot, OpenConnection::enter());
            serve_connection(stream, peer, app, limits, stop).await;
        });
    }
    drop(listener);
    let open = limits.max_connections.max(1) - permits.available_permits();
    tracing::info!(open, "shutting down: no new connections; draining requests in flight");
    let _ = stop_tx.send(true);
    // Every connection task holds a permit; all permits back means all are done.
    let all = u32::try_from(limits.max_connections.max(1)).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.drain_timeout, permits.acquire_many(all)).await;
    if drained.is_ok() {
        tracing::info!("drained");
    } else {
        let still_open = limits.max_connections.max(1) - permits.available_permits();
        tracing::warn!(still_open, "drain deadline passed; cutting the connections still open");
    }
}

/// One connection through its phases; returns when it is closed or cut.
async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let phase = Phase::new(limits.clone());
    let service = {
        let phase = phase.clone();
        let trusted = limits.trusted_proxies.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            let client = trusted.client(peer.ip(), request.headers());
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            request.extensions_mut().insert(ClientIp(client));
            let guard = phase.request_started();
            let response = app.clone().oneshot(request);
            async move {
                let response = response.await?;
                // The guard goes with the body: the request is over when hyper has
                // written (or dropped) the body's last byte.
                Ok::<_, std::convert::Infallible>(
                    response.map(|body| Body::new(Tracked { body, _guard: guard })),
                )
            }
        })
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The phases above replace hyper's own header timer, which starts only when the
    // connection is first polled for a request and would also cut idle keep-alives.
    builder.timer(TokioTimer::new()).header_read_timeout(None);
    // A request head (request line and headers) larger than this is refused with 431 as
    // it arrives, rather than buffered (hyper's default is ~400 KB). URIs over 18 KiB get
    // 414 from the router.
    builder.max_buf_size(MAX_HEAD_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let mut deadline = phase.deadline.subscribe();
    // Shutdown was asked for: close as soon as no request is in progress.
    let mut stopping = false;
    // hyper was asked to close an idle connection; it is cut if still open by then.
    let mut close_by: Option<Instant> = None;
    loop {
        let at = match close_by {
            Some(by) if !phase.busy() => by.min(*deadline.borrow_and_update()),
            _ => *deadline.borrow_and_update(),
        };
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(at) => {
                let now = Instant::now();
                let closing_due = close_by.is_some_and(|by| by <= now) && !phase.busy();
                if *deadline.borrow() > now && !closing_due {
                    continue; // the deadline moved while we slept
                }
                if closing_due || phase.busy() || !phase.started() {
                    // Busy past its deadline, closing too slowly, or never sent a request
                    // (hyper treats a fresh connection as busy, so only a cut ends it).
                    tracing::debug!(%peer, "connection deadline passed; cutting it");
                    return;
                }
                // Idle between requests: hyper closes it at once; cut it if it does not.
                connection.as_mut().graceful_shutdown();
                close_by = Some(now + CLOSE_GRACE);
            }
            changed = deadline.changed() => {
                if changed.is_err() {
                    return;
                }
                if stopping && !phase.busy() && close_by.is_none() {
                    // The last request of a stopping connection has been answered.
                    close_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
            changed = stop.changed(), if !stopping => {
                if changed.is_ok() && !*stop.borrow() {
                    continue;
                }
                stopping = true;
                if !phase.started() {
                    return; // never sent a request: nothing to finish
                }
                // A request in flight is answered first; an idle connection closes now.
                connection.as_mut().graceful_shutdown();
                if !phase.busy() {
                    close_by = Some(Instant::now() + CLOSE_GRACE);
                }
            }
        }
    }
}

/// How long hyper gets to close a connection it was asked to close.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Where a connection is in its life, shared by the watcher and the requests.
#[derive(Clone)]
struct Phase {
    limits: ConnectionLimits,
    busy: Arc<AtomicUsize>,
    /// A request has been received on this connection.
    started: Arc<std::sync::atomic::AtomicBool>,
    deadline: Arc<watch::Sender<Instant>>,
}

impl Phase {
    fn new(limits: ConnectionLimits) -> Phase {
        let (deadline, _) = watch::channel(Instant::now() + limits.header_timeout);
        Phase {
            limits,
            busy: Arc::default(),
            started: Arc::default(),
            deadline: Arc::new(deadline),
        }
    }

    fn busy(&self) -> bool {
        self.busy.load(Ordering::SeqCst) > 0
    }

    fn started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    fn set_deadline(&self, at: Instant) {
        self.deadline.send_replace(at);
    }

    fn request_started(&self) -> RequestGuard {
        self.started.store(true, Ordering::SeqCst);
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.set_deadline(Instant::now() + self.limits.request_timeout);
        RequestGuard(self.clone())
    }
}

/// Held while a request is in progress: from complete headers until its response body
/// is dropped by hyper (written, or abandoned).
struct RequestGuard(Phase);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let phase = &self.0;
        if phase.busy.fetch_sub(1, Ordering::SeqCst) == 1 {
            phase.set_deadline(Instant::now() + phase.limits.idle_timeout);
        }
    }
}

/// A response body that carries its request's guard.
struct Tracked {
    body: Body,
    _guard: RequestGuard,
}

impl hyper::body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Open connections per client address.
#[derive(Clone)]
struct PerAddress {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerAddress {
    fn new(max: usize) -> PerAddress {
        PerAddress { max, open: Arc::default() }
    }

    fn take(&self, ip: IpAddr) -> Option<AddressSlot> {
        let key = address_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(AddressSlot { table: self.clone(), key })
    }
}

/// One open connection of an address; frees its slot when dropped.
struct AddressSlot {
    table: PerAddress,
    key: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Counts a connection in `idr_open_connections` until dropped.
struct OpenConnection;

impl OpenConnection {
    fn enter() -> OpenConnection {
        metrics::gauge!("idr_open_connections").increment(1.0);
        OpenConnection
    }
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics::gauge!("idr_open_connections").decrement(1.0);
    }
}
