//! IDR-QL meets the server (FAULTS.md 5.3 P6, with P4 and A16 end to end): generated
//! `images where …` queries are printed as IDR-QL text, compiled by idr-ql, and run through
//! the schema over a mock of IDR's search engine. The ids they return, page after page,
//! must be the ids a reference evaluator of the language picks from the mock's images, and
//! `totalCount` their number. That holds compiling, the server's planning (what the engine
//! runs, what is filtered here) and local filtering to the language's documented meaning.
//!
//! The mock answers the engine's two routes with the engine's semantics (ENDPOINTS.md §9):
//! keys and values compare without regard to case; `not_equals`, `not_contains` and
//! `not_in` hold for an image that has the key with another value; and-filters all hold and
//! each or-group has one that holds; hits are sorted by id, 1,000 to a page, with bookmarks.
//! It also checks every filter it receives against the query's comparisons: keys byte for
//! byte, values lower-cased (what the client sends) and otherwise byte for byte.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use idr_client::upstream::{BoxFuture, Upstream};
use idr_client::{ClientConfig, IdrClient, Method, Request, Response};
use idr_ql::{Comparison, Expr, KeyName, Op, OpSyntax, Operand, Span, Spanned};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};

use idr_test_support::holds;

use crate::{build_schema, IdrSchema, SchemaLimits};

const SEARCH: &str = "/searchengine/api/v1/resources/image/search/";
const SUBMIT: &str = "/searchengine/api/v1/resources/submitquery/";
/// Hits per engine page (fixed by the engine, and assumed by the client's decoder).
const ENGINE_PAGE: usize = 1_000;

// ---------------------------------------------------------------------------------------
// The mock's images.

/// Keys carried by the mock's images: case variants (ASCII and not), quotes, backslashes.
const DATA_KEYS: &[&str] = &[
    "Gene Symbol",
    "gene symbol",
    "Cell Line",
    "Phenotype",
    "PHENOTYPE",
    "Environmental Stress",
    "Ménière Stage",
    "ménière stage",
    "Note \"q\" \\ x",
    "细胞系",
];

/// Keys a query may name: the above, more case variants, and one no image carries.
const QUERY_KEYS: &[&str] = &[
    "Gene Symbol",
    "gene symbol",
    "GENE SYMBOL",
    "Cell Line",
    "cell line",
    "Phenotype",
    "Environmental Stress",
    "Ménière Stage",
    "MÉNIÈRE STAGE",
    "Note \"q\" \\ x",
    "note \"Q\" \\ X",
    "细胞系",
    "Organism",
];

/// Values: a small alphabet so that conditions hit, with case variants, quotes,
/// backslashes, controls, an invisible character, keywords and non-ASCII text.
const VALUES: &[&str] = &[
    "ade8",
    "ADE8",
    "Ade8-like",
    "cdk5rap2",
    "CETN2",
    "HeLa",
    "hela s3",
    "Ménière",
    "MÉNIÈRE",
    "a\"b",
    "c\\d",
    "",
    "line\nbreak",
    "tab\tx",
    "zw\u{200b}sp",
    "细胞分裂",
    "and",
    "x y",
    "Dithiothreitol",
    "not in",
];

/// Image names (what `name` compares with).
const NAMES: &[&str] =
    &["plate1 [Well A1]", "ade8 image", "IMG Ménière", "x", "a\"b\\c", "Cell 细胞", ""];

#[derive(Clone, Debug)]
struct MockImage {
    id: u64,
    name: String,
    pairs: Vec<(String, String)>,
}

/// One image's name and key/values.
fn image_spec(
    pairs: std::ops::Range<usize>,
) -> impl Strategy<Value = (String, Vec<(String, String)>)> {
    (select(NAMES), prop::collection::vec((select(DATA_KEYS), select(VALUES)), pairs)).prop_map(
        |(name, pairs)| {
            (
                name.to_owned(),
                pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            )
        },
    )
}

/// A few dozen images with increasing ids.
fn small_data() -> impl Strategy<Value = Vec<MockImage>> {
    prop::collection::vec((1u64..40, image_spec(0..5)), 0..48).prop_map(|specs| {
        let mut id = 0;
        specs
            .into_iter()
            .map(|(gap, (name, pairs))| {
                id += gap;
                MockImage { id, name, pairs }
            })
            .collect()
    })
}

