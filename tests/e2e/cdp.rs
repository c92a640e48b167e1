//! A small Chrome DevTools Protocol client, so that the browser tests can drive a real
//! page: click, type, wait for what GraphiQL or the viewer renders, list every request the
//! page made, collect its console errors, and take a screenshot. Chromium is started
//! headless with every host but 127.0.0.1 unresolvable, and spoken to over the WebSocket
//! it prints (`--remote-debugging-port=0`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt as _;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

type Waiters = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// A headless Chromium, killed (and its profile removed) on drop.
pub(crate) struct Browser {
    _child: tokio::process::Child,
    profile: PathBuf,
    send: mpsc::UnboundedSender<Message>,
    waiters: Waiters,
    events: Arc<Mutex<Vec<Value>>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// One tab, attached in flat mode: its commands and events carry its session id.
pub(crate) struct Page<'b> {
    browser: &'b Browser,
    session: String,
}

impl Browser {
    /// Starts Chromium, or `None` when it is not installed (which `chromium()` allows only
    /// outside CI).
    pub(crate) async fn launch() -> Option<Browser> {
        let path = crate::browser::chromium()?;
        let profile = crate::browser::tempfile_dir();
        let mut child = tokio::process::Command::new(path)
            .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"])
            .args(["--no-default-browser-check", "--disable-extensions", "--mute-audio"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
            .arg("--remote-debugging-port=0")
            .arg("about:blank")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("Chromium starts");
        let stderr = child.stderr.take().expect("Chromium's stderr");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let find = async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("ws://") {
                    return Some(line[at..].trim().to_owned());
                }
            }
            None
        };
        let ws_url = tokio::time::timeout(Duration::from_secs(60), find)
            .await
            .expect("Chromium prints its DevTools address within 60 s")
            .expect("Chromium prints its DevTools address");
        // Keep draining stderr, or Chromium blocks once the pipe is full.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let (socket, _) =
            tokio_tungstenite::connect_async(ws_url.as_str()).await.expect("the DevTools socket");
        let (mut sink, mut stream) = socket.split();
        let (send, mut outgoing) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let waiters: Waiters = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (w, e) = (waiters.clone(), events.clone());
        tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let Message::Text(text) = message else { continue };
                let Ok(value) = serde_json::from_str::<Value>(&text) else { continue };
                match value.get("id").and_then(Value::as_u64) {
                    Some(id) => {
                        if let Some(waiter) = w.lock().unwrap().remove(&id) {
                            let _ = waiter.send(value);
                        }
                    }
                    None => e.lock().unwrap().push(value),
                }
            }
        });
        Some(Browser {
            _child: child,
            profile,
            send,
            waiters,
            events,
            next_id: std::sync::atomic::AtomicU64::new(1),
        })
    }

    /// Sends a command (to a page when `session` is given) and returns its `result`.
    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.waiters.lock().unwrap().insert(id, tx);
        self.send.send(Message::Text(message.to_string().into())).expect("the socket is open");
        let answer = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .unwrap_or_else(|_| panic!("Chromium answers {method} within 60 s"))
            .expect("Chromium answers");
        if let Some(error) = answer.get("error") {
            panic!("{method}: {error}");
        }
        answer["result"].clone()
    }

    /// A new tab of `width` × `height` CSS pixels, opened at `url`, once it has loaded.
    pub(crate) async fn open(&self, url: &str, width: u32, height: u32) -> Page<'_> {
        let target = self.call(None, "Target.createTarget", json!({"url": "about:blank"})).await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        let session = attached["sessionId"].as_str().expect("a session id").to_owned();
        let page = Page { browser: self, session };
        for domain in ["Page", "Runtime", "Log", "Network"] {
            page.call(&format!("{domain}.enable"), json!({})).await;
        }
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}),
        )
        .await;
        page.navigate(url).await;
        page
    }
}

