//! Running a compiled IDR-QL query and turning its GraphQL answer into rows: paging
//! through connections with `$after`, flattening nested fields into columns, and printing
//! them as a table, JSON or CSV.

use std::fmt::Write as _;

use idr_graphql::IdrSchema;
use serde_json::{json, Map, Value};

/// The rows of one query, with the GraphQL errors met on the way.
#[derive(Debug, Default)]
pub struct Rows {
    pub rows: Vec<Map<String, Value>>,
    pub errors: Vec<Value>,
    /// More rows exist than were fetched (the limit was reached).
    pub truncated: bool,
}

/// What to run and where its rows are.
pub struct RowQuery<'a> {
    /// The GraphQL document; when `paged`, it declares `$after: String`.
    pub graphql: &'a str,
    /// Response keys from `data` to the list of rows.
    pub path: &'a [&'a str],
    /// Whether `path` ends at a connection (`nodes`, `pageInfo`).
    pub paged: bool,
    /// `(header, response key)` of each column; all fields when empty. A row that is a
    /// scalar (a key of `keys`) goes under the first column.
    pub columns: &'a [(String, String)],
    /// For a lookup by id (`image 122770`), the ids in the order of the list at `path`,
    /// and what they name (`image`): a `null` entry is reported as `NOT_FOUND`.
    pub ids: &'a [String],
    pub what: &'a str,
}

/// Executes the query and collects the list found at its `path` in `data` (a
/// connection's `nodes` when `paged`, following `pageInfo` with `$after`) until `limit`
/// rows. `progress` hears the count after each page. With a `deadline`, every page shares
/// it, and no page starts after it.
pub async fn run(
    schema: &IdrSchema,
    query: &RowQuery<'_>,
    limit: usize,
    deadline: Option<tokio::time::Instant>,
    mut progress: impl FnMut(usize),
) -> Rows {
    let RowQuery { graphql, path, paged, columns, ids, what } = *query;
    let mut out = Rows::default();
    let mut after = Value::Null;
    loop {
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            out.truncated = true;
            out.errors.push(serde_json::json!({
                "message": "stopped at the request's deadline; the rows so far are complete",
                "extensions": {"code": "REQUEST_TIMEOUT"},
            }));
            break;
        }
        let mut variables = Map::new();
        if paged {
            variables.insert("after".to_owned(), after.clone());
        }
        let request = async_graphql::Request::new(graphql)
            .variables(async_graphql::Variables::from_json(Value::Object(variables)));
        let response = match deadline {
            Some(deadline) => idr_graphql::execute_until(schema, request, deadline).await,
            None => idr_graphql::execute(schema, request).await,
        };
        let response = serde_json::to_value(&response).unwrap_or(Value::Null);
        if let Some(errors) = response.get("errors").and_then(Value::as_array) {
            out.errors.extend(errors.iter().cloned());
        }
        let mut at = &response["data"];
        for key in path {
            at = &at[*key];
        }
        let (nodes, page_info) =
            if paged { (&at["nodes"], Some(&at["pageInfo"])) } else { (at, None) };
        for (i, node) in nodes.as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate()
        {
            // A lookup's missing object: said, never silently dropped. An entry that
            // failed has its own error (at its index) already.
            if let (Value::Null, Some(id)) = (node, ids.get(i)) {
                if !entry_failed(&out.errors, path, i) {
                    out.errors.push(serde_json::json!({
                        "message": format!("IDR has no {what} {id}"),
                        "extensions": {"code": "NOT_FOUND", "id": id},
                    }));
                }
                continue;
            }
            if out.rows.len() == limit {
                out.truncated = true;
                break;
            }
            out.rows.push(row(node, columns));
        }
        progress(out.rows.len());
        let next = page_info
            .filter(|p| p["hasNextPage"] == Value::Bool(true))
            .map(|p| p["endCursor"].clone())
            .filter(|c| c.is_string() && *c != after);
        match next {
            Some(cursor) if out.rows.len() < limit => after = cursor,
            Some(_) => {
                out.truncated = true;
                break;
            }
            None => break,
        }
    }
    out
}

/// Errors with the same code and message once, with how many times they came (counting
/// those the schema already folded into one, `extensions.omitted`).
pub fn dedup_errors(errors: &[Value]) -> Vec<Value> {
    let message = |e: &Value| {
        let text = e["message"].as_str().unwrap_or_default();
        match text.rfind(" (and ") {
            Some(at) if text.ends_with("left out)") => text[..at].to_owned(),
            _ => text.to_owned(),
        }
    };
    let mut out: Vec<(Value, String, u64)> = Vec::new();
    for error in errors {
        let (text, times) =
            (message(error), 1 + error["extensions"]["omitted"].as_u64().unwrap_or(0));
        let code = &error["extensions"]["code"];
        match out.iter_mut().find(|(e, m, _)| *m == text && &e["extensions"]["code"] == code) {
            Some((_, _, n)) => *n += times,
            None => out.push((error.clone(), text, times)),
        }
    }
    out.into_iter()
        .map(|(mut e, text, n)| {
            if n > 1 {
                e["message"] = json!(text);
                e["times"] = json!(n);
                // One path of many says little.
                if let Value::Object(map) = &mut e {
                    map.remove("path");
                    map.remove("locations");
                    if let Some(Value::Object(extensions)) = map.get_mut("extensions") {
                        extensions.remove("omitted");
                    }
                }
            }
            e
        })
        .collect()
}

/// Whether one of `errors` is that of entry `index` of the list at `path` (its own path
/// is the list's, then the index).
fn entry_failed(errors: &[Value], path: &[&str], index: usize) -> bool {
    errors.iter().any(|e| entry_of(e, path) == Some(index as u64))
}

