//! The token classes of `syntax.rs` (which the lexer and the context walker use) and the
//! pest grammar say the same: keywords, whitespace, word characters and operators. A
//! keyword or operator added to one and not the other fails here.

use std::collections::BTreeSet;

use crate::syntax::{CatalogHead, Keyword, NOT_WORD, SPACES, SYMBOL_OPERATORS, WORD_PUNCTUATION};

const GRAMMAR: &str = include_str!("../grammar.pest");

/// The body of rule `name` (from `{` to its closing `}` on the same or a later line).
fn rule(name: &str) -> &'static str {
    let start = GRAMMAR
        .lines()
        .map(str::trim_start)
        .position(|line| line.split_whitespace().next() == Some(name))
        .unwrap_or_else(|| panic!("grammar.pest has no rule `{name}`"));
    let from: usize = GRAMMAR.lines().take(start).map(|l| l.len() + 1).sum();
    let text = &GRAMMAR[from..];
    let open = text.find('{').expect("a rule body");
    let mut depth = 0;
    for (i, c) in text[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..open + i];
                }
            }
            _ => {}
        }
    }
    panic!("rule `{name}` is not closed")
}

/// The double-quoted literals of a rule body, escapes `\u{…}` read.
fn literals(body: &str) -> Vec<String> {
    body.split('"').skip(1).step_by(2).map(unescape).collect()
}

fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("\\u{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find('}').expect("a closed escape") + i;
        let code = u32::from_str_radix(&rest[i + 3..end], 16).expect("hex");
        out.push(char::from_u32(code).expect("a char"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("\\t", "\t").replace("\\r", "\r").replace("\\n", "\n")
}

/// The `'a'..'b'` ranges of a rule body.
fn ranges(body: &str) -> Vec<(char, char)> {
    let quoted: Vec<String> = body.split('\'').skip(1).step_by(2).map(unescape).collect();
    quoted
        .chunks(2)
        .map(|pair| {
            let c = |s: &String| s.chars().next().expect("a char");
            (c(&pair[0]), c(&pair[1]))
        })
        .collect()
}

#[test]
fn keywords_are_the_same() {
    let table: BTreeSet<String> = Keyword::ALL.iter().map(|k| k.text().to_owned()).collect();
    let grammar: BTreeSet<String> = rule("keyword")
        .split('|')
        .filter_map(|alt| alt.split("^\"").nth(1)?.split('"').next().map(str::to_owned))
        .collect();
    assert_eq!(table, grammar, "`keyword` in grammar.pest");
    for keyword in Keyword::ALL {
        let body = rule(&format!("kw_{}", keyword.text()));
        assert!(
            body.contains(&format!("^\"{}\"", keyword.text())),
            "kw_{}: {body}",
            keyword.text()
        );
    }
}

#[test]
fn catalog_heads_are_the_same() {
    for head in CatalogHead::ALL {
        let body = rule(&format!("kw_{}", head.text()));
        assert!(body.contains(&format!("^\"{}\"", head.text())), "kw_{}: {body}", head.text());
        // Contextual: not reserved, so still a key or value anywhere else.
        assert!(!rule("keyword").contains(head.text()), "{} is reserved", head.text());
    }
    let catalog = rule("catalog");
    let heads: BTreeSet<String> = catalog
        .split("kw_")
        .skip(1)
        .filter_map(|rest| rest.split(|c: char| !c.is_alphanumeric()).next().map(str::to_owned))
        .filter(|w| w != "in")
        .collect();
    let table: BTreeSet<String> = CatalogHead::ALL.iter().map(|h| h.text().to_owned()).collect();
    assert_eq!(heads, table, "`catalog` in grammar.pest");
}

#[test]
fn whitespace_is_the_same() {
    let grammar: BTreeSet<char> =
        literals(rule("WHITESPACE")).iter().flat_map(|s| s.chars()).collect();
    assert_eq!(grammar, SPACES.into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn word_characters_are_the_same() {
    let body = rule("word_char");
    let punctuation: BTreeSet<char> = literals(body.split("!(").next().unwrap_or_default())
        .iter()
        .flat_map(|s| s.chars())
        .collect();
    assert_eq!(punctuation, WORD_PUNCTUATION.into_iter().collect::<BTreeSet<_>>());
    // The excluded non-ASCII characters: ranges and single characters, without ASCII.
    let excluded = body.split("!(").nth(1).expect("the excluded characters");
    let mut grammar: BTreeSet<(char, char)> = ranges(excluded).into_iter().collect();
    grammar.extend(literals(excluded).iter().filter_map(|s| s.chars().next()).map(|c| (c, c)));
    grammar.remove(&('\u{0}', '\u{7f}'));
    assert_eq!(grammar, NOT_WORD.into_iter().collect::<BTreeSet<_>>());
}

#[test]
fn operators_are_the_same() {
    let grammar: BTreeSet<String> = ["op_eq", "op_ne", "op_contains", "op_not_contains"]
        .into_iter()
        .flat_map(|name| literals(rule(name)))
        .collect();
    let table: BTreeSet<String> = SYMBOL_OPERATORS.iter().map(|(s, _)| (*s).to_owned()).collect();
    assert_eq!(grammar, table);
    // And every operator rule of `operator` is one of those or a keyword operator.
    let alternatives: BTreeSet<&str> = rule("operator").split('|').map(str::trim).collect();
    assert_eq!(
        alternatives,
        ["op_ne", "op_not_contains", "op_eq", "op_contains", "op_not_in", "op_in"].into(),
    );
}

#[test]
fn the_lexer_follows_the_table() {
    use crate::lexer::{is_space, is_word_char};
    for c in SPACES {
        assert!(is_space(c) && !is_word_char(c), "{c:?}");
    }
    for &(low, high) in &NOT_WORD {
        for c in [low, high] {
            assert!(!is_word_char(c), "{c:?}");
        }
    }
    for c in ['a', 'Z', '7', 'é', '细'].into_iter().chain(WORD_PUNCTUATION) {
        assert!(is_word_char(c), "{c:?}");
    }
    for (symbol, op) in SYMBOL_OPERATORS {
        assert_eq!(crate::syntax::symbol_operator(symbol), Some((symbol.len(), op)));
        let tokens = crate::lexer::lex(&format!("k{symbol}v"));
        assert_eq!(tokens.len(), 3, "{symbol}: {tokens:?}");
    }
}

#[test]
fn every_operator_is_written_as_the_table_says() {
    use crate::model::OpSyntax;
    for op in crate::model::Op::ALL {
        let symbol = op.symbol();
        assert!(!symbol.is_empty(), "{op:?}");
        let tokens = crate::lexer::lex(&format!("k {symbol} v"));
        // `k`, the operator (one token, or the keywords `not` `in`), `v`.
        assert!((3..=4).contains(&tokens.len()), "{op:?} {symbol:?}: {tokens:?}");
    }
}
