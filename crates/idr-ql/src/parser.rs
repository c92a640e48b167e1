//! Parsing: split the text into queries, guard size and nesting, run the pest grammar on
//! each query, and build the syntax tree. Never fails and never panics: every problem
//! becomes a diagnostic on its query, and the other queries are parsed as usual.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{
    Comparison, Expr, KeyName, Operand, Query, ResourceName, Scope, ScopeName, ShowItem, Spanned,
};
use crate::context::{Expect, Walker};
use crate::diagnostic::{suggest, Diagnostic, Span};
use crate::lexer::{self, Segment, Token, TokenKind};
use crate::model::{Field, Op, Resource, ScopeKind};
use crate::syntax::Keyword;

/// The longest query accepted, in bytes. Longer ones get `too-long` without being parsed,
/// which bounds the parser's time and memory per query.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// How deeply parentheses and `not`s may nest in a condition. Checked on tokens before
/// the grammar runs, so no input can exhaust the stack.
pub const MAX_DEPTH: usize = 12;

#[derive(pest_derive::Parser)]
#[grammar = "grammar.pest"]
struct Grammar;

/// A parsed file: its queries in order, and its comments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// Every query, in order, including those that failed to parse.
    pub queries: Vec<ParsedQuery>,
    /// The span of every `#` comment.
    pub comments: Vec<Span>,
}

impl SourceFile {
    /// Every syntax diagnostic of every query, in source order.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.queries.iter().flat_map(|q| q.diagnostics.iter())
    }

    /// Whether any query has a syntax error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics().any(Diagnostic::is_error)
    }
}

/// One query of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedQuery {
    /// From the query's first token to its last (comments and `;` excluded).
    pub span: Span,
    /// The syntax tree, or `None` when the query does not parse.
    pub ast: Option<Query>,
    /// Syntax diagnostics (semantic ones come from `check`).
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses a whole file. Queries are separated by `;` or by a line that starts at column 0
/// (continuation lines are indented); `#` starts a comment.
pub fn parse(text: &str) -> SourceFile {
    let tokens = lexer::lex(text);
    let (segments, comments) = lexer::segments(text, &tokens);
    let queries = segments.iter().map(|segment| parse_segment(text, segment)).collect();
    SourceFile { queries, comments }
}

fn parse_segment(text: &str, segment: &Segment) -> ParsedQuery {
    let span = segment.span;
    let failed = |diagnostics| ParsedQuery { span, ast: None, diagnostics };
    // Nesting first: 100,000 `(` is a nesting problem before it is a size problem.
    if let Some(diagnostics) = lexical_errors(text, &segment.tokens) {
        return failed(diagnostics);
    }
    if span.len() > MAX_QUERY_BYTES {
        return failed(vec![Diagnostic::error(
            "too-long",
            Span::new(span.start, span.start),
            format!("this query is {} bytes long; the limit is {MAX_QUERY_BYTES}", span.len()),
        )
        .with_help("split it into several queries")]);
    }
    // Both fallbacks below are unreachable for text the lexer split; they keep the
    // promise that a query without a tree always has an error.
    let unparsed = || Diagnostic::error("stray-token", span, "this query could not be parsed");
    let Some(source) = text.get(span.start..span.end) else {
        return failed(vec![unparsed()]);
    };
    match Grammar::parse(Rule::query, source) {
        Ok(mut pairs) => {
            let mut builder = Builder { base: span.start, diagnostics: Vec::new() };
            let ast = pairs.next().and_then(|pair| builder.query(pair, span));
            if ast.is_none() && builder.diagnostics.is_empty() {
                builder.diagnostics.push(unparsed());
            }
            ParsedQuery { span, ast, diagnostics: builder.diagnostics }
        }
        Err(error) => {
            let offset = match error.location {
                pest::error::InputLocation::Pos(p) => p,
                pest::error::InputLocation::Span((p, _)) => p,
            };
            failed(vec![syntax_error(text, &segment.tokens, span.start + offset)])
        }
    }
}