impl Page<'_> {
    async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// This page's events named `method`, oldest first.
    fn events(&self, method: &str) -> Vec<Value> {
        let events = self.browser.events.lock().unwrap();
        events
            .iter()
            .filter(|e| e["sessionId"] == self.session.as_str() && e["method"] == method)
            .map(|e| e["params"].clone())
            .collect()
    }

    /// Goes to `url` and waits for its `load` event.
    pub(crate) async fn navigate(&self, url: &str) {
        let before = self.events("Page.loadEventFired").len();
        let navigated = self.call("Page.navigate", json!({"url": url})).await;
        assert!(navigated.get("errorText").is_none(), "{url}: {navigated}");
        let loaded = async {
            while self.events("Page.loadEventFired").len() == before {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), loaded)
            .await
            .unwrap_or_else(|_| panic!("{url} loads within 60 s"));
    }

    /// Runs `expression` in the page (awaiting it if it is a promise) and returns its value.
    pub(crate) async fn eval(&self, expression: &str) -> Value {
        let result = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        if let Some(details) = result.get("exceptionDetails") {
            panic!("{expression}\nthrew: {details}\npage errors: {:?}", self.errors());
        }
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is truthy, and returns that value. Past `within`,
    /// fails with the last value and the page's errors.
    pub(crate) async fn wait_for(&self, expression: &str, within: Duration) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let value = self.eval(expression).await;
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "waited {within:?} for `{expression}` (last: {value}); page errors: {:?}",
                    self.errors()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The URLs the page opened in new windows (a `target=_blank` link, `window.open`).
    pub(crate) fn opened_windows(&self) -> Vec<String> {
        self.events("Page.windowOpen")
            .iter()
            .filter_map(|e| e["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// Every URL the page requested (scripts, styles, images, fetches), in order.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.events("Network.requestWillBeSent")
            .iter()
            .filter_map(|e| e["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }

    /// What the page reported as errors: uncaught exceptions, `console.error`, and the
    /// browser's own error log (a CSP violation, a failed load).
    pub(crate) fn errors(&self) -> Vec<String> {
        let mut errors: Vec<String> = self
            .events("Runtime.exceptionThrown")
            .iter()
            .map(|e| e["exceptionDetails"].to_string())
            .collect();
        errors.extend(
            self.events("Runtime.consoleAPICalled")
                .iter()
                .filter(|e| e["type"] == "error")
                .map(|e| e["args"].to_string()),
        );
        errors.extend(
            self.events("Log.entryAdded")
                .iter()
                .filter(|e| e["entry"]["level"] == "error")
                .map(|e| e["entry"].to_string()),
        );
        // A page's error can quote a whole data: URI; a few hundred characters tell.
        errors.into_iter().map(|e| e.chars().take(400).collect()).collect()
    }
}

impl Page<'_> {
    /// Clicks the middle of the first element matching `selector` with the mouse, as a
    /// user would (the element must be visible and not covered).
    pub(crate) async fn click(&self, selector: &str) {
        let (x, y) = self.center(selector).await;
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1}),
            )
            .await;
        }
    }

    /// Types `text` into whatever has the focus, as one input (like a paste).
    pub(crate) async fn insert_text(&self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }
}

impl Page<'_> {
    /// Writes a PNG of the viewport to `path`.
    pub(crate) async fn screenshot(&self, path: &Path) {
        use base64::Engine as _;
        // A tab that opened another is in the background, and a background tab is never
        // painted.
        self.call("Page.bringToFront", json!({})).await;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"})).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("image data"))
            .expect("base64");
        std::fs::write(path, png).expect("the screenshot is written");
    }

    /// Moves the mouse over the middle of the first element matching `selector`.
    pub(crate) async fn hover(&self, selector: &str) {
        let at = self.center(selector).await;
        self.call("Input.dispatchMouseEvent", json!({"type": "mouseMoved", "x": at.0, "y": at.1}))
            .await;
    }

    async fn center(&self, selector: &str) -> (f64, f64) {
        let js = format!(
            "(() => {{ const e = document.querySelector({sel}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); \
             return [r.x + r.width / 2, r.y + r.height / 2]; }})()",
            sel = json!(selector)
        );
        let at = self.wait_for(&js, Duration::from_secs(30)).await;
        (at[0].as_f64().unwrap_or(0.0), at[1].as_f64().unwrap_or(0.0))
    }
}
