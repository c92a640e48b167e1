//! The language server, started as `idr lsp` and spoken to over its real stdin/stdout.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

struct Lsp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: i64,
}

impl Lsp {
    fn start() -> Lsp {
        Lsp::start_with(&[])
    }

    /// `idr lsp ARGS…`.
    fn start_with(args: &[&str]) -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .arg("lsp")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("idr lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Lsp { child, stdin, stdout, next_id: 1 }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stdout.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.stdout.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    /// Sends a request and returns its response, skipping notifications on the way.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.receive();
            if message["id"] == id {
                return message;
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next `publishDiagnostics` notification.
    fn diagnostics(&mut self) -> Value {
        loop {
            let message = self.receive();
            if message["method"] == "textDocument/publishDiagnostics" {
                return message["params"].clone();
            }
        }
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn diagnostics_completion_hover_and_formatting_over_stdio() {
    let mut lsp = Lsp::start();
    let init =
        lsp.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    assert_eq!(init["result"]["capabilities"]["hoverProvider"], true, "{init}");
    lsp.notify("initialized", json!({}));

    // An emoji is 4 bytes in UTF-8, 1 char, and 2 code units in UTF-16: the error at the
    // end of the line must be at UTF-16 column 44 (not byte 46, nor char 43).
    let uri = "file:///tmp/example.idrql";
    let text = "# 🧬 genes\nimages where name = \"🧬\" and \"Gene Symbol\" =\n";
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "idrql", "version": 1, "text": text}}),
    );
    let published = lsp.diagnostics();
    assert_eq!(published["uri"], uri);
    let diagnostic = &published["diagnostics"][0];
    assert_eq!(diagnostic["code"], "expected-value", "{published}");
    assert_eq!(diagnostic["severity"], 1);
    assert_eq!(diagnostic["range"]["start"], json!({"line": 1, "character": 44}), "{diagnostic}");

    // Completion after `where "Gene ` offers the key, completing the string.
    let text = "images where \"Gene ";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}),
    );
    let _ = lsp.diagnostics();
    let completion = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 19}}),
    );
    let items = completion["result"]["items"].as_array().unwrap();
    let gene = items
        .iter()
        .find(|i| i["label"] == "Gene Symbol")
        .unwrap_or_else(|| panic!("no Gene Symbol in {completion}"));
    assert_eq!(gene["textEdit"]["newText"], "\"Gene Symbol\"");
    assert_eq!(gene["textEdit"]["range"]["start"], json!({"line": 0, "character": 13}));

    // Hover on a key says what it is.
    let text = "images where \"Gene Symbol\" = ade8";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": text}]}),
    );
    let clean = lsp.diagnostics();
    assert_eq!(clean["diagnostics"], json!([]));
    let hover = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 16}}),
    );
    assert!(
        hover["result"]["contents"]["value"].as_str().unwrap().contains("Gene Symbol"),
        "{hover}"
    );

    // Formatting returns the canonical text.
    let text = "IMAGES   where \"Gene Symbol\"=ade8   show name";
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": text}]}),
    );
    let _ = lsp.diagnostics();
    let edits = lsp.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let new_text = edits["result"][0]["newText"].as_str().unwrap();
    assert_eq!(new_text, idr_ql::format(text).unwrap());

    let shutdown = lsp.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    lsp.notify("exit", Value::Null);
    assert!(lsp.child.wait().unwrap().success());
}