/// Problems found on tokens alone, reported instead of a parse: unterminated strings
/// and nesting deeper than [`MAX_DEPTH`].
fn lexical_errors(text: &str, tokens: &[Token]) -> Option<Vec<Diagnostic>> {
    let mut diagnostics = Vec::new();
    for token in tokens {
        if token.kind == (TokenKind::Str { terminated: false }) {
            diagnostics.push(
                Diagnostic::error(
                    "unterminated-string",
                    token.span,
                    "this string has no closing `\"` before the end of the line",
                )
                .with_help("close it with `\"`; write a line break inside a string as `\\n`"),
            );
        }
    }
    if !diagnostics.is_empty() {
        return Some(diagnostics);
    }
    // Parentheses and runs of `not` are what nest, as `Expr::depth` counts them. A `not`
    // directly before `in` is the `not in` operator, not a nesting `not`, and the
    // parentheses of a list (after `in`) hold values, not a condition.
    let mut depth = 0usize;
    let mut nots = 0usize;
    // For each open parenthesis, whether it counts (a group) or not (a list).
    let mut open: Vec<bool> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let keyword = |t: &Token| Keyword::of(t.span.text(text));
        match token.kind {
            TokenKind::LParen => {
                let list = i > 0 && keyword(&tokens[i - 1]) == Some(Keyword::In);
                open.push(!list);
                depth += usize::from(!list);
            }
            TokenKind::RParen if open.pop().unwrap_or(true) => depth = depth.saturating_sub(1),
            TokenKind::RParen => {}
            TokenKind::Word if keyword(token) == Some(Keyword::Not) => {
                let next_is_in = tokens.get(i + 1).is_some_and(|t| keyword(t) == Some(Keyword::In));
                if !next_is_in {
                    nots += 1;
                }
            }
            // `in` after a key is a comparison's operator, which ends a run of `not`s as
            // the symbol operators do (below).
            TokenKind::Word if keyword(token) == Some(Keyword::In) => nots = 0,
            _ => {}
        }
        if depth + nots > MAX_DEPTH {
            return Some(vec![Diagnostic::error(
                "too-deep",
                token.span,
                format!("conditions nest at most {MAX_DEPTH} levels deep (parentheses and `not`)"),
            )
            .with_help("simplify the condition")]);
        }
        // A comparison ends a run of `not`s that apply to it.
        if matches!(token.kind, TokenKind::Op) {
            nots = 0;
        }
    }
    None
}

/// Two tokens' texts (quotes off, escapes resolved) joined by a space and quoted: the one
/// key or value a user most likely meant by writing them apart.
fn quoted_pair(text: &str, first: Option<Token>, second: Token) -> String {
    let first = first.map(|t| crate::ide::token_text(text, t)).unwrap_or_default();
    let mut quoted = String::new();
    crate::ast::write_quoted(
        &mut quoted,
        &format!("{first} {}", crate::ide::token_text(text, second)),
    );
    quoted
}

/// Help to quote `prev` and `t` together, as the one key or value (`what`) a user most
/// likely meant, with that edit as the fix.
fn quote_fix(d: Diagnostic, text: &str, prev: Option<Token>, t: Token, what: &str) -> Diagnostic {
    let quoted = quoted_pair(text, prev, t);
    let d = d.with_help(format!("quote {what} that contain spaces: {quoted}"));
    match prev {
        Some(prev) => {
            d.with_fix(format!("Quote as {quoted}"), Span::new(prev.span.start, t.span.end), quoted)
        }
        None => d,
    }
}