/// Enough images that answers span several engine pages (a few templates, repeated), and a
/// condition that holds for many of them: a pair the templates carry (in another case),
/// with a generated condition, its negation, or as an alternative to it.
fn large_case() -> impl Strategy<Value = (Vec<MockImage>, Expr)> {
    (
        prop::collection::vec(image_spec(1..5), 1..6),
        1_000usize..1_800,
        condition(),
        any::<Index>(),
        0u8..3,
    )
        .prop_map(|(templates, n, condition, pick, how)| {
            let images = (0..n)
                .map(|i| {
                    let (name, pairs) = templates[(i + i / 7) % templates.len()].clone();
                    MockImage { id: 10 + 3 * i as u64 + (i % 3) as u64, name, pairs }
                })
                .collect();
            let pairs: Vec<&(String, String)> = templates.iter().flat_map(|(_, p)| p).collect();
            let (key, value) = pick.get(&pairs);
            let span = Span::default();
            let hit = Expr::Compare(Comparison {
                span,
                key: z(KeyName::Key(key.to_uppercase())),
                op: z(Op::Equals),
                operand: Operand::One(z(value.to_uppercase())),
            });
            let condition = match how {
                0 => Expr::And { items: vec![hit, condition], span },
                1 => Expr::And {
                    items: vec![hit, Expr::Not { inner: Box::new(condition), span }],
                    span,
                },
                _ => Expr::Or { items: vec![hit, condition], span },
            };
            (images, condition)
        })
}

// ---------------------------------------------------------------------------------------
// The mock search engine.

/// A filter as the engine received it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Received {
    key: Option<String>,
    op: String,
    values: Vec<String>,
}

impl Received {
    fn holds(&self, image: &MockImage) -> bool {
        // The engine strips what it is asked for (stored values keep their spaces).
        let wanted: Vec<String> = self.values.iter().map(|v| v.trim().to_lowercase()).collect();
        image
            .pairs
            .iter()
            .filter(|(k, _)| {
                self.key.as_ref().is_none_or(|key| k.to_lowercase() == key.to_lowercase())
            })
            .any(|(_, v)| {
                let v = v.to_lowercase();
                match self.op.as_str() {
                    "equals" => v == wanted[0],
                    "not_equals" => v != wanted[0],
                    "contains" => v.contains(&wanted[0]),
                    "not_contains" => !v.contains(&wanted[0]),
                    "in" => wanted.contains(&v),
                    "not_in" => !wanted.contains(&v),
                    _ => false,
                }
            })
    }
}

struct Engine {
    /// Sorted by id.
    images: Vec<MockImage>,
    /// A POST that matches nothing answers `{"Error": "Your query returns no results"}`
    /// (as IDR does) rather than `results: []` (which the decoder also accepts).
    no_results_as_error: bool,
    /// Every filter received, in order.
    received: Mutex<Vec<Received>>,
    /// Requests the real engine would refuse or that are not search requests.
    problems: Mutex<Vec<String>>,
    gets: AtomicUsize,
    posts: AtomicUsize,
}

#[derive(Clone)]
struct MockUpstream(Arc<Engine>);

impl Upstream for MockUpstream {
    fn send<'a>(&'a self, req: &'a Request) -> BoxFuture<'a, Result<Response, idr_client::Error>> {
        let engine = self.0.clone();
        Box::pin(async move { Ok(engine.answer(req)) })
    }
}

impl Engine {
    fn new(images: Vec<MockImage>, no_results_as_error: bool) -> Arc<Engine> {
        Arc::new(Engine {
            images,
            no_results_as_error,
            received: Mutex::default(),
            problems: Mutex::default(),
            gets: AtomicUsize::new(0),
            posts: AtomicUsize::new(0),
        })
    }

    fn problem(&self, message: String) -> Response {
        self.problems.lock().unwrap().push(message.clone());
        Response::json(200, json!({ "Error": message }).to_string())
    }

    fn answer(&self, req: &Request) -> Response {
        match (req.method, req.path.as_str()) {
            (Method::Get, SEARCH) => {
                self.gets.fetch_add(1, Ordering::Relaxed);
                self.get(req)
            }
            (Method::Post, SUBMIT) => {
                self.posts.fetch_add(1, Ordering::Relaxed);
                self.post(req)
            }
            _ => self.problem(format!("not a search request: {req}")),
        }
    }

    /// `GET image/search/?key=&value=&operator=&bookmark=`.
    fn get(&self, req: &Request) -> Response {
        let mut filter = Received { key: None, op: "equals".to_owned(), values: Vec::new() };
        let mut bookmark = None;
        for (name, value) in &req.query {
            match name.as_str() {
                "key" => filter.key = Some(value.clone()),
                "value" => filter.values.push(value.clone()),
                "operator" => filter.op = value.clone(),
                "bookmark" => match value.parse::<u64>() {
                    Ok(b) => bookmark = Some(b),
                    Err(_) => return self.problem(format!("bad bookmark in {req}")),
                },
                _ => return self.problem(format!("unexpected parameter `{name}` in {req}")),
            }
        }
        if filter.values.len() != 1 || ["in", "not_in"].contains(&filter.op.as_str()) {
            return self.problem(format!("not a single-value condition: {req}"));
        }
        if !["equals", "not_equals", "contains", "not_contains"].contains(&filter.op.as_str()) {
            return self.problem(format!("unknown operator in {req}"));
        }
        self.received.lock().unwrap().push(filter.clone());
        let hits: Vec<&MockImage> = self.images.iter().filter(|i| filter.holds(i)).collect();
        let mut body = json!({
            "notice": "",
            "resource": "image",
            "server_query_time": "0.01",
            "query_details": {"and_filters": [], "bookmark": [bookmark], "case_sensitive": null},
        });
        body["results"] = results(&hits, bookmark);
        Response::json(200, body.to_string())
    }

