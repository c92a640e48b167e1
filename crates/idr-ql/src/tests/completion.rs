//! Completion at a `<CURSOR>` marker, against a small test catalog (and once against the
//! bundled one). Each item is shown as `label` or `label => insert text` when they
//! differ; `expected` lists the first items, one per line.

use idr_test_support::split_cursor;

use crate::{complete, Catalog, Resource, Span};

fn check(input: &str, expected: &str) {
    let (text, offset) = split_cursor(input);
    let items = complete(&text, offset, &super::test_catalog());
    for item in &items {
        assert!(item.replace.end <= text.len() && item.replace.start <= offset, "{item:?}");
    }
    let shown: Vec<String> = items
        .iter()
        .map(|i| {
            if i.insert_text == i.label {
                i.label.clone()
            } else {
                format!("{} => {}", i.label, i.insert_text)
            }
        })
        .collect();
    let expected: Vec<&str> = expected.lines().collect();
    let actual: Vec<&str> = shown.iter().map(String::as_str).take(expected.len().max(1)).collect();
    assert_eq!(actual, expected, "completions for {input:?}: all were {shown:#?}");
}

/// The span an item replaces, as text.
fn replaced(input: &str, label: &str) -> String {
    let (text, offset) = split_cursor(input);
    let items = complete(&text, offset, &super::test_catalog());
    let item = items
        .iter()
        .find(|i| i.label == label)
        .unwrap_or_else(|| panic!("no {label} in {items:#?}"));
    let Span { start, end } = item.replace;
    text[start..end].to_owned()
}

#[test]
fn resources_at_the_start() {
    check("<CURSOR>", "images\nscreens\nplates\nwells\nprojects\ndatasets");
    check("im<CURSOR>", "images");
    check("plates in screen 102\n<CURSOR>", "images\nscreens\nplates\nwells\nprojects\ndatasets");
    check("plates in screen 102; w<CURSOR>", "wells");
}

#[test]
fn clause_keywords_after_the_resource() {
    check("images <CURSOR>", "in\nwhere\nshow\nlimit");
    check("images wh<CURSOR>", "where");
    check("screens <CURSOR>", "where\nshow\nlimit");
    check("images in plate 4554 <CURSOR>", "where\nshow\nlimit");
    check("images where \"Gene Symbol\" = ade8\n  <CURSOR>", "and\nor\nshow\nlimit");
}

#[test]
fn scopes_that_fit_the_resource() {
    check("images in <CURSOR>", "study\nscreen\nplate\nproject\ndataset");
    check("plates in <CURSOR>", "screen");
    check("wells in pl<CURSOR>", "plate");
}

