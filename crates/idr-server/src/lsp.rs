//! `idr lsp`: the IDR-QL language server on stdio. It adapts `idr-ql`'s plain-data editor
//! features (byte offsets) to the Language Server Protocol (UTF-16 line/character
//! positions): diagnostics on open and change, completion, hover and formatting.

use std::collections::HashMap;

use idr_ql::{Catalog, CompletionKind, Diagnostic, Severity};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use serde_json::{json, Value};

/// Runs the server until the client says `exit`.
pub fn run(catalog: Catalog) -> anyhow::Result<()> {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = json!({
        "textDocumentSync": 1,
        "completionProvider": {"triggerCharacters": ["\"", " ", "(", ","]},
        "hoverProvider": true,
        "documentFormattingProvider": true,
        "positionEncoding": "utf-16",
    });
    connection.initialize(capabilities)?;
    let mut server = Server { documents: HashMap::new(), catalog };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
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
    }
    drop(connection);
    io_threads.join()?;
    Ok(())
}

struct Server {
    /// Open documents by URI.
    documents: HashMap<String, String>,
    catalog: Catalog,
}

impl Server {
    fn request(&self, request: Request) -> Response {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            "textDocument/completion" => self.completion(&request.params),
            "textDocument/hover" => self.hover(&request.params),
            "textDocument/formatting" => self.formatting(&request.params),
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
                return vec![publish(&uri, Vec::new())];
            }
            _ => return Vec::new(),
        }
        let text = self.documents.get(&uri).map(String::as_str).unwrap_or_default();
        let analysis = idr_ql::analyze(text, &self.catalog);
        let index = LineIndex::new(text);
        let diagnostics = analysis.diagnostics().map(|d| diagnostic(&index, d)).collect();
        vec![publish(&uri, diagnostics)]
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