    /// `POST submitquery/` with `query_details.and_filters` / `or_filters`.
    fn post(&self, req: &Request) -> Response {
        let Some(body) = req.body.as_deref().and_then(|b| serde_json::from_str::<Value>(b).ok())
        else {
            return self.problem(format!("POST without a JSON body: {req}"));
        };
        let Some(top) = body.as_object() else {
            return self.problem(format!("body is not an object: {body}"));
        };
        if let Some(extra) =
            top.keys().find(|k| !["query_details", "bookmark"].contains(&k.as_str()))
        {
            return self.problem(format!("unexpected member `{extra}` in {body}"));
        }
        let bookmark = match top.get("bookmark") {
            None => None,
            Some(b) => match b.as_array().map(Vec::as_slice) {
                Some([n]) if n.is_u64() => n.as_u64(),
                _ => return self.problem(format!("bookmark is not `[int]`: {body}")),
            },
        };
        let details = &body["query_details"];
        if details["case_sensitive"] != json!(false) {
            return self.problem(format!("case_sensitive is not false: {body}"));
        }
        let mut and = Vec::new();
        for f in details["and_filters"].as_array().cloned().unwrap_or_default() {
            match self.filter(&f) {
                Ok(f) => and.push(f),
                Err(e) => return self.problem(e),
            }
        }
        let mut or = Vec::new();
        for group in details["or_filters"].as_array().cloned().unwrap_or_default() {
            let Some(items) = group.as_array() else {
                return self.problem(format!("an or-group is not a list: {body}"));
            };
            let mut filters = Vec::new();
            for f in items {
                match self.filter(f) {
                    Ok(f) => filters.push(f),
                    Err(e) => return self.problem(e),
                }
            }
            if filters.is_empty() {
                return self.problem(format!("empty or-group: {body}"));
            }
            or.push(filters);
        }
        if and.is_empty() && or.is_empty() {
            return self.problem(format!("no filter: {body}"));
        }
        let hits: Vec<&MockImage> = self
            .images
            .iter()
            .filter(|i| {
                and.iter().all(|f| f.holds(i)) && or.iter().all(|g| g.iter().any(|f| f.holds(i)))
            })
            .collect();
        if hits.is_empty() && self.no_results_as_error {
            return Response::json(
                200,
                json!({"Error": "Your query returns no results"}).to_string(),
            );
        }
        let answer = json!({
            "Error": "none",
            "notice": "",
            "resource": "image",
            "server_query_time": "0.02",
            "query_details": details,
            "results": results(&hits, bookmark),
        });
        Response::json(200, answer.to_string())
    }

    /// One filter of a POST body; it is also recorded.
    fn filter(&self, f: &Value) -> Result<Received, String> {
        let Some(object) = f.as_object() else {
            return Err(format!("filter is not an object: {f}"));
        };
        if let Some(extra) =
            object.keys().find(|k| !["name", "value", "operator", "resource"].contains(&k.as_str()))
        {
            return Err(format!("unexpected member `{extra}` in filter {f}"));
        }
        if f["resource"] != "image" {
            return Err(format!("filter is not on images: {f}"));
        }
        let key = match object.get("name") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return Err(format!("`name` is not a string: {f}")),
        };
        let op = f["operator"].as_str().unwrap_or_default().to_owned();
        let values = match (&f["value"], op.as_str()) {
            (Value::Array(items), "in" | "not_in") if !items.is_empty() => {
                let strings: Option<Vec<String>> =
                    items.iter().map(|v| v.as_str().map(str::to_owned)).collect();
                strings.ok_or_else(|| format!("non-string value in {f}"))?
            }
            (Value::String(v), "equals" | "not_equals" | "contains" | "not_contains") => {
                vec![v.clone()]
            }
            _ => return Err(format!("operator and value do not fit: {f}")),
        };
        let received = Received { key, op, values };
        self.received.lock().unwrap().push(received.clone());
        Ok(received)
    }
}