#[test]
fn keys_after_where() {
    check("images where <CURSOR>", "name\nCell Line => \"Cell Line\"\nGene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"\nOrganism\nPhenotype\nnot");
    check(
        "images where Gene<CURSOR>",
        "Gene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"",
    );
    check("images where org<CURSOR>", "Organism");
    check("images where not <CURSOR>", "name\nCell Line => \"Cell Line\"");
    check("images where (Organism = x or <CURSOR>", "name\nCell Line => \"Cell Line\"");
    check("images where notype<CURSOR>", "Phenotype");
}

#[test]
fn keys_inside_an_unterminated_string() {
    check(
        "images where \"Gene <CURSOR>",
        "Gene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"",
    );
    assert_eq!(replaced("images where \"Gene <CURSOR>", "Gene Symbol"), "\"Gene ");
    assert_eq!(replaced("images where \"Gene <CURSOR> = ade8", "Gene Symbol"), "\"Gene ");
    assert_eq!(replaced("images where \"Gene S<CURSOR>ym\" = ade8", "Gene Symbol"), "\"Gene Sym\"");
    check("images where \"Org<CURSOR>", "Organism => \"Organism\"");
}

#[test]
fn the_bundled_catalog_completes_gene_symbol() {
    let (text, offset) = split_cursor("images where \"Gene <CURSOR>");
    let items = complete(&text, offset, &Catalog::bundled());
    let gene = items.iter().find(|i| i.label == "Gene Symbol").expect("Gene Symbol is offered");
    assert_eq!((gene.insert_text.as_str(), gene.replace), ("\"Gene Symbol\"", Span::new(13, 19)));
}

#[test]
fn operators_after_a_key() {
    check("images where \"Gene Symbol\" <CURSOR>", "=\n!=\n~\n!~\nin\nnot in");
    check("images where \"Gene Symbol\" not <CURSOR>", "in");
}

#[test]
fn values_of_the_key_on_the_left() {
    check("images where \"Gene Symbol\" = <CURSOR>", " ciz1 => \" ciz1\"\nade8\nCDK5RAP2\nCETN2");
    check("images where \"Gene Symbol\" = c<CURSOR>", "CDK5RAP2\nCETN2");
    check("images where \"gene symbol\" in (ade8, <CURSOR>", " ciz1 => \" ciz1\"\nade8");
    check("images where \"Cell Line\" = \"He<CURSOR>", "HeLa => \"HeLa\"");
    check("images where Organism = <CURSOR>", "Homo sapiens => \"Homo sapiens\"\nSaccharomyces cerevisiae => \"Saccharomyces cerevisiae\"");
    check("images where \"Favourite Colour\" = <CURSOR>", "");
}

#[test]
fn show_fields_of_the_resource_then_keys() {
    check(
        "wells in plate 4554 show <CURSOR>",
        "id\nlabel\nrow\ncolumn\nimages\nkeyValues\nbulk\nplate\ngenes\nphenotypes\nsirnas\ncompounds\nantibodies\norganism\ncellLine\nCell Line => \"Cell Line\"",
    );
    check("images in plate 4554 show name, th<CURSOR>", "thumbnail");
    check("screens show na<CURSOR>", "name");
    check("images in plate 4554 show name <CURSOR>", "limit");
}

#[test]
fn nothing_where_nothing_fits() {
    check("images in plate <CURSOR>", "");
    check("images in plate 4554 limit <CURSOR>", "");
    check("images where # a comm<CURSOR>ent", "");
}

#[test]
fn offsets_are_clamped() {
    let items = complete("images", 1000, &Catalog::bundled());
    assert_eq!(items.len(), 1);
    // Inside a multi-byte character: taken as the boundary before it.
    let lookups = Resource::ALL.iter().filter(|r| r.takes_ids()).count();
    let first_words = Resource::ALL.len() + lookups + crate::syntax::CatalogHead::ALL.len();
    assert_eq!(complete("é", 1, &Catalog::bundled()).len(), first_words);
}

#[test]
fn lookups_and_the_catalog_at_the_start() {
    check("<CURSOR>", "images\nscreens\nplates\nwells\nprojects\ndatasets\nstudies\nimage\nscreen\nplate\nwell\nproject\ndataset\nkeys\nvalues");
    check("va<CURSOR>", "values");
    check("image<CURSOR>", "images\nimage");
    // After ids, the clauses; nothing is offered for the id itself.
    check("image 122770 <CURSOR>", "show\nlimit");
    check("images 1, 2 <CURSOR>", "show\nlimit");
    check("images 1884807, <CURSOR>", "");
    check("screen 102 show <CURSOR>", "id\nname\ndescription\nkeyValues\nplates\nfiles\nurl");
}

#[test]
fn keys_values_and_their_resource() {
    check("keys <CURSOR>", "in\nlimit");
    check("values <CURSOR>", "Cell Line => \"Cell Line\"\nGene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"\nOrganism\nPhenotype\nin\nlimit");
    check(
        "values \"Gene <CURSOR>",
        "Gene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"",
    );
    check("values \"Gene Symbol\" <CURSOR>", "in\nlimit");
    check("values \"Gene Symbol\" in <CURSOR>", "images\nscreens\nplates\nwells\nprojects");
    check("keys in screens <CURSOR>", "limit");
}

#[test]
fn studies_offer_what_they_take() {
    // No `name` in a condition (the engine cannot test it), no keys after `show`.
    check("studies where <CURSOR>", "Cell Line => \"Cell Line\"\nGene Identifier => \"Gene Identifier\"\nGene Symbol => \"Gene Symbol\"\nOrganism\nPhenotype\nnot");
    check("studies where a = b show <CURSOR>", "id\nname\ntitle\ndescription\nimageCount\ncontainers\npublication\nlicense\nreleaseDate\norganism\nkeyValues");
    let (text, offset) = split_cursor("studies where a = b show <CURSOR>");
    let items = complete(&text, offset, &super::test_catalog());
    assert!(items.iter().all(|i| i.kind != crate::CompletionKind::Key), "{items:#?}");
}
