//! The IDR-QL front ends that are not the language server: `idr compile`, `idr check`,
//! `idr fmt`, `idr query`, and the JSON answer of `POST /ql`.

use std::io::Read as _;
use std::path::Path;

use idr_graphql::IdrSchema;
use idr_ql::{Analysis, Catalog, Compiled, Diagnostic};
use serde_json::{json, Map, Value};

use crate::rows::{self, Format, Rows};

/// IDR-QL text and the name diagnostics call it by.
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    /// `-` reads standard input, an existing file is read, anything else is the query text.
    /// A name that can only be a file (it ends in `.idrql`, or is a path with no spaces)
    /// but is not one is an error that says so, not a query that fails to parse.
    pub fn from_arg(arg: &str) -> std::io::Result<Source> {
        use std::io::{Error, ErrorKind};
        if arg == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::new(e.kind(), format!("cannot read standard input: {e}")))?;
            return Ok(Source { name: "<stdin>".to_owned(), text });
        }
        let path = Path::new(arg);
        let one_word = !arg.contains(char::is_whitespace);
        if (arg.ends_with(".idrql") || one_word) && path.is_file() {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::new(e.kind(), format!("cannot read {arg}: {e}")))?;
            return Ok(Source { name: arg.to_owned(), text });
        }
        let names_a_file =
            arg.trim_end().ends_with(".idrql") || (one_word && arg.contains(['/', '\\']));
        if names_a_file {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("{arg}: no such file (give IDR-QL text in quotes, a .idrql file, or - for standard input)"),
            ));
        }
        Ok(Source { name: "<query>".to_owned(), text: arg.to_owned() })
    }

    /// Every diagnostic, rendered for a terminal (no colour).
    pub fn render(&self, diagnostics: &[Diagnostic]) -> String {
        idr_ql::render(diagnostics, &self.name, &self.text)
    }
}

/// What compiling a text gave: the queries that compiled (with their text), and every
/// diagnostic, rendered. A query with an error does not stop the others from compiling.
pub struct Compilation {
    pub queries: Vec<(String, Compiled)>,
    pub rendered: String,
    pub has_errors: bool,
}

pub fn compile(source: &Source, catalog: &Catalog) -> Compilation {
    let analysis = idr_ql::analyze(&source.text, catalog);
    let all: Vec<Diagnostic> = analysis.diagnostics().cloned().collect();
    let has_errors = analysis.has_errors();
    let queries = analysis
        .queries
        .into_iter()
        .filter_map(|q| Some((q.span.text(&source.text).to_owned(), q.compiled?)))
        .collect();
    let rendered = if all.is_empty() { String::new() } else { source.render(&all) };
    Compilation { queries, rendered, has_errors }
}

/// Runs one compiled query through the schema, following pages up to its limit (or `cap`).
/// With a `deadline`, every page shares it.
pub async fn run(
    schema: &IdrSchema,
    compiled: &Compiled,
    cap: usize,
    deadline: Option<tokio::time::Instant>,
    progress: impl FnMut(usize),
) -> Rows {
    let limit = compiled.limit.map_or(cap, |l| (l as usize).min(cap));
    let path: Vec<&str> = compiled.rows.iter().map(String::as_str).collect();
    let columns: Vec<(String, String)> =
        compiled.columns.iter().map(|c| (c.header.clone(), c.key.clone())).collect();
    let query = rows::RowQuery {
        graphql: &compiled.graphql,
        path: &path,
        paged: compiled.paged,
        columns: &columns,
        ids: &compiled.ids,
        what: compiled.resource.singular(),
    };
    rows::run(schema, &query, limit, deadline, progress).await
}

/// Prints the rows of `compiled` in a format (see [`rows::render`] for `fit`).
pub fn print(
    compiled: &Compiled,
    rows: &[Map<String, Value>],
    format: Format,
    fit: bool,
) -> String {
    rows::render(rows, &columns(compiled, rows), format, fit)
}

/// The columns of `compiled`'s rows: the keys they hold, under its `show` headers (see
/// [`rows::columns_of`]).
pub fn columns(compiled: &Compiled, rows: &[Map<String, Value>]) -> Vec<String> {
    let headers: Vec<String> = compiled.columns.iter().map(|c| c.header.clone()).collect();
    rows::columns_of(rows, &headers)
}

