//! Spans and diagnostics: what every stage reports, as plain data with byte offsets.

/// A range of the source text in bytes, `start..end`. Spans always lie on `char`
/// boundaries of the text they were made from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end` (swapped if given backwards).
    pub fn new(start: usize, end: usize) -> Span {
        if start <= end {
            Span { start, end }
        } else {
            Span { start: end, end: start }
        }
    }

    /// An empty span at `offset`.
    pub fn at(offset: usize) -> Span {
        Span { start: offset, end: offset }
    }

    /// Length in bytes.
    pub fn len(self) -> usize {
        self.end - self.start
    }

    /// Whether the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    /// The smallest span that covers both.
    pub fn cover(self, other: Span) -> Span {
        Span { start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    /// Whether `offset` lies in the span or at its end.
    pub fn touches(self, offset: usize) -> bool {
        self.start <= offset && offset <= self.end
    }

    /// The text the span covers, or `""` when it does not fit the text.
    pub fn text(self, source: &str) -> &str {
        source.get(self.start..self.end).unwrap_or("")
    }
}

/// How bad a diagnostic is. Only errors stop a query from compiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The query cannot be compiled.
    Error,
    /// The query compiles, but probably does not do what was meant.
    Warning,
}

/// One problem found in the source, with a stable code.
///
/// `code` is kebab-case and never changes meaning (the list is in `docs/idr-ql.md`);
/// `span` points at the offending text, `labels` at related text, and `help` says how to
/// fix it when we know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable kebab-case code, such as `expected-value`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence, starting lower-case, without a final full stop.
    pub message: String,
    /// The offending text (empty at the end of the input).
    pub span: Span,
    /// Related text, each with a short note.
    pub labels: Vec<(Span, String)>,
    /// How to fix it, when there is a clear fix.
    pub help: Option<String>,
    /// Edits that fix it, when the fix is certain enough to offer as an editor's quick
    /// fix (the did-you-mean replacement, a missing `where`, quotes).
    pub fixes: Vec<Fix>,
}

/// A quick fix: a title for the editor's menu, and the edits (byte spans of the source
/// and their new text) that make it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fix {
    pub title: String,
    pub edits: Vec<(Span, String)>,
}

impl Diagnostic {
    pub(crate) fn error(code: &'static str, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
            fixes: Vec::new(),
        }
    }

    pub(crate) fn warning(
        code: &'static str,
        span: Span,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, span, message) }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Offers replacing `span` with `text` as a quick fix called `title`.
    pub(crate) fn with_fix(
        mut self,
        title: impl Into<String>,
        span: Span,
        text: impl Into<String>,
    ) -> Diagnostic {
        self.fixes.push(Fix { title: title.into(), edits: vec![(span, text.into())] });
        self
    }

    pub(crate) fn with_label(mut self, span: Span, note: impl Into<String>) -> Diagnostic {
        self.labels.push((span, note.into()));
        self
    }

    /// Whether this diagnostic stops the query from compiling.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every diagnostic code, for documentation and tests.
pub const CODES: &[&str] = &[
    "expected-resource",
    "expected-scope",
    "expected-id",
    "expected-condition",
    "expected-operator",
    "expected-value",
    "expected-field",
    "expected-number",
    "unclosed-paren",
    "stray-token",
    "unterminated-string",
    "bad-escape",
    "too-deep",
    "too-long",
    "unknown-resource",
    "unknown-scope",
    "missing-scope",
    "scope-mismatch",
    "bad-id",
    "missing-id",
    "too-many-ids",
    "missing-key",
    "missing-condition",
    "unknown-key",
    "bad-operator",
    "empty-list",
    "unknown-field",
    "duplicate-field",
    "too-many-keys",
    "limit-out-of-range",
    "unsupported",
];

/// Edit distance over chars, compared case-insensitively, counting a swap of two
/// neighbours as one edit (optimal string alignment: `wehre` is one edit from `where`);
/// used for "did you mean".
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(&a.to_lowercase(), &b.to_lowercase())
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Long inputs cannot be typos of our short names; skip the quadratic work.
    if word.chars().count() > 64 {
        return None;
    }
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        // The distance is at least the difference in length: skip hopeless candidates
        // without computing it.
        if candidate.chars().count().abs_diff(len) > limit {
            continue;
        }
        let d = edit_distance(word, candidate);
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}
