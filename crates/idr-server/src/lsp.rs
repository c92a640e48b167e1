//! `idr lsp`: the IDR-QL language server on stdio. It adapts `idr-ql`'s plain-data editor
//! features (byte offsets) to the Language Server Protocol (UTF-16 line/character
//! positions): diagnostics on open and change, completion, hover, formatting, quick fixes
//! (code actions), semantic tokens and document symbols (one per query).

use std::collections::HashMap;

use idr_ql::{Catalog, CompletionKind, Diagnostic, Severity, TokenClass};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use serde_json::{json, Value};

/// Keys and values learned from a live search engine (`idr lsp --upstream`), fetched
/// lazily in the background and cached for the session: the keys when the client
/// initializes, a key's values (with their image counts) when a query first names it.
/// Until they arrive, and if IDR cannot be reached, the bundled catalog answers alone.
pub struct Live {
    runtime: tokio::runtime::Runtime,
    client: idr_client::IdrClient,
    learned: std::sync::Arc<std::sync::Mutex<Learned>>,
}

#[derive(Default)]
struct Learned {
    keys: Vec<String>,
    /// By key, lower-cased.
    values: HashMap<String, Vec<idr_ql::ValueInfo>>,
    /// Keys whose values were asked for (arrived or not), lower-cased.
    asked: std::collections::HashSet<String>,
    /// Bumped on every arrival, so the catalog is rebuilt only when something came.
    version: u64,
}

/// How long a completion waits for the values of the key it completes, the first time.
const FIRST_VALUES_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

impl Live {
    pub fn new(client: idr_client::IdrClient) -> anyhow::Result<Live> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
        Ok(Live { runtime, client, learned: std::sync::Arc::default() })
    }

    fn learn_keys(&self) {
        let (client, learned) = (self.client.clone(), self.learned.clone());
        self.runtime.spawn(async move {
            match client.search_keys(idr_client::model::SearchResource::Image).await {
                Ok(keys) => {
                    let mut learned = learned.lock().unwrap_or_else(|e| e.into_inner());
                    learned.keys = keys.to_vec();
                    learned.version += 1;
                }
                Err(error) => tracing::warn!(%error, "cannot learn the search engine's keys"),
            }
        });
    }

    /// Asks for the values of `key` in the background, unless asked before; the task,
    /// when this call started it.
    fn ask_values(&self, key: &str) -> Option<tokio::task::JoinHandle<()>> {
        let lower = key.to_lowercase();
        {
            let mut learned = self.learned.lock().unwrap_or_else(|e| e.into_inner());
            if !learned.asked.insert(lower.clone()) {
                return None;
            }
        }
        let (client, learned, key) = (self.client.clone(), self.learned.clone(), key.to_owned());
        Some(self.runtime.spawn(async move {
            match client.search_values(idr_client::model::SearchResource::Image, &key).await {
                Ok(values) => {
                    let infos = values
                        .iter()
                        .map(|v| idr_ql::ValueInfo {
                            value: v.value.clone(),
                            images: Some(v.count),
                        })
                        .collect();
                    let mut learned = learned.lock().unwrap_or_else(|e| e.into_inner());
                    learned.values.insert(lower, infos);
                    learned.version += 1;
                }
                Err(error) => {
                    tracing::warn!(%error, key, "cannot learn the values of a key");
                    // Asked again the next time it is needed.
                    learned.lock().unwrap_or_else(|e| e.into_inner()).asked.remove(&lower);
                }
            }
        }))
    }

    /// Waits up to `wait` for `task`.
    fn wait_for(&self, task: tokio::task::JoinHandle<()>, wait: std::time::Duration) {
        let _ = self.runtime.block_on(async { tokio::time::timeout(wait, task).await });
    }
}

/// Runs the server until the client says `exit`, with live keys and values when given.
pub fn run_live(catalog: Catalog, live: Option<Live>) -> anyhow::Result<()> {
    serve(catalog, live)
}

