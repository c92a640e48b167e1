//! The formatter: canonical layout for a whole file, keeping comments.
//!
//! A query fits on one line when it can ([`MAX_WIDTH`] characters); otherwise each clause
//! goes on its own indented continuation line, and a long `where` is broken before each
//! top-level `and` / `or`. Comments inside a query move above it; a comment after a
//! query's last token stays at the end of its last line. One blank line is kept where
//! the source had at least one. The layout depends only on the syntax trees and the
//! comments, so formatting twice changes nothing.

use crate::ast::{write_expr, Expr, Query};
use crate::diagnostic::Span;
use crate::parser::parse;

/// The widest line the formatter aims for, in characters.
pub const MAX_WIDTH: usize = 80;

/// Formats a file, or returns `None` when any query has a syntax error.
pub fn format(text: &str) -> Option<String> {
    let file = parse(text);
    if file.has_errors() {
        return None;
    }
    let mut queries = Vec::new();
    for q in &file.queries {
        queries.push((q.span, q.ast.as_ref()?));
    }

    let mut lines: Vec<String> = Vec::new();
    let mut prev_end: Option<usize> = None;
    let mut comments = file.comments.iter().copied().peekable();
    let blank_between = |from: Option<usize>, to: usize| {
        from.is_some_and(|from| {
            text.get(from..to).is_some_and(|gap| gap.matches('\n').count() >= 2)
        })
    };
    let comment_text = |span: Span| span.text(text).trim_end().to_owned();

    for (i, (span, query)) in queries.iter().enumerate() {
        // Comments before the query stand on their own lines.
        while let Some(c) = comments.next_if(|c| c.start < span.start) {
            if blank_between(prev_end, c.start) {
                lines.push(String::new());
            }
            lines.push(comment_text(c));
            prev_end = Some(c.end);
        }
        if blank_between(prev_end, span.start) {
            lines.push(String::new());
        }
        // Comments inside the query move above it.
        while let Some(c) = comments.next_if(|c| c.start < span.end) {
            lines.push(comment_text(c));
        }
        let mut body = layout(query);
        prev_end = Some(span.end);
        // A comment on the query's last line, before the next query starts, trails it.
        let next_start = queries.get(i + 1).map_or(usize::MAX, |(s, _)| s.start);
        if let Some(c) = comments.next_if(|c| {
            c.start < next_start
                && text.get(span.end..c.start).is_some_and(|gap| !gap.contains('\n'))
        }) {
            if let Some(last) = body.last_mut() {
                last.push(' ');
                last.push_str(&comment_text(c));
            }
            prev_end = Some(c.end);
        }
        lines.append(&mut body);
    }
    for c in comments {
        if blank_between(prev_end, c.start) {
            lines.push(String::new());
        }
        lines.push(comment_text(c));
        prev_end = Some(c.end);
    }
    if lines.is_empty() {
        return Some(String::new());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    Some(out)
}

/// The lines of one query.
fn layout(query: &Query) -> Vec<String> {
    let one_line = query.to_string();
    if one_line.chars().count() <= MAX_WIDTH {
        return vec![one_line];
    }
    let mut head = String::new();
    query.write_head(&mut head);
    let mut lines = vec![head];
    if let Some(filter) = &query.filter {
        let mut line = String::from("  where ");
        write_expr(&mut line, filter, 0);
        match filter {
            Expr::And { items, .. } | Expr::Or { items, .. }
                if line.chars().count() > MAX_WIDTH =>
            {
                let (sep, own) = if matches!(filter, Expr::And { .. }) {
                    ("    and ", 2)
                } else {
                    ("    or ", 1)
                };
                for (i, item) in items.iter().enumerate() {
                    let mut line = if i == 0 { String::from("  where ") } else { sep.to_owned() };
                    write_expr(&mut line, item, own);
                    lines.push(line);
                }
            }
            _ => lines.push(line),
        }
    }
    if !query.show.is_empty() {
        let mut line = String::from("  ");
        query.write_show(&mut line);
        lines.push(line);
    }
    if let Some(limit) = &query.limit {
        lines.push(format!("  limit {}", limit.value));
    }
    lines
}
