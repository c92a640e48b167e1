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
    /// The columns of each row, in order: `id`, then what `show` asked for.
    pub columns: Vec<Column>,
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
    let ResourceName::Known(resource) = query.resource.value else {
        return Err(vec![Diagnostic::error(
            "unknown-resource",
            query.resource.span,
            "unknown resource",
        )]);
    };
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

    let (selections, columns) = selections(query, resource);
    let mut out = String::new();
    out.push_str(if paged { "query($after: String) {\n" } else { "{\n" });
    let mut indent = 1;
    if let Some((name, id)) = &outer {
        line(&mut out, indent, &format!("{name}(id: {id}) {{"));
        indent += 1;
    }
    let call =
        if args.is_empty() { field.to_owned() } else { format!("{field}({})", args.join(", ")) };
    line(&mut out, indent, &format!("{call} {{"));
    indent += 1;
    if paged {
        line(&mut out, indent, "totalCount");
        line(&mut out, indent, "pageInfo { hasNextPage endCursor }");
        line(&mut out, indent, "nodes {");
        indent += 1;
    }
    for s in &selections {
        line(&mut out, indent, s);
    }
    while indent > 1 {
        indent -= 1;
        line(&mut out, indent, "}");
    }
    out.push_str("}\n");

    if out.len() > MAX_GRAPHQL_BYTES {
        return Err(vec![Diagnostic::error(
            "too-long",
            Span::at(query.span.start),
            format!("this query compiles to {} bytes of GraphQL; the server accepts at most {MAX_GRAPHQL_BYTES}", out.len()),
        )
        .with_help("use fewer or shorter values")]);
    }
    let mut rows = Vec::new();
    if let Some((name, _)) = outer {
        rows.push(name.to_owned());
    }
    rows.push(field.to_owned());
    Ok(Compiled {
        graphql: out,
        resource,
        rows,
        paged,
        limit: query.limit.map(|l| l.value),
        columns,
    })
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
