//! Request building: each builder's requests rendered as request lines (with the JSON body
//! of a POST), so a test reads like what IDR will see.

use crate::endpoints::{self as ep, ApiObject, Children};
use crate::model::*;
use crate::{Error, Request};

/// What a builder produced, as one line per request.
trait Lines {
    fn lines(self) -> Vec<String>;
}

impl Lines for Request {
    fn lines(self) -> Vec<String> {
        vec![self.to_string()]
    }
}

impl Lines for Option<Request> {
    fn lines(self) -> Vec<String> {
        self.into_iter().flat_map(Lines::lines).collect()
    }
}

impl Lines for Vec<Request> {
    fn lines(self) -> Vec<String> {
        self.into_iter().flat_map(Lines::lines).collect()
    }
}

impl Lines for Result<Request, Error> {
    fn lines(self) -> Vec<String> {
        match self {
            Ok(req) => req.lines(),
            Err(e) => vec![format!("error: {e}")],
        }
    }
}

fn check(built: impl Lines, expect: &str) {
    assert_eq!(built.lines().join("\n"), expect.trim());
}

fn cond(key: Option<&str>, op: Op, values: &[&str]) -> Condition {
    Condition {
        key: key.map(str::to_owned),
        op,
        values: values.iter().map(|v| (*v).to_owned()).collect(),
    }
}

fn query(and: Vec<Condition>) -> SearchQuery {
    SearchQuery { filter: EngineQuery { and, ..EngineQuery::default() }, ..SearchQuery::default() }
}

// Request itself.

#[test]
fn query_values_are_percent_encoded() {
    check(
        Request::get("/searchengine/api/v1/resources/image/searchvaluesusingkey/")
            .param("key", "Gene Symbol"),
        "GET /searchengine/api/v1/resources/image/searchvaluesusingkey/?key=Gene%20Symbol",
    );
}

#[test]
fn reserved_and_non_ascii_characters_are_encoded() {
    check(
        Request::get("/x/").param("q", "a&b=c/d?é+~-_.*"),
        "GET /x/?q=a%26b%3Dc%2Fd%3F%C3%A9%2B~-_.%2A",
    );
}

#[test]
fn query_pairs_are_sorted_by_key_then_value() {
    check(Request::get("/x/").param("z", 1).param("a", 20).param("a", 3), "GET /x/?a=20&a=3&z=1");
}

#[test]
fn request_line_length_counts_method_target_and_version() {
    assert_eq!(
        Request::get("/x/").param("key", "Gene Symbol").request_line_len(),
        "GET /x/?key=Gene%20Symbol HTTP/1.1".len()
    );
}

#[test]
fn url_keeps_a_base_path_prefix() {
    let base = url::Url::parse("http://127.0.0.1:8080/idr/").unwrap();
    assert_eq!(
        Request::get("/webclient/imgData/1/").param("a", "b c").url(&base).as_str(),
        "http://127.0.0.1:8080/idr/webclient/imgData/1/?a=b%20c"
    );
}

// One builder per endpoint.

#[test]
fn annotations_request_pages_after_the_first() {
    check(
        vec![
            ep::annotations_request(AnnotationType::Map, ObjectKind::Image, &[2, 1], None, 10),
            ep::annotations_request(AnnotationType::File, ObjectKind::Screen, &[102], Some(2), 10),
        ],
        "
GET /webclient/api/annotations/?image=1&image=2&limit=10&type=map
GET /webclient/api/annotations/?limit=10&page=2&screen=102&type=file",
    );
}

#[test]
fn annotations_requests_sort_and_deduplicate() {
    check(
        ep::annotations_requests(AnnotationType::Map, ObjectKind::Well, &[3, 1, 3, 2, 1], 10_000),
        "GET /webclient/api/annotations/?limit=10000&type=map&well=1&well=2&well=3",
    );
}

#[test]
fn annotations_requests_for_no_ids() {
    check(ep::annotations_requests(AnnotationType::Map, ObjectKind::Image, &[], 10_000), "");
}

#[test]
fn object_requests() {
    check(
        vec![
            ep::api_object_request(ApiObject::Screen, 102),
            ep::api_object_request(ApiObject::Dataset, 51),
            ep::api_list_request(ApiObject::Project, 200),
            ep::children_request(Children::Plates, 102),
            ep::children_request(Children::Images, 51),
            ep::plate_grid_request(4554, 1),
            ep::image_data_request(122770),
            ep::thumbnail_request(1884807, None),
            ep::thumbnail_request(1884807, Some(256)),
        ],
        "
GET /api/v0/m/screens/102/
GET /api/v0/m/datasets/51/?childCount=true
GET /api/v0/m/projects/?childCount=true&offset=200
GET /webclient/api/plates/?id=102&page=0
GET /webclient/api/images/?id=51&page=0
GET /webgateway/plate/4554/1/
GET /webclient/imgData/122770/
GET /webgateway/render_thumbnail/1884807/
GET /webgateway/render_thumbnail/1884807/256/",
    );
}

// The bulk-annotation table.

#[test]
fn well_table_for_one_well_uses_the_shorthand() {
    check(
        ep::well_table_request(&[45217]),
        "GET /webgateway/table/Screen.plateLinks.child.wells/45217/query/?query=Well-45217",
    );
}