#[test]
fn deeply_nested_documents_get_a_diagnostic_and_the_server_lives_on() {
    let mut lsp = Lsp::start();
    lsp.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    lsp.notify("initialized", json!({}));
    let uri = "file:///tmp/deep.idrql";
    // Deep parentheses, deep `not`s, and a text far over the size cap.
    let texts = [
        format!("images where {}a = b{}", "(".repeat(3_000), ")".repeat(3_000)),
        format!("images where {}a = b", "not ".repeat(2_000)),
        format!("images where {}", "(".repeat(200_000)),
    ];
    for (version, text) in texts.iter().enumerate() {
        lsp.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "idrql", "version": version, "text": text}}),
        );
        let published = lsp.diagnostics();
        let codes: Vec<&str> = published["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        assert!(codes.contains(&"too-deep") || codes.contains(&"too-long"), "{codes:?}");
        // Completion and hover on the deep text still answer.
        let completion = lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 20}}),
        );
        assert!(completion.get("result").is_some(), "{completion}");
        let hover = lsp.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 20}}),
        );
        assert!(hover.get("result").is_some() || hover.get("error").is_some(), "{hover}");
    }
    let shutdown = lsp.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null);
    lsp.notify("exit", Value::Null);
    assert!(lsp.child.wait().unwrap().success());
}

/// Opens `text` as `uri` in a started and initialized server; returns the capabilities.
fn open(lsp: &mut Lsp, uri: &str, text: &str) -> Value {
    let init =
        lsp.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    lsp.notify("initialized", json!({}));
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "idrql", "version": 1, "text": text}}),
    );
    lsp.diagnostics();
    init["result"]["capabilities"].clone()
}

/// `text` with LSP text edits made (ranges on one line, UTF-16 = bytes here: ASCII).
fn edited(text: &str, edits: &[Value]) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        lines[..line].iter().map(|l| l.len() + 1).sum::<usize>()
            + p["character"].as_u64().unwrap() as usize
    };
    let mut edits: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    edits.sort_by_key(|(start, ..)| std::cmp::Reverse(*start));
    let mut out = text.to_owned();
    for (start, end, new) in edits {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn quick_fixes_for_typos_a_missing_where_and_quotes_over_stdio() {
    let mut lsp = Lsp::start();
    let uri = "file:///tmp/fixes.idrql";
    let text = "imagse where \"Gene Symbol\" = ade8\nimages \"Gene Symbol\" = ade8\nimages where \"Gene Symbl\" = ade8\nimages where \"Gene Symbol\" = ade8 cdc20\n";
    let capabilities = open(&mut lsp, uri, text);
    assert_eq!(capabilities["codeActionProvider"]["codeActionKinds"], json!(["quickfix"]));
    let expected = [
        (0, "Replace with `images`", "images where \"Gene Symbol\" = ade8"),
        (1, "Add `where`", "images where \"Gene Symbol\" = ade8"),
        (2, "Replace with \"Gene Symbol\"", "images where \"Gene Symbol\" = ade8"),
        (3, "Quote as \"ade8 cdc20\"", "images where \"Gene Symbol\" = \"ade8 cdc20\""),
    ];
    for (line, title, fixed) in expected {
        let range = json!({"start": {"line": line, "character": 0}, "end": {"line": line, "character": 40}});
        let answer = lsp.request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
        );
        let actions = answer["result"].as_array().unwrap_or_else(|| panic!("{answer}"));
        let action = actions
            .iter()
            .find(|a| a["title"] == title)
            .unwrap_or_else(|| panic!("no {title:?} in {answer}"));
        assert_eq!(action["kind"], "quickfix");
        assert!(action["diagnostics"][0]["code"].is_string(), "{action}");
        let change = &action["edit"]["documentChanges"][0];
        assert_eq!(change["textDocument"], json!({"uri": uri, "version": 1}), "{action}");
        let edits = change["edits"].as_array().unwrap();
        let after = edited(text, edits);
        assert_eq!(after.lines().nth(line).unwrap(), fixed, "{title}");
    }
    // A clean line offers nothing.
    let range = json!({"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}});
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": "screens\n"}]}),
    );
    lsp.diagnostics();
    let none = lsp.request(
        "textDocument/codeAction",
        json!({"textDocument": {"uri": uri}, "range": range, "context": {"diagnostics": []}}),
    );
    assert_eq!(none["result"], json!([]));
}

#[test]
fn semantic_tokens_and_document_symbols_over_stdio() {
    let mut lsp = Lsp::start();
    let uri = "file:///tmp/tokens.idrql";
    let text = "# genes\nimages where \"Gene Symbol\" = ade8 limit 5\nplates in screen 102\n";
    let capabilities = open(&mut lsp, uri, text);
    let legend: Vec<String> = serde_json::from_value(
        capabilities["semanticTokensProvider"]["legend"]["tokenTypes"].clone(),
    )
    .unwrap();
    let answer =
        lsp.request("textDocument/semanticTokens/full", json!({"textDocument": {"uri": uri}}));
    let data: Vec<u64> = serde_json::from_value(answer["result"]["data"].clone()).unwrap();
    assert_eq!(data.len() % 5, 0);
    // Decode the relative encoding back into (line, start, length, type).
    let (mut line, mut start) = (0u64, 0u64);
    let mut decoded = Vec::new();
    for chunk in data.chunks(5) {
        if chunk[0] > 0 {
            line += chunk[0];
            start = chunk[1];
        } else {
            start += chunk[1];
        }
        let text_line = text.lines().nth(line as usize).unwrap();
        let token = &text_line[start as usize..(start + chunk[2]) as usize];
        decoded.push(format!("{token}:{}", legend[chunk[3] as usize]));
    }
    assert_eq!(
        decoded.join(" "),
        "# genes:comment images:type where:keyword \"Gene Symbol\":property =:operator ade8:string limit:keyword 5:number plates:type in:keyword screen:keyword 102:number"
    );

    let symbols = lsp.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri}}));
    let symbols = symbols["result"].as_array().unwrap();
    let names: Vec<&str> = symbols.iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["images where \"Gene Symbol\" = ade8 limit 5", "plates in screen 102"]);
    assert_eq!(symbols[1]["range"]["start"], json!({"line": 2, "character": 0}));
    assert_eq!(symbols[0]["detail"], "images");
}

