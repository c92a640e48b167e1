//! How decoders fail: IDR's not-found conventions, errors inside HTTP 200 bodies, HTML
//! error pages and bodies of the wrong shape. Each case is one line: the response and the
//! outcome in a compact form (`Decode` shows the JSON path of the offending value).

use std::fmt::Debug;

use super::{json, raw, recorded};
use crate::endpoints::{self as ep, ApiObject, Children};
use crate::model::*;
use crate::Error;

const URL: &str = "GET /test/";
const HTML: &str = "<!DOCTYPE html><html><head><title>Server Error (500)</title></head><body><h1>Server Error (500)</h1></body></html>";

fn check<T: Debug>(result: Result<T, Error>, expect: &str) {
    let actual = match result {
        Ok(value) => format!("Ok({value:?})"),
        Err(Error::NotFound { what }) => format!("NotFound({what})"),
        Err(Error::Status { status, url, message }) => {
            assert_eq!(url, URL);
            format!("Status({status}, {message:?})")
        }
        Err(Error::Reported { url, message }) => {
            assert_eq!(url, URL);
            format!("Reported({message})")
        }
        Err(Error::Decode { url, path, message }) => {
            assert_eq!(url, URL);
            format!("Decode({path}: {message})")
        }
        Err(other) => format!("{other:?}"),
    };
    assert_eq!(actual, expect);
}

fn image(status: u16, body: &str) -> Result<ImageData, Error> {
    ep::decode_image_data(URL, &json(status, body), 5)
}

fn grid(status: u16, body: &str) -> Result<PlateGrid, Error> {
    ep::decode_plate_grid(URL, &json(status, body), 9, 0)
}

fn table(status: u16, body: &str) -> Result<Table, Error> {
    ep::decode_table(URL, &json(status, body))
}

fn annotations(status: u16, body: &str) -> Result<Vec<Annotation>, Error> {
    ep::decode_annotations(URL, &json(status, body))
}

fn search(status: u16, body: &str) -> Result<SearchPage, Error> {
    ep::decode_search(URL, &json(status, body))
}

fn values(status: u16, body: &str) -> Result<Vec<ValueCount>, Error> {
    ep::decode_search_values(URL, &json(status, body), SearchResource::Image)
}

fn screen(status: u16, body: &str) -> Result<Container, Error> {
    ep::decode_container(URL, &json(status, body), ApiObject::Screen, 5)
}

fn html(status: u16) -> crate::Response {
    raw(status, Some("text/html; charset=utf-8"), HTML.as_bytes())
}

// imgData

/// A 200 whose body is only `{"error": …}` is never a success, whichever endpoint
/// answers it: where the endpoint has the member it is reported, elsewhere the body
/// lacks what an answer must hold.
#[test]
fn a_200_with_only_an_error_member_is_never_a_success() {
    const BODY: &str = r#"{"error": "Could not do it"}"#;
    check(image(200, BODY), "Decode($: missing field `meta`)");
    check(grid(200, BODY), "Reported(Could not do it)");
    check(annotations(200, BODY), "Decode($: missing field `annotations`)");
}

#[test]
fn image_403_with_empty_body_is_not_found() {
    check(ep::decode_image_data(URL, &raw(403, None, b""), 5), "NotFound(Image 5)");
}

#[test]
fn image_404_for_logged_in_users_is_not_found() {
    check(
        ep::decode_image_data(URL, &raw(404, Some("text/plain"), b"Image:5 not found"), 5),
        "NotFound(Image 5)",
    );
}

#[test]
fn image_recorded_missing() {
    check(
        ep::decode_image_data(URL, &recorded(&ep::image_data_request(999999999)), 999999999),
        "NotFound(Image 999999999)",
    );
}

#[test]
fn image_500_html_is_a_status_error() {
    check(ep::decode_image_data(URL, &html(500), 5), "Status(500, None)");
}