/// The engine's `results` for `hits` (all matches, sorted by id) after `bookmark`.
fn results(hits: &[&MockImage], bookmark: Option<u64>) -> Value {
    let page: Vec<&MockImage> = hits
        .iter()
        .copied()
        .filter(|i| bookmark.is_none_or(|b| i.id > b))
        .take(ENGINE_PAGE)
        .collect();
    let Some(last) = page.last() else {
        // No match, or a bookmark past the last page: an empty array, not an object.
        return json!([]);
    };
    let total_pages = hits.len().div_ceil(ENGINE_PAGE);
    let mut results = json!({
        "results": page.iter().map(|i| document(i)).collect::<Vec<_>>(),
        "size": hits.len(),
        "total_pages": total_pages,
        "bookmark": [last.id],
    });
    if bookmark.is_none() {
        results["pagination"] = json!({
            "current_page": 1,
            "next_page": if total_pages > 1 { json!(2) } else { Value::Null },
            "page_records": [{"page": 1, "bookmark": [last.id]}],
            "total_pages": total_pages,
        });
    }
    results
}

/// An image document: pairs grouped in annotations of two, ordered by index; some ids
/// and indexes as integral floats (pandas does that).
fn document(image: &MockImage) -> Value {
    let number = |n: u64| if image.id.is_multiple_of(3) { json!(n as f64) } else { json!(n) };
    let mut pairs: Vec<(usize, usize)> = (0..image.pairs.len()).map(|p| (p % 2, p)).collect();
    pairs.sort();
    json!({
        "doc_type": "image_keyvalue_pair_metadata",
        "id": number(image.id),
        "name": image.name,
        "description": null,
        "data_source": "idr",
        "owner_id": 2,
        "group_id": 3,
        "experiment": null,
        "project_id": null,
        "screen_id": null,
        "key_values": pairs.iter().map(|&(index, p)| json!({
            "name": image.pairs[p].0,
            "value": image.pairs[p].1,
            "index": number(index as u64),
        })).collect::<Vec<_>>(),
    })
}

fn schema_over_engine(engine: &Arc<Engine>) -> IdrSchema {
    let client = IdrClient::new(MockUpstream(engine.clone()), ClientConfig::default());
    build_schema(client, SchemaLimits::default())
}

// ---------------------------------------------------------------------------------------
// Generated conditions (idr-ql's public AST) and the reference evaluator.

pub(super) fn z<T>(value: T) -> Spanned<T> {
    Spanned::new(value, Span::default())
}

