//! The compiler: one checked query to one GraphQL document for the idr-graph schema.
//!
//! Output is deterministic (the same query always gives the same bytes), so caches keyed
//! by the text work, and every user string is written as a GraphQL string literal with
//! everything the spec requires escaped, so no input can add selections (FAULTS.md A16).

use std::fmt::Write as _;

use idr_filter::Expr as Filter;

use crate::ast::{Expr, Query, ResourceName, ScopeName, ShowItem};
use crate::check::check_structure;
use crate::diagnostic::{Diagnostic, Span};
use crate::model::{Field, Op, Resource, ScopeKind};

/// The page size asked of connections (`first:`); the server's maximum.
pub const PAGE_SIZE: u64 = idr_filter::limits::MAX_FIRST as u64;

/// The largest GraphQL document the compiler emits: the server refuses longer ones.
pub const MAX_GRAPHQL_BYTES: usize = idr_filter::limits::MAX_DOCUMENT_BYTES;

/// A compiled query and what a runner needs to execute it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compiled {
    /// The GraphQL document. When [`Compiled::paged`], it declares `$after: String`.
    pub graphql: String,
    /// What is listed.
    pub resource: Resource,
    /// Response keys from `data` to the rows: a connection when `paged`, else a list.
    /// For example `["searchImages"]` or `["plate", "wells"]`.
    pub rows: Vec<String>,
    /// Whether `rows` is a connection (`totalCount`, `pageInfo`, `nodes`) to be paged by
    /// running the document again with `after` set to `pageInfo.endCursor`.
    pub paged: bool,
    /// The most rows to return (`limit`); `None` for all of them. The runner truncates.
    pub limit: Option<u64>,
    /// The columns of each row, in order: `id`, then what `show` asked for. For `keys`,
    /// whose rows are strings, the one column `key`.
    pub columns: Vec<Column>,
    /// The ids asked for (`image 122770`), in order. `rows` is then a list with one entry
    /// per id, `null` where IDR has no such object; empty for every other query.
    pub ids: Vec<String>,
}

/// One column of the result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// The header: a field name (`thumbnail`) or a key as written (`Gene Symbol`).
    pub header: String,
    /// The response key in each row object (`thumbnailUrl`, `k1`).
    pub key: String,
}

