//! A token-level walk over one query that knows, at every point, what may come next and
//! what role each token plays. It works on broken and unfinished text, so completion,
//! hover and the wording of syntax errors all use it; the pest grammar stays the one
//! authority on what parses.

use crate::diagnostic::Span;
use crate::lexer::{Token, TokenKind};
use crate::model::Resource;
use crate::syntax::{CatalogHead, Keyword};

/// What the query expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// The first word: a resource.
    Resource,
    /// After the resource (`scope` true) or after the scope: a clause keyword or the end.
    Clause { scope: bool },
    /// After `in`: `screen`, `plate`, …
    ScopeKind,
    /// After the scope kind: an id or a study name.
    ScopeTarget,
    /// After `where`, `and`, `or`, `not` or `(`: a key, `not` or `(`.
    Condition,
    /// After a key: an operator.
    Operator,
    /// After `not` in operator position: `in`.
    NotIn,
    /// After an operator: a value or `(`.
    Value,
    /// After `(` or `,` in a list: a value (or `)` right after `(`).
    ListValue,
    /// After a value in a list: `,` or `)`.
    ListNext,
    /// After a complete comparison: `and`, `or`, `)`, `show`, `limit` or the end.
    AfterCondition,
    /// After `show` or a `,` in it: a field or key.
    ShowItem,
    /// After a `show` item: `,`, `limit` or the end.
    ShowNext,
    /// After `limit`: a number.
    Number,
    /// After the limit: nothing.
    End,
    /// After `,` in a list of ids: an id.
    Id,
    /// After `values`: a key, `in`, `limit` or the end.
    CatalogKey,
    /// After `keys` or `values KEY`: `in`, `limit` or the end.
    CatalogNext,
    /// After `in` in `keys in` or `values KEY in`: a resource.
    CatalogResource,
    /// After `keys in RESOURCE`: `limit` or the end.
    LimitNext,
}

/// What a token is in its query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Resource,
    /// An id of `image 122770`.
    Id,
    Keyword,
    ScopeKind,
    ScopeTarget,
    /// A key in a condition.
    Key,
    Operator,
    /// A value; `key` is the span of the key it is compared with.
    Value {
        key: Option<Span>,
    },
    ShowItem,
    Limit,
    Punct,
    Unexpected,
}

/// The walk's state after some tokens.
#[derive(Clone, Debug)]
pub(crate) struct Walker {
    pub(crate) expect: Expect,
    /// Open `(` of groups (not of lists), innermost last.
    pub(crate) groups: Vec<Span>,
    /// The `(` of the list being read, if any.
    pub(crate) list: Option<Span>,
    /// The key of the comparison being read.
    pub(crate) key: Option<Span>,
    /// The resource, once known.
    pub(crate) resource: Option<Resource>,
    /// The previous token, if any.
    pub(crate) prev: Option<Token>,
    /// Whether the previous token was an id, so that `,` continues the list.
    pub(crate) in_ids: bool,
    /// Whether the query named ids (a lookup: no scope, no condition).
    pub(crate) lookup: bool,
}

impl Walker {
    pub(crate) fn new() -> Walker {
        Walker {
            expect: Expect::Resource,
            groups: Vec::new(),
            list: None,
            key: None,
            resource: None,
            prev: None,
            in_ids: false,
            lookup: false,
        }
    }

    /// Walks `tokens` (comments are skipped) and returns the state after them.
    pub(crate) fn over(text: &str, tokens: &[Token]) -> Walker {
        let mut walker = Walker::new();
        for token in tokens {
            walker.step(text, *token);
        }
        walker
    }

    /// Consumes one token and says what it was.
    pub(crate) fn step(&mut self, text: &str, token: Token) -> Role {
        if token.kind == TokenKind::Comment {
            return Role::Punct;
        }
        let role = self.role(text, token);
        self.in_ids = role == Role::Id;
        self.lookup |= self.in_ids;
        self.prev = Some(token);
        role
    }

