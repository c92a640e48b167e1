//! The one diagnostic renderer: colour-free and rustc-like, used by the CLI and the
//! snapshots. Columns count characters, not bytes; control characters from the input are
//! neutralised so a rendered diagnostic cannot drive a terminal.

use std::fmt::Write as _;

use crate::diagnostic::{Diagnostic, Severity, Span};

/// Renders diagnostics against the source they were made from:
///
/// ```text
/// error[expected-value]: expected a value after `=`, found the end of the query
///  --> query.idrql:1:29
///   |
/// 1 | images where "Gene Symbol" =
///   |                             ^
///   = help: …
/// ```
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_one(&mut out, d, file_name, source);
    }
    out
}

/// The 1-based line and column (in characters) of byte `offset`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = floor_boundary(source, offset);
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).unwrap_or("").chars().count() + 1;
    (line, col)
}

fn floor_boundary(source: &str, offset: usize) -> usize {
    let mut offset = offset.min(source.len());
    while offset > 0 && !source.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

fn render_one(out: &mut String, d: &Diagnostic, file_name: &str, source: &str) {
    let severity = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let (line, col) = line_col(source, d.span.start);
    let _ = writeln!(out, "{severity}[{}]: {}", d.code, sanitize(&d.message));
    let mut snippets = vec![(d.span, '^', String::new())];
    snippets.extend(d.labels.iter().map(|(span, note)| (*span, '-', sanitize(note))));
    let width = snippets
        .iter()
        .map(|(span, _, _)| line_col(source, span.start).0.to_string().len())
        .max()
        .unwrap_or(1);
    let pad = " ".repeat(width);
    let _ = writeln!(out, "{pad}--> {}:{line}:{col}", sanitize(file_name));
    let _ = writeln!(out, "{pad} |");
    let mut last_shown = None;
    for (span, marker, note) in &snippets {
        let (line, _) = line_col(source, span.start);
        let (text, underline) = underline(source, *span, *marker);
        // A line is shown again only when this span shows another part of it.
        if last_shown.as_ref() != Some(&(line, text.clone())) {
            let _ = writeln!(out, "{:>width$} | {text}", line);
            last_shown = Some((line, text));
        }
        let note = if note.is_empty() { String::new() } else { format!(" {note}") };
        let _ = writeln!(out, "{pad} | {underline}{note}");
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "{pad} = help: {}", sanitize(help));
    }
}

/// The span's first line as displayed, and the marker line under it.
fn underline(source: &str, span: Span, marker: char) -> (String, String) {
    let start = floor_boundary(source, span.start);
    let end = floor_boundary(source, span.end.max(start));
    let line_start = source.get(..start).and_then(|s| s.rfind('\n')).map_or(0, |i| i + 1);
    let line_end =
        source.get(start..).and_then(|s| s.find('\n')).map_or(source.len(), |i| start + i);
    let line = source.get(line_start..line_end).unwrap_or("");
    // Each character as shown, with its column.
    let mut shown_chars: Vec<(usize, String)> = Vec::new();
    let mut width = 0usize;
    let mut lead = 0usize;
    let mut marked = 0usize;
    for (i, c) in line.char_indices() {
        let at = line_start + i;
        let shown = display(c);
        let w = shown.chars().count();
        if c == '\r' && at + 1 == line_end {
            break;
        }
        shown_chars.push((width, shown));
        width += w;
        if at < start {
            lead += w;
        } else if at < end {
            marked += w;
        }
    }
    // A long line (a query of one 100 KB line) is shown around the span only.
    let (from, to) = if width <= MAX_LINE_WIDTH {
        (0, width)
    } else {
        // From the first character that starts at or after the context's start (a tab,
        // four columns wide, is not cut in two).
        let from = lead.saturating_sub(CONTEXT);
        let from = shown_chars.iter().map(|(c, _)| *c).find(|c| *c >= from).unwrap_or(lead);
        (from, (lead + marked.clamp(1, MAX_MARKED) + CONTEXT).min(width))
    };
    let mut text = String::new();
    if from > 0 {
        text.push('…');
    }
    for (column, shown) in &shown_chars {
        if (from..to).contains(column) {
            text.push_str(shown);
        }
    }
    if to < width {
        text.push('…');
    }
    // In the shown text's columns (after the leading `…`, when the start is cut).
    let marked = marked.min(to.saturating_sub(lead));
    let lead = lead - from + usize::from(from > 0);
    let underline = format!("{}{}", " ".repeat(lead), marker.to_string().repeat(marked.max(1)));
    (text, underline)
}

/// The widest source line shown whole.
const MAX_LINE_WIDTH: usize = 160;

/// Around a span of a longer line, the columns shown on each side.
const CONTEXT: usize = 40;

/// Of a longer line, the most columns of the span itself shown.
const MAX_MARKED: usize = 80;

/// Whether `c` must not reach a terminal or an editor as it is: a control character, a
/// line or paragraph separator, or an invisible character: formatting ones, the
/// bidirectional overrides and isolates above all (which reorder what is shown: "Trojan
/// Source"), variation selectors, fillers, and the tag characters that can smuggle text.
pub(crate) fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180B}'..='\u{180E}'
            | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2069}'
            | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}' | '\u{E0100}'..='\u{E01EF}')
}

/// How one source character is shown: tabs as four spaces, hidden ones ([`is_hidden`]) as
/// U+FFFD.
fn display(c: char) -> String {
    match c {
        '\t' => "    ".to_owned(),
        c if is_hidden(c) => '\u{fffd}'.to_string(),
        c => c.to_string(),
    }
}

/// A message with hidden characters ([`is_hidden`]) written as escapes.
fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}