/// Compiles one query. Fails with the error diagnostics of [`crate::check_query`] that
/// need no catalog (unknown resource, scope mismatch, bad operator, …) and with
/// `too-long` when the document would exceed [`MAX_GRAPHQL_BYTES`].
pub fn compile(query: &Query) -> Result<Compiled, Vec<Diagnostic>> {
    let errors: Vec<Diagnostic> =
        check_structure(query).into_iter().filter(Diagnostic::is_error).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    if query.resource.value.is_catalog() {
        return Ok(catalog(query));
    }
    let Some(resource) = query.resource.value.resource() else {
        return Err(vec![Diagnostic::error(
            "unknown-resource",
            query.resource.span,
            "unknown resource",
        )]);
    };
    if !query.ids.is_empty() {
        return by_ids(query, resource);
    }
    let scope = query.scope.as_ref().and_then(|s| match s.kind.value {
        ScopeName::Known(k) => Some((k, s.target.value.as_str())),
        ScopeName::Unknown(_) => None,
    });
    let filter = query.filter.as_ref().map(filter);
    let first = query.limit.map_or(PAGE_SIZE, |l| l.value.min(PAGE_SIZE));
    let id = |target: &str| {
        graphql_string(&target.parse::<i64>().map_or_else(|_| target.to_owned(), |n| n.to_string()))
    };

    // The outer field (an object by id), the row field with its arguments, and whether
    // it is a connection.
    let mut args: Vec<String> = Vec::new();
    if let Some(f) = &filter {
        args.push(format!("where: {f}"));
    }
    let (outer, field, paged) = match (resource, scope) {
        (Resource::Images, Some((ScopeKind::Plate, n))) => {
            (Some(("plate", id(n))), "images", false)
        }
        (Resource::Images, Some((ScopeKind::Dataset, n))) => {
            (Some(("dataset", id(n))), "images", true)
        }
        (Resource::Images, scope) => {
            match scope {
                Some((ScopeKind::Study, s)) => args.push(format!("study: {}", graphql_string(s))),
                Some((ScopeKind::Screen, n)) => args.push(format!("screen: {}", id(n))),
                Some((ScopeKind::Project, n)) => args.push(format!("project: {}", id(n))),
                _ => {}
            }
            (None, "searchImages", true)
        }
        (Resource::Screens, _) => (None, "screens", true),
        (Resource::Studies, _) => (None, "studies", false),
        (Resource::Projects, _) => (None, "projects", true),
        (Resource::Plates, Some((_, n))) => (Some(("screen", id(n))), "plates", true),
        (Resource::Datasets, Some((_, n))) => (Some(("project", id(n))), "datasets", true),
        (Resource::Wells, Some((_, n))) => (Some(("plate", id(n))), "wells", false),
        (Resource::Plates | Resource::Datasets | Resource::Wells, None) => {
            return Err(vec![Diagnostic::error(
                "missing-scope",
                query.resource.span,
                "missing scope",
            )]);
        }
    };
    if paged {
        args.push(format!("first: {first}"));
        args.push("after: $after".to_owned());
    }

    let (mut selections, mut columns) = selections(query, resource);
    if resource == Resource::Studies {
        (selections, columns) = study_rows(selections, columns);
    }
    let mut blocks = Vec::new();
    if let Some((name, id)) = &outer {
        blocks.push(format!("{name}(id: {id})"));
    }
    let call =
        if args.is_empty() { field.to_owned() } else { format!("{field}({})", args.join(", ")) };
    blocks.push(call);
    let graphql = document(paged, &blocks, &selections);
    fits(query, &graphql)?;
    let mut rows = Vec::new();
    if let Some((name, _)) = outer {
        rows.push(name.to_owned());
    }
    rows.push(field.to_owned());
    Ok(Compiled {
        graphql,
        resource,
        rows,
        paged,
        limit: query.limit.map(|l| l.value),
        columns,
        ids: Vec::new(),
    })
}

/// `image 122770`, `screens 102, 51 show files`: one batched lookup. Images, plates and
/// wells have their own plural lookups; screens, projects and datasets go through
/// `nodes(ids:)` with their global ids (`Screen:102`).
fn by_ids(query: &Query, resource: Resource) -> Result<Compiled, Vec<Diagnostic>> {
    // Canonical decimal (`007` is 7), as the checker accepted only positive numbers.
    let ids: Vec<String> = query
        .ids
        .iter()
        .map(|id| id.value.parse::<u64>().map_or_else(|_| id.value.clone(), |n| n.to_string()))
        .collect();
    let (selections, columns) = selections(query, resource);
    let list =
        |ids: &[String]| ids.iter().map(|id| graphql_string(id)).collect::<Vec<_>>().join(", ");
    let type_name = match resource {
        Resource::Studies => {
            return Err(vec![Diagnostic::error(
                "unsupported",
                query.resource.span,
                "studies are named, not numbered",
            )]);
        }
        Resource::Screens => Some("Screen"),
        Resource::Projects => Some("Project"),
        Resource::Datasets => Some("Dataset"),
        Resource::Images | Resource::Plates | Resource::Wells => None,
    };
    let (field, blocks) = match type_name {
        None => (resource.name(), vec![format!("{}(ids: [{}])", resource.name(), list(&ids))]),
        Some(type_name) => {
            let global: Vec<String> = ids.iter().map(|id| format!("{type_name}:{id}")).collect();
            (
                "nodes",
                vec![format!("nodes(ids: [{}])", list(&global)), format!("... on {type_name}")],
            )
        }
    };
    let graphql = document(false, &blocks, &selections);
    fits(query, &graphql)?;
    Ok(Compiled {
        graphql,
        resource,
        rows: vec![field.to_owned()],
        paged: false,
        limit: query.limit.map(|l| l.value),
        columns,
        ids,
    })
}

