//! End-to-end tests: the real `idr` binary, started as a process on a free port, spoken to
//! over HTTP. Offline over the bundled recordings, and online against a replay server that
//! speaks IDR's API (so the same binary is proven to work for any upstream).

mod abuse;
mod browser;
mod cdp;
mod examples;
mod faults;
mod generated;
mod inprocess;
mod lifecycle;
mod logs;
mod lsp;
mod mcp;
mod metrics;
mod online;
mod proxies;
mod ql;
mod replicas;
mod server;
mod thumbnails;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A running `idr serve`, killed on drop.
pub(crate) struct Idr {
    child: Child,
    pub(crate) base: String,
    /// `host:port`.
    pub(crate) addr: String,
    /// Where stderr goes, when captured.
    log: Option<std::path::PathBuf>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Idr {
    /// Starts `idr serve --listen 127.0.0.1:0 ARGS…` and waits for the address it prints.
    pub(crate) fn serve(args: &[&str]) -> Idr {
        Idr::start(args, "error", false)
    }

    /// Like [`Idr::serve`], with `RUST_LOG=filter` and stderr kept for [`Idr::log`].
    pub(crate) fn serve_logged(args: &[&str], filter: &str) -> Idr {
        Idr::start(args, filter, true)
    }

    fn start(args: &[&str], filter: &str, capture: bool) -> Idr {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let log = capture.then(|| {
            let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::env::temp_dir().join(format!("idr-e2e-{}-{n}.log", std::process::id()))
        });
        let stderr = match &log {
            Some(path) => Stdio::from(std::fs::File::create(path).expect("a log file")),
            None => Stdio::inherit(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", filter)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the idr binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the server prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let base = url.trim_end_matches("/graphql").to_owned();
        let addr = base.trim_start_matches("http://").to_owned();
        Idr { child, base, addr, log, stdout }
    }

    /// The next `n` lines the server prints on stdout after its address.
    pub(crate) fn stdout_lines(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let mut line = String::new();
                self.stdout.read_line(&mut line).expect("the server's stdout");
                line.trim_end().to_owned()
            })
            .collect()
    }

    pub(crate) fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client builds")
    }

    /// POSTs a GraphQL query and returns the HTTP status and JSON body, without its cost
    /// (see [`without_cost`]).
    pub(crate) async fn post(&self, query: &str) -> (u16, Value) {
        let (status, body) = self.post_body(&json!({"query": query})).await;
        (status, without_cost(body))
    }

    /// POSTs a GraphQL request body (query, variables, extensions) as it is, and returns
    /// the HTTP status and the whole JSON answer, its cost included.
    pub(crate) async fn post_body(&self, body: &Value) -> (u16, Value) {
        let resp = Idr::client()
            .post(format!("{}/graphql", self.base))
            .json(body)
            .send()
            .await
            .expect("the server answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON body"))
    }

    /// What the server wrote to stderr so far (with [`Idr::serve_logged`]).
    pub(crate) fn log(&self) -> String {
        let path = self.log.as_ref().expect("started with serve_logged");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Sends a signal (`TERM`, `INT`) to the server.
    pub(crate) fn signal(&self, name: &str) {
        // The shell's own `kill`, so no procps package is needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -{name} {}", self.child.id())])
            .status()
            .expect("sh runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the server to exit.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process is still running.
    pub(crate) fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Idr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}

/// One raw HTTP/1.1 exchange over a fresh connection, bytes exactly as given: the
/// status (0 when the server closed without answering), the head and the body.
pub(crate) fn raw(addr: &str, request: &[u8]) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // Write what the server takes; it may answer (and close) before reading it all. At most
    // 128 KiB is sent, enough for the server to decide on any request the tests make, so
    // that a refusal is read before the server's close resets the connection.
    let _ = stream.write_all(&request[..request.len().min(128 * 1024)]);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split =
        response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head, response[split..].to_vec())
}

/// A request with `Connection: close` for [`raw`].
pub(crate) fn request(method: &str, target: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {target} HTTP/1.1\r\nHost: idr\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A GraphQL answer without `extensions.cost`, which depends on what the server's cache
/// held already; the tests of the cost read it from the body itself.
pub(crate) fn without_cost(mut json: Value) -> Value {
    if let Some(extensions) = json.get_mut("extensions").and_then(|e| e.as_object_mut()) {
        extensions.remove("cost");
        if extensions.is_empty() {
            json.as_object_mut().map(|o| o.remove("extensions"));
        }
    }
    json
}
