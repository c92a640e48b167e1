//! End-to-end tests: the real `idr` binary, started as a process on a free port, spoken to
//! over HTTP. Offline over the bundled recordings, and online against a replay server that
//! speaks IDR's API (so the same binary is proven to work for any upstream).

mod examples;
mod lsp;
mod online;
mod ql;
mod server;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// A running `idr serve`, killed on drop.
pub(crate) struct Idr {
    child: Child,
    pub(crate) base: String,
}

impl Idr {
    /// Starts `idr serve --listen 127.0.0.1:0 ARGS…` and waits for the address it prints.
    pub(crate) fn serve(args: &[&str]) -> Idr {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the idr binary starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("the server prints its address");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        let base = url.trim_end_matches("/graphql").to_owned();
        Idr { child, base }
    }

    pub(crate) fn client() -> reqwest::Client {
        reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client builds")
    }

    /// POSTs a GraphQL query and returns the HTTP status and JSON body.
    pub(crate) async fn post(&self, query: &str) -> (u16, Value) {
        let resp = Idr::client()
            .post(format!("{}/graphql", self.base))
            .json(&json!({"query": query}))
            .send()
            .await
            .expect("the server answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON body"))
    }
}

impl Drop for Idr {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
