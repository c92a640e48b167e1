//! The reference meaning of a filter, evaluated on the ground truth: what `searchImages`,
//! the `where:` arguments of lists and IDR-QL must answer. Written from the schema's
//! documentation (`ImageFilter`, `FilterOp`), not from the server's planner, so that a
//! differential test compares two independent readings of the same promise:
//!
//! - a condition holds when *some* pair under its key (any key when it has none; the
//!   object's name for the key `name`) satisfies the operator; keys compare without
//!   regard to case, values too, and spaces in values count;
//! - `NOT_EQUALS`, `NOT_CONTAINS` and `NOT_IN` therefore need the key, with another value;
//! - `not` is logical negation; `all` / `any` are conjunction / disjunction.
//!
//! [`Vocabulary`] makes random filters from the words a world really holds (with case and
//! space variants, substrings, keys that are absent, `name`, and no key), and renders them
//! as GraphQL input and as IDR-QL.

use std::collections::{BTreeMap, BTreeSet};

use super::{Kind, World};

/// How a condition compares: the filter algebra's operators (the schema's `FilterOp`).
/// Only the names are shared; what an operator means is [`holds`], written here.
pub use idr_filter::Op;

/// Whether a value satisfies `op` against the wanted values, by the schema's words:
/// case is ignored, spaces count.
pub fn holds(op: Op, actual: &str, wanted: &[String]) -> bool {
    let actual = actual.to_lowercase();
    let wanted: Vec<String> = wanted.iter().map(|w| w.to_lowercase()).collect();
    let first = wanted.first().map(String::as_str).unwrap_or_default();
    match op {
        Op::Equals => actual == first,
        Op::NotEquals => actual != first,
        Op::Contains => actual.contains(first),
        Op::NotContains => !actual.contains(first),
        Op::In => wanted.contains(&actual),
        Op::NotIn => !wanted.contains(&actual),
    }
}

/// A filter tree (the schema's `ImageFilter`).
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `key: None` matches the value under any key; `values` has one item unless the
    /// operator takes a list.
    Cond {
        key: Option<String>,
        op: Op,
        values: Vec<String>,
    },
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    pub fn cond(key: &str, op: Op, value: &str) -> Filter {
        Filter::Cond { key: Some(key.to_owned()), op, values: vec![value.to_owned()] }
    }

    pub fn list(key: &str, op: Op, values: &[&str]) -> Filter {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        Filter::Cond { key: Some(key.to_owned()), op, values }
    }

    /// Whether an object with this name and these key/values matches.
    pub fn matches(&self, name: Option<&str>, pairs: &[(String, String)]) -> bool {
        match self {
            Filter::Cond { key: Some(key), op, values } if key.eq_ignore_ascii_case("name") => {
                name.is_some_and(|n| holds(*op, n, values))
            }
            Filter::Cond { key, op, values } => pairs
                .iter()
                .filter(|(k, _)| {
                    key.as_ref().is_none_or(|key| k.to_lowercase() == key.to_lowercase())
                })
                .any(|(_, v)| holds(*op, v, values)),
            Filter::All(items) => items.iter().all(|f| f.matches(name, pairs)),
            Filter::Any(items) => items.iter().any(|f| f.matches(name, pairs)),
            Filter::Not(inner) => !inner.matches(name, pairs),
        }
    }

    /// The filter as a GraphQL input object literal.
    pub fn graphql(&self) -> String {
        let string = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let list =
            |items: &[Filter]| items.iter().map(Filter::graphql).collect::<Vec<_>>().join(", ");
        match self {
            Filter::Cond { key, op, values } => {
                let key =
                    key.as_deref().map(|k| format!("key: {}, ", string(k))).unwrap_or_default();
                let value = if op.takes_list() {
                    let values: Vec<String> = values.iter().map(|v| string(v)).collect();
                    format!("values: [{}]", values.join(", "))
                } else {
                    format!("value: {}", string(&values[0]))
                };
                // async-graphql names enum items in SCREAMING_SNAKE_CASE: the engine's names
                // upper-cased.
                format!("{{{key}op: {}, {value}}}", op.engine_name().to_ascii_uppercase())
            }
            Filter::All(items) => format!("{{all: [{}]}}", list(items)),
            Filter::Any(items) => format!("{{any: [{}]}}", list(items)),
            Filter::Not(inner) => format!("{{not: {}}}", inner.graphql()),
        }
    }

    /// The filter as an IDR-QL condition, fully parenthesised; `None` when IDR-QL cannot
    /// say it (a condition without a key, an empty `all` / `any`).
    pub fn idrql(&self) -> Option<String> {
        let group = |items: &[Filter], word: &str| -> Option<String> {
            if items.is_empty() {
                return None;
            }
            let parts: Option<Vec<String>> = items.iter().map(Filter::idrql).collect();
            Some(format!("({})", parts?.join(&format!(" {word} "))))
        };
        match self {
            Filter::Cond { key, op, values } => {
                let key = key.as_deref()?;
                let key = if key.eq_ignore_ascii_case("name") {
                    "name".to_owned()
                } else {
                    ql_string(key)
                };
                let values: Vec<String> = values.iter().map(|v| ql_string(v)).collect();
                Some(match op {
                    Op::Equals => format!("{key} = {}", values[0]),
                    Op::NotEquals => format!("{key} != {}", values[0]),
                    Op::Contains => format!("{key} ~ {}", values[0]),
                    Op::NotContains => format!("{key} !~ {}", values[0]),
                    Op::In => format!("{key} in ({})", values.join(", ")),
                    Op::NotIn => format!("{key} not in ({})", values.join(", ")),
                })
            }
            Filter::All(items) => group(items, "and"),
            Filter::Any(items) => group(items, "or"),
            Filter::Not(inner) => Some(format!("not ({})", inner.idrql()?)),
        }
    }
}