/// Runs the server until the client says `exit`.
pub fn run(catalog: Catalog) -> anyhow::Result<()> {
    serve(catalog, None)
}

fn serve(catalog: Catalog, live: Option<Live>) -> anyhow::Result<()> {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = json!({
        "textDocumentSync": 1,
        "completionProvider": {"triggerCharacters": ["\"", " ", "(", ","]},
        "hoverProvider": true,
        "documentFormattingProvider": true,
        "codeActionProvider": {"codeActionKinds": ["quickfix"]},
        "documentSymbolProvider": true,
        "semanticTokensProvider": {
            "legend": {"tokenTypes": TOKEN_TYPES, "tokenModifiers": []},
            "full": true,
        },
        "positionEncoding": "utf-16",
    });
    connection.initialize(capabilities)?;
    if let Some(live) = &live {
        live.learn_keys();
    }
    let mut server = Server {
        documents: HashMap::new(),
        versions: HashMap::new(),
        bundled: catalog.clone(),
        catalog,
        live,
        version: 0,
    };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
                server.refresh(&request);
                let response = server.request(request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                for out in server.notification(notification) {
                    connection.sender.send(Message::Notification(out))?;
                }
            }
            Message::Response(_) => {}
        }
        // Keys or values learned since: what was flagged unknown may be known now.
        if server.rebuild() {
            for out in server.republish() {
                connection.sender.send(Message::Notification(out))?;
            }
        }
    }
    drop(connection);
    io_threads.join()?;
    Ok(())
}

struct Server {
    /// Open documents by URI.
    documents: HashMap<String, String>,
    /// Their versions, as the client numbers them, for edits that must apply to the text
    /// they were computed from.
    versions: HashMap<String, i64>,
    /// The catalog requests are answered with: the bundled one, with what `live` learned.
    catalog: Catalog,
    bundled: Catalog,
    live: Option<Live>,
    /// The `Learned::version` `catalog` was built from.
    version: u64,
}

impl Server {
    /// Before a completion or hover: asks the live search engine for the values of the
    /// keys its document names (the one being completed waited for, the first time), and
    /// rebuilds the catalog when anything new has arrived.
    fn refresh(&mut self, request: &Request) {
        let Some(live) = &self.live else { return };
        if matches!(request.method.as_str(), "textDocument/completion" | "textDocument/hover") {
            if let Ok((text, offset)) = self.document_at(&request.params) {
                // Every key the document names that the catalog knows (bundled or
                // learned; not every prefix of one being typed) is asked for at once. Only
                // a completion waits, and only for the last such key the cursor is past.
                let mut current = None;
                for (span, class) in idr_ql::classify(text) {
                    let key = span.text(text).trim_matches('"');
                    let known = self.catalog.key(key).is_some();
                    if class != TokenClass::Key || !known || key.eq_ignore_ascii_case("name") {
                        continue;
                    }
                    let task = live.ask_values(key);
                    if span.end < offset {
                        current = task;
                    }
                }
                let completing = request.method == "textDocument/completion";
                if let (Some(task), true) = (current, completing) {
                    live.wait_for(task, FIRST_VALUES_WAIT);
                }
            }
        }
        self.rebuild();
    }

    /// Rebuilds the catalog if the live search engine taught anything since; whether it did.
    fn rebuild(&mut self) -> bool {
        let Some(live) = &self.live else { return false };
        let learned = live.learned.lock().unwrap_or_else(|e| e.into_inner());
        if learned.version == self.version {
            return false;
        }
        let keys =
            self.bundled.keys().cloned().chain(learned.keys.iter().map(|name| idr_ql::KeyInfo {
                name: name.clone(),
                namespace: None,
                images: None,
            }));
        // Live values replace the bundled ones of their key (they are the whole list).
        let mut values: HashMap<String, (String, Vec<idr_ql::ValueInfo>)> = self
            .bundled
            .keys()
            .map(|k| {
                (k.name.to_lowercase(), (k.name.clone(), self.bundled.values(&k.name).to_vec()))
            })
            .collect();
        for (key, live_values) in &learned.values {
            let name = values.get(key).map_or_else(|| key.clone(), |(name, _)| name.clone());
            values.insert(key.clone(), (name, live_values.clone()));
        }
        self.catalog = Catalog::from_parts(keys, values.into_values());
        self.version = learned.version;
        true
    }

