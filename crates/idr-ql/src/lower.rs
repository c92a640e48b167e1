//! Lowering a condition's syntax tree to the filter algebra ([`idr_filter::Expr`]), which
//! the checker plans and the compiler prints as the server's `ImageFilter`.
//!
//! Parentheses add nothing, and `and` / `or` chains, including those in parentheses, are
//! flattened into one `all` / `any`: `a and (b and c)` is `all [a, b, c]`. The server
//! lowers the compiled `ImageFilter` to the same expression.

use idr_filter::{Condition, Expr as Filter, NAME_KEY};

use crate::ast::{Expr, KeyName, Operand};

/// The filter expression of a condition.
pub fn lower(expr: &Expr) -> Filter {
    match expr {
        Expr::Group { inner, .. } => lower(inner),
        Expr::And { items, .. } => Filter::All(flat(items, true)),
        Expr::Or { items, .. } => Filter::Any(flat(items, false)),
        Expr::Not { inner, .. } => Filter::Not(Box::new(lower(inner))),
        Expr::Compare(c) => {
            let key = match &c.key.value {
                KeyName::Name => Some(NAME_KEY.to_owned()),
                // The server reads an empty key as "any key" (the checker refuses it).
                KeyName::Key(k) => Some(k.clone()).filter(|k| !k.is_empty()),
            };
            let values = match &c.operand {
                Operand::One(v) => vec![v.value.clone()],
                Operand::List { items, .. } => items.iter().map(|v| v.value.clone()).collect(),
            };
            Filter::Cond(Condition { key, op: c.op.value, values })
        }
    }
}

/// The lowered operands of a chain, looking through parentheses around chains of the
/// same kind.
fn flat(items: &[Expr], is_and: bool) -> Vec<Filter> {
    let mut out = Vec::new();
    for item in items {
        let mut inner = item;
        while let Expr::Group { inner: i, .. } = inner {
            inner = i;
        }
        match inner {
            Expr::And { items, .. } if is_and => out.extend(flat(items, is_and)),
            Expr::Or { items, .. } if !is_and => out.extend(flat(items, is_and)),
            _ => out.push(lower(inner)),
        }
    }
    out
}