/// A value: one of the alphabet (or a name) in some case, a piece of one, or anything.
fn value() -> impl Strategy<Value = String> {
    let known = || select([VALUES, NAMES].concat());
    prop_oneof![
        6 => (known(), 0u8..4).prop_map(|(v, case)| match case {
            0 => v.to_owned(),
            1 => v.to_uppercase(),
            2 => v.to_lowercase(),
            _ => v.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        }),
        3 => (known(), any::<Index>(), any::<Index>()).prop_map(|(v, a, b)| {
            let chars: Vec<char> = v.chars().collect();
            let (a, b) = (a.index(chars.len() + 1), b.index(chars.len() + 1));
            chars[a.min(b)..a.max(b)].iter().collect()
        }),
        1 => any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn comparison() -> impl Strategy<Value = Expr> {
    let key = prop_oneof![
        1 => Just(KeyName::Name),
        5 => select(QUERY_KEYS).prop_map(|k| KeyName::Key(k.to_owned())),
    ];
    (key, select(Op::ALL.to_vec()), prop::collection::vec(value(), 1..4)).prop_map(
        |(key, op, mut values)| {
            let operand = if op.takes_list() {
                Operand::List { items: values.into_iter().map(z).collect(), span: Span::default() }
            } else {
                let mut v = values.swap_remove(0);
                // `~ ""` is refused by the checker: it would match every value.
                if v.is_empty() && matches!(op, Op::Contains | Op::NotContains) {
                    v = "e".to_owned();
                }
                Operand::One(z(v))
            };
            Expr::Compare(Comparison { span: Span::default(), key: z(key), op: z(op), operand })
        },
    )
}

/// Conditions of bounded depth (well within `MAX_DEPTH`).
pub(super) fn condition() -> impl Strategy<Value = Expr> {
    comparison().prop_recursive(4, 24, 4, |inner| {
        let span = Span::default();
        prop_oneof![
            inner.clone().prop_map(move |e| Expr::Not { inner: Box::new(e), span }),
            inner.clone().prop_map(move |e| Expr::Group { inner: Box::new(e), span }),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(move |items| Expr::And { items, span }),
            prop::collection::vec(inner, 2..4).prop_map(move |items| Expr::Or { items, span }),
        ]
    })
}

/// The language's meaning (docs/idr-ql.md): case is ignored; `K != v`, `K !~ v` and
/// `K not in (…)` need an image that has K with another value; `not` is negation.
fn reference(expr: &Expr, image: &MockImage) -> bool {
    match expr {
        Expr::Or { items, .. } => items.iter().any(|e| reference(e, image)),
        Expr::And { items, .. } => items.iter().all(|e| reference(e, image)),
        Expr::Not { inner, .. } => !reference(inner, image),
        Expr::Group { inner, .. } => reference(inner, image),
        Expr::Compare(c) => {
            let values: Vec<String> = match &c.operand {
                Operand::One(v) => vec![v.value.clone()],
                Operand::List { items, .. } => items.iter().map(|v| v.value.clone()).collect(),
            };
            let test = |actual: &str| holds(c.op.value, actual, &values);
            match &c.key.value {
                KeyName::Name => test(&image.name),
                KeyName::Key(key) => image
                    .pairs
                    .iter()
                    .any(|(k, v)| k.to_lowercase() == key.to_lowercase() && test(v)),
            }
        }
    }
}

/// What the engine may receive for the comparisons of `expr`: each key comparison, with
/// the key as written and the values lower-cased.
fn sendable(expr: &Expr, out: &mut Vec<Received>) {
    match expr {
        Expr::Or { items, .. } | Expr::And { items, .. } => {
            items.iter().for_each(|e| sendable(e, out))
        }
        Expr::Not { inner, .. } | Expr::Group { inner, .. } => sendable(inner, out),
        Expr::Compare(c) => {
            let KeyName::Key(key) = &c.key.value else { return };
            let op = c.op.value.engine_name();
            let values: Vec<String> = match &c.operand {
                Operand::One(v) => vec![v.value.to_lowercase()],
                Operand::List { items, .. } => {
                    items.iter().map(|v| v.value.to_lowercase()).collect()
                }
            };
            // A value with surrounding spaces is asked for as `contains` of its trimmed
            // self (the engine strips what it is asked for); the clean values keep the op.
            let (clean, spaced): (Vec<String>, Vec<String>) =
                values.iter().cloned().partition(|v| v.trim() == v);
            if spaced.is_empty() {
                out.push(Received { key: Some(key.clone()), op: op.to_owned(), values });
                return;
            }
            if !clean.is_empty() {
                out.push(Received { key: Some(key.clone()), op: op.to_owned(), values: clean });
            }
            for v in spaced {
                let values = vec![v.trim().to_owned()];
                out.push(Received { key: Some(key.clone()), op: "contains".to_owned(), values });
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Printing a condition as IDR-QL text, the way a person might type it: keywords in any
// case, keys and values bare or quoted, escapes or raw characters, line continuations and
// comments. Choices come from a seed, so every case is reproducible.

struct Printer {
    state: u64,
    out: String,
}

const KEYWORDS: &[&str] = &["and", "or", "not", "in", "where", "show", "limit"];

impl Printer {
    fn new(seed: u64) -> Printer {
        Printer { state: seed | 1, out: String::new() }
    }

    fn next(&mut self) -> u64 {
        // xorshift64
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }

    fn keyword(&mut self, word: &str) {
        match self.next() % 6 {
            0 => self.out.push_str(&word.to_uppercase()),
            1 => {
                let mut chars = word.chars();
                self.out.extend(chars.next().map(|c| c.to_ascii_uppercase()));
                self.out.extend(chars);
            }
            _ => self.out.push_str(word),
        }
    }

    /// Whitespace between two tokens that could otherwise run together.
    fn space(&mut self) {
        match self.next() % 12 {
            0 => self.out.push_str("  "),
            1 => self.out.push('\t'),
            2 => self.out.push_str("\n    "),
            3 => self.out.push_str(" # a comment; \"quoted\" (x\n  "),
            _ => self.out.push(' '),
        }
    }

    /// Whitespace that may be left out (next to punctuation).
    fn maybe_space(&mut self) {
        if self.one_in(2) {
            self.space();
        }
    }

    fn text(&mut self, text: &str) {
        let bare_ok = !text.is_empty()
            && text.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || "_-./:".contains(c)
                    || (!c.is_ascii() && c.is_alphanumeric())
            })
            && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(text));
        if bare_ok && !self.one_in(3) {
            self.out.push_str(text);
        } else {
            self.quoted(text);
        }
    }

    fn quoted(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\r' => self.out.push_str("\\r"),
                '\t' => self.out.push_str("\\t"),
                c if c.is_ascii() && !c.is_control() => self.out.push(c),
                c if !c.is_ascii() && c.is_alphanumeric() && !self.one_in(3) => self.out.push(c),
                c => {
                    let escape = format!("\\u{{{:x}}}", c as u32);
                    self.out.push_str(&escape);
                }
            }
        }
        self.out.push('"');
    }

    fn key(&mut self, key: &KeyName) {
        match key {
            KeyName::Name => {
                let spelling =
                    ["name", "NAME", "Name", "\"name\"", "\"nAmE\""][(self.next() % 5) as usize];
                self.out.push_str(spelling);
            }
            KeyName::Key(k) => self.text(k),
        }
    }

    /// `inside`: 0 at the top or in parentheses, 1 in an `or`, 2 in an `and`, 3 under `not`.
    fn expr(&mut self, expr: &Expr, inside: u8) {
        let parens = match expr {
            Expr::Or { .. } => inside >= 2,
            Expr::And { .. } => inside >= 3,
            _ => false,
        };
        if parens {
            self.out.push('(');
            self.maybe_space();
        }
        match expr {
            Expr::Or { items, .. } | Expr::And { items, .. } => {
                let (word, level) =
                    if matches!(expr, Expr::Or { .. }) { ("or", 1) } else { ("and", 2) };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.space();
                        self.keyword(word);
                        self.space();
                    }
                    self.expr(item, level);
                }
            }
            Expr::Not { inner, .. } => {
                self.keyword("not");
                self.space();
                self.expr(inner, 3);
            }
            Expr::Group { inner, .. } => {
                self.out.push('(');
                self.maybe_space();
                self.expr(inner, 0);
                self.maybe_space();
                self.out.push(')');
            }
            Expr::Compare(c) => {
                self.key(&c.key.value);
                self.space();
                match c.op.value {
                    Op::In => self.keyword("in"),
                    Op::NotIn => {
                        self.keyword("not");
                        self.space();
                        self.keyword("in");
                    }
                    op => self.out.push_str(op.symbol()),
                }
                self.space();
                match &c.operand {
                    Operand::One(v) => self.text(&v.value),
                    Operand::List { items, .. } => {
                        self.out.push('(');
                        for (i, v) in items.iter().enumerate() {
                            if i > 0 {
                                self.out.push(',');
                            }
                            self.maybe_space();
                            self.text(&v.value);
                        }
                        self.maybe_space();
                        self.out.push(')');
                    }
                }
            }
        }
        if parens {
            self.maybe_space();
            self.out.push(')');
        }
    }
}