    /// The diagnostics of every open document, again.
    fn republish(&self) -> Vec<Notification> {
        self.documents.keys().map(|uri| self.diagnose(uri)).collect()
    }

    fn diagnose(&self, uri: &str) -> Notification {
        let text = self.documents.get(uri).map(String::as_str).unwrap_or_default();
        let analysis = idr_ql::analyze(text, &self.catalog);
        let index = LineIndex::new(text);
        publish(uri, analysis.diagnostics().map(|d| diagnostic(&index, d)).collect())
    }
}

impl Server {
    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            "textDocument/completion" => self.completion(&request.params),
            "textDocument/hover" => self.hover(&request.params),
            "textDocument/formatting" => self.formatting(&request.params),
            "textDocument/codeAction" => self.code_actions(&request.params),
            "textDocument/semanticTokens/full" => self.semantic_tokens(&request.params),
            "textDocument/documentSymbol" => self.symbols(&request.params),
            other => {
                return Response::new_err(
                    id,
                    ErrorCode::MethodNotFound as i32,
                    format!("unknown method {other}"),
                )
            }
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err(error) => Response::new_err(id, error.code() as i32, error.to_string()),
        }
    }

    fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        let params = &notification.params;
        let uri = params["textDocument"]["uri"].as_str().unwrap_or_default().to_owned();
        if let Some(version) = params["textDocument"]["version"].as_i64() {
            self.versions.insert(uri.clone(), version);
        }
        match notification.method.as_str() {
            "textDocument/didOpen" => {
                let text = params["textDocument"]["text"].as_str().unwrap_or_default().to_owned();
                self.documents.insert(uri.clone(), text);
            }
            "textDocument/didChange" => {
                // Full sync: the last change holds the whole text.
                if let Some(text) = params["contentChanges"]
                    .as_array()
                    .and_then(|c| c.last())
                    .and_then(|c| c["text"].as_str())
                {
                    self.documents.insert(uri.clone(), text.to_owned());
                }
            }
            "textDocument/didClose" => {
                self.documents.remove(&uri);
                self.versions.remove(&uri);
                return vec![publish(&uri, Vec::new())];
            }
            _ => return Vec::new(),
        }
        self.rebuild();
        vec![self.diagnose(&uri)]
    }

    /// The document and the byte offset of the request's position.
    fn document_at(&self, params: &Value) -> Result<(&str, usize), RequestError> {
        let text = self.document(params)?;
        let line =
            params["position"]["line"].as_u64().ok_or(RequestError::Missing("position.line"))?;
        let character = params["position"]["character"]
            .as_u64()
            .ok_or(RequestError::Missing("position.character"))?;
        Ok((text, LineIndex::new(text).offset(line as usize, character as usize)))
    }

    /// The open document a request names.
    fn document(&self, params: &Value) -> Result<&str, RequestError> {
        let uri = params["textDocument"]["uri"]
            .as_str()
            .ok_or(RequestError::Missing("textDocument.uri"))?;
        self.documents
            .get(uri)
            .map(String::as_str)
            .ok_or_else(|| RequestError::NotOpen(uri.to_owned()))
    }

    fn completion(&self, params: &Value) -> Result<Value, RequestError> {
        let (text, offset) = self.document_at(params)?;
        let index = LineIndex::new(text);
        let items: Vec<Value> = idr_ql::complete(text, offset, &self.catalog)
            .into_iter()
            .map(|item| {
                json!({
                    "label": item.label,
                    "kind": completion_kind(item.kind),
                    "detail": item.detail,
                    "filterText": item.insert_text,
                    "textEdit": {"range": index.range(item.replace.start, item.replace.end), "newText": item.insert_text},
                })
            })
            .collect();
        Ok(json!({"isIncomplete": false, "items": items}))
    }

    fn hover(&self, params: &Value) -> Result<Value, RequestError> {
        let (text, offset) = self.document_at(params)?;
        let index = LineIndex::new(text);
        Ok(match idr_ql::hover(text, offset, &self.catalog) {
            Some(hover) => json!({
                "contents": {"kind": "markdown", "value": hover.markdown},
                "range": index.range(hover.span.start, hover.span.end),
            }),
            None => Value::Null,
        })
    }

    fn formatting(&self, params: &Value) -> Result<Value, RequestError> {
        let text = self.document(params)?;
        // A document with syntax errors is left alone (no edits), as rustfmt does.
        Ok(match idr_ql::format(text) {
            Some(formatted) if formatted != *text => {
                let index = LineIndex::new(text);
                json!([{"range": index.range(0, text.len()), "newText": formatted}])
            }
            _ => json!([]),
        })
    }
}

