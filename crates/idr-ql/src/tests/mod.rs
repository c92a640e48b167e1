//! The crate's tests, in one binary: fixture snapshots (`test_data/ok`, `test_data/err`),
//! completion, hover, formatting, rendering, the bundled catalog, and property tests
//! (no panics, round trips, deterministic and schema-valid output).

mod api;
mod catalog;
mod completion;
mod fixtures;
mod format;
mod fuzz_lock;
mod hover;
mod properties;
mod render;
mod schema;
mod syntax;

use std::path::{Path, PathBuf};

use crate::{Comparison, Expr, Operand, Query, Scope, Span, Spanned};

pub(crate) fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The query with every span set to zero, to compare trees regardless of layout.
pub(crate) fn strip(query: &Query) -> Query {
    let z = Span::default();
    let spanned = |s: &Spanned<String>| Spanned::new(s.value.clone(), z);
    Query {
        span: z,
        resource: Spanned::new(query.resource.value.clone(), z),
        ids: query.ids.iter().map(spanned).collect(),
        key: query.key.as_ref().map(spanned),
        of: query.of.as_ref().map(|of| Spanned::new(of.value.clone(), z)),
        scope: query.scope.as_ref().map(|s| Scope {
            span: z,
            kind: Spanned::new(s.kind.value.clone(), z),
            target: spanned(&s.target),
        }),
        filter: query.filter.as_ref().map(strip_expr),
        show: query.show.iter().map(|s| Spanned::new(s.value.clone(), z)).collect(),
        limit: query.limit.map(|l| Spanned::new(l.value, z)),
    }
}

fn strip_expr(expr: &Expr) -> Expr {
    let z = Span::default();
    match expr {
        Expr::Or { items, .. } => {
            Expr::Or { items: items.iter().map(strip_expr).collect(), span: z }
        }
        Expr::And { items, .. } => {
            Expr::And { items: items.iter().map(strip_expr).collect(), span: z }
        }
        Expr::Not { inner, .. } => Expr::Not { inner: Box::new(strip_expr(inner)), span: z },
        Expr::Group { inner, .. } => Expr::Group { inner: Box::new(strip_expr(inner)), span: z },
        Expr::Compare(c) => Expr::Compare(Comparison {
            span: z,
            key: Spanned::new(c.key.value.clone(), z),
            op: Spanned::new(c.op.value, z),
            operand: match &c.operand {
                Operand::One(v) => Operand::One(Spanned::new(v.value.clone(), z)),
                Operand::List { items, .. } => Operand::List {
                    items: items.iter().map(|v| Spanned::new(v.value.clone(), z)).collect(),
                    span: z,
                },
            },
        }),
    }
}

/// The span-free trees of every query of `text` (`None` where a query does not parse).
pub(crate) fn trees(text: &str) -> Vec<Option<Query>> {
    crate::parse(text).queries.iter().map(|q| q.ast.as_ref().map(strip)).collect()
}

/// A small catalog for completion and hover tests, so they do not change when the
/// recordings (and so the bundled catalog) grow.
pub(crate) fn test_catalog() -> crate::Catalog {
    use crate::{Catalog, KeyInfo, ValueInfo};
    let key = |name: &str, namespace: &str, images: Option<u64>| KeyInfo {
        name: name.to_owned(),
        namespace: Some(namespace.to_owned()),
        images,
    };
    let values = |key: &str, list: &[(&str, Option<u64>)]| {
        let list =
            list.iter().map(|(v, n)| ValueInfo { value: (*v).to_owned(), images: *n }).collect();
        (key.to_owned(), list)
    };
    Catalog::from_parts(
        [
            key("Gene Symbol", "openmicroscopy.org/mapr/gene", Some(1_234_567)),
            key("Gene Identifier", "openmicroscopy.org/mapr/gene", None),
            key("Cell Line", "openmicroscopy.org/mapr/cell_line", None),
            key("Organism", "openmicroscopy.org/mapr/organism", None),
            key("Phenotype", "openmicroscopy.org/mapr/phenotype", None),
        ],
        [
            values(
                "Gene Symbol",
                &[("ade8", Some(41)), ("CDK5RAP2", None), (" ciz1", Some(3)), ("CETN2", None)],
            ),
            values("Organism", &[("Homo sapiens", None), ("Saccharomyces cerevisiae", None)]),
            values("Cell Line", &[("HeLa", None)]),
        ],
    )
}