#[test]
fn with_an_upstream_completion_offers_the_live_keys_and_values_with_counts() {
    use idr_test_support::{Faults, ReplayServer, Settings, Size, World};
    let world = std::sync::Arc::new(World::generate(3, Size::small(), Settings::default()));
    let replay = ReplayServer::start(world, Faults::default());
    let engine = format!("{}/searchengine/api/v1/resources/image", replay.url());
    // What the live search engine says, asked directly.
    let get = |url: String| -> Value {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let response = crate::Idr::client().get(&url).send().await.expect("the engine answers");
            response.json().await.unwrap_or_else(|e| panic!("{url}: {e}"))
        })
    };
    let live: Value = get(format!("{engine}/searchvaluesusingkey/?key=Gene%20Symbol"));
    let buckets = live["data"].as_array().unwrap_or_else(|| panic!("{live}"));
    assert!(!buckets.is_empty());
    let bundled = idr_ql::Catalog::bundled();
    let fresh = buckets
        .iter()
        .find(|b| {
            bundled
                .values("Gene Symbol")
                .iter()
                .all(|v| !v.value.eq_ignore_ascii_case(b["Value"].as_str().unwrap()))
        })
        .expect("a value the bundled catalog does not have");
    let value = fresh["Value"].as_str().unwrap().to_owned();
    let count = fresh["Number of images"].as_u64().unwrap();

    let mut lsp = Lsp::start_with(&["--upstream", &replay.url()]);
    let uri = "file:///tmp/live.idrql";
    let text = "images where \"Gene Symbol\" = ";
    open(&mut lsp, uri, text);
    let answer = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": text.len()}}),
    );
    let items = answer["result"]["items"].as_array().unwrap_or_else(|| panic!("{answer}"));
    let item = items
        .iter()
        .find(|i| {
            i["label"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(value.trim()))
                || i["label"] == value.as_str()
        })
        .unwrap_or_else(|| panic!("{value:?} not offered: {answer}"));
    assert_eq!(item["detail"], format!("{count} images"), "{item}");

    // Without --upstream, the bundled catalog alone, and no call.
    let calls = replay.calls();
    let mut offline = Lsp::start();
    open(&mut offline, uri, text);
    let answer = offline.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": text.len()}}),
    );
    let labels: Vec<&str> = answer["result"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["label"].as_str())
        .collect();
    assert!(!labels.iter().any(|l| l.eq_ignore_ascii_case(value.trim())), "{labels:?}");
    assert_eq!(replay.calls(), calls);
}

