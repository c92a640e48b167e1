//! The syntax tree of one query, and its canonical one-line printing.
//!
//! The tree keeps what was written (unknown resource names, operands of the wrong
//! shape) so the checker can point at it; `check` decides what is wrong. Spans are byte
//! offsets into the whole source file.

use std::fmt::{self, Write as _};

use crate::diagnostic::Span;
use crate::lexer::is_bare;
use crate::model::{Field, Op, OpSyntax, Resource, ScopeKind};

/// A value and where it was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Pairs a value with its span.
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// One query: `RESOURCE [IDS] [in SCOPE] [where CONDITION] [show FIELD, …] [limit N]`, or
/// a question about the search engine's catalog: `keys [in RESOURCE] [limit N]`,
/// `values KEY [in RESOURCE] [limit N]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    /// The whole query, from its first token to its last.
    pub span: Span,
    /// What is listed (for the catalog: `keys` or `values`).
    pub resource: Spanned<ResourceName>,
    /// The ids of `image 122770` or `images 1, 2`, as written; empty for a listing.
    pub ids: Vec<Spanned<String>>,
    /// The key of `values KEY`, unquoted.
    pub key: Option<Spanned<String>>,
    /// The resource of `keys in RESOURCE` or `values KEY in RESOURCE` (plural or
    /// singular, it is [`ResourceName::Known`]).
    pub of: Option<Spanned<ResourceName>>,
    /// `in …`, if given.
    pub scope: Option<Scope>,
    /// The `where` condition, if given.
    pub filter: Option<Expr>,
    /// The `show` items; empty when there is no `show` clause.
    pub show: Vec<Spanned<ShowItem>>,
    /// `limit N`, if given (values that do not fit a `u64` become `u64::MAX`).
    pub limit: Option<Spanned<u64>>,
}

/// A resource as written: one of the seven (the six that take ids also in the singular),
/// a catalog head, or something else (an error for the checker).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResourceName {
    /// A known resource, in the plural: `images`.
    Known(Resource),
    /// A known resource in the singular, which names objects by id: `image 122770`.
    One(Resource),
    /// `keys`: the keys of the search engine's catalog.
    Keys,
    /// `values`: the values of one key, with counts.
    Values,
    /// Any other word.
    Unknown(String),
}

impl ResourceName {
    /// The resource of objects listed or fetched (none for the catalog and unknown words).
    pub fn resource(&self) -> Option<Resource> {
        match self {
            ResourceName::Known(r) | ResourceName::One(r) => Some(*r),
            _ => None,
        }
    }

    /// Whether the query asks the catalog (`keys`, `values`).
    pub fn is_catalog(&self) -> bool {
        matches!(self, ResourceName::Keys | ResourceName::Values)
    }
}

/// `in KIND TARGET`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    /// From `in` to the target.
    pub span: Span,
    /// `screen`, `plate`, … as written.
    pub kind: Spanned<ScopeName>,
    /// The id or study name, unquoted.
    pub target: Spanned<String>,
}

/// A scope kind as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ScopeName {
    /// A known scope.
    Known(ScopeKind),
    /// Any other word.
    Unknown(String),
}

/// A condition.
///
/// The parser builds `And` and `Or` with at least two operands, never puts an `Or`
/// directly in an `And`, nor an `And` or `Or` directly in another of the same kind or in
/// a `Not` (parentheses become `Group`), so printing needs no extra parentheses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    /// `a or b or …`.
    Or {
        /// The operands.
        items: Vec<Expr>,
        /// From the first operand to the last.
        span: Span,
    },
    /// `a and b and …`.
    And {
        /// The operands.
        items: Vec<Expr>,
        /// From the first operand to the last.
        span: Span,
    },
    /// `not a`.
    Not {
        /// The negated condition.
        inner: Box<Expr>,
        /// From `not` to the end of the operand.
        span: Span,
    },
    /// `( a )`.
    Group {
        /// The condition in parentheses.
        inner: Box<Expr>,
        /// From `(` to `)`.
        span: Span,
    },
    /// `key op value`.
    Compare(Comparison),
}

impl Expr {
    /// Where the condition was written.
    pub fn span(&self) -> Span {
        match self {
            Expr::Or { span, .. }
            | Expr::And { span, .. }
            | Expr::Not { span, .. }
            | Expr::Group { span, .. } => *span,
            Expr::Compare(c) => c.span,
        }
    }

    /// How deeply parentheses and `not`s nest in this condition.
    pub fn depth(&self) -> usize {
        match self {
            Expr::Or { items, .. } | Expr::And { items, .. } => {
                items.iter().map(Expr::depth).max().unwrap_or(0)
            }
            Expr::Not { inner, .. } | Expr::Group { inner, .. } => 1 + inner.depth(),
            Expr::Compare(_) => 0,
        }
    }
}

/// `key op value`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// From the key to the end of the operand.
    pub span: Span,
    /// The key.
    pub key: Spanned<KeyName>,
    /// The operator.
    pub op: Spanned<Op>,
    /// One value or a list.
    pub operand: Operand,
}

/// The left side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyName {
    /// `name` (any case, quoted or not): the object's own name.
    Name,
    /// A map-annotation key, such as `Gene Symbol`.
    Key(String),
}

impl KeyName {
    /// The key as text (`name` for [`KeyName::Name`]).
    pub fn as_str(&self) -> &str {
        match self {
            KeyName::Name => "name",
            KeyName::Key(k) => k,
        }
    }
}

/// The right side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// One value.
    One(Spanned<String>),
    /// `( v1, v2, … )`; `span` covers the parentheses.
    List {
        /// The values.
        items: Vec<Spanned<String>>,
        /// From `(` to `)`.
        span: Span,
    },
}