#[test]
fn well_table_for_several_wells_uses_an_or_condition() {
    // `(Well==45217)|(Well==45218)|(Well==45219)`, encoded.
    check(
        ep::well_table_request(&[45217, 45218, 45219]),
        "GET /webgateway/table/Screen.plateLinks.child.wells/45217/query/?query=%28Well%3D%3D45217%29%7C%28Well%3D%3D45218%29%7C%28Well%3D%3D45219%29",
    );
}

#[test]
fn well_table_for_no_wells() {
    check(ep::well_table_request(&[]), "");
}

// The search engine.

#[test]
fn search_one_condition_is_a_get_with_the_value_lower_cased() {
    check(
        ep::search_request(&query(vec![cond(Some("Gene Symbol"), Op::Equals, &["ADE8"])]), None),
        "GET /searchengine/api/v1/resources/image/search/?key=Gene%20Symbol&value=ade8",
    );
}

#[test]
fn search_get_sends_operator_when_not_equals_and_the_bookmark() {
    check(
        ep::search_request(&query(vec![cond(Some("Gene Symbol"), Op::Contains, &["Ade"])]), Some(10444651)),
        "GET /searchengine/api/v1/resources/image/search/?bookmark=10444651&key=Gene%20Symbol&operator=contains&value=ade",
    );
}

#[test]
fn a_study_scope_goes_through_submitquery_even_for_one_condition() {
    // The GET route's `study` would match project names only (engine 0.7), so a screen
    // scope would find nothing there.
    check(
        ep::search_request(
            &SearchQuery {
                study: Some(Study::any("idr0003-breker-plasticity/screenA")),
                ..query(vec![cond(None, Op::NotEquals, &["Yes"])])
            },
            None,
        ),
        r#"POST /searchengine/api/v1/resources/submitquery/ {"query_details":{"and_filters":[{"operator":"not_equals","resource":"image","value":"yes"},{"name":"name","operator":"equals","resource":"container","value":"idr0003-breker-plasticity/screenA"}],"or_filters":[],"case_sensitive":false}}"#,
    );
}

#[test]
fn search_in_is_a_post_with_a_list_value() {
    check(
        ep::search_request(
            &query(vec![cond(Some("Gene Symbol"), Op::In, &["ADE8", "Cdc20"])]),
            None,
        ),
        r#"POST /searchengine/api/v1/resources/submitquery/ {"query_details":{"and_filters":[{"operator":"in","resource":"image","value":["ade8","cdc20"],"name":"Gene Symbol"}],"or_filters":[],"case_sensitive":false}}"#,
    );
}

#[test]
fn search_several_conditions_or_groups_study_and_bookmark_are_a_post() {
    check(
        ep::search_request(
            &SearchQuery {
                filter: EngineQuery {
                    and: vec![cond(Some("Organism"), Op::Equals, &["Homo sapiens"])],
                    or: vec![vec![
                        cond(Some("Gene Symbol"), Op::Equals, &["CDC20"]),
                        cond(None, Op::NotContains, &["x"]),
                    ]],
                },
                study: Some(Study::any("idr0002")),
            },
            Some(7),
        ),
        r#"POST /searchengine/api/v1/resources/submitquery/ {"query_details":{"and_filters":[{"operator":"equals","resource":"image","value":"homo sapiens","name":"Organism"},{"name":"name","operator":"equals","resource":"container","value":"idr0002"}],"or_filters":[[{"operator":"equals","resource":"image","value":"cdc20","name":"Gene Symbol"},{"operator":"not_contains","resource":"image","value":"x"}]],"case_sensitive":false},"bookmark":[7]}"#,
    );
}

#[test]
fn search_without_conditions_is_refused() {
    check(
        ep::search_request(&SearchQuery::default(), None),
        "error: invalid request: a search needs at least one condition",
    );
}

#[test]
fn search_condition_without_value_is_refused() {
    check(
        ep::search_request(&query(vec![cond(Some("k"), Op::In, &[])]), None),
        "error: invalid request: a condition needs a value",
    );
}

#[test]
fn search_equals_with_two_values_is_refused() {
    check(
        ep::search_request(&query(vec![cond(Some("k"), Op::Equals, &["a", "b"])]), None),
        "error: invalid request: `equals` takes exactly one value",
    );
}

#[test]
fn well_rows_are_asked_in_chunks_within_the_limits() {
    let mut ids: Vec<u64> = (0..250).map(|i| 1_000_000 + i * 7).collect();
    ids.extend_from_slice(&ids.clone()[..10]);
    ids.reverse();
    let requests = ep::well_table_requests(&ids);
    let wells: Vec<usize> =
        requests.iter().map(|r| r.query[0].1.matches("Well==").count()).collect();
    assert_eq!(wells, [ep::MAX_TABLE_WELLS, ep::MAX_TABLE_WELLS, 50]);
    assert!(requests.iter().all(|r| r.request_line_len() <= ep::MAX_REQUEST_LINE));
    // In id order, each once: the first chunk starts at the smallest id.
    assert!(requests[0].path.contains("/1000000/"), "{}", requests[0].path);
    assert_eq!(ep::well_table_requests(&[5]).len(), 1);
    assert!(ep::well_table_requests(&[]).is_empty());
}
