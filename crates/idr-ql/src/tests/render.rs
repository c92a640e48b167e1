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
  = help: give the value to compare with: `= ade8`, quoted when it has spaces: `= \"cell cycle\"`
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

/// Every character that could reorder or hide what a terminal shows (bidirectional
/// overrides and isolates, zero-width and other invisible formatting characters, controls)
/// is neutralised wherever a rendered diagnostic carries source text: the quoted line, the
/// message and its labels. Before, U+202E reached the terminal in the source line.
#[test]
fn hidden_characters_never_reach_the_terminal() {
    let hidden: Vec<char> = ('\u{0}'..='\u{1f}')
        .chain(['\u{7f}', '\u{85}', '\u{ad}', '\u{34f}', '\u{61c}', '\u{115f}', '\u{1160}'])
        .chain(['\u{180b}', '\u{180e}', '\u{3164}', '\u{feff}', '\u{ffa0}', '\u{e0041}'])
        .chain(['\u{e0000}', '\u{e007f}', '\u{fe00}', '\u{fe0f}', '\u{e0100}', '\u{e01ef}'])
        .chain('\u{200b}'..='\u{200f}')
        .chain('\u{2028}'..='\u{202e}')
        .chain('\u{2060}'..='\u{2069}')
        .chain('\u{fff9}'..='\u{fffb}')
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect();
    for c in hidden {
        for source in [
            format!("images where \"Gene Symbol\" = ab{c}cd"),
            format!("images where \"Ge{c}ne\" = x"),
            format!("images where x = y {c}"),
            format!("imag{c}es"),
        ] {
            let diagnostics: Vec<_> =
                analyze(&source, &Catalog::bundled()).diagnostics().cloned().collect();
            let rendered = render(&diagnostics, "q.idrql", &source);
            assert!(!rendered.contains(c), "U+{:04X} reached the terminal in {rendered}", c as u32);
            assert!(!rendered.contains("unexpected the "), "{rendered}");
        }
    }
}

/// A query on one very long line is shown around its mistake only, the caret still under
/// it: the rendering of a line of 6 KB (or of a 100 KB one, refused as too long) is not as
/// long as the line.
#[test]
fn a_long_line_is_shown_around_the_mistake() {
    let values: Vec<String> = (0..900).map(|i| format!("v{i}")).collect();
    let source = format!("images where \"Gene Symbol\" in ({}) show name nme", values.join(", "));
    let diagnostics: Vec<_> =
        analyze(&source, &Catalog::bundled()).diagnostics().cloned().collect();
    let rendered = render(&diagnostics, "q.idrql", &source);
    assert!(rendered.len() < 2_000, "{} bytes rendered", rendered.len());
    // The shown part of the line, and the caret under `nme`.
    let lines: Vec<&str> = rendered.lines().collect();
    let text = lines.iter().find(|l| l.starts_with("1 | ")).expect("the source line");
    let caret = lines.iter().find(|l| l.contains('^')).expect("a caret line");
    assert!(text.starts_with("1 | …") && text.ends_with("nme"), "{text}");
    let at = caret.find('^').unwrap();
    assert_eq!(text.chars().skip(at).take(3).collect::<String>(), "nme", "{text}\n{caret}");
    // A short line is shown whole, as before.
    let short = "images where x = y nme";
    let diagnostics: Vec<_> = analyze(short, &Catalog::bundled()).diagnostics().cloned().collect();
    assert!(render(&diagnostics, "q.idrql", short).contains(short));
}

/// A tab just before the start of a long line's window is not cut in two: the caret stays
/// under the mistake.
#[test]
fn a_tab_at_the_edge_of_the_window_keeps_the_caret_in_place() {
    // The window starts 40 columns before `nme`: the tab straddles that start when 36 to
    // 38 spaces follow it.
    for spaces in 30..45 {
        let (before, after) = (" ".repeat(50), " ".repeat(spaces));
        let source = format!("images where x = y{before}\t{after} nme{}", " x".repeat(100));
        let diagnostics: Vec<_> =
            analyze(&source, &Catalog::bundled()).diagnostics().cloned().collect();
        let rendered = render(&diagnostics, "q.idrql", &source);
        let lines: Vec<&str> = rendered.lines().collect();
        let caret = lines.iter().position(|l| l.contains('^')).expect("a caret");
        let text = lines[caret - 1];
        let at = lines[caret].find('^').unwrap();
        let under: String = text.chars().skip(at).take(3).collect();
        assert_eq!(under, "nme", "{spaces}: {text}\n{}", lines[caret]);
    }
}
