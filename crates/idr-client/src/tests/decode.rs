//! Decoders on real recordings and on hand-written bodies with IDR's quirks, each result
//! kept as an insta snapshot in `src/snapshots/`.
//!
//! Recordings carry placeholder values (see `tests/fixtures/upstream/README.md`); the
//! summaries below leave those out, so a snapshot only shows real data.

use std::fmt::{Debug, Display, Write as _};

use super::{json, recorded};
use crate::endpoints::{self as ep, ApiObject, Children};
use crate::model::*;
use crate::{Error, Request, Response};

/// Snapshots what a decoder made of a body; `source` (the recorded request, or what the
/// hand-written body shows) goes into the snapshot's description.
fn check(name: &str, source: impl Display, decoded: impl Debug) {
    insta::with_settings!({
        snapshot_path => "../snapshots",
        description => source.to_string(),
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, format!("{decoded:#?}"));
    });
}

/// The recorded answer to `req`, decoded with `decode`.
fn replay<T>(
    req: &Request,
    decode: impl Fn(&str, &Response) -> Result<T, Error>,
) -> Result<T, Error> {
    decode(&req.to_string(), &recorded(req))
}

/// A table as one `column (type) = value` line per cell.
struct TableView(Result<Table, Error>);

impl Debug for TableView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = match &self.0 {
            Ok(table) => table,
            Err(e) => return write!(f, "{e:?}"),
        };
        writeln!(
            f,
            "file {:?}, annotation {:?}, {} rows",
            table.file_id,
            table.annotation_id,
            table.rows.len()
        )?;
        for (r, row) in table.rows.iter().enumerate() {
            for (c, column) in table.columns.iter().enumerate() {
                let ty = table.column_types.get(c).map_or("-", String::as_str);
                writeln!(f, "[{r}] {column} ({ty}) = {:?}", row[c])?;
            }
        }
        Ok(())
    }
}

/// A plate grid without the placeholder dates (only H12's, `grid[7][11]`, is real).
struct GridView(Result<PlateGrid, Error>);

impl Debug for GridView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grid = match &self.0 {
            Ok(grid) => grid,
            Err(e) => return write!(f, "{e:?}"),
        };
        writeln!(f, "plate {} field {}", grid.plate_id, grid.field)?;
        writeln!(f, "rows {:?}", grid.row_labels)?;
        writeln!(f, "columns {:?}", grid.column_labels)?;
        writeln!(f, "image size {:?}", grid.image_size)?;
        for cell in &grid.cells {
            let label = format!(
                "{}{}",
                grid.row_labels[cell.row as usize], grid.column_labels[cell.column as usize]
            );
            let date = if (cell.row, cell.column) == (7, 11) {
                format!(" date {:?}", cell.date)
            } else {
                String::new()
            };
            writeln!(
                f,
                "{label:<3} well {} image {} {:?} {:?} {:?}{date}",
                cell.well_id, cell.image_id, cell.image_name, cell.description, cell.thumb_url
            )?;
        }
        Ok(())
    }
}

/// Map annotations as the flat list of pairs of each object, which is what the recordings
/// vouch for (ids, dates and the split into annotations may be placeholders).
struct PairsView(Result<Vec<Annotation>, Error>);

impl Debug for PairsView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = match &self.0 {
            Ok(list) => list,
            Err(e) => return write!(f, "{e:?}"),
        };
        let mut out = String::new();
        let mut last = None;
        for a in list {
            let parent = (a.parent.kind, a.parent.id, a.parent.name.clone());
            if last.as_ref() != Some(&parent) {
                writeln!(out, "{:?} {} {:?}", parent.0, parent.1, parent.2)?;
                last = Some(parent);
            }
            match &a.body {
                AnnotationBody::Map(pairs) => {
                    for (k, v) in pairs {
                        writeln!(out, "  {k} = {v:?}")?;
                    }
                }
                other => writeln!(out, "  {other:?}")?,
            }
        }
        f.write_str(&out)
    }
}

/// A search page: every hit id, then the details of the hits in `detail` (all when `None`),
/// so that placeholder names, plates, wells and screens of other hits stay out.
struct SearchView(Result<SearchPage, Error>, Option<&'static [u64]>);

impl Debug for SearchView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let page = match &self.0 {
            Ok(page) => page,
            Err(e) => return write!(f, "{e:?}"),
        };
        let ids: Vec<u64> = page.hits.iter().map(|h| h.id).collect();
        writeln!(
            f,
            "total {}, next bookmark {:?}, hits {ids:?}",
            page.total,
            page.next_bookmark(0)
        )?;
        for hit in page.hits.iter().filter(|h| self.1.is_none_or(|d| d.contains(&h.id))) {
            let screen = hit.screen.as_ref().map(|s| s.id);
            let project = hit.project.as_ref().map(|p| p.id);
            writeln!(f, "image {} (screen {screen:?}, project {project:?})", hit.id)?;
            for (k, v) in &hit.key_values {
                writeln!(f, "  {k} = {v:?}")?;
            }
        }
        Ok(())
    }
}

