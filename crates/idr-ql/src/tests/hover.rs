//! Hover at a `<CURSOR>` marker, against the test catalog: the hovered text and the
//! Markdown, or `None`.

use idr_test_support::split_cursor;

use crate::hover;

fn check(input: &str, expected: &str) {
    let (text, offset) = split_cursor(input);
    let actual = match hover(&text, offset, &super::test_catalog()) {
        Some(h) => format!("[{}]\n{}", &text[h.span.start..h.span.end], h.markdown),
        None => "None".to_owned(),
    };
    assert_eq!(actual, expected.trim(), "hover for {input:?}");
}

#[test]
fn keys_show_namespace_count_and_values() {
    check(
        "images where \"Gene Sy<CURSOR>mbol\" = ade8",
        "[\"Gene Symbol\"]\n**Gene Symbol** (key)\n\nNamespace: `openmicroscopy.org/mapr/gene`\n\nCarried by 1234567 images.\n\n4 known values, such as ` ciz1` (3), `ade8` (41), `CDK5RAP2`, `CETN2`.",
    );
    check("images where Cell<CURSOR> = x", "[Cell]\n**Cell**\n\nA key the catalog does not know. IDR may still have it; a condition on a key no object carries matches nothing.");
    check("images where Phenotype<CURSOR> = x", "[Phenotype]\n**Phenotype** (key)\n\nNamespace: `openmicroscopy.org/mapr/phenotype`\n\nHow many images carry it: not known in this catalog.");
    check(
        "screens where <CURSOR>name ~ x",
        "[name]\n**name**\n\nThe object's own name (for wells, the label such as `A1`).",
    );
    check("images in plate 1 show \"Organ<CURSOR>ism\"", "[\"Organism\"]\n**Organism** (key)\n\nNamespace: `openmicroscopy.org/mapr/organism`\n\nHow many images carry it: not known in this catalog.\n\n2 known values, such as `Homo sapiens`, `Saccharomyces cerevisiae`.");
}

#[test]
fn values_show_their_count() {
    check(
        "images where \"Gene Symbol\" = AD<CURSOR>E8",
        "[ADE8]\n**ade8**\n\nA value of `Gene Symbol`; carried by 41 images.",
    );
    check("images where \"Gene Symbol\" in (x, cdk5<CURSOR>rap2)", "[cdk5rap2]\n**CDK5RAP2**\n\nA value of `Gene Symbol`; how many images carry it is not known.");
    check("images where \"Gene Symbol\" = nosuch<CURSOR>", "None");
}

#[test]
fn keywords_resources_scopes_operators_fields() {
    check("<CURSOR>images where a = b", "[images]\n**images**\n\nImages. Searched by key/value through IDR's search engine (`where` required), optionally in a study, screen or project; or listed from `in plate N` or `in dataset N`.");
    check("images WH<CURSOR>ERE a = b", "[WHERE]\n**where**\n\n`where` starts the condition: `key op value`, combined with `and`, `or`, `not` and parentheses.");
    check(
        "plates in scr<CURSOR>een 102",
        "[screen]\n**in screen**\n\n`in screen N`: images or plates of the screen with id N.",
    );
    check("images where a !<CURSOR>~ b", "[!~]\n**!~**\n\nHas the key with a value that does not contain this (objects without the key do not match).");
    check(
        "images where a not i<CURSOR>n (b)",
        "[in]\n**not in**\n\nHas the key with a value that is none of the listed values.",
    );
    check(
        "images in plate 1 show thumb<CURSOR>nail",
        "[thumbnail]\n**thumbnail** (field)\n\nAbsolute URL of the JPEG thumbnail.",
    );
    check(
        "wells in plate 1 show name<CURSOR>",
        "[name]\n**name** (field)\n\nThe object's name.\n\nwells have no such field.",
    );
    check("images in plate 1 limit 2<CURSOR>0", "[20]\n**limit 20**\n\nAt most 20 rows.");
}

#[test]
fn nothing_on_punctuation_comments_or_space() {
    check("images where <CURSOR>(a = b)", "None");
    check("images # com<CURSOR>ment", "None");
    check("images   <CURSOR>  ", "None");
    check("images in plate 45<CURSOR>54", "None");
}

