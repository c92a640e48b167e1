//! Editor features as plain data: completion and hover at a byte offset. Both work on
//! unfinished text (an unterminated string, a half-typed keyword), because they read
//! tokens and the [`Walker`] rather than the syntax tree.

use crate::ast::{write_quoted, write_text};
use crate::catalog::Catalog;
use crate::context::{Expect, Role, Walker};
use crate::diagnostic::Span;
use crate::lexer::{self, starts_line, Token, TokenKind};
use crate::model::{keyword_doc, Field, Op, OpSyntax, Resource, ScopeKind};
use crate::syntax::{CatalogHead, Keyword};

/// What kind of thing a completion inserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CompletionKind {
    /// `where`, `and`, `show`, …
    Keyword,
    /// `images`, `screens`, …
    Resource,
    /// `screen`, `plate`, … after `in`.
    Scope,
    /// `=`, `~`, `in`, …
    Operator,
    /// A `show` field.
    Field,
    /// A map-annotation key from the catalog (or `name`).
    Key,
    /// A known value of the key on the left.
    Value,
}

/// One completion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletionItem {
    /// What the menu shows, such as `Gene Symbol`.
    pub label: String,
    /// What it is.
    pub kind: CompletionKind,
    /// A short description: a namespace, an image count, what a field holds.
    pub detail: Option<String>,
    /// The text to put in place of [`CompletionItem::replace`], quoted where needed
    /// (`"Gene Symbol"`). Editors should also filter on it, since the text being
    /// replaced may start with a quote.
    pub insert_text: String,
    /// The text the completion replaces: the word or string being typed (for an
    /// unterminated string, from its quote to the cursor), or an empty span at the cursor.
    pub replace: Span,
}

/// Hover information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hover {
    /// The token hovered.
    pub span: Span,
    /// What it means, as Markdown.
    pub markdown: String,
}

