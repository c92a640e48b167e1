//! The input types: what a client may send, and its lowering to the filter algebra.
//!
//! `ImageFilter` is converted to an [`idr_filter::Expr`] here, checked against the limits
//! that IDR-QL shares ([`idr_filter::limits`]); everything after (the plan, local matching)
//! is idr-filter's.

use async_graphql::{Enum, InputObject};
use idr_filter::limits::{MAX_CONDITIONS, MAX_DEPTH};
use idr_filter::{Condition, Expr, Op};

use crate::error::bad_input;

/// Resources the search engine indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "idr_client::model::SearchResource")]
pub enum SearchResource {
    /// Images (the default).
    Image,
    /// Non-HCS studies.
    Project,
    /// HCS studies.
    Screen,
    /// Plates.
    Plate,
    /// Wells.
    Well,
}

/// How a condition compares a key's value. Matching is case-insensitive, as in IDR's
/// search engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "idr_filter::Op")]
pub enum FilterOp {
    /// The value equals `value`.
    Equals,
    /// The object has the key with a value other than `value`.
    NotEquals,
    /// The value contains `value`.
    Contains,
    /// The object has the key with a value that does not contain `value`.
    NotContains,
    /// The value is one of `values`.
    In,
    /// The object has the key with a value that is none of `values`.
    NotIn,
}

/// One condition on an object's key/values (or, with key `name`, on its name), or `all` /
/// `any` / `not` of other filters. Any tree is answered correctly: what IDR's search engine
/// can run is sent to it, the rest is checked here on each hit. Matching ignores case.
/// `NOT_EQUALS`, `NOT_CONTAINS` and `NOT_IN` match objects that *have* the key with another
/// value (as the engine does); `not` is logical negation, so `not {key: K, value: V}` also
/// matches objects without the key K.
#[derive(Clone, Debug, InputObject)]
pub struct ImageFilter {
    /// The key, such as `Gene Symbol`; without it the value matches under any key.
    pub key: Option<String>,
    /// How the value is compared.
    #[graphql(default_with = "FilterOp::Equals")]
    pub op: FilterOp,
    /// The value, for every operator but `IN` / `NOT_IN`.
    pub value: Option<String>,
    /// The values, for `IN` / `NOT_IN`.
    pub values: Option<Vec<String>>,
    /// Every one of these filters holds.
    pub all: Option<Vec<ImageFilter>>,
    /// At least one of these filters holds.
    pub any: Option<Vec<ImageFilter>>,
    /// This filter does not hold.
    pub not: Option<Box<ImageFilter>>,
}

impl ImageFilter {
    /// Validates the tree: every node is one condition or one of all/any/not, operators
    /// get the right kind of value, and the tree is of bounded size.
    pub(crate) fn to_expr(&self) -> async_graphql::Result<Expr> {
        let mut budget = MAX_CONDITIONS;
        self.to_expr_at(0, &mut budget)
    }

    fn to_expr_at(&self, depth: usize, budget: &mut usize) -> async_graphql::Result<Expr> {
        if depth > MAX_DEPTH {
            return Err(bad_input(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        let is_condition = self.key.is_some() || self.value.is_some() || self.values.is_some();
        let parts = usize::from(is_condition)
            + usize::from(self.all.is_some())
            + usize::from(self.any.is_some())
            + usize::from(self.not.is_some());
        if parts != 1 {
            return Err(bad_input(
                "each filter is exactly one of: a condition (key/op/value), `all`, `any` or `not`",
            ));
        }
        let children =
            |list: &[ImageFilter], budget: &mut usize| -> async_graphql::Result<Vec<Expr>> {
                if list.is_empty() {
                    return Err(bad_input("`all` and `any` need at least one filter"));
                }
                list.iter().map(|f| f.to_expr_at(depth + 1, budget)).collect()
            };
        if let Some(all) = &self.all {
            return Ok(Expr::All(children(all, budget)?));
        }
        if let Some(any) = &self.any {
            return Ok(Expr::Any(children(any, budget)?));
        }
        if let Some(not) = &self.not {
            return Ok(Expr::Not(Box::new(not.to_expr_at(depth + 1, budget)?)));
        }
        *budget = budget.checked_sub(1).ok_or_else(|| {
            bad_input(format!("the filter has more than {MAX_CONDITIONS} conditions"))
        })?;
        let op = Op::from(self.op);
        let values = if op.takes_list() {
            if self.value.is_some() {
                return Err(bad_input(format!("`{:?}` takes `values`, not `value`", self.op)));
            }
            let values = self.values.clone().unwrap_or_default();
            if values.is_empty() {
                return Err(bad_input("`values` must not be empty"));
            }
            values
        } else {
            if self.values.is_some() {
                return Err(bad_input(format!("`{:?}` takes `value`, not `values`", self.op)));
            }
            vec![self.value.clone().ok_or_else(|| bad_input("a condition needs a `value`"))?]
        };
        let key = self.key.clone().filter(|k| !k.is_empty());
        Ok(Expr::Cond(Condition { key, op, values }))
    }
}