/// A row of `studies(where:)` is a match: its `imageCount` and `containers`, and the
/// study's own fields under `study { … }`, whose columns are read through `study.`.
fn study_rows(selections: Vec<String>, columns: Vec<Column>) -> (Vec<String>, Vec<Column>) {
    let on_match = |s: &str| s.starts_with("imageCount") || s.starts_with("containers");
    let (mut top, nested): (Vec<String>, Vec<String>) =
        selections.into_iter().partition(|s| on_match(s));
    top.push(format!("study {{ {} }}", nested.join(" ")));
    let columns = columns
        .into_iter()
        .map(|c| match c.key.as_str() {
            "imageCount" | "containers" => c,
            _ => Column { key: format!("study.{}", c.key), header: c.header },
        })
        .collect();
    (top, columns)
}

/// `keys [in R]` and `values KEY [in R]`: the search engine's catalog, for images unless
/// another resource is named.
fn catalog(query: &Query) -> Compiled {
    let resource = query.of.as_ref().and_then(|of| of.value.resource());
    let resource = resource.unwrap_or(Resource::Images);
    let engine = resource.search_resource().unwrap_or("IMAGE");
    let column = |name: &str| Column { header: name.to_owned(), key: name.to_owned() };
    let (call, selections, columns) = match &query.key {
        Some(key) if query.resource.value == ResourceName::Values => (
            format!("searchValues(key: {}, resource: {engine})", graphql_string(&key.value)),
            vec!["value".to_owned(), "count".to_owned()],
            vec![column("value"), column("count")],
        ),
        // Each row of `searchKeys` is a string: the runner puts it under the one column.
        _ => (format!("searchKeys(resource: {engine})"), Vec::new(), vec![column("key")]),
    };
    let field = call.split('(').next().unwrap_or_default().to_owned();
    let graphql = if selections.is_empty() {
        format!("{{\n  {call}\n}}\n")
    } else {
        document(false, &[call], &selections)
    };
    Compiled {
        graphql,
        resource,
        rows: vec![field],
        paged: false,
        limit: query.limit.map(|l| l.value),
        columns,
        ids: Vec::new(),
    }
}

/// A document: each of `blocks` opens a selection inside the previous one, and the
/// innermost holds `selections` (inside a connection's `nodes` when `paged`, which also
/// declares `$after`).
fn document(paged: bool, blocks: &[String], selections: &[String]) -> String {
    let mut out = String::new();
    out.push_str(if paged { "query($after: String) {\n" } else { "{\n" });
    let mut indent = 1;
    for block in blocks {
        line(&mut out, indent, &format!("{block} {{"));
        indent += 1;
    }
    if paged {
        line(&mut out, indent, "totalCount");
        line(&mut out, indent, "pageInfo { hasNextPage endCursor }");
        line(&mut out, indent, "nodes {");
        indent += 1;
    }
    for s in selections {
        line(&mut out, indent, s);
    }
    while indent > 1 {
        indent -= 1;
        line(&mut out, indent, "}");
    }
    out.push_str("}\n");
    out
}

/// `too-long` when the document is longer than the server accepts.
fn fits(query: &Query, graphql: &str) -> Result<(), Vec<Diagnostic>> {
    if graphql.len() <= MAX_GRAPHQL_BYTES {
        return Ok(());
    }
    Err(vec![Diagnostic::error(
        "too-long",
        Span::at(query.span.start),
        format!("this query compiles to {} bytes of GraphQL; the server accepts at most {MAX_GRAPHQL_BYTES}", graphql.len()),
    )
    .with_help("use fewer or shorter values")])
}

fn line(out: &mut String, indent: usize, text: &str) {
    for _ in 0..indent {
        out.push_str("  ");
    }
    out.push_str(text);
    out.push('\n');
}

