//! Fixture-driven tests: every `test_data/ok/*.idrql` and `test_data/err/*.idrql` is
//! analysed against the bundled catalog and snapshotted next to it (`NAME.snap`) with
//! `## Input`, `## Diagnostics` (rendered), `## GraphQL` and `## Formatted` sections.
//! `ok` files must produce no diagnostic at all and `err` files at least one. Formatting
//! every fixture is idempotent and keeps its meaning.

use std::fmt::Write as _;
use std::path::Path;

use super::{crate_dir, trees};
use crate::{analyze, format, render, Catalog};

pub(super) fn fixtures(kind: &str) -> Vec<(String, String)> {
    let dir = crate_dir().join("test_data").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "idrql"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

/// The sectioned snapshot text of one fixture.
fn sections(name: &str, text: &str, catalog: &Catalog) -> (String, usize) {
    let analysis = analyze(text, catalog);
    let diagnostics: Vec<_> = analysis.diagnostics().cloned().collect();
    let mut out = String::new();
    let _ = writeln!(out, "## Input\n{}", text.trim_end());
    let rendered = render(&diagnostics, &format!("{name}.idrql"), text);
    let _ = writeln!(
        out,
        "\n## Diagnostics\n{}",
        if rendered.is_empty() { "(none)\n" } else { &rendered }
    );
    out.push_str("## GraphQL\n");
    for (i, q) in analysis.queries.iter().enumerate() {
        let (line, _) = crate::line_col(text, q.span.start);
        match &q.compiled {
            Some(c) => {
                let _ = writeln!(out, "# query {} (line {line})\n{}", i + 1, c.graphql);
            }
            None => {
                let _ = writeln!(out, "# query {} (line {line}): not compiled\n", i + 1);
            }
        }
    }
    out.push_str("## Formatted\n");
    out.push_str(format(text).as_deref().unwrap_or("(not formatted: syntax errors)\n"));
    (out, diagnostics.len())
}

fn check(kind: &str) {
    let catalog = Catalog::bundled();
    let dir = crate_dir().join("test_data").join(kind);
    for (name, text) in fixtures(kind) {
        let (snapshot, count) = sections(&name, &text, &catalog);
        match kind {
            "ok" => assert_eq!(count, 0, "{name}.idrql should have no diagnostics:\n{snapshot}"),
            _ => assert!(count > 0, "{name}.idrql should have diagnostics:\n{snapshot}"),
        }
        check_formatting(&name, &text);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(Path::new(&dir));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_description(format!("test_data/{kind}/{name}.idrql"));
        settings.bind(|| insta::assert_snapshot!(name.clone(), snapshot));
    }
}

/// Formatting is idempotent, and the formatted text parses to the same trees and
/// compiles to the same GraphQL.
fn check_formatting(name: &str, text: &str) {
    let Some(formatted) = format(text) else { return };
    assert_eq!(
        format(&formatted).as_deref(),
        Some(formatted.as_str()),
        "{name}: format is not idempotent"
    );
    assert_eq!(trees(&formatted), trees(text), "{name}: formatting changed the trees");
    let compiled = |t: &str| -> Vec<Option<String>> {
        analyze(t, &Catalog::empty())
            .queries
            .into_iter()
            .map(|q| q.compiled.map(|c| c.graphql))
            .collect()
    };
    assert_eq!(compiled(&formatted), compiled(text), "{name}: formatting changed the GraphQL");
}

#[test]
fn ok_fixtures() {
    check("ok");
}

#[test]
fn err_fixtures() {
    check("err");
}

#[test]
fn every_diagnostic_code_has_an_err_fixture() {
    let catalog = Catalog::bundled();
    let mut seen: Vec<&str> = Vec::new();
    for (_, text) in fixtures("err") {
        seen.extend(analyze(&text, &catalog).diagnostics().map(|d| d.code));
    }
    let missing: Vec<&&str> = crate::CODES.iter().filter(|c| !seen.contains(c)).collect();
    assert!(missing.is_empty(), "codes without an err fixture: {missing:?}");
}

#[test]
fn design_examples_are_ok_fixtures() {
    let design =
        std::fs::read_to_string(crate_dir().join("test_data/ok/design_examples.idrql")).unwrap();
    for line in [
        r#"images where "Gene Symbol" = ade8"#,
        r#"images where "Gene Symbol" in (CDK5RAP2, CETN2) and "Cell Line" = HeLa show name, thumbnail limit 20"#,
        r#"images where Phenotype ~ "chromosome" and not "Gene Symbol" = """#,
        "plates in screen 102",
        "wells in plate 4554 show label, images",
        "screens where name ~ idr0002",
    ] {
        assert!(design.lines().any(|l| l == line), "DESIGN.md example missing: {line}");
    }
}