/// Turns the position where the grammar gave up into one diagnostic, worded by what the
/// query expected there.
fn syntax_error(text: &str, tokens: &[Token], offset: usize) -> Diagnostic {
    let before: Vec<Token> = tokens.iter().copied().filter(|t| t.span.end <= offset).collect();
    let walker = Walker::over(text, &before);
    let found = tokens.iter().find(|t| t.span.end > offset).copied();
    let after = |t: Token| tokens.iter().find(|n| n.span.start >= t.span.end).copied();
    let prev_text = walker.prev.map_or("", |t| t.span.text(text));
    let at = match found {
        Some(t) => t.span,
        None => Span::at(walker.prev.map_or(offset, |t| t.span.end)),
    };
    let found_desc = match found {
        None => "the end of the query".to_owned(),
        Some(t) => describe(text, t),
    };
    let is_text =
        |t: Token| matches!(t.kind, TokenKind::Word | TokenKind::Str { .. }) && !is_kw(text, t);
    use Expect as E;
    match walker.expect {
        E::Resource => Diagnostic::error(
            "expected-resource",
            at,
            format!("expected a resource (images, screens, plates, wells, projects, datasets or studies), found {found_desc}"),
        ),
        E::Clause { .. }
        | E::AfterCondition
        | E::ShowNext
        | E::End
        | E::CatalogKey
        | E::CatalogNext
        | E::LimitNext => {
            if found.is_none() && !walker.groups.is_empty() {
                let mut d = Diagnostic::error("unclosed-paren", at, "expected `)` to close this group");
                if let Some(open) = walker.groups.last() {
                    d = d.with_label(*open, "opened here");
                }
                return d;
            }
            let expected = match walker.expect {
                E::Clause { scope: true } => "`in`, `where`, `show`, `limit` or the end of the query",
                E::Clause { scope: false } => "`where`, `show`, `limit` or the end of the query",
                E::AfterCondition if walker.groups.is_empty() => {
                    "`and`, `or`, `show`, `limit` or the end of the query"
                }
                E::AfterCondition => "`and`, `or` or `)`",
                E::ShowNext => "`,`, `limit` or the end of the query",
                E::CatalogKey => "a key, `in`, `limit` or the end of the query",
                E::CatalogNext => "`in`, `limit` or the end of the query",
                E::LimitNext => "`limit` or the end of the query",
                _ => "the end of the query",
            };
            let catalog = matches!(walker.expect, E::CatalogKey | E::CatalogNext | E::LimitNext);
            let mut d = Diagnostic::error(
                "stray-token",
                at,
                format!("unexpected {found_desc}; expected {expected}"),
            );
            if let Some(t) = found {
                let word = t.span.text(text);
                let next_is_op = after(t).is_some_and(|n| n.kind == TokenKind::Op);
                let numeric = t.kind == TokenKind::Word && word.bytes().all(|b| b.is_ascii_digit());
                if t.kind == TokenKind::RParen {
                    d.message = "unmatched `)`".to_owned();
                } else if walker.in_ids && numeric {
                    d = d
                        .with_help("separate ids with `,`: `images 1, 2`")
                        .with_fix("Separate with `,`", Span::at(walker.prev.map_or(t.span.start, |p| p.span.end)), ",");
                } else if walker.expect == E::LimitNext && is_text(t) {
                    d = d.with_help("after `keys` or `values`, `in` names the resource whose catalog to read (`keys in screens`), not one container; for one object's key/values, `screen 102 show keyValues`");
                } else if catalog && is_kw(text, t) {
                    d = d.with_help("`keys` and `values` take only `in RESOURCE` and `limit`: `values \"Gene Symbol\" in images limit 10`");
                } else if walker.expect == E::CatalogNext && is_text(t) && walker.key.is_some() {
                    d = quote_fix(d, text, walker.prev, t, "keys");
                } else if is_kw(text, t) {
                    d = d.with_help("clauses go in this order: in, where, show, limit; each at most once (combine conditions with `and`)");
                } else if matches!(walker.expect, E::Clause { .. }) && next_is_op {
                    d = d
                        .with_help(format!("a condition starts with `where`: `where {word} …`"))
                        .with_fix("Add `where`", Span::at(t.span.start), "where ");
                } else if let Some(kw) = suggest(word, [Keyword::In, Keyword::Where, Keyword::Show, Keyword::Limit, Keyword::And, Keyword::Or].map(Keyword::text)).filter(|_| t.kind == TokenKind::Word && word.len() > 2) {
                    d = d
                        .with_help(format!("did you mean `{kw}`?"))
                        .with_fix(format!("Replace with `{kw}`"), t.span, kw);
                } else if walker.expect == E::AfterCondition && is_text(t) {
                    d = quote_fix(d, text, walker.prev, t, "values");
                } else if walker.expect == E::ShowNext && is_text(t) {
                    d = d.with_help("separate `show` items with `,`; quote keys that contain spaces");
                    if let Some(prev) = walker.prev.filter(|p| p.kind == TokenKind::Word) {
                        let quoted = quoted_pair(text, walker.prev, t);
                        d = d.with_fix(
                            format!("Quote as {quoted}"),
                            Span::new(prev.span.start, t.span.end),
                            quoted,
                        );
                        // Separating is a fix only when neither word would then be
                        // taken as a field's typo (`show Gene Symbol`: `Gene` for `genes`).
                        let stands = |w: &str| {
                            Field::from_name(w).is_some()
                                || crate::model::is_curated_key(w)
                                || suggest(w, Field::ALL.map(Field::name)).is_none()
                        };
                        if stands(prev.span.text(text)) && stands(word) {
                            d = d.with_fix("Separate with `,`", Span::at(prev.span.end), ",");
                        }
                    }
                }
            }
            d
        }
        E::ScopeKind => Diagnostic::error(
            "expected-scope",
            at,
            format!("expected `screen`, `plate`, `project`, `dataset` or `study` after `in`, found {found_desc}"),
        ),
        E::ScopeTarget => Diagnostic::error(
            "expected-id",
            at,
            format!("expected an id or a study name after `{prev_text}`, found {found_desc}"),
        ),
        E::Condition => Diagnostic::error(
            "expected-condition",
            at,
            format!("expected a condition (`key op value`) after `{prev_text}`, found {found_desc}"),
        )
        .with_help("for example: \"Gene Symbol\" = ade8"),
        E::Operator | E::NotIn => {
            let mut d = Diagnostic::error(
                "expected-operator",
                at,
                if walker.expect == E::NotIn {
                    format!("expected `in` after `not`, found {found_desc}")
                } else {
                    format!("expected an operator (=, !=, ~, !~, in, not in) after `{prev_text}`, found {found_desc}")
                },
            );
            match found {
                Some(t) if is_text(t) => d = quote_fix(d, text, walker.prev, t, "keys"),
                Some(t) if matches!(t.span.text(text), "<" | ">") => {
                    d = d.with_help("IDR-QL compares text: use =, !=, ~ (contains), !~, in or not in");
                }
                _ => {}
            }
            d
        }
        E::Value | E::ListValue => {
            let mut d = Diagnostic::error(
                "expected-value",
                at,
                format!("expected a value after `{prev_text}`, found {found_desc}"),
            );
            if found.is_some_and(|t| t.kind == TokenKind::Op) && prev_text == "=" {
                d = d.with_help("compare with a single `=`");
            } else if found.is_some_and(|t| is_kw(text, t)) {
                d = d.with_help("quote values that are keywords: \"and\"");
            } else if found.is_some_and(|t| t.kind == TokenKind::Unknown) {
                d = d.with_help("quote values that are not plain words: \"GFP localization: cytosol\"");
            } else if walker.expect == E::ListValue {
                d = d.with_help("list the values between the parentheses, separated by commas: in (ade8, ade2)");
            } else {
                d = d.with_help(format!(
                    "give the value to compare with: `{prev_text} ade8`, quoted when it has spaces: `{prev_text} \"cell cycle\"`"
                ));
            }
            d
        }
        E::ListNext => {
            if found.is_none() {
                let mut d = Diagnostic::error("unclosed-paren", at, "expected `)` to close this list");
                if let Some(open) = walker.list {
                    d = d.with_label(open, "opened here");
                }
                return d;
            }
            Diagnostic::error(
                "stray-token",
                at,
                format!("unexpected {found_desc}; expected `,` or `)` in the list"),
            )
            .with_help("separate values with `,`; quote values that contain spaces")
        }
        E::ShowItem => Diagnostic::error(
            "expected-field",
            at,
            format!("expected a field or a key after `{prev_text}`, found {found_desc}"),
        ),
        E::Id => Diagnostic::error(
            "expected-id",
            at,
            format!("expected an id after `,`, found {found_desc}"),
        )
        .with_help("ids are whole numbers: `images 1884807, 1884808`"),
        E::CatalogResource => Diagnostic::error(
            "expected-resource",
            at,
            format!("expected a resource after `in` (images, screens, projects, plates or wells), found {found_desc}"),
        ),
        E::Number => Diagnostic::error(
            "expected-number",
            at,
            format!("expected a number after `limit`, found {found_desc}"),
        ),
    }
}