    fn role(&mut self, text: &str, token: Token) -> Role {
        let word = token.span.text(text);
        let kw = if token.kind == TokenKind::Word { Keyword::of(word) } else { None };
        let is_text = matches!(token.kind, TokenKind::Str { .. })
            || (token.kind == TokenKind::Word && kw.is_none());
        let numeric = token.kind == TokenKind::Word && word.bytes().all(|b| b.is_ascii_digit());
        use Expect as E;
        match (self.expect, token.kind, kw) {
            (E::Resource, TokenKind::Word, None) if CatalogHead::of(word).is_some() => {
                self.expect = match CatalogHead::of(word) {
                    Some(CatalogHead::Values) => E::CatalogKey,
                    _ => E::CatalogNext,
                };
                Role::Keyword
            }
            (E::Resource, TokenKind::Word, None) => {
                self.resource = Resource::from_any_name(word);
                self.expect = E::Clause { scope: true };
                Role::Resource
            }
            // Right after the resource (the only place that expects this): ids. A second
            // id needs a `,` first.
            (E::Clause { scope: true }, TokenKind::Word, None) if numeric && !self.in_ids => {
                Role::Id
            }
            (E::Clause { scope: true }, TokenKind::Comma, _) if self.in_ids => {
                self.expect = E::Id;
                Role::Punct
            }
            (E::Id, TokenKind::Word, None) if numeric => {
                self.expect = E::Clause { scope: true };
                Role::Id
            }
            (E::CatalogKey, _, _) if is_text => {
                self.key = Some(token.span);
                self.expect = E::CatalogNext;
                Role::Key
            }
            (E::CatalogKey | E::CatalogNext, _, Some(Keyword::In)) => {
                self.expect = E::CatalogResource;
                Role::Keyword
            }
            (E::CatalogResource, TokenKind::Word, None) => {
                self.resource = Resource::from_any_name(word);
                self.expect = E::LimitNext;
                Role::Resource
            }
            (E::Clause { scope: true }, _, Some(Keyword::In)) => {
                self.expect = E::ScopeKind;
                Role::Keyword
            }
            (E::ScopeKind, TokenKind::Word, None) => {
                self.expect = E::ScopeTarget;
                Role::ScopeKind
            }
            (E::ScopeTarget, _, _) if is_text => {
                self.expect = E::Clause { scope: false };
                Role::ScopeTarget
            }
            (E::Condition, _, Some(Keyword::Not)) => Role::Keyword,
            (E::Condition, TokenKind::LParen, _) => {
                self.groups.push(token.span);
                Role::Punct
            }
            (E::Condition, _, _) if is_text => {
                self.key = Some(token.span);
                self.expect = E::Operator;
                Role::Key
            }
            (E::Operator, TokenKind::Op, _) | (E::Operator, _, Some(Keyword::In)) => {
                self.expect = E::Value;
                Role::Operator
            }
            (E::Operator, _, Some(Keyword::Not)) => {
                self.expect = E::NotIn;
                Role::Operator
            }
            (E::NotIn, _, Some(Keyword::In)) => {
                self.expect = E::Value;
                Role::Operator
            }
            (E::Value, TokenKind::LParen, _) => {
                self.list = Some(token.span);
                self.expect = E::ListValue;
                Role::Punct
            }
            (E::Value, _, _) if is_text => {
                self.expect = E::AfterCondition;
                Role::Value { key: self.key }
            }
            (E::ListValue, _, _) if is_text => {
                self.expect = E::ListNext;
                Role::Value { key: self.key }
            }
            (E::ListValue | E::ListNext, TokenKind::RParen, _) => {
                self.list = None;
                self.expect = E::AfterCondition;
                Role::Punct
            }
            (E::ListNext, TokenKind::Comma, _) => {
                self.expect = E::ListValue;
                Role::Punct
            }
            (E::AfterCondition, _, Some(Keyword::And | Keyword::Or)) => {
                self.expect = E::Condition;
                Role::Keyword
            }
            (E::AfterCondition, TokenKind::RParen, _) if !self.groups.is_empty() => {
                self.groups.pop();
                Role::Punct
            }
            (E::ShowItem, _, _) if is_text => {
                self.expect = E::ShowNext;
                Role::ShowItem
            }
            (E::ShowNext, TokenKind::Comma, _) => {
                self.expect = E::ShowItem;
                Role::Punct
            }
            (E::Number, TokenKind::Word, None) => {
                self.expect = E::End;
                Role::Limit
            }
            // Clause keywords: accepted where they belong, and used to get back on track
            // after something unexpected.
            (expect, _, Some(Keyword::Where)) => {
                if !matches!(expect, E::Clause { .. }) {
                    return Role::Unexpected;
                }
                self.expect = E::Condition;
                Role::Keyword
            }
            (expect, _, Some(Keyword::Show)) => {
                if !matches!(expect, E::Clause { .. } | E::AfterCondition) {
                    self.resync(E::ShowItem);
                    return Role::Unexpected;
                }
                self.groups.clear();
                self.expect = E::ShowItem;
                Role::Keyword
            }
            (expect, _, Some(Keyword::Limit)) => {
                let placed = matches!(
                    expect,
                    E::Clause { .. }
                        | E::AfterCondition
                        | E::ShowNext
                        | E::CatalogKey
                        | E::CatalogNext
                        | E::LimitNext
                );
                if !placed {
                    self.resync(E::Number);
                    return Role::Unexpected;
                }
                self.groups.clear();
                self.expect = E::Number;
                Role::Keyword
            }
            _ => Role::Unexpected,
        }
    }

    /// After a misplaced `show` or `limit` keyword, continue as if it were in place, so
    /// completion after it still works; the parser reports the misplacement.
    fn resync(&mut self, expect: Expect) {
        if self.expect != Expect::End {
            self.groups.clear();
            self.list = None;
            self.expect = expect;
        }
    }
}
