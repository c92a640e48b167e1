//! Where requests go: live IDR over HTTP, or the recordings. Both sit behind [`Upstream`],
//! so everything above this module is the same online and offline.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::recording::{Recording, RecordingStore};
use crate::{Error, Method, Request, Response};

/// What every call to the upstream says it is, `idr-graph/<version>`, so that IDR's
/// operators can tell this server's calls and its versions apart.
pub const USER_AGENT: &str = concat!("idr-graph/", env!("CARGO_PKG_VERSION"));

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one request and reads the whole response. Implementations do no retrying or
/// caching; [`crate::IdrClient`] layers that on top.
pub trait Upstream: Send + Sync + 'static {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>>;

    /// Whether the answers are recordings (offline): what they lack is not recorded,
    /// rather than missing from IDR.
    fn recorded(&self) -> bool {
        false
    }
}

/// A shared upstream (a recorder that is read afterwards, a test double) is an upstream.
impl<U: Upstream + ?Sized> Upstream for Arc<U> {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        (**self).send(req)
    }

    fn recorded(&self) -> bool {
        (**self).recorded()
    }
}

/// Settings of the HTTP upstream.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    pub base: Url,
    pub connect_timeout: Duration,
    /// Deadline for one call, from connecting to the last body byte.
    pub timeout: Duration,
    /// Bodies larger than this are cut off with [`Error::TooLarge`].
    pub max_body_bytes: usize,
}

impl HttpConfig {
    pub fn new(base: Url) -> HttpConfig {
        HttpConfig {
            base,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            max_body_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Live IDR (or anything speaking its API) over HTTP. Redirects are never followed: IDR's
/// JSON endpoints do not redirect, so a redirect means a login page or a hostile proxy.
///
/// OMERO.web logs every cookie-less request in as IDR's public user, which creates a
/// session on IDR each time, so the upstream keeps the session cookie IDR sets (as IDR's
/// own notebooks do) and sends it back to OMERO.web (not to the search engine, which has
/// no sessions). When a session expires, OMERO.web answers with its login page: a
/// redirect to it, a 403 "Not logged in", or the page itself with status 200. The session
/// is then forgotten and the call is sent once more at once, without a cookie, which logs
/// in afresh. A login page that comes back without a session having been sent fails the
/// call with [`Error::Unusable`], which the client retries.
pub struct HttpUpstream {
    client: reqwest::Client,
    config: HttpConfig,
    session: std::sync::Mutex<Session>,
    /// Held by the one OMERO.web call that goes out without a session after a loss, so
    /// that calls made at the same time wait for the session it brings back instead of
    /// each logging in on its own. Waiters only wait for that one attempt.
    login: tokio::sync::Mutex<()>,
}

/// OMERO.web's session as the upstream holds it.
#[derive(Debug, Default)]
struct Session {
    /// `name=value` of the session cookie, once IDR has set one.
    cookie: Option<String>,
    /// Bumped whenever the session is lost, so that one login is tried per loss.
    epoch: u64,
    /// The epoch whose login attempt has come back (with a cookie or without).
    tried: Option<u64>,
}

/// One HTTP exchange: its result, and whether it found that the session it sent had
/// expired (so that one more try, without it, logs in afresh).
struct Exchange {
    result: Result<Response, Error>,
    session_expired: bool,
}

impl HttpUpstream {
    pub fn new(config: HttpConfig) -> Result<HttpUpstream, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| Error::Transport {
                url: config.base.to_string(),
                message: e.to_string(),
            })?;
        Ok(HttpUpstream {
            client,
            config,
            session: std::sync::Mutex::new(Session::default()),
            login: tokio::sync::Mutex::new(()),
        })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets the session `sent` (unless another call has replaced it meanwhile).
    fn lose_session(&self, sent: &Option<String>) {
        let mut session = self.session();
        if session.cookie == *sent {
            session.cookie = None;
            session.epoch += 1;
        }
    }

    /// Keeps the session cookie a response sets (`sessionid` or `sessionid_<env>`); a
    /// cookie set empty or expired is a logout.
    fn remember_session(&self, headers: &reqwest::header::HeaderMap, sent: &Option<String>) {
        for value in headers.get_all(reqwest::header::SET_COOKIE).iter() {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';').map(str::trim);
            let Some((name, cookie)) = parts.next().and_then(|pair| pair.split_once('=')) else {
                continue;
            };
            if name != "sessionid" && !name.starts_with("sessionid_") {
                continue;
            }
            let deleted = cookie.is_empty()
                || cookie == "\"\""
                || parts.any(|attr| attr.eq_ignore_ascii_case("max-age=0"));
            if deleted {
                self.lose_session(sent);
            } else {
                self.session().cookie = Some(format!("{name}={cookie}"));
            }
        }
    }

    /// Whether an answer is OMERO.web's login wall rather than the endpoint's answer.
    fn is_login_wall(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        req: &Request,
        sent_session: bool,
    ) -> bool {
        let html = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        let text = || String::from_utf8_lossy(body).to_ascii_lowercase();
        match status {
            300..=399 => headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|location| location.contains("/login")),
            // IDR answers a missing image's imgData or thumbnail with 403 (Django's
            // default page): only a 403 that says so is a session problem.
            403 => {
                sent_session
                    && (text().contains("not logged in") || (html && text().contains("login")))
            }
            // The page itself with status 200 (`check_complete` refuses any HTML where
            // JSON belongs; this also drops the session the page says is gone).
            200 => html && !req.path.contains("/render_thumbnail/"),
            _ => false,
        }
    }

