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

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends one request and reads the whole response. Implementations do no retrying or
/// caching; [`crate::IdrClient`] layers that on top.
pub trait Upstream: Send + Sync + 'static {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, Error>>;
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
/// is then forgotten and the call fails with [`Error::Unusable`], which the client
/// retries; the retry goes without a cookie and so logs in afresh.
pub struct HttpUpstream {
    client: reqwest::Client,
    config: HttpConfig,
    /// `name=value` of OMERO.web's session cookie, once IDR has set one.
    session: std::sync::Mutex<Option<String>>,
    /// Held by the one OMERO.web call that goes out without a session, so that calls
    /// made at the same time wait for the session it brings back instead of each
    /// logging in on its own.
    login: tokio::sync::Mutex<()>,
}

impl HttpUpstream {
    pub fn new(config: HttpConfig) -> Result<HttpUpstream, Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("idr-graph/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Transport {
                url: config.base.to_string(),
                message: e.to_string(),
            })?;
        Ok(HttpUpstream {
            client,
            config,
            session: std::sync::Mutex::new(None),
            login: tokio::sync::Mutex::new(()),
        })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps a session cookie (`sessionid…=…`) that a response sets.
    fn remember_session(&self, headers: &reqwest::header::HeaderMap) {
        let cookie = headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .map(str::trim)
            .find(|pair| pair.starts_with("sessionid") && pair.contains('='));
        if let Some(cookie) = cookie {
            *self.session() = Some(cookie.to_owned());
        }
    }

    /// Whether an answer is OMERO.web's login wall rather than the endpoint's answer.
    fn is_login_wall(
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
        req: &Request,
    ) -> bool {
        let html = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        match status {
            300..=399 => headers
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|location| location.contains("/login")),
            // A missing image's imgData is an empty 403 on IDR, not a session problem.
            403 => html || String::from_utf8_lossy(body).contains("Not logged in"),
            200 => html && !req.path.contains("/render_thumbnail/"),
            _ => false,
        }
    }

    async fn send_http(&self, req: &Request) -> Result<Response, Error> {
        let omero_web = !req.path.starts_with("/searchengine/");
        if omero_web && self.session().is_none() {
            let login = self.login.lock().await;
            if self.session().is_none() {
                // This call logs in; the others wait for its session.
                return self.send_http_once(req).await;
            }
            // A call that held the gate brought a session back: go with it.
            drop(login);
        }
        self.send_http_once(req).await
    }

    async fn send_http_once(&self, req: &Request) -> Result<Response, Error> {
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
        let omero_web = !req.path.starts_with("/searchengine/");
        let sent_session = if omero_web { self.session().clone() } else { None };
        if let Some(cookie) = &sent_session {
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
            if HttpUpstream::is_login_wall(status, &headers, &body, req) {
                // Forget the session only if no other call has replaced it meanwhile.
                let mut session = self.session();
                if *session == sent_session {
                    *session = None;
                }
                return Err(Error::Unusable {
                    url: url_text,
                    reason: format!("OMERO.web answered with its login page (HTTP {status})"),
                });
            }
            self.remember_session(&headers);
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
        let text = serde_json::to_string_pretty(&recording)
            .map_err(|e| Error::Transport { url: req.to_string(), message: e.to_string() })?;
        let path = self.dir.join(file_name(req));
        std::fs::write(&path, text + "\n").map_err(|e| Error::Transport {
            url: req.to_string(),
            message: format!("cannot write {}: {e}", path.display()),
        })?;
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