/// An IDR-QL string literal.
fn ql_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a search looks (the scope arguments of `searchImages`, IDR-QL's `in`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    Everywhere,
    Screen(u64),
    Project(u64),
    /// A screen's or a project's name.
    Study(String),
}

impl World {
    /// The images a search must find, by id (the engine's order).
    pub fn search(&self, filter: &Filter, scope: &Scope) -> Vec<u64> {
        self.images
            .values()
            .filter(|image| self.in_scope(image.id, scope))
            .filter(|image| {
                filter.matches(Some(&image.name), &self.key_values(Kind::Image, image.id))
            })
            .map(|image| image.id)
            .collect()
    }

    fn in_scope(&self, image: u64, scope: &Scope) -> bool {
        let screen = self.hcs_parents(image).map(|(s, _, _)| s);
        let project = self.images[&image].dataset.map(|d| self.datasets[&d].project);
        match scope {
            Scope::Everywhere => true,
            Scope::Screen(id) => screen == Some(*id),
            Scope::Project(id) => project == Some(*id),
            // The engine compares study names without regard to case.
            Scope::Study(name) => {
                let name = name.to_lowercase();
                screen.is_some_and(|s| self.screens[&s].name.to_lowercase() == name)
                    || project.is_some_and(|p| self.projects[&p].name.to_lowercase() == name)
            }
        }
    }

    /// Whether an object of `kind` matches `filter` on its name and own key/values.
    pub fn object_matches(&self, kind: Kind, id: u64, filter: &Filter) -> bool {
        filter.matches(self.name_of(kind, id).as_deref(), &self.key_values(kind, id))
    }

    /// The ids of every object of a kind.
    pub fn ids(&self, kind: Kind) -> Vec<u64> {
        match kind {
            Kind::Screen => self.screens.keys().copied().collect(),
            Kind::Plate => self.plates.keys().copied().collect(),
            Kind::Well => self.wells.keys().copied().collect(),
            Kind::Image => self.images.keys().copied().collect(),
            Kind::Project => self.projects.keys().copied().collect(),
            Kind::Dataset => self.datasets.keys().copied().collect(),
        }
    }

    /// The words objects of `kind` hold, to make filters from.
    pub fn vocabulary(&self, kind: Kind) -> Vocabulary {
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut names = BTreeSet::new();
        for id in self.ids(kind) {
            for (k, v) in self.key_values(kind, id) {
                values.entry(k).or_default().insert(v);
            }
            names.extend(self.name_of(kind, id));
        }
        Vocabulary {
            keys: values.keys().cloned().collect(),
            values: values.into_iter().map(|(k, v)| (k, v.into_iter().collect())).collect(),
            names: names.into_iter().collect(),
        }
    }
}