/// The JSON answer of `POST /ql`: per clean query its span, compiled GraphQL, rows and
/// errors, and every diagnostic with its span and position. `false` when any query has an
/// error (the server answers 400). Every query and page shares `deadline`. Without
/// `run_queries` (a check as the user types) nothing runs and no query has rows.
pub async fn answer(
    schema: &IdrSchema,
    text: &str,
    catalog: &Catalog,
    cap: usize,
    deadline: tokio::time::Instant,
    run_queries: bool,
) -> (bool, Value) {
    let analysis: Analysis = idr_ql::analyze(text, catalog);
    let diagnostics: Vec<Value> =
        analysis.diagnostics().map(|d| diagnostic_json(text, d)).collect();
    // A query with an error does not keep the others from running.
    let mut queries = Vec::new();
    for query in &analysis.queries {
        let Some(compiled) = &query.compiled else { continue };
        let mut answer = json!({
            "span": {"start": query.span.start, "end": query.span.end},
            "graphql": compiled.graphql,
            "columns": columns(compiled, &[]),
        });
        if run_queries {
            let rows = run(schema, compiled, cap, Some(deadline), |_| {}).await;
            // The keys the rows hold, a nested field's as `parent.child`.
            answer["columns"] = json!(columns(compiled, &rows.rows));
            answer["rows"] = json!(rows.rows);
            answer["truncated"] = json!(rows.truncated);
            answer["errors"] = json!(rows.errors);
        }
        queries.push(answer);
    }
    (!analysis.has_errors(), json!({"queries": queries, "diagnostics": diagnostics}))
}

/// One diagnostic as JSON: code, severity, message, span, line and column, help, labels.
pub fn diagnostic_json(text: &str, d: &Diagnostic) -> Value {
    let (line, column) = idr_ql::line_col(text, d.span.start);
    json!({
        "code": d.code,
        "severity": if d.is_error() { "error" } else { "warning" },
        "message": d.message,
        "span": {"start": d.span.start, "end": d.span.end},
        "line": line,
        "column": column,
        "help": d.help,
        "labels": d.labels.iter().map(|(span, label)| json!({"span": {"start": span.start, "end": span.end}, "message": label})).collect::<Vec<_>>(),
    })
}

/// The bundled catalog extended with the keys the live search engine knows. Values stay
/// the bundled ones: fetching every value of every key would cost many megabytes.
pub async fn live_catalog(client: &idr_client::IdrClient) -> Result<Catalog, idr_client::Error> {
    let bundled = Catalog::bundled();
    let live = client.search_keys(idr_client::model::SearchResource::Image).await?;
    let keys = bundled.keys().cloned().chain(live.iter().map(|name| idr_ql::KeyInfo {
        name: name.clone(),
        namespace: None,
        images: None,
    }));
    let values: Vec<(String, Vec<idr_ql::ValueInfo>)> =
        bundled.keys().map(|k| (k.name.clone(), bundled.values(&k.name).to_vec())).collect();
    Ok(Catalog::from_parts(keys, values))
}

/// The catalog `POST /ql` checks against: the bundled one, extended with the live search
/// engine's keys once learned. The first request starts learning them in the background,
/// so a server nobody asks IDR-QL of makes no such call.
pub struct LiveCatalog {
    catalog: std::sync::RwLock<Catalog>,
    refresh: std::sync::atomic::AtomicBool,
}

impl LiveCatalog {
    /// `online`: whether there is a live search engine to learn from.
    pub fn new(online: bool) -> LiveCatalog {
        LiveCatalog {
            catalog: std::sync::RwLock::new(Catalog::bundled()),
            refresh: std::sync::atomic::AtomicBool::new(online),
        }
    }

    /// The catalog as known now; the first call starts the refresh.
    pub fn get(self: &std::sync::Arc<Self>, client: &idr_client::IdrClient) -> Catalog {
        if self.refresh.swap(false, std::sync::atomic::Ordering::Relaxed) {
            let (this, client) = (self.clone(), client.clone());
            tokio::spawn(async move {
                match live_catalog(&client).await {
                    Ok(live) => *this.catalog.write().unwrap_or_else(|e| e.into_inner()) = live,
                    Err(error) => {
                        tracing::warn!(%error, "could not learn the search engine's keys; using the bundled catalog")
                    }
                }
            });
        }
        self.catalog.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