impl Server {
    /// The quick fixes of the diagnostics that touch the requested range, computed from
    /// the document as it is now (not from what the client sends back).
    fn code_actions(&self, params: &Value) -> Result<Value, RequestError> {
        let text = self.document(params)?;
        let uri = params["textDocument"]["uri"].as_str().unwrap_or_default();
        let index = LineIndex::new(text);
        let position = |p: &Value| {
            let line = p["line"].as_u64().unwrap_or(0) as usize;
            index.offset(line, p["character"].as_u64().unwrap_or(0) as usize)
        };
        let range = &params["range"];
        let (start, end) = (position(&range["start"]), position(&range["end"]));
        let version = self.versions.get(uri).copied();
        let analysis = idr_ql::analyze(text, &self.catalog);
        let actions: Vec<Value> = analysis
            .diagnostics()
            .filter(|d| d.span.start <= end && start <= d.span.end)
            .flat_map(|d| {
                let published = diagnostic(&index, d);
                let index = &index;
                d.fixes.iter().map(move |fix| {
                    let edits: Vec<Value> = fix
                        .edits
                        .iter()
                        .map(|(span, new)| json!({"range": index.range(span.start, span.end), "newText": new}))
                        .collect();
                    json!({
                        "title": fix.title,
                        "kind": "quickfix",
                        "diagnostics": [published.clone()],
                        "isPreferred": d.fixes.len() == 1,
                        // Named with the version it was computed from: a client
                        // refuses it once the text has moved on.
                        "edit": {"documentChanges": [{
                            "textDocument": {"uri": uri, "version": version},
                            "edits": edits,
                        }]},
                    })
                })
            })
            .collect();
        Ok(Value::Array(actions))
    }

    /// Every classified token, encoded as LSP wants: relative lines and UTF-16 starts,
    /// one token per line at most (a token never spans lines in IDR-QL).
    fn semantic_tokens(&self, params: &Value) -> Result<Value, RequestError> {
        let text = self.document(params)?;
        let index = LineIndex::new(text);
        let mut data: Vec<u32> = Vec::new();
        let (mut last_line, mut last_start) = (0u32, 0u32);
        for (span, class) in idr_ql::classify(text) {
            let start = index.position(span.start);
            let end = index.position(span.end);
            let (line, character) = (
                start["line"].as_u64().unwrap_or(0) as u32,
                start["character"].as_u64().unwrap_or(0) as u32,
            );
            if end["line"] != start["line"] {
                continue;
            }
            let length = end["character"].as_u64().unwrap_or(0) as u32 - character;
            let delta_start = if line == last_line { character - last_start } else { character };
            data.extend([line - last_line, delta_start, length, token_type(class), 0]);
            (last_line, last_start) = (line, character);
        }
        Ok(json!({"data": data}))
    }

