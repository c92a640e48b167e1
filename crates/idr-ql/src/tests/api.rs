//! The public API end to end: per-query isolation, limits on hostile input, the compile
//! contract's details, and what `compile` refuses.

use crate::{analyze, compile, graphql_string, parse, Catalog, Diagnostic, MAX_DEPTH};

/// The codes of every diagnostic of `text`, query by query, and whether each compiled.
fn check(text: &str, expected: &str) {
    let analysis = analyze(text, &Catalog::bundled());
    let actual: Vec<String> = analysis
        .queries
        .iter()
        .map(|q| {
            let codes: Vec<&str> = q.diagnostics.iter().map(|d| d.code).collect();
            let state = if q.compiled.is_some() { "compiled" } else { "not compiled" };
            if codes.is_empty() {
                state.to_owned()
            } else {
                format!("{state}: {}", codes.join(", "))
            }
        })
        .collect();
    assert_eq!(actual.join("\n"), expected.trim(), "for {text:?}");
}

#[test]
fn a_syntax_error_does_not_hide_other_queries() {
    check(
        "images where \"Gene Symbol\" =\nplates in screen 102\nimages where x ==\nscreens in plate 4",
        "not compiled: expected-value\ncompiled\nnot compiled: expected-value\nnot compiled: scope-mismatch",
    );
}

#[test]
fn semicolons_and_column_zero_separate_queries() {
    check(
        "plates in screen 1; plates in screen 2\n  show name\nscreens",
        "compiled\ncompiled\ncompiled",
    );
}

#[test]
fn comments_and_blank_lines_alone_are_no_query() {
    check("# nothing here\n\n   # nor here\n;;\n", "");
}

#[test]
fn warnings_do_not_stop_compiling() {
    check("images where \"Gene Symbl\" = ade8", "compiled: unknown-key");
}

#[test]
fn a_hundred_thousand_parentheses_are_too_deep() {
    check(&format!("images where {}", "(".repeat(100_000)), "not compiled: too-deep");
    check(
        &format!("images where {}a = b{}", "(".repeat(100_000), ")".repeat(100_000)),
        "not compiled: too-deep",
    );
}

#[test]
fn a_hundred_thousand_nots_are_too_deep() {
    check(&format!("images where {}a = b", "not ".repeat(100_000)), "not compiled: too-deep");
}

#[test]
fn nesting_up_to_the_limit_compiles() {
    let nested = format!("images where {}a = b{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    check(&nested, "compiled: unknown-key");
    let nots = format!("images where {}Organism = b", "not ".repeat(MAX_DEPTH));
    check(&nots, "compiled");
}

#[test]
fn not_in_is_an_operator_not_nesting() {
    let many = (0..50).map(|i| format!("Organism not in (x{i})")).collect::<Vec<_>>().join(" and ");
    check(&format!("images where {many}"), "compiled");
}

/// The check on tokens (which guards the parser's stack) and the tree's depth agree at the
/// boundary, whatever the innermost comparison: a list's parentheses hold values, not a
/// condition, and an `in` ends a run of `not`s as `=` does.
#[test]
fn the_token_check_and_the_tree_agree_on_depth() {
    for innermost in ["Organism = x", "Organism in (x, y)", "Organism not in (x)"] {
        for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
            for (open, close) in [("(", ")"), ("not ", "")] {
                let text = format!(
                    "images in plate 1 where {}{innermost}{}",
                    open.repeat(depth),
                    close.repeat(depth)
                );
                let want = if depth > MAX_DEPTH { "not compiled: too-deep" } else { "compiled" };
                check(&text, want);
            }
        }
    }
    // Each `not` applies to its own comparison: 40 of them in a row are not 40 levels.
    let many = (0..40).map(|i| format!("not Organism in (x{i})")).collect::<Vec<_>>().join(" and ");
    check(&format!("images where Organism = y and {many}"), "compiled");
}

#[test]
fn huge_input_is_refused_before_parsing() {
    let long = format!("images where Organism in ({})", vec!["abcdefgh"; 2000].join(", "));
    check(&long, "not compiled: too-long");
}

#[test]
fn output_over_the_server_cap_is_refused() {
    // Raw control characters grow sixfold when escaped for GraphQL (`\u0001`).
    let value = "\u{1}".repeat(5000);
    check(&format!("images where Organism = \"{value}\""), "not compiled: too-long");
}

#[test]
fn compile_is_deterministic_and_refuses_invalid_trees() {
    let file = parse("images where \"Gene Symbol\" = ade8 show thumbnail\nscreens in plate 4");
    let good = file.queries[0].ast.as_ref().unwrap();
    assert_eq!(compile(good).unwrap().graphql, compile(good).unwrap().graphql);
    let bad = file.queries[1].ast.as_ref().unwrap();
    let errors: Vec<&str> = compile(bad).unwrap_err().iter().map(|d: &Diagnostic| d.code).collect();
    assert_eq!(errors, ["scope-mismatch"]);
}