/// The selection lines for each row, and the columns they produce.
fn selections(query: &Query, resource: Resource) -> (Vec<String>, Vec<Column>) {
    let mut lines = vec![Field::Id.selection(resource).to_owned()];
    let mut columns = vec![Column { header: "id".to_owned(), key: "id".to_owned() }];
    let mut fields: Vec<Field> = vec![Field::Id];
    let mut keys: Vec<String> = Vec::new();
    let mut add_field = |f: Field, lines: &mut Vec<String>, columns: &mut Vec<Column>| {
        if fields.contains(&f) {
            return;
        }
        fields.push(f);
        lines.push(f.selection(resource).to_owned());
        let keys = f.response_keys(resource);
        for key in &keys {
            let header = if keys.len() == 1 { f.name().to_owned() } else { (*key).to_owned() };
            columns.push(Column { header, key: (*key).to_owned() });
        }
    };
    if resource == Resource::Wells {
        add_field(Field::Label, &mut lines, &mut columns);
    }
    if query.show.is_empty() {
        for f in resource.default_fields() {
            add_field(*f, &mut lines, &mut columns);
        }
    }
    for item in &query.show {
        match &item.value {
            ShowItem::Field(f) => add_field(*f, &mut lines, &mut columns),
            ShowItem::Key(k) => {
                if keys.iter().any(|seen| seen.to_lowercase() == k.to_lowercase()) {
                    continue;
                }
                keys.push(k.clone());
                let alias = format!("k{}", keys.len());
                lines.push(format!("{alias}: values(key: {})", graphql_string(k)));
                columns.push(Column { header: k.clone(), key: alias });
            }
        }
    }
    (lines, columns)
}

/// The `ImageFilter` input value for a condition: its lowering ([`crate::lower`]), printed.
fn filter(expr: &Expr) -> String {
    let mut out = String::new();
    write_filter(&mut out, &crate::lower::lower(expr));
    out
}

fn write_filter(out: &mut String, expr: &Filter) {
    match expr {
        Filter::All(items) | Filter::Any(items) => {
            out.push_str(if matches!(expr, Filter::All(_)) { "{all: [" } else { "{any: [" });
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_filter(out, item);
            }
            out.push_str("]}");
        }
        Filter::Not(inner) => {
            out.push_str("{not: ");
            write_filter(out, inner);
            out.push('}');
        }
        Filter::Cond(c) => {
            out.push_str("{key: ");
            out.push_str(&graphql_string(c.key.as_deref().unwrap_or_default()));
            if c.op != Op::Equals {
                let _ = write!(out, ", op: {}", graphql_name(c.op));
            }
            if c.op.takes_list() {
                out.push_str(", values: [");
                for (i, v) in c.values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&graphql_string(v));
                }
                out.push(']');
            } else {
                out.push_str(", value: ");
                out.push_str(&graphql_string(c.values.first().map_or("", String::as_str)));
            }
            out.push('}');
        }
    }
}

/// The server's `FilterOp` value for an operator: async-graphql names enum items in
/// SCREAMING_SNAKE_CASE, which is the engine's snake_case name upper-cased (the tests run
/// every operator against the schema).
fn graphql_name(op: Op) -> String {
    op.engine_name().to_ascii_uppercase()
}

/// `text` as a GraphQL string literal. `"` and `\` are escaped, and so is every
/// character a GraphQL string may not hold raw or that would be invisible or misleading
/// on screen: C0 and C1 controls, DEL, Unicode whitespace other than the space, zero-width
/// space, the bidirectional controls and the byte-order mark (all in the Basic
/// Multilingual Plane, so `\uXXXX` suffices). Everything else, non-ASCII included, is
/// written as is, which the spec allows.
pub fn graphql_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    crate::ast::write_string_literal(&mut out, text, |out, c| match c {
        '\u{8}' => out.push_str("\\b"),
        '\u{c}' => out.push_str("\\f"),
        c => {
            let _ = write!(out, "\\u{:04X}", c as u32);
        }
    });
    out
}
