//! How fast IDR-QL turns text into GraphQL: parse, check and compile the DESIGN.md
//! examples, each and all together, with queries per second as divan's item counter.
//! Run with `cargo bench -p idr-ql`.

use divan::counter::ItemsCount;
use divan::{black_box, Bencher};
use idr_ql::{analyze, compile, complete, format, parse, Catalog};

/// The IDR-QL examples of DESIGN.md, one per line: the fixture the tests check against
/// DESIGN.md.
const FILE: &str = include_str!("../test_data/ok/design_examples.idrql");

/// The examples, one a query.
fn examples() -> Vec<&'static str> {
    FILE.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect()
}

fn main() {
    divan::main();
}

/// Parse, check against the bundled catalog and compile, one example at a time.
#[divan::bench(args = examples())]
fn analyze_one(bencher: Bencher<'_, '_>, query: &str) {
    let catalog = Catalog::bundled();
    bencher.counter(ItemsCount::new(1usize)).bench(|| analyze(black_box(query), &catalog));
}

/// All the examples as one file.
#[divan::bench]
fn analyze_file(bencher: Bencher<'_, '_>) {
    let catalog = Catalog::bundled();
    bencher.counter(ItemsCount::new(examples().len())).bench(|| analyze(black_box(FILE), &catalog));
}

/// Parsing alone.
#[divan::bench]
fn parse_file(bencher: Bencher<'_, '_>) {
    bencher.counter(ItemsCount::new(examples().len())).bench(|| parse(black_box(FILE)));
}

/// Compiling parsed trees alone.
#[divan::bench]
fn compile_trees(bencher: Bencher<'_, '_>) {
    let trees: Vec<_> = parse(FILE).queries.into_iter().filter_map(|q| q.ast).collect();
    bencher.counter(ItemsCount::new(trees.len())).bench(|| {
        for tree in &trees {
            let _ = black_box(compile(black_box(tree)));
        }
    });
}

/// Formatting the file.
#[divan::bench]
fn format_file(bencher: Bencher<'_, '_>) {
    bencher.counter(ItemsCount::new(examples().len())).bench(|| format(black_box(FILE)));
}

/// Completing a key inside an unterminated string, as an editor does on each keystroke.
#[divan::bench]
fn complete_key(bencher: Bencher<'_, '_>) {
    let catalog = Catalog::bundled();
    let text = r#"images where "Gene "#;
    bencher.bench(|| complete(black_box(text), text.len(), &catalog));
}

/// Loading the bundled catalog (done once per process by front ends).
#[divan::bench]
fn bundled_catalog() -> Catalog {
    Catalog::bundled()
}

/// A hostile query just under the size cap: 500 comparisons on unknown keys, each a
/// candidate for "did you mean".
#[divan::bench]
fn analyze_worst_case(bencher: Bencher<'_, '_>) {
    let catalog = Catalog::bundled();
    let conditions: Vec<String> = (0..250).map(|i| format!("Gene{i:03} = v")).collect();
    let query = format!("images where {}", conditions.join(" or "));
    assert!(query.len() <= idr_ql::MAX_QUERY_BYTES);
    bencher.bench(|| analyze(black_box(&query), &catalog));
}

/// 100,000 nested parentheses: refused on tokens, before the grammar runs.
#[divan::bench]
fn analyze_deep_nesting(bencher: Bencher<'_, '_>) {
    let catalog = Catalog::bundled();
    let query = format!("images where {}", "(".repeat(100_000));
    bencher.bench(|| analyze(black_box(&query), &catalog));
}