#[test]
fn compiled_metadata_tells_the_runner_where_rows_are() {
    let meta = |text: &str| {
        let q = parse(text).queries.remove(0).ast.unwrap();
        let c = compile(&q).unwrap();
        let columns: Vec<String> =
            c.columns.iter().map(|c| format!("{}={}", c.header, c.key)).collect();
        format!(
            "{} paged={} limit={:?} [{}]",
            c.rows.join("."),
            c.paged,
            c.limit,
            columns.join(" ")
        )
    };
    assert_eq!(
        meta("images where \"Gene Symbol\" = ade8 show thumbnail, size, \"Gene Symbol\" limit 250"),
        "searchImages paged=true limit=Some(250) [id=id thumbnail=thumbnailUrl width=width height=height sizeZ=sizeZ sizeT=sizeT sizeC=sizeC Gene Symbol=k1]"
    );
    assert_eq!(
        meta("wells in plate 4554 show images"),
        "plate.wells paged=false limit=None [id=id label=label images=images]"
    );
    assert_eq!(
        meta("datasets in project 51"),
        "project.datasets paged=true limit=None [id=id name=name]"
    );
    assert_eq!(
        meta("images in plate 0004554"),
        "plate.images paged=false limit=None [id=id name=name]"
    );
}

#[test]
fn ids_are_written_canonically() {
    let q = parse("images in plate 0004554").queries.remove(0).ast.unwrap();
    assert!(compile(&q).unwrap().graphql.contains("plate(id: \"4554\")"));
}

