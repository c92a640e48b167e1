//! Bracket depth, measured before anything recursive sees the text.
//!
//! async-graphql's parser (pest) and its validators recurse once per nesting level of a
//! document. A few kilobytes of `[[[[…` or `{a: {a: …}}` are enough to overflow a worker
//! thread's stack, which aborts the whole process: no `catch_unwind` can stop a stack
//! overflow. So every GraphQL text is first scanned here, in one flat pass, and refused
//! when it nests deeper than a cap. This is the same guard idr-ql's lexer puts in front of
//! pest. JSON bodies are scanned too: serde_json stops at 128 levels on its own, but with
//! a parse error; the scan answers `QUERY_TOO_DEEP` with a position instead.
//!
//! The scanners know just enough of each syntax to skip brackets that are not structure:
//! strings (with escapes), GraphQL block strings and GraphQL comments.

/// How deep `{`, `[` and `(` may nest in a GraphQL document, and objects and lists in a
/// JSON value (variables, request bodies). Legitimate documents stay far below it: the
/// selection depth limit is 15 and a filter nests at most 32 levels (two brackets each).
pub const MAX_NESTING: usize = 128;

/// Where a text first nests deeper than allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooDeep {
    /// Byte offset of the opening bracket that went past the cap.
    pub offset: usize,
    /// 1-based line and column (in characters) of that bracket.
    pub line: usize,
    pub column: usize,
}

impl TooDeep {
    fn at(text: &[u8], offset: usize) -> TooDeep {
        let before = &text[..offset];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        TooDeep { offset, line, column }
    }
}

/// Checks that a GraphQL document nests `{`, `[` and `(` at most `max` deep. Brackets in
/// strings, block strings and comments do not count; unbalanced closers are ignored (the
/// parser reports them).
pub fn check_graphql(text: &str, max: usize) -> Result<(), TooDeep> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped triple quote inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 3;
                continue;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return Err(TooDeep::at(bytes, i));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Checks that JSON text nests objects and lists at most `max` deep. Not a validator:
/// malformed JSON is left for the parser to report.
pub fn check_json(bytes: &[u8], max: usize) -> Result<(), TooDeep> {
    match idr_client::json::scan(bytes, max).too_deep_at {
        Some(offset) => Err(TooDeep::at(bytes, offset)),
        None => Ok(()),
    }
}

/// The nesting of an already parsed value (variables given as a value, not as text), found
/// without recursion. Stops counting past `max`.
pub fn value_too_deep(value: &async_graphql::Value, max: usize) -> bool {
    use async_graphql::Value;
    let mut stack: Vec<(&Value, usize)> = vec![(value, 0)];
    while let Some((value, depth)) = stack.pop() {
        if matches!(value, Value::List(_) | Value::Object(_)) && depth + 1 > max {
            return true;
        }
        match value {
            Value::List(items) => stack.extend(items.iter().map(|child| (child, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|child| (child, depth + 1))),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(text: &str, max: usize) -> bool {
        check_graphql(text, max).is_ok()
    }

    #[test]
    fn graphql_brackets_count_outside_strings_and_comments() {
        assert!(depth_ok("{ a { b } }", 2));
        assert!(!depth_ok("{ a { b } }", 1));
        assert!(depth_ok(r#"{ a(x: "[[[[{{{{") }"#, 2));
        assert!(depth_ok(r#"{ a(x: "\"[[[[") }"#, 2));
        assert!(depth_ok("{ a(x: \"\"\" [[[[ \\\"\"\" [[[ \"\"\") }", 2));
        assert!(depth_ok("{ a # [[[[[[\n }", 1));
        assert!(!depth_ok("{ a(x: [[[1]]]) }", 4));
        assert!(depth_ok("{ a(x: [[[1]]]) }", 5));
        // Closers without openers do not make room for more openers.
        assert!(!depth_ok("}}}}{{{", 2));
    }

    #[test]
    fn the_position_names_the_bracket_past_the_cap() {
        let err = check_graphql("{\n  a(x: [[1]])\n}", 3).unwrap_err();
        assert_eq!((err.line, err.column, err.offset), (2, 9, 10));
        let err = check_graphql("{ é: [[", 2).unwrap_err();
        assert_eq!((err.line, err.column), (1, 7));
    }

    #[test]
    fn json_brackets_count_outside_strings() {
        assert!(check_json(br#"{"a": [1, {"b": "]]]]{{{{"}]}"#, 3).is_ok());
        assert!(check_json(br#"{"a": [1, {"b": "\"]]]]{{{{"}]}"#, 3).is_ok());
        assert!(check_json(br#"{"a": [[[]]]}"#, 3).is_err());
        let deep = "[".repeat(100_000);
        assert_eq!(check_json(deep.as_bytes(), 128).unwrap_err().offset, 128);
    }

    #[test]
    fn parsed_values_are_measured_without_recursion() {
        use async_graphql::Value;
        let mut value = Value::Null;
        for _ in 0..100_000 {
            value = Value::List(vec![value]);
        }
        assert!(value_too_deep(&value, 128));
        let mut shallow = Value::Null;
        for _ in 0..128 {
            shallow = Value::List(vec![shallow]);
        }
        assert!(!value_too_deep(&shallow, 128));
        // Dropping the deep value recursively would overflow the test's stack.
        std::mem::forget(value);
    }
}