fn is_kw(text: &str, token: Token) -> bool {
    token.kind == TokenKind::Word && lexer::is_keyword(token.span.text(text))
}

/// A token as shown in a message: `` `where` ``, or a character's code point when it is
/// invisible.
fn describe(text: &str, token: Token) -> String {
    let shown = token.span.text(text);
    if token.kind == TokenKind::Unknown {
        let c = shown.chars().next().unwrap_or(' ');
        if c.is_control() || c.is_whitespace() || !c.is_ascii() {
            return format!("character U+{:04X}", c as u32);
        }
        return format!("`{c}`");
    }
    let mut short: String = shown.chars().take(40).collect();
    if short.len() < shown.len() {
        short.push('…');
    }
    if short.chars().any(crate::render::is_hidden) {
        short = short.chars().map(|c| if crate::render::is_hidden(c) { '�' } else { c }).collect();
    }
    format!("`{short}`")
}

/// Builds the tree from pest's pairs, shifting spans to file offsets and reporting bad
/// escapes.
struct Builder {
    base: usize,
    diagnostics: Vec<Diagnostic>,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.base + s.start(), self.base + s.end())
    }

    fn query(&mut self, pair: Pair<'_, Rule>, span: Span) -> Option<Query> {
        let mut query = Query {
            span,
            resource: Spanned::new(ResourceName::Unknown(String::new()), span),
            ids: Vec::new(),
            key: None,
            of: None,
            scope: None,
            filter: None,
            show: Vec::new(),
            limit: None,
        };
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::resource => {
                    let word = part.as_str();
                    let name = match (Resource::from_name(word), Resource::from_singular(word)) {
                        (Some(r), _) => ResourceName::Known(r),
                        (None, Some(r)) => ResourceName::One(r),
                        (None, None) => ResourceName::Unknown(word.to_owned()),
                    };
                    query.resource = Spanned::new(name, self.span(&part));
                }
                Rule::kw_keys => {
                    query.resource = Spanned::new(ResourceName::Keys, self.span(&part))
                }
                Rule::kw_values => {
                    query.resource = Spanned::new(ResourceName::Values, self.span(&part))
                }
                Rule::catalog_key => {
                    let span = self.span(&part);
                    let inner = part.into_inner().next()?;
                    query.key = Some(Spanned::new(self.text(inner)?, span));
                }
                Rule::catalog_of => {
                    let target = part.into_inner().find(|p| p.as_rule() == Rule::catalog_target)?;
                    let word = target.as_str();
                    let name = match Resource::from_any_name(word) {
                        Some(r) => ResourceName::Known(r),
                        None => ResourceName::Unknown(word.to_owned()),
                    };
                    query.of = Some(Spanned::new(name, self.span(&target)));
                }
                Rule::ids => {
                    for number in part.into_inner().filter(|p| p.as_rule() == Rule::number) {
                        query
                            .ids
                            .push(Spanned::new(number.as_str().to_owned(), self.span(&number)));
                    }
                }
                Rule::scope => query.scope = self.scope(part),
                Rule::where_clause => {
                    let inner = part.into_inner().find(|p| p.as_rule() == Rule::or_expr)?;
                    query.filter = Some(self.or_expr(inner)?);
                }
                Rule::show_clause => {
                    for item in part.into_inner().filter(|p| p.as_rule() == Rule::show_item) {
                        let span = self.span(&item);
                        let inner = item.into_inner().next()?;
                        // A quoted item is always a key, so keys named like a field
                        // (IDR has `Channels`) can be shown too.
                        let quoted = inner.as_rule() == Rule::string;
                        let text = self.text(inner)?;
                        let resource = query.resource.value.resource();
                        let value = match crate::model::show_field(&text, quoted, resource) {
                            Some(f) => ShowItem::Field(f),
                            None => ShowItem::Key(text),
                        };
                        query.show.push(Spanned::new(value, span));
                    }
                }
                Rule::limit_clause => {
                    let number = part.into_inner().find(|p| p.as_rule() == Rule::number)?;
                    let value = number.as_str().parse::<u64>().unwrap_or(u64::MAX);
                    query.limit = Some(Spanned::new(value, self.span(&number)));
                }
                _ => {}
            }
        }
        Some(query)
    }

    fn scope(&mut self, pair: Pair<'_, Rule>) -> Option<Scope> {
        let span = self.span(&pair);
        let mut kind = None;
        let mut target = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::scope_kind => {
                    let word = part.as_str();
                    let name = match ScopeKind::from_name(word) {
                        Some(k) => ScopeName::Known(k),
                        None => ScopeName::Unknown(word.to_owned()),
                    };
                    kind = Some(Spanned::new(name, self.span(&part)));
                }
                Rule::scope_target => {
                    let span = self.span(&part);
                    let inner = part.into_inner().next()?;
                    target = Some(Spanned::new(self.text(inner)?, span));
                }
                _ => {}
            }
        }
        Some(Scope { span, kind: kind?, target: target? })
    }

    fn or_expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&pair);
        let mut items = Vec::new();
        for part in pair.into_inner().filter(|p| p.as_rule() == Rule::and_expr) {
            items.push(self.and_expr(part)?);
        }
        Some(if items.len() == 1 { items.pop()? } else { Expr::Or { items, span } })
    }

    fn and_expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let span = self.span(&pair);
        let mut items = Vec::new();
        for part in pair.into_inner().filter(|p| p.as_rule() == Rule::unary) {
            items.push(self.unary(part)?);
        }
        Some(if items.len() == 1 { items.pop()? } else { Expr::And { items, span } })
    }

    fn unary(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        let mut nots = Vec::new();
        let mut inner = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::negation => nots.push(self.span(&part)),
                Rule::group => {
                    let span = self.span(&part);
                    let body = part.into_inner().find(|p| p.as_rule() == Rule::or_expr)?;
                    inner = Some(Expr::Group { inner: Box::new(self.or_expr(body)?), span });
                }
                Rule::comparison => inner = Some(Expr::Compare(self.comparison(part)?)),
                _ => {}
            }
        }
        let mut expr = inner?;
        // The lexical guard bounds how many `not`s there can be.
        for not in nots.into_iter().rev() {
            let span = not.cover(expr.span());
            expr = Expr::Not { inner: Box::new(expr), span };
        }
        Some(expr)
    }

    fn comparison(&mut self, pair: Pair<'_, Rule>) -> Option<Comparison> {
        let span = self.span(&pair);
        let mut key = None;
        let mut op = None;
        let mut operand = None;
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::key => {
                    let span = self.span(&part);
                    let inner = part.into_inner().next()?;
                    let text = self.text(inner)?;
                    let name = if text.eq_ignore_ascii_case("name") {
                        KeyName::Name
                    } else {
                        KeyName::Key(text)
                    };
                    key = Some(Spanned::new(name, span));
                }
                Rule::operator => {
                    let span = self.span(&part);
                    let which = match part.into_inner().next()?.as_rule() {
                        Rule::op_eq => Op::Equals,
                        Rule::op_ne => Op::NotEquals,
                        Rule::op_contains => Op::Contains,
                        Rule::op_not_contains => Op::NotContains,
                        Rule::op_in => Op::In,
                        _ => Op::NotIn,
                    };
                    op = Some(Spanned::new(which, span));
                }
                Rule::operand => {
                    let inner = part.into_inner().next()?;
                    operand = Some(match inner.as_rule() {
                        Rule::list => {
                            let span = self.span(&inner);
                            let mut items = Vec::new();
                            for value in inner.into_inner().filter(|p| p.as_rule() == Rule::value) {
                                items.push(self.value(value)?);
                            }
                            Operand::List { items, span }
                        }
                        _ => Operand::One(self.value(inner)?),
                    });
                }
                _ => {}
            }
        }
        Some(Comparison { span, key: key?, op: op?, operand: operand? })
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Option<Spanned<String>> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next()?;
        Some(Spanned::new(self.text(inner)?, span))
    }

    /// The text of a `string` or `word` pair, with escapes resolved.
    fn text(&mut self, pair: Pair<'_, Rule>) -> Option<String> {
        match pair.as_rule() {
            Rule::string => {
                let body = pair.into_inner().next()?;
                let start = self.base + body.as_span().start();
                Some(unescape(body.as_str(), start, &mut self.diagnostics))
            }
            _ => Some(pair.as_str().to_owned()),
        }
    }
}

