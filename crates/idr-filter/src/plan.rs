//! What IDR's search engine runs of a tree.
//!
//! The engine runs one normal form: all of (conditions, and `any` groups of conditions),
//! with no negation and no condition on an object's name. Any other tree is answered by
//! asking the engine for a superset (the clauses of its conjunctive normal form that the
//! engine can take) and evaluating the whole tree on each hit.

use crate::limits::MAX_CLAUSES;
use crate::{Condition, Expr};

/// A search in the engine's own normal form: every `and` condition holds, and in each
/// `or` group at least one condition holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EngineQuery {
    pub and: Vec<Condition>,
    pub or: Vec<Vec<Condition>>,
}

impl EngineQuery {
    /// Whether it has no condition (and so cannot be sent).
    pub fn is_empty(&self) -> bool {
        self.and.is_empty() && self.or.is_empty()
    }
}

/// What the engine can run of a tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The engine's query: a superset of the matches, or `None` when the tree has no
    /// condition the engine can run.
    pub engine: Option<EngineQuery>,
    /// Whether the engine's answer is exactly the tree's (no local check needed).
    pub exact: bool,
}

impl Expr {
    /// What the search engine can run of this tree.
    pub fn plan(&self) -> Plan {
        // A conjunct too large to expand is left out of the engine's query, which then
        // is only a superset.
        let mut dropped = false;
        let Some(clauses) = nnf(self, false).cnf(&mut dropped) else {
            return Plan { engine: None, exact: false };
        };
        let mut exact = !dropped;
        let mut query = EngineQuery::default();
        'clauses: for clause in clauses {
            let mut conds: Vec<Condition> = Vec::new();
            for (cond, negated) in clause {
                let form = if negated || cond.is_name() { None } else { engine_form(cond) };
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
        let runnable = !query.is_empty();
        Plan { engine: runnable.then_some(query), exact: exact && runnable }
    }
}

/// The engine strips the values it is asked for (it keeps the stored ones as they are),
/// so a value with surrounding spaces, such as `"krt19 "`, which `searchValues` lists,
/// would never be found by asking for it. What the engine gets instead, and whether that
/// is the same condition (`true`) or a superset of it checked on each hit (`false`):
/// `"krt19 "` becomes `contains "krt19"`. `None` when no superset can be put to the
/// engine (a negated operator, or a value of spaces only).
fn engine_form(cond: Condition) -> Option<(Vec<Condition>, bool)> {
    if cond.values.iter().all(|v| v.trim() == v) {
        return Some((vec![cond], true));
    }
    if cond.op.is_negated() {
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
        out.push(Condition { key: cond.key.clone(), op: crate::Op::Contains, values });
    }
    Some((out, false))
}

/// Negation normal form: `not` only on conditions.
enum Nnf {
    Lit(Condition, bool),
    And(Vec<Nnf>),
    Or(Vec<Nnf>),
}

fn nnf(expr: &Expr, negate: bool) -> Nnf {
    match (expr, negate) {
        (Expr::Cond(c), negated) => Nnf::Lit(c.clone(), negated),
        (Expr::All(items), false) | (Expr::Any(items), true) => {
            Nnf::And(items.iter().map(|e| nnf(e, negate)).collect())
        }
        (Expr::Any(items), false) | (Expr::All(items), true) => {
            Nnf::Or(items.iter().map(|e| nnf(e, negate)).collect())
        }
        (Expr::Not(inner), negated) => nnf(inner, !negated),
    }
}

type Clause = Vec<(Condition, bool)>;

impl Nnf {
    /// Conjunctive normal form, or `None` ("true": no constraint the engine can use) when
    /// it would exceed [`MAX_CLAUSES`]. Dropping clauses only widens the engine's answer;
    /// `dropped` tells that it did.
    fn cnf(self, dropped: &mut bool) -> Option<Vec<Clause>> {
        match self {
            Nnf::Lit(cond, negated) => Some(vec![vec![(cond, negated)]]),
            Nnf::And(items) => {
                let mut out = Vec::new();
                for item in items {
                    // A conjunct too large to expand is left to local filtering.
                    match item.cnf(dropped) {
                        Some(clauses) => out.extend(clauses),
                        None => *dropped = true,
                    }
                }
                (!out.is_empty()).then_some(out)
            }
            Nnf::Or(items) => {
                let mut acc: Vec<Clause> = vec![Vec::new()];
                for item in items {
                    let clauses = item.cnf(dropped)?;
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
