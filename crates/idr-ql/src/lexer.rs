//! A forgiving lexer: splits text into tokens and queries without ever failing.
//!
//! The pest grammar builds the syntax tree; this lexer does everything that must work on
//! broken or incomplete text: finding query boundaries, catching unterminated strings and
//! runaway nesting before pest sees the input, and telling completion, hover and the
//! formatter what sits where. Its notion of a word, a string and whitespace is the same
//! as the grammar's (`grammar.pest`): both follow the table in `syntax.rs`.

use crate::diagnostic::Span;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A bare word: letters, digits, `_ - . / :` and most non-ASCII characters.
    Word,
    /// A double-quoted string; `terminated` is false when the line ended first.
    Str {
        terminated: bool,
    },
    /// `=`, `!=`, `~` or `!~`.
    Op,
    LParen,
    RParen,
    Comma,
    Semi,
    /// `#` to the end of the line.
    Comment,
    /// A character that starts no token.
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) span: Span,
}

pub(crate) use crate::syntax::{is_space, is_word_char};

/// The reserved words; they must be quoted to be used as keys or values.
pub(crate) fn is_keyword(word: &str) -> bool {
    crate::syntax::Keyword::of(word).is_some()
}

/// Whether `text` can be written without quotes (and reads back as the same text).
pub(crate) fn is_bare(text: &str) -> bool {
    !text.is_empty() && text.chars().all(is_word_char) && !is_keyword(text)
}

/// Splits `text` into tokens. Never fails: anything unexpected becomes `Unknown`.
pub(crate) fn lex(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        // `=`, `!=`, `~`, `!~`: their characters start no other token.
        if let Some((len, _)) = crate::syntax::symbol_operator(&text[start..]) {
            while chars.next_if(|&(i, _)| i < start + len).is_some() {}
            tokens.push(Token { kind: TokenKind::Op, span: Span::new(start, start + len) });
            continue;
        }
        let kind = match c {
            c if is_space(c) => continue,
            '#' => {
                while chars.next_if(|&(_, c)| c != '\n').is_some() {}
                TokenKind::Comment
            }
            '"' => {
                let mut terminated = false;
                while let Some(&(_, c)) = chars.peek() {
                    match c {
                        '\n' => break,
                        '"' => {
                            chars.next();
                            terminated = true;
                            break;
                        }
                        '\\' => {
                            chars.next();
                            // An escape takes the next character, unless the line ends.
                            chars.next_if(|&(_, c)| c != '\n');
                        }
                        _ => {
                            chars.next();
                        }
                    }
                }
                TokenKind::Str { terminated }
            }
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            ',' => TokenKind::Comma,
            ';' => TokenKind::Semi,
            c if is_word_char(c) => {
                while chars.next_if(|&(_, c)| is_word_char(c)).is_some() {}
                TokenKind::Word
            }
            _ => TokenKind::Unknown,
        };
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        tokens.push(Token { kind, span: Span::new(start, end) });
    }
    tokens
}

/// Whether a token starts a new query: it begins a line at column 0 and is not a comment.
pub(crate) fn starts_line(text: &str, offset: usize) -> bool {
    offset == 0 || text.as_bytes().get(offset.wrapping_sub(1)) == Some(&b'\n')
}

/// One query's tokens, without comments and separators.
#[derive(Clone, Debug)]
pub(crate) struct Segment {
    pub(crate) span: Span,
    pub(crate) tokens: Vec<Token>,
}

/// Splits the tokens into queries. A query ends at `;` or before a line that starts at
/// column 0 (continuation lines are indented); comments never start or end a query.
/// Also returns the comments.
pub(crate) fn segments(text: &str, tokens: &[Token]) -> (Vec<Segment>, Vec<Span>) {
    let mut out: Vec<Segment> = Vec::new();
    let mut comments = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    let flush = |current: &mut Vec<Token>, out: &mut Vec<Segment>| {
        if let (Some(first), Some(last)) = (current.first(), current.last()) {
            let span = first.span.cover(last.span);
            out.push(Segment { span, tokens: std::mem::take(current) });
        }
    };
    for token in tokens {
        match token.kind {
            TokenKind::Comment => comments.push(token.span),
            TokenKind::Semi => flush(&mut current, &mut out),
            _ => {
                if starts_line(text, token.span.start) {
                    flush(&mut current, &mut out);
                }
                current.push(*token);
            }
        }
    }
    flush(&mut current, &mut out);
    (out, comments)
}