impl Operand {
    /// Where the operand was written.
    pub fn span(&self) -> Span {
        match self {
            Operand::One(v) => v.span,
            Operand::List { span, .. } => *span,
        }
    }
}

/// One item of `show`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShowItem {
    /// A field name, unquoted (any case).
    Field(Field),
    /// A quoted item, or any other word: a key whose values are returned.
    Key(String),
}

/// Writes `text` as a bare word when it reads back the same, else as a quoted string.
pub(crate) fn write_text(out: &mut String, text: &str) {
    if is_bare(text) {
        out.push_str(text);
    } else {
        write_quoted(out, text);
    }
}

/// Writes `text` as an IDR-QL string literal.
pub(crate) fn write_quoted(out: &mut String, text: &str) {
    write_string_literal(out, text, |out, c| {
        let _ = write!(out, "\\u{{{:x}}}", c as u32);
    });
}

/// Writes `text` between double quotes, as IDR-QL and GraphQL both read it: `"`, `\`,
/// newline, carriage return and tab by their short escapes, and through `escape` every
/// other character that would be invisible or misleading on screen: controls, and
/// non-ASCII characters that are not word characters (Unicode whitespace, zero-width and
/// bidirectional controls, the byte-order mark).
pub(crate) fn write_string_literal(
    out: &mut String,
    text: &str,
    escape: impl Fn(&mut String, char),
) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || !crate::lexer::is_word_char(c) && !c.is_ascii() => {
                escape(out, c)
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A key in a condition or `show`: `name`-like keys and field names are fine bare, as
/// they read back the same.
fn write_key(out: &mut String, key: &KeyName) {
    match key {
        KeyName::Name => out.push_str("name"),
        KeyName::Key(k) => write_text(out, k),
    }
}

pub(crate) fn write_operand(out: &mut String, operand: &Operand) {
    match operand {
        Operand::One(v) => write_text(out, &v.value),
        Operand::List { items, .. } => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_text(out, &item.value);
            }
            out.push(')');
        }
    }
}

/// Writes a condition; `parent` is the binding strength of the context (0 = top, 1 =
/// inside `or`, 2 = inside `and`, 3 = inside `not`). Parentheses are added only where
/// the tree would otherwise read back differently (never for trees the parser built).
pub(crate) fn write_expr(out: &mut String, expr: &Expr, parent: u8) {
    let (own, needs) = match expr {
        Expr::Or { .. } => (1, parent >= 1),
        Expr::And { .. } => (2, parent >= 2),
        _ => (3, false),
    };
    if needs {
        out.push('(');
    }
    match expr {
        Expr::Or { items, .. } | Expr::And { items, .. } => {
            let sep = if own == 1 { " or " } else { " and " };
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                write_expr(out, item, own);
            }
        }
        Expr::Not { inner, .. } => {
            out.push_str("not ");
            write_expr(out, inner, 3);
        }
        Expr::Group { inner, .. } => {
            out.push('(');
            write_expr(out, inner, 0);
            out.push(')');
        }
        Expr::Compare(c) => write_comparison(out, c),
    }
    if needs {
        out.push(')');
    }
}

pub(crate) fn write_comparison(out: &mut String, c: &Comparison) {
    write_key(out, &c.key.value);
    out.push(' ');
    out.push_str(c.op.value.symbol());
    out.push(' ');
    write_operand(out, &c.operand);
}

pub(crate) fn write_show_item(out: &mut String, item: &ShowItem) {
    match item {
        ShowItem::Field(f) => out.push_str(f.name()),
        // A key spelled like a field must stay quoted to stay a key.
        ShowItem::Key(k) if Field::from_name(k).is_some() => write_quoted(out, k),
        ShowItem::Key(k) => write_text(out, k),
    }
}

impl Query {
    /// The head of the query: resource and scope (`images in plate 4554`).
    pub(crate) fn write_head(&self, out: &mut String) {
        match &self.resource.value {
            ResourceName::Known(r) => out.push_str(r.name()),
            ResourceName::One(r) => out.push_str(r.singular()),
            ResourceName::Keys => out.push_str("keys"),
            ResourceName::Values => out.push_str("values"),
            ResourceName::Unknown(w) => out.push_str(w),
        }
        if let Some(key) = &self.key {
            out.push(' ');
            write_text(out, &key.value);
        }
        for (i, id) in self.ids.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(&id.value);
        }
        if let Some(of) = &self.of {
            out.push_str(" in ");
            match &of.value {
                ResourceName::Unknown(w) => out.push_str(w),
                other => out.push_str(other.resource().map_or("", Resource::name)),
            }
        }
        if let Some(scope) = &self.scope {
            out.push_str(" in ");
            match &scope.kind.value {
                ScopeName::Known(k) => out.push_str(k.name()),
                ScopeName::Unknown(w) => out.push_str(w),
            }
            out.push(' ');
            write_text(out, &scope.target.value);
        }
    }

    pub(crate) fn write_show(&self, out: &mut String) {
        out.push_str("show ");
        for (i, item) in self.show.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_show_item(out, &item.value);
        }
    }
}

/// The canonical one-line form: lower-case keywords, one space around operators, quotes
/// only where needed, `, ` in lists.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        self.write_head(&mut out);
        if let Some(filter) = &self.filter {
            out.push_str(" where ");
            write_expr(&mut out, filter, 0);
        }
        if !self.show.is_empty() {
            out.push(' ');
            self.write_show(&mut out);
        }
        if let Some(limit) = &self.limit {
            let _ = write!(out, " limit {}", limit.value);
        }
        f.write_str(&out)
    }
}