/// `images where CONDITION [limit N]` as text.
fn print_query(condition: &Expr, limit: Option<u64>, seed: u64) -> String {
    let mut p = Printer::new(seed);
    p.keyword("images");
    p.space();
    p.keyword("where");
    p.space();
    p.expr(condition, 0);
    if let Some(n) = limit {
        p.space();
        p.keyword("limit");
        p.space();
        p.out.push_str(&n.to_string());
    }
    if p.one_in(4) {
        p.out.push(';');
    }
    p.out
}

// ---------------------------------------------------------------------------------------
// Running a case.

#[derive(Debug, Default)]
struct Stats {
    cases: usize,
    unsupported: usize,
    empty: usize,
    nonempty: usize,
    multi_page: usize,
    gets: usize,
    posts: usize,
}

/// Runs the compiled document, following `endCursor` while `hasNextPage` (and until
/// `limit` rows when given). Returns each row's id and name, and every `totalCount` seen.
async fn run_pages(
    schema: &IdrSchema,
    graphql: &str,
    limit: Option<u64>,
) -> Result<(Vec<(u64, String)>, Vec<u64>, usize), String> {
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    let mut after = Value::Null;
    for page in 1..=200 {
        let request = async_graphql::Request::new(graphql)
            .variables(async_graphql::Variables::from_json(json!({ "after": after })));
        let response = crate::tests::answer(crate::execute(schema, request).await);
        if response.get("errors").is_some() {
            return Err(format!("errors on page {page}: {response}"));
        }
        let connection = &response["data"]["searchImages"];
        totals.push(connection["totalCount"].as_u64().ok_or("no totalCount")?);
        for node in connection["nodes"].as_array().ok_or("no nodes")? {
            let id = node["id"].as_str().and_then(|id| id.parse().ok()).ok_or("bad id")?;
            rows.push((id, node["name"].as_str().ok_or("no name")?.to_owned()));
        }
        let done = limit.is_some_and(|n| rows.len() as u64 >= n);
        if connection["pageInfo"]["hasNextPage"] != json!(true) || done {
            return Ok((rows, totals, page));
        }
        after = connection["pageInfo"]["endCursor"].clone();
        if after.is_null() {
            return Err(format!("hasNextPage without an endCursor on page {page}"));
        }
    }
    Err("more than 200 pages".to_owned())
}

