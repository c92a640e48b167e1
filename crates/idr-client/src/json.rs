//! Tolerant, path-aware reading of IDR's JSON.
//!
//! OMERO.web and the search engine are loose with types: ids arrive as ints, integral
//! floats (`51.0`) or `""`, labels as ints or strings, tables carry bare `NaN`. These
//! helpers accept every documented variant and report the JSON path of anything else, so
//! a decode error says where the body went wrong.

use serde_json::Value;

use crate::Error;

/// Parses a body as JSON, first turning the non-standard tokens Python's `json` module
/// writes (`NaN`, `Infinity`, `-Infinity`) into `null`.
pub(crate) fn parse(url: &str, body: &[u8]) -> Result<Value, Error> {
    let cleaned = replace_non_finite(body);
    serde_json::from_slice(&cleaned).map_err(|e| Error::decode(url, "$", format!("not JSON: {e}")))
}

/// What one flat pass over JSON text found: how it nests, and whether it ends where a
/// document of objects and lists must end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Byte offset of the first `{` or `[` that nests deeper than the scan's cap.
    pub too_deep_at: Option<usize>,
    /// The text starts with `{` or `[` and every bracket and string opened is closed at
    /// the end. A body cut short fails this; so does a scalar or empty body.
    pub complete: bool,
}

/// Scans JSON text without parsing it: no recursion, no allocation. Brackets inside
/// strings do not count; nothing else is validated (the parser reports malformed JSON).
pub fn scan(bytes: &[u8], max_depth: usize) -> Scan {
    let mut depth = 0usize;
    let mut balanced = true;
    let mut too_deep_at = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if i >= bytes.len() {
                    balanced = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > max_depth && too_deep_at.is_none() {
                    too_deep_at = Some(i);
                }
            }
            b'}' | b']' => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => balanced = false,
            },
            _ => {}
        }
        i += 1;
    }
    let starts_as_document =
        bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| *b == b'{' || *b == b'[');
    Scan { too_deep_at, complete: balanced && depth == 0 && starts_as_document }
}

/// Replaces bare `NaN`, `Infinity` and `-Infinity` tokens outside strings with `null`.
pub(crate) fn replace_non_finite(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let needs = body.windows(3).any(|w| w == b"NaN") || body.windows(8).any(|w| w == b"Infinity");
    if !needs {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut in_string = false;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < body.len() {
                out.push(body[i + 1]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        let token =
            [&b"-Infinity"[..], b"Infinity", b"NaN"].into_iter().find(|t| rest.starts_with(t));
        match token {
            Some(t) => {
                out.extend_from_slice(b"null");
                i += t.len();
            }
            None => {
                if b == b'"' {
                    in_string = true;
                }
                out.push(b);
                i += 1;
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A JSON value with the path that led to it.
#[derive(Clone, Copy)]
pub(crate) struct Node<'a> {
    pub(crate) value: &'a Value,
    url: &'a str,
    path: Path<'a>,
}

#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Node<'a>, &'a str),
    Index(&'a Node<'a>, usize),
}

impl<'a> Node<'a> {
    pub(crate) fn root(url: &'a str, value: &'a Value) -> Node<'a> {
        Node { value, url, path: Path::Root }
    }

    pub(crate) fn path(&self) -> String {
        match self.path {
            Path::Root => "$".to_owned(),
            Path::Key(parent, key) => format!("{}.{key}", parent.path()),
            Path::Index(parent, i) => format!("{}[{i}]", parent.path()),
        }
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::decode(self.url, &self.path(), message)
    }

    /// The member `key`; an error if it is missing.
    pub(crate) fn get(&'a self, key: &'a str) -> Result<Node<'a>, Error> {
        self.opt(key).ok_or_else(|| self.error(format!("missing field `{key}`")))
    }

    /// The member `key`, or `None` when it is missing or `null`.
    pub(crate) fn opt(&'a self, key: &'a str) -> Option<Node<'a>> {
        match self.value.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some(Node { value, url: self.url, path: Path::Key(self, key) }),
        }
    }

    pub(crate) fn is_null(&self) -> bool {
        self.value.is_null()
    }

    pub(crate) fn items(&'a self) -> Result<Vec<Node<'a>>, Error> {
        let array = self.value.as_array().ok_or_else(|| self.error("expected an array"))?;
        Ok(array
            .iter()
            .enumerate()
            .map(|(i, value)| Node { value, url: self.url, path: Path::Index(self, i) })
            .collect())
    }

    pub(crate) fn str(&self) -> Result<&'a str, Error> {
        self.value.as_str().ok_or_else(|| self.error("expected a string"))
    }

    pub(crate) fn bool(&self) -> Result<bool, Error> {
        self.value.as_bool().ok_or_else(|| self.error("expected a boolean"))
    }

    /// An id or count: an integer, an integral float such as `51.0`, or a digit string.
    pub(crate) fn u64(&self) -> Result<u64, Error> {
        as_u64(self.value).ok_or_else(|| {
            self.error(format!("expected a non-negative integer, found {}", self.value))
        })
    }

    /// An id that OMERO writes as `""` when absent (`wellId`, `wellSampleId`).
    pub(crate) fn u64_or_empty(&self) -> Result<Option<u64>, Error> {
        match self.value {
            Value::String(s) if s.is_empty() => Ok(None),
            _ => self.u64().map(Some),
        }
    }

    pub(crate) fn f64(&self) -> Result<f64, Error> {
        self.value.as_f64().ok_or_else(|| self.error("expected a number"))
    }

    /// Text from a string, or the decimal form of a number (labels can be either).
    pub(crate) fn text(&self) -> Result<String, Error> {
        match self.value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
                _ => n.to_string(),
            }),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(self.error("expected a string or a number")),
        }
    }

    /// Optional text member: missing, `null` and (when `empty_is_none`) `""` give `None`.
    pub(crate) fn opt_text(&'a self, key: &'a str) -> Result<Option<String>, Error> {
        self.opt(key).map(|n| n.text()).transpose()
    }
}

pub(crate) fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            let f = n.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f < 9.0e15).then_some(f as u64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