    /// One symbol per query: its first line as the name, its resource as the detail.
    fn symbols(&self, params: &Value) -> Result<Value, RequestError> {
        let text = self.document(params)?;
        let index = LineIndex::new(text);
        let parsed = idr_ql::parse(text);
        let symbols: Vec<Value> = parsed
            .queries
            .iter()
            .map(|q| {
                let source = q.span.text(text);
                let name = source.lines().next().unwrap_or_default().trim();
                let name = if name.chars().count() > 60 {
                    format!("{}…", name.chars().take(59).collect::<String>())
                } else {
                    name.to_owned()
                };
                let resource = source.split_whitespace().next().unwrap_or_default();
                json!({
                    "name": if name.is_empty() { "query".to_owned() } else { name },
                    "detail": resource,
                    // SymbolKind 12: Function (a query is a call that returns rows).
                    "kind": 12,
                    "range": index.range(q.span.start, q.span.end),
                    "selectionRange": index.range(q.span.start, q.span.start + source.lines().next().unwrap_or_default().len()),
                })
            })
            .collect();
        Ok(Value::Array(symbols))
    }
}

/// The semantic token types, in the legend's order (LSP's standard names).
const TOKEN_TYPES: [&str; 7] =
    ["type", "keyword", "property", "operator", "string", "number", "comment"];

fn token_type(class: TokenClass) -> u32 {
    match class {
        TokenClass::Resource => 0,
        TokenClass::Keyword => 1,
        TokenClass::Key => 2,
        TokenClass::Operator => 3,
        TokenClass::Value => 4,
        TokenClass::Number => 5,
        TokenClass::Comment => 6,
    }
}

/// Why a request cannot be answered.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("{0} is not open")]
    NotOpen(String),
}

impl RequestError {
    /// Both are the client's mistake in its parameters.
    fn code(&self) -> ErrorCode {
        match self {
            RequestError::Missing(_) | RequestError::NotOpen(_) => ErrorCode::InvalidParams,
        }
    }
}

fn publish(uri: &str, diagnostics: Vec<Value>) -> Notification {
    Notification::new(
        "textDocument/publishDiagnostics".to_owned(),
        json!({"uri": uri, "diagnostics": diagnostics}),
    )
}

fn diagnostic(index: &LineIndex<'_>, d: &Diagnostic) -> Value {
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<Value> = d
        .labels
        .iter()
        .map(|(span, text)| json!({"range": index.range(span.start, span.end), "message": text}))
        .collect();
    json!({
        "range": index.range(d.span.start, d.span.end),
        "severity": match d.severity { Severity::Error => 1, Severity::Warning => 2 },
        "code": d.code,
        "source": "idr-ql",
        "message": message,
        "data": {"labels": related},
    })
}

fn completion_kind(kind: CompletionKind) -> u8 {
    // LSP CompletionItemKind numbers.
    match kind {
        CompletionKind::Keyword => 14,
        CompletionKind::Resource => 7,
        CompletionKind::Scope => 9,
        CompletionKind::Operator => 24,
        CompletionKind::Field => 5,
        CompletionKind::Key => 10,
        CompletionKind::Value => 12,
    }
}

/// Converts between byte offsets and LSP positions (line, UTF-16 code unit).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The position of a byte offset (clamped to the text and to a char boundary).
    pub(crate) fn position(&self, offset: usize) -> Value {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize =
            self.text.get(start..offset).unwrap_or("").chars().map(char::len_utf16).sum();
        json!({"line": line, "character": character})
    }

    pub(crate) fn range(&self, start: usize, end: usize) -> Value {
        json!({"start": self.position(start), "end": self.position(end)})
    }

    /// The byte offset of a position; past the end of a line means the line's end.
    pub(crate) fn offset(&self, line: usize, character: usize) -> usize {
        let Some(&start) = self.starts.get(line) else { return self.text.len() };
        let end = self.starts.get(line + 1).map_or(self.text.len(), |next| next - 1);
        let mut units = 0;
        for (i, c) in self.text.get(start..end).unwrap_or("").char_indices() {
            if units >= character {
                return start + i;
            }
            units += c.len_utf16();
        }
        end
    }
}