fn check_case(
    rt: &tokio::runtime::Runtime,
    stats: &Mutex<Stats>,
    images: Vec<MockImage>,
    condition: &Expr,
    limit: Option<u64>,
    seed: u64,
    no_results_as_error: bool,
) -> Result<(), TestCaseError> {
    let text = print_query(condition, limit, seed);
    let file = idr_ql::parse(&text);
    prop_assert_eq!(file.queries.len(), 1, "{}", text);
    let parsed = &file.queries[0];
    prop_assert!(parsed.diagnostics.is_empty(), "{text}\n{:?}", parsed.diagnostics);
    let ast = parsed.ast.as_ref().ok_or_else(|| TestCaseError::fail("no tree"))?;
    stats.lock().unwrap().cases += 1;
    let compiled = match idr_ql::compile(ast) {
        Ok(compiled) => compiled,
        Err(errors) => {
            prop_assert!(errors.iter().all(|d| d.code == "unsupported"), "{text}\n{errors:?}");
            stats.lock().unwrap().unsupported += 1;
            return server_refuses_too(rt, ast, &text);
        }
    };
    prop_assert_eq!(&compiled.rows, &["searchImages".to_owned()]);
    prop_assert!(compiled.paged);

    prop_assert!(images.windows(2).all(|w| w[0].id < w[1].id), "ids must increase");
    let engine = Engine::new(images, no_results_as_error);
    let schema = schema_over_engine(&engine);
    let (rows, totals, pages) = rt
        .block_on(run_pages(&schema, &compiled.graphql, limit))
        .map_err(|e| TestCaseError::fail(format!("{e}\n{text}\n{}", compiled.graphql)))?;

    let expected: Vec<&MockImage> =
        engine.images.iter().filter(|i| reference(condition, i)).collect();
    let mut expected_rows: Vec<(u64, String)> =
        expected.iter().map(|i| (i.id, i.name.clone())).collect();
    let mut rows = rows;
    if let Some(n) = limit {
        expected_rows.truncate(n as usize);
        rows.truncate(n as usize);
    }
    let context = || format!("{text}\n{}", compiled.graphql);
    if rows != expected_rows {
        let at = rows.iter().zip(&expected_rows).take_while(|(a, b)| a == b).count();
        return Err(TestCaseError::fail(format!(
            "{} rows, the reference has {}; they first differ at row {at}: {:?} against {:?}\n{}",
            rows.len(),
            expected_rows.len(),
            rows.get(at),
            expected_rows.get(at),
            context()
        )));
    }
    prop_assert!(
        totals.iter().all(|&t| t == expected.len() as u64),
        "totalCount {totals:?} for {} matches\n{}",
        expected.len(),
        context()
    );

    let problems = engine.problems.lock().unwrap().clone();
    prop_assert!(problems.is_empty(), "{problems:?}\n{}", context());
    let mut allowed = Vec::new();
    sendable(condition, &mut allowed);
    let received = engine.received.lock().unwrap().clone();
    prop_assert!(!received.is_empty(), "the engine was not asked\n{}", context());
    for r in &received {
        prop_assert!(
            allowed.contains(r),
            "the engine received {r:?}, not one of {allowed:?}\n{}",
            context()
        );
    }

    let mut s = stats.lock().unwrap();
    if expected.is_empty() {
        s.empty += 1;
    } else {
        s.nonempty += 1;
    }
    if pages > 1 {
        s.multi_page += 1;
    }
    s.gets += engine.gets.load(Ordering::Relaxed);
    s.posts += engine.posts.load(Ordering::Relaxed);
    Ok(())
}

/// The checker refuses a search the engine can run nothing of (`unsupported`); the server
/// must refuse the same filter, before any upstream call. The filter is the one the query
/// compiles to when it lists a plate's images instead (no search, so no refusal).
fn server_refuses_too(
    rt: &tokio::runtime::Runtime,
    ast: &idr_ql::Query,
    text: &str,
) -> Result<(), TestCaseError> {
    let listed = idr_ql::Query {
        scope: Some(idr_ql::Scope {
            span: Span::default(),
            kind: z(idr_ql::ScopeName::Known(idr_ql::ScopeKind::Plate)),
            target: z("1".to_owned()),
        }),
        ..ast.clone()
    };
    let compiled = idr_ql::compile(&listed).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    let filter = compiled
        .graphql
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("images(where: ")?.strip_suffix(") {"))
        .ok_or_else(|| TestCaseError::fail(format!("no filter in {}", compiled.graphql)))?;
    let engine = Engine::new(Vec::new(), false);
    let schema = schema_over_engine(&engine);
    let query = format!("{{ searchImages(where: {filter}) {{ totalCount }} }}");
    let response = crate::tests::answer(rt.block_on(crate::execute(&schema, query.as_str())));
    prop_assert_eq!(
        &response["errors"][0]["extensions"]["code"],
        &json!("BAD_USER_INPUT"),
        "the checker refuses {} but the server answers {}",
        text,
        response
    );
    let message = response["errors"][0]["message"].as_str().unwrap_or_default();
    prop_assert!(message.contains("needs at least one condition it can run"), "{}", message);
    prop_assert_eq!(engine.gets.load(Ordering::Relaxed) + engine.posts.load(Ordering::Relaxed), 0);
    Ok(())
}

