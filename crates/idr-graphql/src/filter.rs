//! Filters over key/values: validating an `ImageFilter` tree, evaluating it locally, and
//! planning what IDR's search engine can run of it.
//!
//! The engine runs one normal form: all of (conditions, and `any` groups of conditions),
//! with no negation and no condition on an object's name. Any other tree is answered by
//! asking the engine for a superset (the conjuncts it can run) and evaluating the full tree
//! on each hit's key/values here, so every tree gets the right answer.
//!
//! Local evaluation mirrors the engine's matching: keys and values compare without regard
//! to case; `NOT_EQUALS`, `NOT_CONTAINS` and `NOT_IN` hold for an object that *has* the key
//! with another value (the engine's meaning), while `not` is plain logical negation.

use idr_client::model::{Condition, SearchOp, SearchQuery};

use crate::error::bad_input;
use crate::query::ImageFilter;

/// Nesting allowed in a filter tree.
const MAX_DEPTH: usize = 32;
/// Conditions allowed in a filter tree.
const MAX_CONDITIONS: usize = 256;
/// Clauses a tree may expand to when put in the engine's form; beyond, the engine gets a
/// coarser superset and the rest is filtered here.
const MAX_CLAUSES: usize = 64;

/// The key that means an object's own name rather than one of its key/values.
pub(crate) const NAME_KEY: &str = "name";

/// A validated filter tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Expr {
    Cond(Condition),
    All(Vec<Expr>),
    Any(Vec<Expr>),
    Not(Box<Expr>),
}

/// What the engine can run of a tree.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// The engine's query: a superset of the matches, or `None` when the tree has no
    /// condition the engine can run.
    pub(crate) engine: Option<SearchQuery>,
    /// Whether the engine's answer is exactly the tree's (no local filtering needed).
    pub(crate) exact: bool,
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
        let op = SearchOp::from(self.op);
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