    async fn send_http(&self, req: &Request) -> Result<Response, Error> {
        if req.path.starts_with("/searchengine/") {
            // The search engine has no sessions.
            return self.exchange(req, false).await.result;
        }
        let first = self.send_omero_web(req).await;
        if first.session_expired {
            // The session sent had expired: once more, at once, without it, which logs
            // in afresh (FAULTS F11). Not a retry of a failure: the breaker and the retry
            // budget do not see it.
            return self.send_omero_web(req).await.result;
        }
        first.result
    }

    /// An OMERO.web call; the first one after a session loss goes alone (see `login`).
    async fn send_omero_web(&self, req: &Request) -> Exchange {
        let epoch = {
            let session = self.session();
            (session.cookie.is_none() && session.tried != Some(session.epoch))
                .then_some(session.epoch)
        };
        let Some(epoch) = epoch else { return self.exchange(req, true).await };
        // Wait for a login attempt under way, at most as long as one call may take.
        let gate = tokio::time::timeout(self.config.timeout, self.login.lock()).await.ok();
        let still_first = {
            let session = self.session();
            session.epoch == epoch && session.cookie.is_none() && session.tried != Some(epoch)
        };
        if !(still_first && gate.is_some()) {
            drop(gate);
            return self.exchange(req, true).await;
        }
        let exchange = self.exchange(req, true).await;
        let mut session = self.session();
        if session.epoch == epoch {
            session.tried = Some(epoch);
        }
        drop(session);
        drop(gate);
        exchange
    }

    async fn exchange(&self, req: &Request, omero_web: bool) -> Exchange {
        let sent = if omero_web { self.session().cookie.clone() } else { None };
        let mut session_expired = false;
        let result = self.exchange_with(req, omero_web, &sent, &mut session_expired).await;
        Exchange { result, session_expired }
    }

    async fn exchange_with(
        &self,
        req: &Request,
        omero_web: bool,
        sent: &Option<String>,
        session_expired: &mut bool,
    ) -> Result<Response, Error> {
        let url = req.url(&self.config.base);
        let url_text = url.to_string();
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout { url: url_text.clone() }
            } else {
                Error::Transport { url: url_text.clone(), message: e.to_string() }
            }
        };
        let mut builder = match req.method {
            Method::Get => self.client.get(url),
            Method::Post => self
                .client
                .post(url)
                .header("content-type", "application/json")
                .body(req.body.clone().unwrap_or_default()),
        };
        if let Some(cookie) = sent {
            builder = builder.header(reqwest::header::COOKIE, cookie.as_str());
        }
        let mut resp = builder.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let content_type =
            headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let limit = self.config.max_body_bytes;
        let expected_len = resp.content_length();
        if expected_len.is_some_and(|len| len > limit as u64) {
            return Err(Error::TooLarge { url: url_text, limit });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > limit {
                return Err(Error::TooLarge { url: url_text, limit });
            }
            body.extend_from_slice(&chunk);
        }
        if expected_len.is_some_and(|len| len != body.len() as u64) {
            return Err(Error::Transport {
                url: url_text,
                message: format!(
                    "the body has {} bytes where Content-Length said {}",
                    body.len(),
                    expected_len.unwrap_or_default()
                ),
            });
        }
        if omero_web {
            if HttpUpstream::is_login_wall(status, &headers, &body, req, sent.is_some()) {
                self.lose_session(sent);
                *session_expired = sent.is_some();
                return Err(Error::Unusable {
                    url: url_text,
                    reason: format!("OMERO.web answered with its login page (HTTP {status})"),
                });
            }
            self.remember_session(&headers, sent);
        }
        Ok(Response { status, content_type, body: body.into() })
    }
}

impl Upstream for HttpUpstream {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        Box::pin(self.send_http(req))
    }
}

/// Answers from recordings only; never touches the network.
pub struct RecordedUpstream {
    store: Arc<RecordingStore>,
}

impl RecordedUpstream {
    pub fn new(store: Arc<RecordingStore>) -> RecordedUpstream {
        RecordedUpstream { store }
    }
}

impl Upstream for RecordedUpstream {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        Box::pin(async move { self.store.answer(req) })
    }

    fn recorded(&self) -> bool {
        true
    }
}

/// Forwards to another upstream and writes every exchange as a recording (`idr record`).
pub struct RecordingUpstream<U> {
    inner: U,
    dir: PathBuf,
    written: AtomicU64,
}

impl<U: Upstream> RecordingUpstream<U> {
    pub fn new(inner: U, dir: PathBuf) -> RecordingUpstream<U> {
        RecordingUpstream { inner, dir, written: AtomicU64::new(0) }
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn write(&self, req: &Request, resp: &Response) -> Result<(), Error> {
        let recording = Recording::capture(req, resp);
        let path = self.dir.join(file_name(req));
        let failed =
            |message: String| Error::Recording { path: path.display().to_string(), message };
        let text = serde_json::to_string_pretty(&recording).map_err(|e| failed(e.to_string()))?;
        std::fs::write(&path, text + "\n").map_err(|e| failed(e.to_string()))?;
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

impl<U: Upstream> Upstream for RecordingUpstream<U> {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>> {
        Box::pin(async move {
            let resp = self.inner.send(req).await?;
            self.write(req, &resp)?;
            Ok(resp)
        })
    }
}

/// A readable, filesystem-safe file name for a request, made unique by a hash suffix.
pub fn file_name(req: &Request) -> String {
    let mut slug: String = req
        .path
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    slug.truncate(80);
    // FNV-1a: stable across Rust versions, unlike the std hasher.
    let hash = req
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{slug}_{hash:016x}.json")
}