/// Each token's class, as `text:Class`, in order.
fn classes(text: &str) -> String {
    crate::classify(text)
        .iter()
        .map(|(span, class)| format!("{}:{class:?}", span.text(text)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn every_kind_of_token_is_classified_as_completion_reads_it() {
    assert_eq!(
        classes(
            "images in plate 4554 where \"Gene Symbol\" = ade8 and not x in (a, 12) show name, \"Cell Line\" limit 5 # c\nscreens; plates in screen 102"
        ),
        "images:Resource in:Keyword plate:Keyword 4554:Number where:Keyword \"Gene Symbol\":Key =:Operator ade8:Value and:Keyword not:Keyword x:Key in:Operator a:Value 12:Number show:Keyword name:Key \"Cell Line\":Key limit:Keyword 5:Number # c:Comment screens:Resource plates:Resource in:Keyword screen:Keyword 102:Number"
    );
    assert_eq!(
        classes("images 1884807, 1884808 show thumbnail\nvalues \"Gene Symbol\" in screens limit 3\nkeys"),
        "images:Resource 1884807:Number 1884808:Number show:Keyword thumbnail:Key values:Keyword \"Gene Symbol\":Key in:Keyword screens:Resource limit:Keyword 3:Number keys:Keyword"
    );
    // Unfinished text is classified as far as it goes.
    assert_eq!(classes("images where \"Gene "), "images:Resource where:Keyword \"Gene :Key");
}

/// Hover says what the parser decided: over every `show` item of every fixture, it names
/// a field exactly where the query shows a field, and a key elsewhere (quoted items,
/// curated keys such as `Phenotype` beside the `phenotypes` field, `plates … show
/// Organism`).
#[test]
fn hover_on_show_items_agrees_with_the_parser() {
    use crate::ast::ShowItem;
    let mut seen = (0, 0);
    for kind in ["ok", "err"] {
        for (name, text) in super::fixtures::fixtures(kind) {
            for query in crate::parse(&text).queries {
                let Some(ast) = &query.ast else { continue };
                for item in &ast.show {
                    let hovered = hover(&text, item.span.start + 1, &super::test_catalog())
                        .map(|h| h.markdown)
                        .unwrap_or_default();
                    let says_field = hovered.lines().next().is_some_and(|l| l.ends_with("(field)"));
                    let is_field = matches!(item.value, ShowItem::Field(_));
                    assert_eq!(says_field, is_field, "{name}: {:?}: {hovered:?}", item.value);
                    if is_field {
                        seen.0 += 1
                    } else {
                        seen.1 += 1
                    }
                }
            }
        }
    }
    assert!(seen.0 > 40 && seen.1 > 10, "{seen:?} fields and keys");
}

#[test]
fn lookups_and_the_catalog() {
    check("ima<CURSOR>ge 122770", "[image]\n**image**\n\nOne image by id, or several separated by `,`: `image 122770`. `show` picks the fields.");
    check("image 1227<CURSOR>70", "[122770]\n**image 122770**\n\nThe image with IDR id 122770.");
    check("screens 102, 5<CURSOR>1", "[51]\n**screen 51**\n\nThe screen with IDR id 51.");
    check("ke<CURSOR>ys in screens", "[keys]\n**keys**\n\n`keys` lists the keys IDR's search engine knows, for images or, with `in screens` (projects, plates, wells), for another resource.");
    check("values \"Gene Sym<CURSOR>bol\"", "[\"Gene Symbol\"]\n**Gene Symbol** (key)\n\nNamespace: `openmicroscopy.org/mapr/gene`\n\nCarried by 1234567 images.\n\n4 known values, such as ` ciz1` (3), `ade8` (41), `CDK5RAP2`, `CETN2`.");
    check("keys in scr<CURSOR>eens", "[screens]\n**screens**\n\nScreens: high-content screening studies, such as `idr0002-heriche-condensation/screenA`.");
    // Elsewhere `keys` and `values` are keys like any other.
    check("images where ke<CURSOR>ys = values", "[keys]\n**keys**\n\nA key the catalog does not know. IDR may still have it; a condition on a key no object carries matches nothing.");
}