pub(super) fn runner(cases: u32, seed: u64) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// P6 over a few dozen images: one engine page, every operator, `and`/`or`/`not`.
#[test]
fn compiled_queries_match_the_reference_evaluator() {
    let rt = runtime();
    let stats = Mutex::new(Stats::default());
    let strategy = (
        small_data(),
        condition(),
        prop::option::weighted(0.2, 1u64..60),
        any::<u64>(),
        any::<bool>(),
    );
    let result =
        runner(128, 0x1d2_9e6).run(&strategy, |(images, condition, limit, seed, no_results)| {
            check_case(&rt, &stats, images, &condition, limit, seed, no_results)
        });
    let stats = stats.into_inner().unwrap();
    eprintln!("P6 (small): {stats:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    // The test says something only if enough cases run and both outcomes occur.
    assert!(stats.cases - stats.unsupported >= 64, "{stats:?}");
    assert!(stats.empty >= 8 && stats.nonempty >= 16, "{stats:?}");
    assert!(stats.gets > 0 && stats.posts > 0, "{stats:?}");
}

/// P6 over 1,000–1,800 images: answers span several engine pages (bookmarks) and several
/// GraphQL pages (cursors), for exact and locally filtered searches alike.
#[test]
fn compiled_queries_page_through_large_answers() {
    let rt = runtime();
    let stats = Mutex::new(Stats::default());
    let strategy = (large_case(), any::<u64>(), any::<bool>());
    let result = runner(6, 0x1d2_9e7).run(&strategy, |((images, condition), seed, no_results)| {
        check_case(&rt, &stats, images, &condition, None, seed, no_results)
    });
    let stats = stats.into_inner().unwrap();
    eprintln!("P6 (large): {stats:?}");
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(stats.multi_page >= 2, "{stats:?}");
}

/// Cases the property tests must keep covering: values that differ only by case (ASCII
/// and not), negation of a missing key, `!=` on a missing key, and escapes.
#[test]
fn known_cases_match_the_reference_evaluator() {
    let rt = runtime();
    let stats = Mutex::new(Stats::default());
    let images = vec![
        MockImage { id: 1, name: "x".into(), pairs: vec![("Gene Symbol".into(), "ADE8".into())] },
        MockImage {
            id: 2, name: "y".into(), pairs: vec![("Ménière Stage".into(), "a\"b".into())]
        },
        MockImage {
            id: 3,
            name: "z".into(),
            pairs: vec![("Phenotype".into(), "line\nbreak".into())],
        },
        MockImage {
            id: 4,
            name: "w".into(),
            pairs: vec![
                ("gene symbol".into(), "ade8".into()),
                ("Gene Symbol".into(), "cetn2".into()),
            ],
        },
        // Stored with a trailing space, as IDR's "krt19 " is.
        MockImage { id: 5, name: "v".into(), pairs: vec![("Gene Symbol".into(), "krt19 ".into())] },
    ];
    let tree = |text: &str| {
        idr_ql::parse(text).queries.remove(0).ast.and_then(|q| q.filter).expect("it parses")
    };
    for (condition, ids) in [
        (r#"images where "Gene Symbol" = ade8"#, vec![1, 4]),
        (r#"images where "Gene Symbol" != ade8"#, vec![4, 5]),
        (r#"images where "Gene Symbol" ~ e and not "Gene Symbol" in (CETN2)"#, vec![1]),
        (r#"images where "MÉNIÈRE STAGE" = "A\"B" or Phenotype = "LINE\nBREAK""#, vec![2, 3]),
        (r#"images where "MÉNIÈRE STAGE" = "A\"B" and not name = q"#, vec![2]),
        (r#"images where Phenotype ~ "e\u{a}b" and not "Gene Symbol" = ade8"#, vec![3]),
        // Found by its exact value, spaces and all; not without them.
        (r#"images where "Gene Symbol" = "KRT19 ""#, vec![5]),
        (r#"images where "Gene Symbol" = krt19 or "Gene Symbol" in ("CETN2 ", " ade8")"#, vec![]),
        (r#"images where "Gene Symbol" in (cetn2, "krt19 ")"#, vec![4, 5]),
    ] {
        let condition = tree(condition);
        let want: Vec<u64> =
            images.iter().filter(|i| reference(&condition, i)).map(|i| i.id).collect();
        assert_eq!(want, ids, "the reference evaluator on {condition:?}");
        for seed in 1..4 {
            check_case(&rt, &stats, images.clone(), &condition, None, seed, seed % 2 == 0)
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    assert_eq!(stats.into_inner().unwrap().unsupported, 0);
}