/// Neovim (Debian's, 0.7 or newer) with `editors/nvim` on its runtime path, headless:
/// opening a file with an error shows the diagnostic, completion after `where "Gene `
/// offers `Gene Symbol`, and formatting applies (`editors/nvim/test/lsp_test.lua`); before
/// that, `editors/nvim/test/syntax_test.lua` checks the highlight group of every token of
/// lookups, catalog queries and listings (`run.sh` runs both).
#[test]
fn neovim_gets_diagnostics_completion_and_formatting_from_idr_lsp() {
    let has_nvim = Command::new("nvim").arg("--version").output().is_ok_and(|o| o.status.success());
    if !has_nvim {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs Neovim (.ci/run installs Debian's neovim)"
        );
        eprintln!("skipped: no nvim (apt-get install neovim)");
        return;
    }
    let script = crate::repo_root().join("editors/nvim/test/run.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(env!("CARGO_BIN_EXE_idr"))
        .stdin(Stdio::null())
        .output()
        .expect("the Neovim test runs");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "Neovim test failed:\n{stdout}\n{stderr}");
    assert!(
        format!("{stdout}{stderr}").contains("ok: diagnostics, completion, formatting"),
        "{stdout}\n{stderr}"
    );
}

/// A search engine that knows one key no bundled catalog has.
struct NewKeyEngine;

const NEW_KEY: &str = "Organelle Marker";

impl idr_test_support::Answer for NewKeyEngine {
    fn answer(&self, req: &idr_client::Request) -> Result<idr_client::Response, idr_client::Error> {
        let body = if req.path.ends_with("/image/keys/") {
            json!([{"data_source": "idr", "image": ["Gene Symbol", NEW_KEY]}])
        } else if req.path.ends_with("/image/searchvaluesusingkey/") {
            json!({"data": [{"Key": NEW_KEY, "Value": "golgi", "Number of images": 7, "data_source": "idr"}],
                   "total_number_of_buckets": 1, "total_number_of_image": 7})
        } else {
            return Ok(idr_client::Response::json(404, "{}"));
        };
        Ok(idr_client::Response::json(200, body.to_string()))
    }
}

#[test]
fn keys_learned_from_the_upstream_clear_their_unknown_key_warnings() {
    use idr_test_support::{Faults, ReplayServer};
    assert!(idr_ql::Catalog::bundled().key(NEW_KEY).is_none());
    let replay = ReplayServer::start(NewKeyEngine, Faults::default());
    let mut lsp = Lsp::start_with(&["--upstream", &replay.url()]);
    lsp.request("initialize", json!({"processId": null, "rootUri": null, "capabilities": {}}));
    lsp.notify("initialized", json!({}));
    let uri = "file:///tmp/learn.idrql";
    let text = format!("images where \"{NEW_KEY}\" = golgi\n");
    lsp.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "idrql", "version": 1, "text": text}}),
    );
    // The first diagnostics may come before the keys; once they have come, the key is
    // known and its warning gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut version = 1;
    loop {
        let published = lsp.diagnostics();
        let codes: Vec<&str> = published["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d["code"].as_str())
            .collect();
        if !codes.contains(&"unknown-key") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{NEW_KEY} stayed unknown: {published}");
        std::thread::sleep(std::time::Duration::from_millis(100));
        // The same text again: the server publishes its diagnostics for it anew.
        version += 1;
        lsp.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }
    // And its value completes with its count.
    let text = format!("images where \"{NEW_KEY}\" = ");
    lsp.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": version + 1}, "contentChanges": [{"text": text}]}),
    );
    let answer = lsp.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": text.len()}}),
    );
    let items = answer["result"]["items"].as_array().unwrap();
    let golgi = items.iter().find(|i| i["label"] == "golgi").unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(golgi["detail"], "7 images");
}