/// The keys, values and names of a world's objects of one kind.
#[derive(Clone, Debug)]
pub struct Vocabulary {
    pub keys: Vec<String>,
    pub values: BTreeMap<String, Vec<String>>,
    pub names: Vec<String>,
}

/// A key no generated object has.
const ABSENT_KEY: &str = "Antibody Identifier";

impl Vocabulary {
    /// A random filter tree of at most `depth` levels of `all` / `any` / `not`.
    pub fn filter(&self, rng: &mut fastrand::Rng, depth: u32) -> Filter {
        if depth == 0 || rng.u32(..10) < 4 {
            return self.condition(rng);
        }
        match rng.u32(..3) {
            0 => Filter::All((0..rng.usize(1..4)).map(|_| self.filter(rng, depth - 1)).collect()),
            1 => Filter::Any((0..rng.usize(1..4)).map(|_| self.filter(rng, depth - 1)).collect()),
            _ => Filter::Not(Box::new(self.filter(rng, depth - 1))),
        }
    }

    /// A condition the search engine can run as it is: a positive `EQUALS` or `IN` on a
    /// key with values as stored (without surrounding spaces), narrowing a search.
    pub fn anchor(&self, rng: &mut fastrand::Rng) -> Filter {
        let keys: Vec<&String> = self
            .keys
            .iter()
            .filter(|k| self.values[*k].iter().any(|v| !v.is_empty() && v.trim() == v))
            .collect();
        let key = keys[rng.usize(..keys.len())];
        let clean: Vec<&String> =
            self.values[key].iter().filter(|v| !v.is_empty() && v.trim() == *v).collect();
        let equals = rng.bool();
        let mut pick = || clean[rng.usize(..clean.len())].clone();
        if equals {
            Filter::Cond { key: Some(key.clone()), op: Op::Equals, values: vec![pick()] }
        } else {
            let values = (0..2).map(|_| pick()).collect();
            Filter::Cond { key: Some(key.clone()), op: Op::In, values }
        }
    }

    /// A random condition: a real key (sometimes with its case changed), an absent key,
    /// `name`, or none; a real value, a variant of one (case, spaces, a substring), or a
    /// value nobody has.
    pub fn condition(&self, rng: &mut fastrand::Rng) -> Filter {
        let op = Op::ALL[rng.usize(..Op::ALL.len())];
        let roll = rng.u32(..20);
        let (key, pool): (Option<String>, Vec<String>) = if roll == 0 || self.keys.is_empty() {
            (Some(ABSENT_KEY.to_owned()), vec!["x".to_owned()])
        } else if roll <= 2 {
            (Some(["name", "Name", "NAME"][rng.usize(..3)].to_owned()), self.names.clone())
        } else if roll == 3 {
            let all: Vec<String> = self.values.values().flatten().cloned().collect();
            (None, all)
        } else {
            let key = self.keys[rng.usize(..self.keys.len())].clone();
            let pool = self.values[&key].clone();
            let key = match rng.u32(..4) {
                0 => key.to_lowercase(),
                1 => key.to_uppercase(),
                _ => key,
            };
            (Some(key), pool)
        };
        let n = if op.takes_list() { rng.usize(1..4) } else { 1 };
        let values = (0..n)
            .map(|_| {
                let value = (!pool.is_empty()).then(|| &pool[rng.usize(..pool.len())]);
                variant(rng, value, op)
            })
            .collect();
        Filter::Cond { key, op, values }
    }
}

/// The value, or a variant of it.
fn variant(rng: &mut fastrand::Rng, value: Option<&String>, op: Op) -> String {
    let Some(value) = value else { return "nothing".to_owned() };
    match rng.u32(..12) {
        0 => value.to_uppercase(),
        1 => value.to_lowercase(),
        2 => value.trim().to_owned(),
        3 => format!(" {value} "),
        4 => "no such value".to_owned(),
        5 | 6 if matches!(op, Op::Contains | Op::NotContains) => {
            let chars: Vec<char> = value.chars().collect();
            if chars.len() < 3 {
                return value.clone();
            }
            let start = rng.usize(..chars.len() - 2);
            let end = rng.usize(start + 1..=chars.len());
            chars[start..end].iter().collect()
        }
        _ => value.clone(),
    }
}