/// The largest char boundary at or before `offset`, within the text.
fn clamp(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The tokens of the query that `at` belongs to, before `at` (comments excluded).
fn query_tokens_before(text: &str, tokens: &[Token], at: usize) -> Vec<Token> {
    let before: Vec<Token> = tokens
        .iter()
        .copied()
        .filter(|t| t.span.end <= at && t.span.start < at && t.kind != TokenKind::Comment)
        .collect();
    if starts_line(text, at) {
        return Vec::new();
    }
    let start = before
        .iter()
        .rposition(|t| t.kind == TokenKind::Semi || starts_line(text, t.span.start))
        .map_or(0, |i| {
            if before.get(i).is_some_and(|t| t.kind == TokenKind::Semi) {
                i + 1
            } else {
                i
            }
        });
    before
        .get(start..)
        .unwrap_or(&[])
        .iter()
        .copied()
        .filter(|t| t.kind != TokenKind::Semi)
        .collect()
}

/// The text of a key or value token, unquoted (escapes resolved loosely).
pub(crate) fn token_text(text: &str, token: Token) -> String {
    let raw = token.span.text(text);
    match token.kind {
        TokenKind::Str { terminated } => {
            let body = raw.strip_prefix('"').unwrap_or(raw);
            let body = if terminated { body.strip_suffix('"').unwrap_or(body) } else { body };
            crate::parser::unescape(body, 0, &mut Vec::new())
        }
        _ => raw.to_owned(),
    }
}

/// Completions at byte `offset`: what may come next there, filtered by what is already
/// typed of the current word or string.
pub fn complete(text: &str, offset: usize, catalog: &Catalog) -> Vec<CompletionItem> {
    let offset = clamp(text, offset);
    let tokens = lexer::lex(text);
    if tokens
        .iter()
        .any(|t| t.kind == TokenKind::Comment && t.span.start < offset && offset <= t.span.end)
    {
        return Vec::new();
    }
    // The word or string being typed, if the cursor is in or at the end of one.
    let partial = tokens.iter().copied().find(|t| match t.kind {
        TokenKind::Word | TokenKind::Str { terminated: false } => {
            t.span.start < offset && offset <= t.span.end
        }
        TokenKind::Str { terminated: true } => t.span.start < offset && offset < t.span.end,
        _ => false,
    });
    let (replace, prefix, quoted) = match partial {
        Some(t) if matches!(t.kind, TokenKind::Str { terminated: false }) => {
            let typed = text.get(t.span.start + 1..offset).unwrap_or("");
            (Span::new(t.span.start, offset), typed.to_owned(), true)
        }
        Some(t) if matches!(t.kind, TokenKind::Str { .. }) => {
            let typed = text.get(t.span.start + 1..offset).unwrap_or("");
            (t.span, typed.to_owned(), true)
        }
        Some(t) => (t.span, text.get(t.span.start..offset).unwrap_or("").to_owned(), false),
        None => (Span::at(offset), String::new(), false),
    };
    let before = query_tokens_before(text, &tokens, replace.start);
    let walker = Walker::over(text, &before);
    let mut items = Vec::new();
    let mut push = |label: &str, kind: CompletionKind, detail: Option<String>| {
        let mut insert = String::new();
        match kind {
            CompletionKind::Key | CompletionKind::Value | CompletionKind::Field if quoted => {
                write_quoted(&mut insert, label)
            }
            CompletionKind::Key | CompletionKind::Value | CompletionKind::Field => {
                write_text(&mut insert, label)
            }
            _ => insert.push_str(label),
        }
        items.push(CompletionItem {
            label: label.to_owned(),
            kind,
            detail,
            insert_text: insert,
            replace,
        });
    };
    let keyword = |push: &mut dyn FnMut(&str, CompletionKind, Option<String>), kw: &str| {
        push(kw, CompletionKind::Keyword, keyword_doc(kw).map(str::to_owned));
    };
    let keys = |push: &mut dyn FnMut(&str, CompletionKind, Option<String>)| {
        for key in catalog.keys() {
            push(&key.name, CompletionKind::Key, Some(key_detail(key)));
        }
    };
    match walker.expect {
        Expect::Resource => {
            for r in Resource::ALL {
                push(r.name(), CompletionKind::Resource, Some(r.doc().to_owned()));
            }
            for r in Resource::ALL.into_iter().filter(|r| r.takes_ids()) {
                let doc = format!(
                    "One {} by id, or several: `{} {}`.",
                    r.singular(),
                    r.singular(),
                    r.example_id()
                );
                push(r.singular(), CompletionKind::Resource, Some(doc));
            }
            for head in CatalogHead::ALL {
                keyword(&mut push, head.text());
            }
        }
        Expect::CatalogKey => {
            keys(&mut push);
            if !quoted {
                keyword(&mut push, Keyword::In.text());
                keyword(&mut push, Keyword::Limit.text());
            }
        }
        Expect::CatalogNext => {
            keyword(&mut push, Keyword::In.text());
            keyword(&mut push, Keyword::Limit.text());
        }
        Expect::CatalogResource => {
            for r in Resource::ALL.into_iter().filter(|r| r.has_catalog()) {
                push(r.name(), CompletionKind::Resource, Some(r.doc().to_owned()));
            }
        }
        Expect::LimitNext => keyword(&mut push, Keyword::Limit.text()),
        // A lookup takes no scope and no condition: only what it shows and how many.
        Expect::Clause { .. } if walker.lookup => {
            for kw in [Keyword::Show, Keyword::Limit].map(Keyword::text) {
                keyword(&mut push, kw);
            }
        }
        Expect::Clause { scope } => {
            let scoped = walker.resource.is_none_or(|r| !ScopeKind::fitting(r).is_empty());
            if scope && scoped {
                keyword(&mut push, Keyword::In.text());
            }
            for kw in [Keyword::Where, Keyword::Show, Keyword::Limit].map(Keyword::text) {
                keyword(&mut push, kw);
            }
        }
        Expect::ScopeKind => {
            let kinds: &[ScopeKind] = match walker.resource {
                Some(r) => ScopeKind::fitting(r),
                None => &ScopeKind::ALL,
            };
            for k in kinds.iter().filter(|k| **k != ScopeKind::Well) {
                push(k.name(), CompletionKind::Scope, Some(k.doc().to_owned()));
            }
        }
        Expect::Condition => {
            // Studies are found by the engine alone, which cannot test names.
            if walker.resource != Some(Resource::Studies) {
                push("name", CompletionKind::Key, Some("The object's name.".to_owned()));
            }
            keys(&mut push);
            if !quoted {
                keyword(&mut push, Keyword::Not.text());
            }
        }
        Expect::Operator => {
            for op in Op::ALL {
                push(op.symbol(), CompletionKind::Operator, Some(op.doc().to_owned()));
            }
        }
        Expect::NotIn => {
            push(Keyword::In.text(), CompletionKind::Operator, Some(Op::NotIn.doc().to_owned()))
        }
        Expect::Value | Expect::ListValue => {
            let key = walker.key.and_then(|span| before.iter().find(|t| t.span == span).copied());
            if let Some(key) = key {
                let key = token_text(text, key);
                for value in catalog.values(&key) {
                    let detail = value.images.map(|n| format!("{n} images"));
                    push(&value.value, CompletionKind::Value, detail);
                }
            }
        }
        Expect::AfterCondition => {
            for kw in [Keyword::And, Keyword::Or, Keyword::Show, Keyword::Limit].map(Keyword::text)
            {
                keyword(&mut push, kw);
            }
        }
        Expect::ShowItem => {
            let fields: &[Field] = walker.resource.map_or(&[], Resource::fields);
            for f in fields {
                push(f.name(), CompletionKind::Field, Some(f.doc().to_owned()));
            }
            // Studies show their own fields only.
            if walker.resource != Some(Resource::Studies) {
                keys(&mut push);
            }
        }
        Expect::ShowNext => keyword(&mut push, Keyword::Limit.text()),
        Expect::ScopeTarget | Expect::ListNext | Expect::Number | Expect::End | Expect::Id => {}
    }
    filter(items, &prefix)
}

fn key_detail(key: &crate::catalog::KeyInfo) -> String {
    let mut detail = key.namespace.clone().unwrap_or_else(|| "key".to_owned());
    if let Some(n) = key.images {
        detail.push_str(&format!(" · {n} images"));
    }
    detail
}

/// Keeps the items whose label starts with `prefix` (case-insensitive); when none does,
/// those that contain it.
fn filter(items: Vec<CompletionItem>, prefix: &str) -> Vec<CompletionItem> {
    if prefix.is_empty() {
        return items;
    }
    let prefix = prefix.to_lowercase();
    let starts: Vec<CompletionItem> =
        items.iter().filter(|i| i.label.to_lowercase().starts_with(&prefix)).cloned().collect();
    if !starts.is_empty() {
        return starts;
    }
    items.into_iter().filter(|i| i.label.to_lowercase().contains(&prefix)).collect()
}

/// What the token at byte `offset` means: a keyword, resource, scope, operator, field,
/// key (namespace, how many images carry it, known values) or known value.
pub fn hover(text: &str, offset: usize, catalog: &Catalog) -> Option<Hover> {
    let offset = clamp(text, offset);
    let tokens = lexer::lex(text);
    let token = tokens
        .iter()
        .find(|t| t.span.start <= offset && offset < t.span.end)
        .or_else(|| tokens.iter().find(|t| t.span.start < offset && offset == t.span.end))
        .copied()?;
    if matches!(token.kind, TokenKind::Comment | TokenKind::Semi) {
        return None;
    }
    let before = query_tokens_before(text, &tokens, token.span.start);
    let mut walker = Walker::over(text, &before);
    let key_token = walker.key.and_then(|span| before.iter().find(|t| t.span == span).copied());
    let resource = walker.resource;
    let prev = walker.prev;
    let role = walker.step(text, token);
    let word = token.span.text(text);
    let value = token_text(text, token);
    let markdown = match role {
        Role::Resource => match (Resource::from_name(word), Resource::from_singular(word)) {
            (Some(r), _) => format!("**{}**\n\n{}", r.name(), r.doc()),
            (None, Some(r)) => format!(
                "**{}**\n\nOne {} by id, or several separated by `,`: `{} {}`. `show` picks the fields.",
                r.singular(),
                r.singular(),
                r.singular(),
                r.example_id()
            ),
            (None, None) => return None,
        },
        Role::Id => {
            let r = resource?;
            format!("**{} {word}**\n\nThe {} with IDR id {word}.", r.singular(), r.singular())
        }
        Role::Keyword => format!("**{}**\n\n{}", word.to_lowercase(), keyword_doc(word)?),
        Role::ScopeKind => {
            let k = ScopeKind::from_name(word)?;
            format!("**in {}**\n\n{}", k.name(), k.doc())
        }
        Role::Operator => {
            let after_not =
                prev.is_some_and(|t| Keyword::of(t.span.text(text)) == Some(Keyword::Not));
            let op = match (crate::syntax::symbol_operator(word), Keyword::of(word)) {
                (Some((_, op)), _) => op,
                (None, Some(Keyword::In)) if after_not => Op::NotIn,
                (None, Some(Keyword::In)) => Op::In,
                // `not` of `not in`.
                _ => Op::NotIn,
            };
            format!("**{}**\n\n{}", op.symbol(), op.doc())
        }
        Role::Key => key_markdown(catalog, &value),
        Role::ShowItem => match crate::model::show_field(
            &value,
            matches!(token.kind, TokenKind::Str { .. }),
            resource,
        ) {
            Some(f) => {
                let note = match resource {
                    Some(r) if !r.has_field(f) => format!("\n\n{} have no such field.", r.name()),
                    _ => String::new(),
                };
                format!("**{}** (field)\n\n{}{note}", f.name(), f.doc())
            }
            None => key_markdown(catalog, &value),
        },
        Role::Value { .. } => {
            let key = key_token.map(|t| token_text(text, t))?;
            let known = catalog.value(&key, &value)?;
            let count = known.images.map_or_else(
                || "how many images carry it is not known".to_owned(),
                |n| format!("carried by {n} images"),
            );
            format!("**{}**\n\nA value of `{key}`; {count}.", known.value)
        }
        Role::Limit => format!("**limit {word}**\n\nAt most {word} rows."),
        Role::ScopeTarget | Role::Punct | Role::Unexpected => return None,
    };
    Some(Hover { span: token.span, markdown })
}

fn key_markdown(catalog: &Catalog, key: &str) -> String {
    if key.eq_ignore_ascii_case("name") {
        return "**name**\n\nThe object's own name (for wells, the label such as `A1`).".to_owned();
    }
    let Some(info) = catalog.key(key) else {
        return format!("**{key}**\n\nA key the catalog does not know. IDR may still have it; a condition on a key no object carries matches nothing.");
    };
    let mut md = format!("**{}** (key)", info.name);
    md.push_str(&match &info.namespace {
        Some(ns) => format!("\n\nNamespace: `{ns}`"),
        None => "\n\nNamespace: not known".to_owned(),
    });
    md.push_str(&match info.images {
        Some(n) => format!("\n\nCarried by {n} images."),
        None => "\n\nHow many images carry it: not known in this catalog.".to_owned(),
    });
    let values = catalog.values(&info.name);
    if !values.is_empty() {
        let shown: Vec<String> = values
            .iter()
            .take(5)
            .map(|v| match v.images {
                Some(n) => format!("`{}` ({n})", v.value),
                None => format!("`{}`", v.value),
            })
            .collect();
        md.push_str(&format!("\n\n{} known values, such as {}.", values.len(), shown.join(", ")));
    }
    md
}

/// What a piece of text is, for semantic highlighting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenClass {
    Resource,
    Keyword,
    Key,
    Operator,
    Value,
    Number,
    Comment,
}

