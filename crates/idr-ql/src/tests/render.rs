//! The renderer: `file:line:col` in characters, the source line, a caret underline,
//! labels and help; tabs, CRLF, non-ASCII text and control characters.

use crate::{analyze, render, Catalog};

fn check(source: &str, expected: &str) {
    let diagnostics: Vec<_> = analyze(source, &Catalog::bundled()).diagnostics().cloned().collect();
    assert_eq!(render(&diagnostics, "q.idrql", source), expected, "rendering {source:?}");
}

#[test]
fn the_issue_example() {
    check(
        "images where \"Gene Symbol\" =",
        "error[expected-value]: expected a value after `=`, found the end of the query
 --> q.idrql:1:29
  |
1 | images where \"Gene Symbol\" =
  |                             ^
",
    );
}

#[test]
fn columns_count_characters_not_bytes() {
    check(
        "images where Phénotype = x y",
        "error[stray-token]: unexpected `y`; expected `and`, `or`, `show`, `limit` or the end of the query
 --> q.idrql:1:28
  |
1 | images where Phénotype = x y
  |                            ^
  = help: quote values that contain spaces: \"x y\"
",
    );
}

#[test]
fn tabs_crlf_and_labels() {
    check(
        "plates in screen 1\r\nimages where\t(a = b\r\n",
        "error[unclosed-paren]: expected `)` to close this group
 --> q.idrql:2:20
  |
2 | images where    (a = b
  |                       ^
  |                 - opened here
",
    );
}

#[test]
fn control_characters_cannot_reach_the_terminal() {
    check(
        "images where \"\u{1b}[31mred\" = x",
        "warning[unknown-key]: unknown key \"\\u{1b}[31mred\"
 --> q.idrql:1:14
  |
1 | images where \"\u{fffd}[31mred\" = x
  |              ^^^^^^^^^^
  = help: IDR may know keys the catalog does not; a condition on a key that no object carries matches nothing
",
    );
}

#[test]
fn several_diagnostics_are_separated_by_a_blank_line() {
    check(
        "imagez where Organism = b\nscreens limit 0",
        "error[unknown-resource]: unknown resource `imagez`
 --> q.idrql:1:1
  |
1 | imagez where Organism = b
  | ^^^^^^
  = help: did you mean `images`?

error[limit-out-of-range]: `limit` must be between 1 and 1000
 --> q.idrql:2:15
  |
2 | screens limit 0
  |               ^
  = help: leave `limit` out to get every row
",
    );
}