/// Whether two keys are the same without regard to case. The engine lower-cases keys with
/// a Unicode-aware normaliser, so `MÉNIÈRE STAGE` is `Ménière Stage` there and must be
/// here too (an ASCII-only comparison would make a search's answer depend on whether it
/// was filtered locally).
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || ((!a.is_ascii() || !b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

/// The engine strips the values it is asked for (it keeps the stored ones as they are),
/// so a value with surrounding spaces, such as `"krt19 "`, which `searchValues` lists,
/// would never be found by asking for it. What the engine gets instead, and whether that
/// is the same condition (`true`) or a superset of it checked here on each hit (`false`):
/// `"krt19 "` becomes `contains "krt19"`. `None` when no superset can be put to the
/// engine (a negated operator, or a value of spaces only).
fn engine_form(cond: Condition) -> Option<(Vec<Condition>, bool)> {
    if cond.values.iter().all(|v| v.trim() == v) {
        return Some((vec![cond], true));
    }
    if matches!(cond.op, SearchOp::NotEquals | SearchOp::NotContains | SearchOp::NotIn) {
        return None;
    }
    let (clean, spaced): (Vec<String>, Vec<String>) =
        cond.values.into_iter().partition(|v| v.trim() == v);
    if spaced.iter().any(|v| v.trim().is_empty()) {
        return None;
    }
    let mut out = Vec::new();
    if !clean.is_empty() {
        out.push(Condition { key: cond.key.clone(), op: cond.op, values: clean });
    }
    for value in spaced {
        let values = vec![value.trim().to_owned()];
        out.push(Condition { key: cond.key.clone(), op: SearchOp::Contains, values });
    }
    Some((out, false))
}

fn is_name(cond: &Condition) -> bool {
    cond.key.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(NAME_KEY))
}

fn holds(op: SearchOp, actual: &str, wanted: &[String]) -> bool {
    let actual = actual.to_lowercase();
    let mut wanted = wanted.iter().map(|w| w.to_lowercase());
    match op {
        SearchOp::Equals => wanted.any(|w| actual == w),
        SearchOp::NotEquals => wanted.all(|w| actual != w),
        SearchOp::Contains => wanted.any(|w| actual.contains(&w)),
        SearchOp::NotContains => wanted.all(|w| !actual.contains(&w)),
        SearchOp::In => wanted.any(|w| actual == w),
        SearchOp::NotIn => wanted.all(|w| actual != w),
    }
}

impl Expr {
    /// Whether an object with this name and these key/values matches.
    pub(crate) fn matches(&self, name: Option<&str>, pairs: &[(String, String)]) -> bool {
        match self {
            Expr::Cond(cond) if is_name(cond) => {
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

    /// Whether evaluating needs key/values (and not just names).
    pub(crate) fn needs_key_values(&self) -> bool {
        match self {
            Expr::Cond(cond) => !is_name(cond),
            Expr::All(items) | Expr::Any(items) => items.iter().any(Expr::needs_key_values),
            Expr::Not(inner) => inner.needs_key_values(),
        }
    }

    /// What the search engine can run of this tree.
    pub(crate) fn plan(&self) -> Plan {
        let Some(clauses) = self.nnf(false).cnf() else {
            return Plan { engine: None, exact: false };
        };
        let mut exact = true;
        let mut query = SearchQuery::default();
        'clauses: for clause in clauses {
            let mut conds: Vec<Condition> = Vec::new();
            for (cond, negated) in clause {
                let form = if negated || is_name(&cond) { None } else { engine_form(cond) };
                match form {
                    Some((engine, same)) => {
                        exact &= same;
                        conds.extend(engine);
                    }
                    // The engine cannot take this literal: leave the whole clause (a
                    // conjunct) to the local check, which only widens its answer.
                    None => {
                        exact = false;
                        continue 'clauses;
                    }
                }
            }
            if conds.len() == 1 {
                query.and.extend(conds.pop());
            } else {
                query.or.push(conds);
            }
        }
        let runnable = !query.and.is_empty() || !query.or.is_empty();
        Plan { engine: runnable.then_some(query), exact: exact && runnable }
    }

    /// Negation normal form: `not` only on conditions.
    fn nnf(&self, negate: bool) -> Nnf {
        match (self, negate) {
            (Expr::Cond(c), negated) => Nnf::Lit(c.clone(), negated),
            (Expr::All(items), false) | (Expr::Any(items), true) => {
                Nnf::And(items.iter().map(|e| e.nnf(negate)).collect())
            }
            (Expr::Any(items), false) | (Expr::All(items), true) => {
                Nnf::Or(items.iter().map(|e| e.nnf(negate)).collect())
            }
            (Expr::Not(inner), negated) => inner.nnf(!negated),
        }
    }
}

enum Nnf {
    Lit(Condition, bool),
    And(Vec<Nnf>),
    Or(Vec<Nnf>),
}

type Clause = Vec<(Condition, bool)>;

impl Nnf {
    /// Conjunctive normal form, or `None` ("true": no constraint the engine can use) when
    /// it would exceed [`MAX_CLAUSES`]. Dropping clauses only widens the engine's answer.
    fn cnf(self) -> Option<Vec<Clause>> {
        match self {
            Nnf::Lit(cond, negated) => Some(vec![vec![(cond, negated)]]),
            Nnf::And(items) => {
                let mut out = Vec::new();
                for item in items {
                    // A conjunct too large to expand is left to local filtering.
                    if let Some(clauses) = item.cnf() {
                        out.extend(clauses);
                    }
                }
                (!out.is_empty()).then_some(out)
            }
            Nnf::Or(items) => {
                let mut acc: Vec<Clause> = vec![Vec::new()];
                for item in items {
                    let clauses = item.cnf()?;
                    if acc.len().saturating_mul(clauses.len()) > MAX_CLAUSES {
                        return None;
                    }
                    acc = acc
                        .iter()
                        .flat_map(|a| {
                            clauses.iter().map(move |c| a.iter().chain(c).cloned().collect())
                        })
                        .collect();
                }
                Some(acc)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(key: &str, op: SearchOp, value: &str) -> Expr {
        Expr::Cond(Condition { key: Some(key.into()), op, values: vec![value.into()] })
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn not_is_logical_but_not_equals_needs_the_key() {
        let without_key = pairs(&[("Organism", "Homo sapiens")]);
        let not_eq = cond("Gene Symbol", SearchOp::NotEquals, "");
        let not_empty = Expr::Not(Box::new(cond("Gene Symbol", SearchOp::Equals, "")));
        assert_eq!(
            (not_eq.matches(None, &without_key), not_empty.matches(None, &without_key)),
            (false, true)
        );
    }

    #[test]
    fn matching_ignores_case() {
        assert!(cond("gene symbol", SearchOp::Equals, "ADE8")
            .matches(None, &pairs(&[("Gene Symbol", "ade8")])));
    }

    #[test]
    fn key_case_is_ignored_beyond_ascii() {
        assert!(cond("MÉNIÈRE STAGE", SearchOp::Equals, "I")
            .matches(None, &pairs(&[("Ménière Stage", "i")])));
    }

    #[test]
    fn design_example_plans_a_superset_and_filters_locally() {
        let e = Expr::All(vec![
            cond("Phenotype", SearchOp::Contains, "chromosome"),
            Expr::Not(Box::new(cond("Gene Symbol", SearchOp::Equals, ""))),
        ]);
        let plan = e.plan();
        assert!(!plan.exact);
        let engine = plan.engine.unwrap();
        assert_eq!((engine.and.len(), engine.or.len()), (1, 0));
        assert_eq!(engine.and[0].key.as_deref(), Some("Phenotype"));
    }

    #[test]
    fn or_of_ands_distributes_exactly() {
        let (a, b, c) = (
            cond("A", SearchOp::Equals, "1"),
            cond("B", SearchOp::Equals, "2"),
            cond("C", SearchOp::Equals, "3"),
        );
        let plan = Expr::Any(vec![Expr::All(vec![a, b]), c]).plan();
        assert!(plan.exact);
        assert_eq!(plan.engine.unwrap().or.len(), 2);
    }

    #[test]
    fn only_negations_cannot_run_on_the_engine() {
        let plan = Expr::Not(Box::new(cond("A", SearchOp::Equals, "1"))).plan();
        assert_eq!(plan, Plan { engine: None, exact: false });
    }

    #[test]
    fn values_with_surrounding_spaces_ask_the_engine_for_a_superset() {
        let plan = cond("Gene Symbol", SearchOp::Equals, "krt19 ").plan();
        assert!(!plan.exact);
        let engine = plan.engine.unwrap();
        assert_eq!(engine.and.len(), 1);
        assert_eq!(
            (engine.and[0].op, engine.and[0].values.clone()),
            (SearchOp::Contains, vec!["krt19".to_owned()])
        );
        // `in` keeps its clean values and adds a `contains` per spaced one, in one clause.
        let e = Expr::Cond(Condition {
            key: Some("Gene Symbol".into()),
            op: SearchOp::In,
            values: vec!["ade8".into(), " ciz1".into()],
        });
        let engine = e.plan().engine.unwrap();
        assert_eq!(engine.or.len(), 1);
        assert_eq!(engine.or[0].len(), 2);
        // A negated operator or spaces only: nothing the engine can run.
        assert_eq!(cond("Gene Symbol", SearchOp::NotEquals, "krt19 ").plan().engine, None);
        assert_eq!(cond("Gene Symbol", SearchOp::Equals, "  ").plan().engine, None);
        // The local check is exact.
        assert!(cond("Gene Symbol", SearchOp::Equals, "KRT19 ")
            .matches(None, &pairs(&[("gene symbol", "krt19 ")])));
        assert!(!cond("Gene Symbol", SearchOp::Equals, "krt19 ")
            .matches(None, &pairs(&[("Gene Symbol", "krt19")])));
    }

    #[test]
    fn names_are_filtered_locally() {
        let e = Expr::All(vec![
            cond("name", SearchOp::Contains, "plate3"),
            cond("A", SearchOp::Equals, "1"),
        ]);
        assert!(!e.plan().exact);
        assert!(e.matches(Some("plate3_8_010 [Well 1]"), &pairs(&[("a", "1")])));
    }
}