/// Every token of `text` that has a class, in order, classified the way completion and
/// hover read the text (so an unfinished query is classified as far as it goes). Spans
/// are byte offsets.
pub fn classify(text: &str) -> Vec<(Span, TokenClass)> {
    let mut out = Vec::new();
    let mut walker = Walker::new();
    for token in lexer::lex(text) {
        if token.kind == TokenKind::Comment {
            out.push((token.span, TokenClass::Comment));
            continue;
        }
        if token.kind == TokenKind::Semi {
            walker = Walker::new();
            continue;
        }
        if starts_line(text, token.span.start) {
            walker = Walker::new();
        }
        let numeric = || token.span.text(text).bytes().all(|b| b.is_ascii_digit());
        let class = match walker.step(text, token) {
            Role::Resource => Some(TokenClass::Resource),
            Role::Keyword | Role::ScopeKind => Some(TokenClass::Keyword),
            Role::Key | Role::ShowItem => Some(TokenClass::Key),
            Role::Operator => Some(TokenClass::Operator),
            Role::ScopeTarget | Role::Limit | Role::Id if numeric() => Some(TokenClass::Number),
            Role::Value { .. } if numeric() => Some(TokenClass::Number),
            Role::Value { .. } | Role::ScopeTarget => Some(TokenClass::Value),
            Role::Limit | Role::Id | Role::Punct | Role::Unexpected => None,
        };
        if let Some(class) = class {
            out.push((token.span, class));
        }
    }
    out
}