// webclient/imgData

#[test]
fn image_data_current_format() {
    let req = ep::image_data_request(122770);
    check("image_data_122770", &req, replay(&req, |u, r| ep::decode_image_data(u, r, 122770)));
}

#[test]
fn image_data_legacy_2019_format() {
    let req = ep::image_data_request(1938578);
    check("image_data_1938578", &req, replay(&req, |u, r| ep::decode_image_data(u, r, 1938578)));
}

#[test]
fn image_data_empty_string_ids_and_float_timestamp() {
    check(
        "image_data_quirks",
        "imgData with `\"\"` for absent ids, float ids and timestamp, null pixel sizes, int window bounds",
        ep::decode_image_data("GET /webclient/imgData/5/", &json(200, r#"{"id": 5.0, "meta": {"imageName": "n", "imageDescription": "", "projectId": 51.0, "datasetId": "", "wellSampleId": "", "wellId": "", "imageTimestamp": 1194540393.0, "imageId": 5}, "pixel_size": {"x": null, "y": 0.5, "z": null}, "channels": [{"label": "DAPI", "color": "0000FF", "emissionWave": null, "window": {"min": 0.0, "max": 255, "start": 1, "end": 200.5}}]}"#), 5),
    );
}

// webgateway/plate

#[test]
fn plate_grid_96_wells() {
    let req = ep::plate_grid_request(4554, 0);
    check(
        "plate_grid_4554",
        &req,
        GridView(replay(&req, |u, r| ep::decode_plate_grid(u, r, 4554, 0))),
    );
}

#[test]
fn plate_grid_number_rows_and_letter_columns() {
    check(
        "plate_grid_label_kinds",
        "plate grid with int row labels, string column labels, float ids and dates, sparse cells",
        GridView(ep::decode_plate_grid(
            "GET /webgateway/plate/9/0/",
            &json(
                200,
                r#"{"grid": [[null, {"id": 11.0, "wellId": 21, "name": "b", "description": "", "date": 1463841504, "thumb_url": "/webgateway/render_thumbnail/11/"}], [{"id": 12, "wellId": 22.0, "date": 1463841504.5}, null]], "collabels": ["A", "B"], "rowlabels": [1, 2], "image_sizes": []}"#,
            ),
            9,
            0,
        )),
    );
}

// webgateway/table

#[test]
fn table_current_format() {
    let req = ep::well_table_request(&[45217]).unwrap();
    check("table_45217", &req, TableView(replay(&req, ep::decode_table)));
}

#[test]
fn table_legacy_2019_format_has_no_column_types() {
    let req = ep::well_table_request(&[1046872]).unwrap();
    check("table_1046872_legacy", &req, TableView(replay(&req, ep::decode_table)));
}

#[test]
fn table_bare_nan_and_nulls_are_none() {
    check(
        "table_nan",
        "table rows with bare NaN/Infinity/-Infinity tokens, null, a \"NaN\" string, and a float annId",
        TableView(ep::decode_table("GET /webgateway/table/x/", &json(200, r#"{"data": {"column_types": ["WellColumn", "StringColumn", "DoubleColumn", "DoubleColumn", "BoolColumn", "LongColumn", "DoubleColumn"], "columns": ["Well", "Well Number", "Score", "Other", "Hit", "Count", "Big"], "rows": [[45217, "338", NaN, -Infinity, true, 7, 2.5], [45218, "NaN", 0.25, Infinity, false, null, NaN]]}, "meta": {"rowCount": 2, "totalCount": 2, "limit": null, "offset": 0}, "id": 15026339, "annId": 8368945.0}"#))),
    );
}

// webclient/api/annotations

#[test]
fn annotations_of_image_122770() {
    let req = ep::annotations_request(
        AnnotationType::Map,
        ObjectKind::Image,
        &[122770],
        None,
        ep::ANNOTATIONS_PAGE,
    );
    check("annotations_image_122770", &req, PairsView(replay(&req, ep::decode_annotations)));
}

#[test]
fn map_annotations_of_screen_102() {
    let req = ep::annotations_request(
        AnnotationType::Map,
        ObjectKind::Screen,
        &[102],
        None,
        ep::ANNOTATIONS_PAGE,
    );
    check("annotations_map_screen_102", &req, replay(&req, ep::decode_annotations));
}

#[test]
fn file_annotations_of_screen_102() {
    let req = ep::annotations_request(
        AnnotationType::File,
        ObjectKind::Screen,
        &[102],
        None,
        ep::ANNOTATIONS_PAGE,
    );
    check("annotations_file_screen_102", &req, replay(&req, ep::decode_annotations));
}

#[test]
fn annotations_with_null_values_other_classes_and_unknown_parents() {
    check(
        "annotations_quirks",
        "annotations with repeated keys, empty and null values, a tag, a map without values, an unknown parent class",
        ep::decode_annotations("GET /webclient/api/annotations/", &json(200, r#"{"annotations": [
            {"id": 1.0, "ns": null, "name": null, "description": null, "class": "MapAnnotationI", "values": [["Gene Symbol", "ADE8"], ["Empty", ""], ["Null", null], ["Gene Symbol", "ADE9"]], "link": {"id": 2, "parent": {"id": 3, "class": "WellI", "name": "A1"}}},
            {"id": 4, "ns": "x", "class": "TagAnnotationI", "textValue": "tag", "link": {"id": 5, "parent": {"id": 6.0, "class": "PlateAcquisitionI"}}},
            {"id": 7, "class": "MapAnnotationI", "link": {"parent": {"id": 8, "class": "RoiI"}}}
        ], "experimenters": []}"#)),
    );
}

// webclient/api/{plates,datasets}

#[test]
fn plates_of_screen_102() {
    let req = ep::children_request(Children::Plates, 102);
    check("plates_102", &req, replay(&req, |u, r| ep::decode_children(u, r, Children::Plates)));
}

#[test]
fn datasets_of_project_51() {
    let req = ep::children_request(Children::Datasets, 51);
    check("datasets_51", &req, replay(&req, |u, r| ep::decode_children(u, r, Children::Datasets)));
}

// api/v0

#[test]
fn screen_102() {
    let req = ep::api_object_request(ApiObject::Screen, 102);
    check(
        "screen_102",
        &req,
        replay(&req, |u, r| ep::decode_container(u, r, ApiObject::Screen, 102)),
    );
}

#[test]
fn dataset_51_with_child_count() {
    let req = ep::api_object_request(ApiObject::Dataset, 51);
    check(
        "dataset_51",
        &req,
        replay(&req, |u, r| ep::decode_container(u, r, ApiObject::Dataset, 51)),
    );
}

#[test]
fn plate_422() {
    let req = ep::api_object_request(ApiObject::Plate, 422);
    check("plate_422", &req, replay(&req, |u, r| ep::decode_plate(u, r, 422)));
}

#[test]
fn well_1046872() {
    let req = ep::api_object_request(ApiObject::Well, 1046872);
    check("well_1046872", &req, replay(&req, |u, r| ep::decode_well(u, r, 1046872)));
}

// searchengine

#[test]
fn search_for_ade8() {
    // All 41 ids and every hit's pairs are real, but only these two hits' screen is.
    let req = ep::search_request(&gene("ADE8"), None).unwrap();
    check("search_ade8", &req, SearchView(replay(&req, ep::decode_search), Some(&[15573, 15574])));
}

#[test]
fn search_hit_ids_as_floats_and_pairs_out_of_index_order() {
    check(
        "search_quirks",
        "search hits with ids as integral floats and key_values not in index order",
        SearchView(
            ep::decode_search(
                "GET /search/",
                &json(
                    200,
                    r#"{"notice": "", "resource": "image", "server_query_time": "0.07", "results": {"bookmark": [15574.0], "size": 2, "total_pages": 1, "results": [
            {"id": 15573.0, "name": "a", "description": null, "screen_id": 51.0, "screen_name": "idr0003-breker-plasticity/screenA", "project_id": null, "well_id": 1000001.0, "key_values": [
                {"index": 2, "name": "Gene Symbol", "value": "ADE8"}, {"index": 0.0, "name": "Gene Identifier", "value": "YDR408C"}, {"index": 1, "name": "Gene Identifier URL", "value": "https://www.yeastgenome.org/locus/YDR408C"}, {"index": 0, "name": "Organism", "value": "Saccharomyces cerevisiae"}]},
            {"id": 15574, "name": "b", "project_id": 101, "project_name": "p", "key_values": []}
        ]}}"#,
                ),
            ),
            None,
        ),
    );
}

#[test]
fn search_values_of_gene_symbol() {
    // Only the values and ade8's count are real; the other counts are placeholders.
    let req = ep::search_values_request(SearchResource::Image, "Gene Symbol");
    let values =
        replay(&req, |u, r| ep::decode_search_values(u, r, SearchResource::Image)).map(|values| {
            values
                .into_iter()
                .map(|v| (v.key, v.value.clone(), (v.value == "ade8").then_some(v.count)))
                .collect::<Vec<_>>()
        });
    check("search_values_gene_symbol", &req, values);
}

fn gene(symbol: &str) -> SearchQuery {
    SearchQuery {
        filter: EngineQuery {
            and: vec![Condition {
                key: Some("Gene Symbol".to_owned()),
                op: Op::Equals,
                values: vec![symbol.to_owned()],
            }],
            ..EngineQuery::default()
        },
        ..SearchQuery::default()
    }
}