#[test]
fn image_500_json_keeps_the_message() {
    check(
        image(500, r#"{"message": "boom", "stacktrace": "Traceback…"}"#),
        r#"Status(500, Some("boom"))"#,
    );
}

#[test]
fn image_200_html_is_a_decode_error() {
    check(
        ep::decode_image_data(URL, &html(200), 5),
        "Decode($: not JSON: expected value at line 1 column 1)",
    );
}

#[test]
fn image_timestamp_of_the_wrong_type() {
    check(
        image(200, r#"{"id": 5, "meta": {"imageTimestamp": "yesterday"}}"#),
        "Decode($.meta.imageTimestamp: expected a number)",
    );
}

#[test]
fn image_negative_size() {
    check(
        image(
            200,
            r#"{"id": 5, "meta": {}, "size": {"width": -1, "height": 1, "z": 1, "t": 1, "c": 1}}"#,
        ),
        "Decode($.size.width: expected a non-negative integer, found -1)",
    );
}

#[test]
fn image_fractional_id() {
    check(
        image(200, r#"{"id": 5.5, "meta": {}}"#),
        "Decode($.id: expected a non-negative integer, found 5.5)",
    );
}

#[test]
fn image_channel_window_of_the_wrong_type() {
    check(
        image(
            200,
            r#"{"meta": {}, "channels": [{"label": "a"}, {"window": {"min": "0", "max": 1, "start": 0, "end": 1}}]}"#,
        ),
        "Decode($.channels[1].window.min: expected a number)",
    );
}

#[test]
fn image_well_id_of_the_wrong_type() {
    check(
        image(200, r#"{"meta": {"wellId": true}}"#),
        "Decode($.meta.wellId: expected a non-negative integer, found true)",
    );
}

// webgateway/plate

#[test]
fn grid_500_json_is_not_found() {
    check(
        grid(
            500,
            r#"{"message": "Object of type type is not JSON serializable", "stacktrace": "…"}"#,
        ),
        "NotFound(Plate 9)",
    );
}

#[test]
fn grid_recorded_missing() {
    check(
        ep::decode_plate_grid(URL, &recorded(&ep::plate_grid_request(999999999, 0)), 999999999, 0),
        "NotFound(Plate 999999999)",
    );
}

#[test]
fn grid_500_html_is_a_status_error() {
    check(ep::decode_plate_grid(URL, &html(500), 9, 0), "Status(500, None)");
}

#[test]
fn grid_cell_of_the_wrong_type() {
    check(
        grid(200, r#"{"grid": [[null, {"id": 1, "wellId": "abc"}]]}"#),
        "Decode($.grid[0][1].wellId: expected a non-negative integer, found \"abc\")",
    );
}

#[test]
fn grid_missing() {
    check(grid(200, r#"{"collabels": [], "rowlabels": []}"#), "Decode($: missing field `grid`)");
}

#[test]
fn grid_past_the_last_field_is_empty() {
    check(grid(200, r#"{"grid": [[null, null]], "collabels": [1, 2], "rowlabels": ["A"], "image_sizes": []}"#).map(|g| g.cells), "Ok([])");
}

// webgateway/table

#[test]
fn table_without_bulk_annotations_is_not_found() {
    check(
        table(200, r#"{"error": "Could not retrieve bulk annotations table"}"#),
        "NotFound(bulk annotation table)",
    );
}

#[test]
fn table_without_query_is_reported() {
    check(
        table(200, r#"{"error": "Must specify query parameter, use * to retrieve all"}"#),
        "Reported(Must specify query parameter, use * to retrieve all)",
    );
}

#[test]
fn table_bad_path_is_reported() {
    check(
        table(200, r#"{"error": "['Foo'] cannot be queried", "query": "select x"}"#),
        "Reported(['Foo'] cannot be queried)",
    );
}

#[test]
fn table_too_many_rows_is_reported_despite_its_status_member() {
    check(
        table(200, r#"{"error": "Trying to download 20000 rows exceeds configured omero.web.max_table_download_rows of 10000", "status": 404}"#),
        "Reported(Trying to download 20000 rows exceeds configured omero.web.max_table_download_rows of 10000)",
    );
}

#[test]
fn table_row_of_the_wrong_length() {
    check(
        table(200, r#"{"data": {"columns": ["Well", "Gene"], "rows": [[1]]}}"#),
        "Decode($.data.rows[0]: row has 1 cells for 2 columns)",
    );
}

#[test]
fn table_cell_of_the_wrong_type() {
    check(
        table(200, r#"{"data": {"columns": ["Well"], "rows": [[1], [{"x": 1}]]}}"#),
        "Decode($.data.rows[1][0]: expected a string or a number)",
    );
}

#[test]
fn table_500_html_is_a_status_error() {
    check(ep::decode_table(URL, &html(500)), "Status(500, None)");
}

#[test]
fn table_500_json_keeps_the_message() {
    check(table(500, r#"{"message": "boom", "stacktrace": "…"}"#), r#"Status(500, Some("boom"))"#);
}

// webclient/api/annotations and lists

#[test]
fn annotations_of_an_unknown_id_are_empty() {
    check(annotations(200, r#"{"annotations": [], "experimenters": []}"#), "Ok([])");
}

#[test]
fn annotations_with_a_non_integer_id_give_html_500() {
    check(ep::decode_annotations(URL, &html(500)), "Status(500, None)");
}

#[test]
fn annotations_pair_of_three() {
    check(
        annotations(
            200,
            r#"{"annotations": [{"id": 1, "class": "MapAnnotationI", "values": [["a", "b"], ["a", "b", "c"]], "link": {"parent": {"id": 2, "class": "ImageI"}}}]}"#,
        ),
        "Decode($.annotations[0].values[1]: expected a [key, value] pair)",
    );
}

#[test]
fn annotations_without_link() {
    check(
        annotations(200, r#"{"annotations": [{"id": 1, "class": "MapAnnotationI"}]}"#),
        "Decode($.annotations[0]: missing field `link`)",
    );
}

#[test]
fn plates_with_a_bad_parameter() {
    check(
        ep::decode_children(
            URL,
            &raw(400, Some("text/plain"), b"Invalid parameter value"),
            Children::Plates,
        ),
        r#"InvalidArgument("upstream rejected GET /test/")"#,
    );
}

#[test]
fn plates_of_an_unknown_screen_are_empty() {
    check(ep::decode_children(URL, &json(200, r#"{"plates": []}"#), Children::Plates), "Ok([])");
}

// api/v0

#[test]
fn api_404_message_is_not_found() {
    check(
        ep::decode_container(
            URL,
            &recorded(&ep::api_object_request(ApiObject::Screen, 999999999)),
            ApiObject::Screen,
            999999999,
        ),
        "NotFound(Screen 999999999)",
    );
}

#[test]
fn api_400_message_is_an_invalid_argument() {
    check(
        screen(400, r#"{"message": "invalid literal for int() with base 10: 'foo'"}"#),
        r#"InvalidArgument("invalid literal for int() with base 10: 'foo'")"#,
    );
}

#[test]
fn api_without_data() {
    check(screen(200, r#"{"meta": {}}"#), "Decode($: missing field `data`)");
}

#[test]
fn api_id_of_the_wrong_type() {
    check(
        screen(200, r#"{"data": {"@id": "x", "Name": "s"}}"#),
        "Decode($.@id: expected a non-negative integer, found \"x\")",
    );
}

#[test]
fn api_id_as_integral_float() {
    check(
        screen(200, r#"{"data": {"@id": 51.0, "Name": "s", "omero:childCount": 3.0}}"#)
            .map(|s| (s.id, s.child_count)),
        "Ok((51, Some(3)))",
    );
}

#[test]
fn api_500_html_is_a_status_error() {
    check(ep::decode_container(URL, &html(500), ApiObject::Screen, 5), "Status(500, None)");
}

// searchengine

#[test]
fn search_schema_error_is_reported() {
    check(
        search(200, r#"{"Error": "'gt' is not one of ['equals', 'not_equals', 'contains', 'not_contains', 'in', 'not_in']"}"#),
        "Reported('gt' is not one of ['equals', 'not_equals', 'contains', 'not_contains', 'in', 'not_in'])",
    );
}

#[test]
fn search_with_no_results_message_is_empty() {
    check(
        search(200, r#"{"Error": "Your query returns no results"}"#),
        "Ok(SearchPage { total: 0, hits: [], bookmark: None, more: Some(false) })",
    );
}

#[test]
fn search_with_empty_results_array_is_empty() {
    let req = ep::search_request(
        &SearchQuery {
            filter: EngineQuery {
                and: vec![Condition {
                    key: Some("Gene Symbol".to_owned()),
                    op: Op::Equals,
                    values: vec!["nosuchgene".to_owned()],
                }],
                ..EngineQuery::default()
            },
            ..SearchQuery::default()
        },
        None,
    )
    .unwrap();
    check(
        ep::decode_search(URL, &recorded(&req)),
        "Ok(SearchPage { total: 0, hits: [], bookmark: None, more: Some(false) })",
    );
}

#[test]
fn search_error_none_is_success() {
    check(
        search(
            200,
            r#"{"Error": "none", "results": {"size": 0, "results": [], "bookmark": [null]}}"#,
        ),
        "Ok(SearchPage { total: 0, hits: [], bookmark: None, more: None })",
    );
}

#[test]
fn search_lowercase_error_is_reported() {
    check(search(200, r#"{"error": "Could not do it"}"#), "Reported(Could not do it)");
}

#[test]
fn search_unknown_resource_404() {
    check(
        ep::decode_search(URL, &raw(404, Some("text/plain"), b"No data for table foo")),
        "NotFound(search)",
    );
}

#[test]
fn search_hit_id_of_the_wrong_type() {
    check(
        search(200, r#"{"results": {"size": 1, "results": [{"id": "abc"}]}}"#),
        "Decode($.results.results[0].id: expected a non-negative integer, found \"abc\")",
    );
}

#[test]
fn the_next_page_is_told_by_the_engines_counts_not_by_a_page_size() {
    // Pages of 7 (another deployment's PAGE_SIZE), 20 hits: a later page (no pagination)
    // after 7 hits has a successor, and the last page has none.
    let page = |ids: std::ops::RangeInclusive<u64>, pagination: &str| {
        let hits: Vec<String> = ids.clone().map(|id| format!(r#"{{"id": {id}}}"#)).collect();
        let body = format!(
            r#"{{"results": {{"size": 20, "total_pages": 3, "bookmark": [{}], "results": [{}]{pagination}}}}}"#,
            ids.end(),
            hits.join(",")
        );
        search(200, &body).unwrap()
    };
    let first =
        page(1..=7, r#", "pagination": {"current_page": 1, "next_page": 2, "total_pages": 3}"#);
    assert_eq!(first.next_bookmark(0), Some(7));
    assert_eq!(page(8..=14, "").next_bookmark(7), Some(14));
    assert_eq!(page(15..=20, "").next_bookmark(14), None);
    // A first and only page says so, however few hits it has.
    let only =
        page(1..=7, r#", "pagination": {"current_page": 1, "next_page": null, "total_pages": 1}"#);
    assert_eq!(only.next_bookmark(0), None);
}

#[test]
fn search_values_without_key_is_reported() {
    check(values(200, r#"{"Error": "No key is provided "}"#), "Reported(No key is provided )");
}

#[test]
fn search_values_lowercase_error_is_reported() {
    check(values(200, r#"{"error": "Could not do it"}"#), "Reported(Could not do it)");
}

#[test]
fn search_values_of_an_unknown_key_are_empty() {
    check(
        values(200, r#"{"data": [], "total_number_of_buckets": 0, "total_number_of_None": 0}"#),
        "Ok([])",
    );
}

// Thumbnails

#[test]
fn thumbnail_recorded_jpeg() {
    let req = ep::thumbnail_request(1884807, None);
    check(
        ep::decode_thumbnail(URL, &recorded(&req), 1884807).map(|b| (b.len(), b[..3].to_vec())),
        "Ok((879, [255, 216, 255]))",
    );
}

#[test]
fn thumbnail_placeholder_png_labelled_jpeg_is_refused() {
    check(
        ep::decode_thumbnail(URL, &raw(200, Some("image/jpeg"), b"\x89PNG\r\n\x1a\n...."), 5),
        "Decode($: expected a JPEG body)",
    );
}

#[test]
fn thumbnail_jpeg_bytes_with_another_type_are_refused() {
    check(
        ep::decode_thumbnail(URL, &raw(200, Some("text/html"), b"\xff\xd8\xff\xe0...."), 5),
        "Decode($: expected a JPEG body)",
    );
}

#[test]
fn thumbnail_404_is_not_found() {
    check(ep::decode_thumbnail(URL, &html(404), 5), "NotFound(Thumbnail of image 5)");
}

#[test]
fn thumbnail_over_two_mebibytes_is_refused() {
    let mut jpeg = b"\xff\xd8\xff\xe0".to_vec();
    jpeg.resize(ep::MAX_THUMBNAIL_BYTES + 1, 0);
    check(
        ep::decode_thumbnail(URL, &raw(200, Some("image/jpeg"), &jpeg), 5),
        &format!("TooLarge {{ url: {URL:?}, limit: 2097152 }}"),
    );
}

// Whole answers (checked before decoding, so that a cut body is retried).

fn complete(req: &crate::Request, resp: &crate::Response) -> String {
    match ep::check_complete(req, resp) {
        Ok(()) => "whole".to_owned(),
        Err(Error::Unusable { reason, .. }) => reason,
        Err(other) => format!("{other:?}"),
    }
}

#[test]
fn the_recorded_thumbnail_is_whole_and_every_cut_of_it_is_not() {
    let req = ep::thumbnail_request(1884807, None);
    let whole = recorded(&req);
    assert_eq!(complete(&req, &whole), "whole");
    // Zero padding after the end-of-image marker is fine.
    let mut padded = whole.body.to_vec();
    padded.extend_from_slice(&[0, 0, 0]);
    assert_eq!(complete(&req, &raw(200, Some("image/jpeg"), &padded)), "whole");
    for len in 3..whole.body.len() {
        let cut = raw(200, Some("image/jpeg"), &whole.body[..len]);
        assert_eq!(
            complete(&req, &cut),
            "the JPEG has no end-of-image marker (cut short)",
            "cut at {len}"
        );
    }
}

#[test]
fn every_cut_of_a_recorded_json_answer_is_caught() {
    // The plate grid of 4554: 96 wells of nested objects and lists.
    let req = ep::plate_grid_request(4554, 0);
    let whole = recorded(&req);
    assert_eq!(complete(&req, &whole), "whole");
    let body = std::str::from_utf8(&whole.body).unwrap().trim_end();
    for (len, _) in body.char_indices().skip(1) {
        let cut = json(200, &body[..len]);
        assert_eq!(complete(&req, &cut), "the JSON body is cut short", "cut at {len}");
    }
}

#[test]
fn html_where_json_belongs_is_not_an_answer() {
    let req = ep::image_data_request(5);
    assert_eq!(
        complete(&req, &raw(200, Some("text/html; charset=utf-8"), b"{}")),
        "an HTML page where JSON was expected"
    );
    assert_eq!(
        complete(&req, &raw(200, Some("application/json"), HTML.as_bytes())),
        "an HTML page where JSON was expected"
    );
    // Error statuses are left to the decoders, which know what they mean.
    assert_eq!(complete(&req, &html(500)), "whole");
    assert_eq!(complete(&req, &json(200, r#"{"a": "}{][", "b": [NaN]}"#)), "whole");
}

/// Decoding a pruned annotations body (the fields read, only) gives what decoding the
/// whole body gives, answer or error, path and message included. Checked on the recorded
/// bodies, and on each of them with one field of one annotation (or the list itself)
/// removed, made `null`, or given each wrong type.
#[test]
fn a_pruned_annotations_body_decodes_as_the_whole_one() {
    let bodies: Vec<serde_json::Value> = [
        (AnnotationType::Map, ObjectKind::Image, 122770),
        (AnnotationType::Map, ObjectKind::Screen, 102),
        (AnnotationType::File, ObjectKind::Screen, 102),
    ]
    .into_iter()
    .map(|(ty, kind, id)| {
        let req = ep::annotations_request(ty, kind, &[id], None, ep::ANNOTATIONS_PAGE);
        serde_json::from_slice(&recorded(&req).body).expect("a JSON recording")
    })
    .collect();
    let replacements = [
        None,
        Some(serde_json::Value::Null),
        Some(serde_json::json!("text")),
        Some(serde_json::json!(7)),
        Some(serde_json::json!([])),
        Some(serde_json::json!({})),
    ];
    let mut variants = Vec::new();
    for body in &bodies {
        variants.push(body.clone());
        for replacement in &replacements {
            let mut changed = body.clone();
            set(&mut changed, &["annotations"], replacement.clone());
            variants.push(changed);
            let Some(first) = body["annotations"][0].as_object() else { continue };
            let mut keys: Vec<Vec<&str>> = first.keys().map(|k| vec![k.as_str()]).collect();
            keys.push(vec!["link", "parent"]);
            keys.push(vec!["link", "parent", "id"]);
            keys.push(vec!["file", "id"]);
            for key in keys {
                let mut changed = body.clone();
                let mut path = vec!["annotations", "0"];
                path.extend(key);
                set(&mut changed, &path, replacement.clone());
                variants.push(changed);
            }
        }
    }
    assert!(variants.len() > 100, "{} variants", variants.len());
    for variant in &variants {
        let text = variant.to_string();
        let pruned = ep::pruned::annotations(text.as_bytes()).expect("an object is pruned");
        let whole = ep::annotations_of(URL, variant);
        assert_eq!(ep::annotations_of(URL, &pruned), whole, "{text}");
        assert_eq!(ep::decode_annotations(URL, &json(200, &text)), whole, "{text}");
    }
    // What is not an object is read whole, and fails as such.
    assert!(ep::pruned::annotations(b"[1, 2]").is_none());
    check(
        ep::decode_annotations(URL, &json(200, "[1, 2]")),
        "Decode($: missing field `annotations`)",
    );
}

/// Puts `value` at `path` (object keys, or list indices as numbers) in `target`, or
/// removes what is there when `value` is `None`.
fn set(target: &mut serde_json::Value, path: &[&str], value: Option<serde_json::Value>) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut node = target;
    for step in parents {
        node = match step.parse::<usize>() {
            Ok(i) => match node.get_mut(i) {
                Some(next) => next,
                None => return,
            },
            Err(_) => match node.get_mut(*step) {
                Some(next) => next,
                None => return,
            },
        };
    }
    match (node, last.parse::<usize>(), value) {
        (serde_json::Value::Object(map), Err(_), Some(value)) => {
            map.insert((*last).to_owned(), value);
        }
        (serde_json::Value::Object(map), Err(_), None) => {
            map.shift_remove(*last);
        }
        _ => {}
    }
}

// submitquery/containers/

fn containers(status: u16, body: &str) -> Result<Vec<ContainerHit>, Error> {
    ep::decode_containers(URL, &json(status, body))
}

/// The container search: no match is an empty list (the engine says so in an `Error`);
/// another error, a type that is neither screen nor project, or a hit without its count
/// is reported with where it is.
#[test]
fn container_search_answers() {
    check(containers(200, r#"{"Error": "Your query returns no results"}"#), "Ok([])");
    check(containers(200, r#"{"Error": "none", "results": []}"#), "Ok([])");
    check(containers(200, r#"{"Error": "bad key"}"#), "Reported(bad key)");
    check(
        containers(
            200,
            r#"{"Error": "none", "results": {"results": [{"id": 7, "name": "idr0009-x/screenA", "type": "screen", "image count": 3, "key_values": [{"index": 1, "key": "B", "value": "2"}, {"index": 0, "key": "A", "value": "1"}]}]}}"#,
        ),
        r#"Ok([ContainerHit { id: 7, name: "idr0009-x/screenA", kind: Screen, image_count: 3, key_values: [("A", "1"), ("B", "2")] }])"#,
    );
    check(
        containers(
            200,
            r#"{"Error": "none", "results": {"results": [{"id": 7, "name": "n", "type": "dataset", "image count": 3}]}}"#,
        ),
        "Decode($.results.results[0].type: `dataset` is not screen or project)",
    );
    check(
        containers(
            200,
            r#"{"Error": "none", "results": {"results": [{"id": 7, "name": "n", "type": "project"}]}}"#,
        ),
        "Decode($.results.results[0]: missing field `image count`)",
    );
}