/// Resolves the escapes of a string body that starts at file offset `base`: `\"`, `\\`,
/// `\n`, `\r`, `\t` and `\u{…}` (1 to 6 hex digits, a Unicode scalar value). Anything
/// else is reported as `bad-escape` and kept as written.
pub(crate) fn unescape(body: &str, base: usize, diagnostics: &mut Vec<Diagnostic>) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'u' => {
                let mut hex = String::new();
                let mut closed = false;
                let mut end = i + 2;
                if chars.next_if(|&(_, c)| c == '{').is_some() {
                    end += 1;
                    while let Some((j, h)) =
                        chars.next_if(|&(_, c)| c.is_ascii_hexdigit() || c == '}')
                    {
                        end = j + h.len_utf8();
                        if h == '}' {
                            closed = true;
                            break;
                        }
                        hex.push(h);
                    }
                }
                let scalar = (closed && (1..=6).contains(&hex.len()))
                    .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
                    .flatten();
                match scalar {
                    Some(c) => out.push(c),
                    None => {
                        diagnostics.push(
                            Diagnostic::error(
                                "bad-escape",
                                Span::new(base + i, base + end),
                                "invalid unicode escape",
                            )
                            .with_help("write `\\u{…}` with 1 to 6 hex digits of a Unicode scalar value, such as `\\u{e9}`"),
                        );
                        out.push_str(body.get(i..end).unwrap_or(""));
                    }
                }
            }
            other => {
                diagnostics.push(
                    Diagnostic::error(
                        "bad-escape",
                        Span::new(base + i, base + i + 1 + other.len_utf8()),
                        format!("unknown escape `\\{other}`"),
                    )
                    .with_help("the escapes are \\\" \\\\ \\n \\r \\t and \\u{…}; write a backslash as \\\\"),
                );
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}