#[test]
fn graphql_strings_escape_what_they_must() {
    assert_eq!(graphql_string("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(graphql_string("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
    assert_eq!(graphql_string("\u{0}\u{1f}\u{7f}\u{85}"), r#""\u0000\u001F\u007F\u0085""#);
    assert_eq!(graphql_string("\u{feff}\u{2028}\u{202e}\u{a0}"), r#""\uFEFF\u2028\u202E\u00A0""#);
    assert_eq!(graphql_string("é 细 🧬 }{ __schema"), "\"é 细 🧬 }{ __schema\"");
}

#[test]
fn spans_point_into_the_file_not_the_query() {
    let text = "plates in screen 102\nimages where \"Gene Symbol\" = ";
    let analysis = analyze(text, &Catalog::bundled());
    let d = &analysis.queries[1].diagnostics[0];
    assert_eq!(d.code, "expected-value");
    assert_eq!(crate::line_col(text, d.span.start), (2, 29));
}

/// The fenced blocks of a Markdown text: (info string, body).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            blocks.push((info.to_owned(), body.join("\n") + "\n"));
        }
    }
    blocks
}

#[test]
fn the_language_doc_shows_what_queries_really_compile_to() {
    let doc = std::fs::read_to_string(super::crate_dir().join("../../docs/idr-ql.md")).unwrap();
    let blocks = fenced_blocks(&doc);
    let mut pairs = 0;
    for pair in blocks.windows(2) {
        let [(info, query), (next, graphql)] = pair else { continue };
        if info.is_empty() && next == "graphql" {
            let analysis = analyze(query, &Catalog::bundled());
            let compiled =
                analysis.queries[0].compiled.as_ref().expect("the doc's examples compile");
            assert_eq!(&compiled.graphql, graphql, "docs/idr-ql.md is out of date for {query}");
            pairs += 1;
        }
    }
    assert!(pairs >= 2, "expected IDR-QL / GraphQL example pairs in the doc");
    // The first block is DESIGN.md's examples: all of them check clean.
    let analysis = analyze(&blocks[0].1, &Catalog::bundled());
    assert_eq!(analysis.queries.len(), 6);
    assert_eq!(analysis.diagnostics().count(), 0);
}

#[test]
fn a_fields_columns_are_the_top_level_names_of_its_selection() {
    use crate::model::{Field, Resource};
    let keys = |f: Field, r: Resource| f.response_keys(r).join(" ");
    assert_eq!(keys(Field::Size, Resource::Images), "width height sizeZ sizeT sizeC");
    assert_eq!(keys(Field::Images, Resource::Datasets), "images");
    assert_eq!(keys(Field::Plates, Resource::Screens), "plates");
    assert_eq!(keys(Field::Bulk, Resource::Wells), "bulkAnnotation");
    assert_eq!(keys(Field::Organism, Resource::Studies), "organism");
    assert_eq!(keys(Field::Id, Resource::Studies), "id");
    // Every field of every resource: the keys are exactly the response keys (alias, else
    // name) of the selection's top-level fields, as a GraphQL parser reads them.
    for resource in Resource::ALL {
        for field in resource.fields() {
            let selection = field.selection(resource);
            let document = format!("{{ x {{ {selection} }} }}");
            let parsed = apollo_compiler::ast::Document::parse(document, "field.graphql")
                .unwrap_or_else(|e| panic!("{selection}: {e}"));
            let Some(apollo_compiler::ast::Definition::OperationDefinition(op)) =
                parsed.definitions.first()
            else {
                panic!("{selection}: not an operation")
            };
            let apollo_compiler::ast::Selection::Field(x) = &op.selection_set[0] else {
                panic!("{selection}")
            };
            let want: Vec<String> = x
                .selection_set
                .iter()
                .filter_map(|s| match s {
                    apollo_compiler::ast::Selection::Field(f) => {
                        Some(f.alias.as_ref().unwrap_or(&f.name).to_string())
                    }
                    _ => None,
                })
                .collect();
            assert_eq!(field.response_keys(resource), want, "{field:?} of {resource:?}");
        }
    }
}

/// Every kind of name a user can misspell (resource, scope, keyword, field, key) gets a
/// help that leads with the suggestion, whatever else the diagnostic says.
#[test]
fn every_near_miss_leads_its_help_with_did_you_mean() {
    let typos = [
        ("imagse where name = x", "`images`"),
        ("plates in screan 102", "`screen`"),
        ("images wehre name = x", "`where`"),
        ("images in plate 4554 show nmae", "`name`"),
        ("images where \"Gene Symbl\" = ade8", "\"Gene Symbol\""),
        ("images in plate 4554 show \"Gene Symbl\"", "\"Gene Symbol\""),
        ("images where \"gene symbl\" = ade8", "\"Gene Symbol\""),
    ];
    for (text, suggestion) in typos {
        let analysis = analyze(text, &Catalog::bundled());
        let helps: Vec<&str> = analysis
            .queries
            .iter()
            .flat_map(|q| &q.diagnostics)
            .filter_map(|d| d.help.as_deref())
            .collect();
        assert!(
            helps.iter().any(|h| h.starts_with(&format!("did you mean {suggestion}?"))),
            "{text:?}: {helps:?}"
        );
    }
}

/// `text` with `fix`'s edits made (they do not overlap).
fn apply(text: &str, fix: &crate::Fix) -> String {
    let mut edits = fix.edits.clone();
    edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
    let mut out = text.to_owned();
    for (span, new) in edits {
        out.replace_range(span.start..span.end, &new);
    }
    out
}

/// Every quick fix offered does fix: once applied, the diagnostic it was offered for is
/// gone, and no error takes its place.
#[test]
fn every_quick_fix_fixes_what_it_was_offered_for() {
    let cases = [
        "imagse where \"Gene Symbol\" = ade8",
        "plates in screan 102",
        "images wehre \"Gene Symbol\" = ade8",
        "images in plate 4554 show nmae",
        "images in plate 4554 show nam",
        "images where \"Gene Symbl\" = ade8",
        "images in plate 4554 show \"Gene Symbl\"",
        "images \"Gene Symbol\" = ade8",
        "images where \"Gene Symbol\" = ade8 cdc20",
        "images where Gene Symbol = ade8",
        "images where \"Gene Symbol\" = \"a\\\"b\" c",
        "images in plate 4554 show Gene Symbol",
    ];
    let mut offered = 0;
    for text in cases {
        let analysis = analyze(text, &Catalog::bundled());
        let fixable: Vec<&crate::Diagnostic> =
            analysis.diagnostics().filter(|d| !d.fixes.is_empty()).collect();
        assert!(
            !fixable.is_empty(),
            "{text:?} offers no fix: {:?}",
            analysis.diagnostics().collect::<Vec<_>>()
        );
        for d in fixable {
            for fix in &d.fixes {
                offered += 1;
                let fixed = apply(text, fix);
                let after = analyze(&fixed, &Catalog::bundled());
                let left: Vec<&str> = after.diagnostics().map(|d| d.code).collect();
                assert!(
                    !left.contains(&d.code) && !after.has_errors(),
                    "{text:?} fixed by {:?} gives {fixed:?}, still {left:?}",
                    fix.title
                );
            }
        }
    }
    assert!(offered >= cases.len());
}

#[test]
fn quoting_two_words_keeps_what_they_say() {
    let text = r#"images where "Gene Symbol" = "a\"b" c"#;
    let analysis = analyze(text, &Catalog::bundled());
    let fix = analysis
        .diagnostics()
        .flat_map(|d| &d.fixes)
        .find(|f| f.title.starts_with("Quote as"))
        .expect("a quoting fix");
    assert_eq!(apply(text, fix), r#"images where "Gene Symbol" = "a\"b c""#);
}
