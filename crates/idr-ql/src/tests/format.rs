//! The formatter: canonical layout, comments kept, idempotent, `None` on syntax errors.

use crate::format;

/// Formats `input`, compares with `expected`, and checks that formatting again changes
/// nothing.
fn check(input: &str, expected: &str) {
    let actual = format(input);
    assert_eq!(actual.as_deref(), Some(expected), "formatting {input:?}");
    assert_eq!(format(expected).as_deref(), Some(expected), "not idempotent on {expected:?}");
}

#[test]
fn keywords_spacing_quotes_and_lists() {
    check(
        "IMAGES   WHERE \"Gene Symbol\"=\"ade8\"  SHOW \"name\",THUMBNAIL LIMIT 020",
        "images where \"Gene Symbol\" = ade8 show \"name\", thumbnail limit 20\n",
    );
    check("images where a in(x,\"y z\",\"and\")", "images where a in (x, \"y z\", \"and\")\n");
    check("Plates In SCREEN 102", "plates in screen 102\n");
    check("images where NAME ~ \"x\"", "images where name ~ x\n");
    check("images where a not  in (b)", "images where a not in (b)\n");
}

#[test]
fn strings_are_escaped_canonically() {
    check(
        r#"images where a = "tab	and \u{41}\u{1F52C}\u{7}""#,
        "images where a = \"tab\\tand A🔬\\u{7}\"\n",
    );
}

#[test]
fn long_queries_break_onto_continuation_lines() {
    check(
        "images in study \"idr0002-heriche-condensation/screenA\" where \"Gene Symbol\" in (CDK5RAP2, CETN2) and \"Cell Line\" = HeLa show name, thumbnail limit 20",
        "images in study idr0002-heriche-condensation/screenA\n  where \"Gene Symbol\" in (CDK5RAP2, CETN2) and \"Cell Line\" = HeLa\n  show name, thumbnail\n  limit 20\n",
    );
    check(
        "images where Phenotype ~ \"chromosome condensation\" or Phenotype ~ \"mitotic delay\" or Phenotype ~ \"cell death\"",
        "images\n  where Phenotype ~ \"chromosome condensation\"\n    or Phenotype ~ \"mitotic delay\"\n    or Phenotype ~ \"cell death\"\n",
    );
}

#[test]
fn comments_and_blank_lines_are_kept() {
    check(
        "# head\n\n\n\nimages where a = b # trailing\n# between\nplates in screen 1\n  # inside\n  show name ; screens\n\n# tail\n",
        "# head\n\nimages where a = b # trailing\n# between\n# inside\nplates in screen 1 show name\nscreens\n\n# tail\n",
    );
    check("", "");
    check("# only a comment", "# only a comment\n");
}

#[test]
fn syntax_errors_are_not_formatted() {
    assert_eq!(format("images where a ="), None);
    assert_eq!(format("images\nimages where \"x"), None);
    // Semantic errors are still formatted.
    assert_eq!(format("screens in plate 4").as_deref(), Some("screens in plate 4\n"));
}
