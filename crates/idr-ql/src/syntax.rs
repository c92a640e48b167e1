//! IDR-QL's token classes, stated once: keywords, whitespace, the characters of a bare
//! word, and the comparison operators. The lexer and the context walker are derived from
//! this table; the pest grammar (`grammar.pest`, which the design names) states them in
//! its own notation, and `tests/syntax.rs` fails when the two drift.

use crate::model::Op;

/// A reserved word (case-insensitive); it must be quoted to be a key or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Where,
    Show,
    Limit,
}

impl Keyword {
    pub(crate) const ALL: [Keyword; 7] = [
        Keyword::And,
        Keyword::Or,
        Keyword::Not,
        Keyword::In,
        Keyword::Where,
        Keyword::Show,
        Keyword::Limit,
    ];

    /// How it is written (lower case).
    pub(crate) fn text(self) -> &'static str {
        match self {
            Keyword::And => "and",
            Keyword::Or => "or",
            Keyword::Not => "not",
            Keyword::In => "in",
            Keyword::Where => "where",
            Keyword::Show => "show",
            Keyword::Limit => "limit",
        }
    }

    /// The keyword `word` spells, in any case.
    pub(crate) fn of(word: &str) -> Option<Keyword> {
        Keyword::ALL.into_iter().find(|k| k.text().eq_ignore_ascii_case(word))
    }
}

/// The words that start a query about the search engine's catalog (`keys in screens`,
/// `values "Gene Symbol"`) instead of a resource. They are keywords only there, as the
/// first word of a query, and stay ordinary words everywhere else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CatalogHead {
    Keys,
    Values,
}

impl CatalogHead {
    pub(crate) const ALL: [CatalogHead; 2] = [CatalogHead::Keys, CatalogHead::Values];

    /// How it is written (lower case).
    pub(crate) fn text(self) -> &'static str {
        match self {
            CatalogHead::Keys => "keys",
            CatalogHead::Values => "values",
        }
    }

    /// The head `word` spells, in any case.
    pub(crate) fn of(word: &str) -> Option<CatalogHead> {
        CatalogHead::ALL.into_iter().find(|h| h.text().eq_ignore_ascii_case(word))
    }
}

/// Whitespace between tokens. A byte-order mark counts, so files saved by some editors
/// still parse.
pub(crate) const SPACES: [char; 5] = [' ', '\t', '\r', '\n', '\u{feff}'];

/// The ASCII characters of a bare word besides letters and digits.
pub(crate) const WORD_PUNCTUATION: [char; 5] = ['_', '-', '.', '/', ':'];

/// The non-ASCII characters that are *not* word characters, as inclusive ranges: they are
/// invisible or move text around (Unicode whitespace, C1 controls, zero-width space,
/// bidirectional controls, the byte-order mark), so no bare word can hide "Trojan Source"
/// tricks. Every other non-ASCII character is a word character.
pub(crate) const NOT_WORD: [(char, char); 10] = [
    ('\u{80}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200b}'),
    ('\u{200e}', '\u{200e}'),
    ('\u{200f}', '\u{200f}'),
    ('\u{2028}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{2066}', '\u{2069}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{feff}', '\u{feff}'),
];

/// The comparison operators written as symbols (the list operators are the keywords
/// `in` and `not in`).
pub(crate) const SYMBOL_OPERATORS: [(&str, Op); 4] =
    [("=", Op::Equals), ("!=", Op::NotEquals), ("~", Op::Contains), ("!~", Op::NotContains)];

pub(crate) fn is_space(c: char) -> bool {
    SPACES.contains(&c)
}

pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || WORD_PUNCTUATION.contains(&c)
    } else {
        !NOT_WORD.iter().any(|&(low, high)| (low..=high).contains(&c))
    }
}

/// The symbol operator at the start of `text`, longest first, with its length.
pub(crate) fn symbol_operator(text: &str) -> Option<(usize, Op)> {
    SYMBOL_OPERATORS
        .iter()
        .filter(|(symbol, _)| text.starts_with(symbol))
        .max_by_key(|(symbol, _)| symbol.len())
        .map(|&(symbol, op)| (symbol.len(), op))
}
