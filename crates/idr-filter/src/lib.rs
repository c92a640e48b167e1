//! The filter algebra of idr-graph, once: what IDR-QL's `where` and GraphQL's
//! `ImageFilter` both lower to.
//!
//! - [`Expr`] is a tree of [`Condition`]s under `all`, `any` and `not`, with one [`Op`]
//!   per condition. [`Expr::depth`] and [`Expr::conditions`] measure it against
//!   [`limits`].
//! - [`Expr::plan`] says what IDR's search engine runs of a tree ([`EngineQuery`], in the
//!   engine's own normal form: all of conditions and `any` groups of conditions, no
//!   negation, no condition on an object's name) and whether that answer is exact or a
//!   superset to be checked on each hit.
//! - [`Expr::matches`] is that check: local matching by the engine's rules.
//!
//! The crate does no IO and knows neither GraphQL nor IDR-QL's syntax: idr-ql lowers its
//! syntax tree to an [`Expr`] (and takes its `unsupported` diagnostic from [`Expr::plan`]),
//! idr-graphql converts its input and runs the plan, idr-client serialises the
//! [`EngineQuery`].
//!
//! Invariants, which the tests pin:
//! - the engine's answer to [`Plan::engine`] contains every object the tree matches;
//! - when [`Plan::exact`], it holds no other;
//! - [`Plan::engine`] is `None` when no condition can be put to the engine, or when the
//!   tree's normal form is too wide to give it any clause; a search is then refused by
//!   both front ends.

pub mod limits;
mod matching;
mod plan;

pub use matching::{holds, same_key};
pub use plan::{EngineQuery, Plan};

/// The key that means an object's own name rather than one of its key/values.
pub const NAME_KEY: &str = "name";

/// How a condition compares a key's value. Values compare without regard to case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    /// The value equals.
    Equals,
    /// The object has the key with another value (objects without the key do not match).
    NotEquals,
    /// The value contains.
    Contains,
    /// The object has the key with a value that does not contain.
    NotContains,
    /// The value is one of a list.
    In,
    /// The object has the key with a value that is none of a list.
    NotIn,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 6] =
        [Op::Equals, Op::NotEquals, Op::Contains, Op::NotContains, Op::In, Op::NotIn];

    /// Whether it takes a list of values (else exactly one).
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }

    /// Whether it is one of the engine's negated operators, which need the key.
    pub fn is_negated(self) -> bool {
        matches!(self, Op::NotEquals | Op::NotContains | Op::NotIn)
    }

    /// The search engine's name for it.
    pub fn engine_name(self) -> &'static str {
        match self {
            Op::Equals => "equals",
            Op::NotEquals => "not_equals",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
            Op::In => "in",
            Op::NotIn => "not_in",
        }
    }
}

/// One comparison of an object's key/values (or, with key [`NAME_KEY`], its name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Condition {
    /// `None` matches the value under any key.
    pub key: Option<String>,
    pub op: Op,
    /// One value, or several for a list operator.
    pub values: Vec<String>,
}

impl Condition {
    /// Whether it is on the object's name rather than its key/values.
    pub fn is_name(&self) -> bool {
        self.key.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(NAME_KEY))
    }
}

/// A limit a filter tree exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exceeded {
    /// It nests deeper than [`limits::MAX_DEPTH`].
    Depth,
    /// It has this many conditions, more than [`limits::MAX_CONDITIONS`].
    Conditions(usize),
}

/// A filter tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expr {
    Cond(Condition),
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// A condition with one value.
    pub fn cond(key: impl Into<String>, op: Op, value: impl Into<String>) -> Expr {
        Expr::Cond(Condition { key: Some(key.into()), op, values: vec![value.into()] })
    }

    /// How deeply it nests: `all`, `any` and `not` add one level each; a lone condition
    /// is 0. At most [`limits::MAX_DEPTH`].
    pub fn depth(&self) -> usize {
        match self {
            Expr::Cond(_) => 0,
            Expr::All(items) | Expr::Any(items) => {
                1 + items.iter().map(Expr::depth).max().unwrap_or(0)
            }
            Expr::Not(inner) => 1 + inner.depth(),
        }
    }

    /// How many conditions it has. At most [`limits::MAX_CONDITIONS`].
    pub fn conditions(&self) -> usize {
        match self {
            Expr::Cond(_) => 1,
            Expr::All(items) | Expr::Any(items) => items.iter().map(Expr::conditions).sum(),
            Expr::Not(inner) => inner.conditions(),
        }
    }

    /// Whether it is within [`limits::MAX_DEPTH`] and [`limits::MAX_CONDITIONS`] (depth
    /// checked first).
    pub fn check_limits(&self) -> Result<(), Exceeded> {
        if self.depth() > limits::MAX_DEPTH {
            return Err(Exceeded::Depth);
        }
        match self.conditions() {
            n if n > limits::MAX_CONDITIONS => Err(Exceeded::Conditions(n)),
            _ => Ok(()),
        }
    }

    /// Whether an object with this name and these key/values matches.
    pub fn matches(&self, name: Option<&str>, pairs: &[(String, String)]) -> bool {
        match self {
            Expr::Cond(cond) if cond.is_name() => {
                name.is_some_and(|n| holds(cond.op, n, &cond.values))
            }
            Expr::Cond(cond) => pairs
                .iter()
                .filter(|(k, _)| cond.key.as_deref().is_none_or(|key| same_key(k, key)))
                .any(|(_, v)| holds(cond.op, v, &cond.values)),
            Expr::All(items) => items.iter().all(|e| e.matches(name, pairs)),
            Expr::Any(items) => items.iter().any(|e| e.matches(name, pairs)),
            Expr::Not(inner) => !inner.matches(name, pairs),
        }
    }

    /// Whether evaluating it needs key/values (and not just names).
    pub fn needs_key_values(&self) -> bool {
        match self {
            Expr::Cond(cond) => !cond.is_name(),
            Expr::All(items) | Expr::Any(items) => items.iter().any(Expr::needs_key_values),
            Expr::Not(inner) => inner.needs_key_values(),
        }
    }
}

#[cfg(test)]
mod tests;