/// The index of the entry of the list at `path` that `error` is about, if it is one's.
fn entry_of(error: &Value, path: &[&str]) -> Option<u64> {
    let at = error["path"].as_array()?;
    let within =
        at.len() == path.len() + 1 && at.iter().zip(path).all(|(a, p)| a.as_str() == Some(*p));
    within.then(|| at.last().and_then(Value::as_u64)).flatten()
}

/// Whether every error is one entry's of a lookup (a missing id, or an entry IDR could
/// not give): the rows that came are then whole, and are shown with the errors.
pub fn only_entry_errors(errors: &[Value], path: &[&str]) -> bool {
    errors.iter().all(|e| {
        e["extensions"]["code"] == "NOT_FOUND" && e.get("path").is_none()
            || entry_of(e, path).is_some()
    })
}

/// One row: each column's value flattened under its header; all fields when no columns.
fn row(node: &Value, columns: &[(String, String)]) -> Map<String, Value> {
    if columns.is_empty() {
        return flatten(node);
    }
    if !node.is_object() {
        let mut out = Map::new();
        out.insert(columns[0].0.clone(), node.clone());
        return out;
    }
    let mut out = Map::new();
    for (header, key) in columns {
        // A key may be a path into nested objects (`study.title`).
        let value = key.split('.').fold(node, |at, part| &at[part]);
        flatten_into(&mut out, header, value);
    }
    out
}

/// One row: scalars and lists as they are (JSON keeps a list a list, and `null` `null`),
/// nested objects as `parent.child` columns. Table and CSV write lists as text
/// ([`cell`]).
pub fn flatten(node: &Value) -> Map<String, Value> {
    let mut row = Map::new();
    flatten_into(&mut row, "", node);
    row
}

fn flatten_into(row: &mut Map<String, Value>, prefix: &str, value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten_into(row, &name, v);
            }
        }
        other => {
            row.insert(prefix.to_owned(), other.clone());
        }
    }
}

/// A value as one cell of a table or CSV: `null` empty; lists of scalars joined with
/// `; `; key/value lists as `key=value; …`; lists of other objects with each object's
/// non-empty values joined by spaces, the objects by `; `.
fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let text: Vec<String> = items
                .iter()
                .map(|item| match item {
                    Value::Object(map) if map.contains_key("key") && map.contains_key("value") => {
                        format!("{}={}", cell(&map["key"]), cell(&map["value"]))
                    }
                    Value::Object(map) => {
                        let parts: Vec<String> =
                            map.values().map(cell).filter(|c| !c.is_empty()).collect();
                        parts.join(" ")
                    }
                    Value::Array(_) => item.to_string(),
                    scalar => cell(scalar),
                })
                .collect();
            text.join("; ")
        }
        // Sizes come as GraphQL floats (they pass 2^31): whole ones print without `.0`.
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// The columns of a set of rows: the keys the rows hold (a nested field's as
/// `parent.child`), grouped under the query's `headers` in their order, then any other
/// key in first-seen order. Rows or not, the columns are those of the query: with no rows,
/// the headers themselves (so that a CSV or a table of nothing still says what it holds).
pub fn columns_of(rows: &[Map<String, Value>], headers: &[String]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for row in rows {
        for key in row.keys() {
            if !seen.contains(key) {
                seen.push(key.clone());
            }
        }
    }
    if seen.is_empty() {
        return headers.to_vec();
    }
    let under = |key: &str, header: &str| {
        key == header || key.strip_prefix(header).is_some_and(|rest| rest.starts_with('.'))
    };
    let mut out: Vec<String> = Vec::new();
    for header in headers {
        out.extend(
            seen.iter()
                .filter(|k| under(k, header) && !out.contains(k))
                .cloned()
                .collect::<Vec<_>>(),
        );
    }
    out.extend(seen.into_iter().filter(|k| !out.contains(k)).collect::<Vec<_>>());
    out
}

/// Output formats of `idr query`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// The rows in `format`, under `columns` (see [`columns_of`]). A table's columns are cut
/// at 60 characters when `fit` (a terminal is reading); otherwise every value is whole.
pub fn render(
    rows: &[Map<String, Value>],
    columns: &[String],
    format: Format,
    fit: bool,
) -> String {
    match format {
        Format::Json => {
            let list: Vec<Value> = rows.iter().cloned().map(Value::Object).collect();
            serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
        }
        Format::Csv => {
            let mut out = String::new();
            let line = |fields: Vec<String>| {
                fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",") + "\n"
            };
            out.push_str(&line(columns.to_vec()));
            for row in rows {
                out.push_str(&line(
                    columns.iter().map(|c| row.get(c).map(cell).unwrap_or_default()).collect(),
                ));
            }
            out
        }
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .map(|c| one_line(&row.get(c).map(cell).unwrap_or_default()))
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([c.chars().count()])
                        .max()
                        .unwrap_or(0)
                        .min(if fit { 60 } else { usize::MAX })
                })
                .collect();
            let mut out = String::new();
            let write_row = |out: &mut String, fields: &[String]| {
                let parts: Vec<String> = fields
                    .iter()
                    .zip(&widths)
                    .map(|(f, w)| format!("{:<w$}", truncate(f, *w), w = *w))
                    .collect();
                let _ = writeln!(out, "{}", parts.join("  ").trim_end());
            };
            write_row(&mut out, columns);
            write_row(&mut out, &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
            for row in &cells {
                write_row(&mut out, row);
            }
            out
        }
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r', '\t'], " ")
}

/// `s` in at most `width` characters, the `…` of a cut included.
fn truncate(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    idr_client::text::truncate(s, width.saturating_sub(1))
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}
