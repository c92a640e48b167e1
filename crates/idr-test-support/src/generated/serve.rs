//! The generated world's answers, endpoint by endpoint, in the shapes and with the quirks
//! ENDPOINTS.md documents. Every answer is built from the world, so it is the ground truth
//! seen through IDR's APIs.

use idr_client::{Method, Request, Response};
use serde_json::{json, Map, Value};

use super::{padded, row_label, Cell, Kind, World};

/// The base `api/v0` writes into its `url:*` links (`omero.web.api.absolute_url`).
const API_BASE: &str = "https://idr.openmicroscopy.org/api/v0";

fn json_response(status: u16, body: Value) -> Response {
    Response::json(status, body.to_string())
}

fn text_response(status: u16, content_type: &str, body: &str) -> Response {
    Response {
        status,
        content_type: Some(content_type.to_owned()),
        body: body.to_owned().into_bytes().into(),
    }
}

fn not_found_text(req: &Request) -> Response {
    text_response(404, "text/html", &format!("<h1>Not Found</h1><p>{}</p>", req.path))
}

/// The parts of a path between slashes.
fn segments(path: &str) -> Vec<&str> {
    path.trim_matches('/').split('/').collect()
}

fn query<'a>(req: &'a Request, key: &'a str) -> Option<&'a str> {
    req.values(key).next()
}

fn details() -> Value {
    let perms = |perm: &str| {
        json!({"@type": "TBD#Permissions", "perm": perm, "canAnnotate": false, "canDelete": false,
               "canEdit": false, "canLink": false, "isWorldWrite": false, "isWorldRead": false,
               "isGroupWrite": false, "isGroupRead": true, "isGroupAnnotate": false,
               "isUserWrite": true, "isUserRead": true})
    };
    json!({
        "@type": "TBD#Details",
        "owner": {"@type": "http://www.openmicroscopy.org/Schemas/OME/2016-06#Experimenter", "@id": 2,
                  "FirstName": "Public", "MiddleName": "", "LastName": "data", "UserName": "demo"},
        "group": {"@type": "http://www.openmicroscopy.org/Schemas/OME/2016-06#ExperimenterGroup", "@id": 3, "Name": "Public"},
        "permissions": perms("rwr---"),
    })
}

fn object(ty: &str, id: u64, name: &str, description: Option<&str>) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert(
        "@type".into(),
        json!(format!("http://www.openmicroscopy.org/Schemas/OME/2016-06#{ty}")),
    );
    o.insert("@id".into(), json!(id));
    o.insert("omero:details".into(), details());
    o.insert("Name".into(), json!(name));
    // Null fields are left out entirely.
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        o.insert("Description".into(), json!(d));
    }
    o
}

/// A screen, project or dataset of `api/v0`: [`object`] with its `url:<list>` links and,
/// when asked for, `omero:childCount` (which IDR writes before the links of a dataset and
/// after those of the others).
fn container(
    kind: &str,
    id: u64,
    name: &str,
    description: Option<&str>,
    lists: &[&str],
    child_count: Option<usize>,
) -> Value {
    let mut o = object(kind, id, name, description);
    let count_first = kind == "Dataset";
    if let (true, Some(n)) = (count_first, child_count) {
        o.insert("omero:childCount".into(), json!(n));
    }
    let segment = format!("{}s", kind.to_lowercase());
    for list in lists {
        o.insert(format!("url:{list}"), json!(format!("{API_BASE}/m/{segment}/{id}/{list}/")));
    }
    if let (false, Some(n)) = (count_first, child_count) {
        o.insert("omero:childCount".into(), json!(n));
    }
    Value::Object(o)
}

impl World {
    /// The answer IDR would give to `req`.
    pub fn answer(&self, req: &Request) -> Response {
        let parts = segments(&req.path);
        match (req.method, parts.as_slice()) {
            (Method::Get, ["api"]) => json_response(
                200,
                json!({"data": [{"version": "0", "url:base": format!("{API_BASE}/")}]}),
            ),
            (Method::Get, ["api", "v0", "m", kind]) => self.api_list(req, kind),
            (Method::Get, ["api", "v0", "m", kind, id]) => self.api_object(req, kind, id),
            (Method::Get, ["api", "v0", "m", kind, id, parents]) => {
                self.api_parents(req, kind, id, parents)
            }
            (Method::Get, ["webclient", "api", "annotations"]) => self.annotations(req),
            (Method::Get, ["webclient", "api", list]) => self.children(req, list),
            (Method::Get, ["webgateway", "plate", plate, rest @ ..]) => self.grid(req, plate, rest),
            (Method::Get, ["webclient", "imgData", id]) => self.img_data(id),
            (Method::Get, ["webgateway", "render_thumbnail", id, ..]) => self.thumbnail(req, id),
            (Method::Get, ["webgateway" | "webclient", "get_thumbnails", ..]) => {
                self.thumbnails(req)
            }
            (
                Method::Get,
                ["webgateway", "table", "Screen.plateLinks.child.wells", well, "query"],
            ) => self.table_query(req, well),
            (_, ["searchengine", "api", "v1", "resources", rest @ ..]) => {
                self.search_engine(req, rest)
            }
            _ => not_found_text(req),
        }
    }

    // -----------------------------------------------------------------------------------
    // api/v0

    fn screen_json(&self, id: u64, child_count: bool) -> Option<Value> {
        let s = self.screens.get(&id)?;
        let children = child_count.then_some(s.plates.len());
        Some(container("Screen", id, &s.name, s.description.as_deref(), &["plates"], children))
    }

    fn project_json(&self, id: u64, child_count: bool) -> Option<Value> {
        let p = self.projects.get(&id)?;
        let children = child_count.then_some(p.datasets.len());
        Some(container("Project", id, &p.name, p.description.as_deref(), &["datasets"], children))
    }

    fn dataset_json(&self, id: u64, child_count: bool) -> Option<Value> {
        let d = self.datasets.get(&id)?;
        let children = child_count.then_some(d.images.len());
        let links = ["images", "projects"];
        Some(container("Dataset", id, &d.name, d.description.as_deref(), &links, children))
    }

    fn plate_json(&self, id: u64) -> Option<Value> {
        let p = self.plates.get(&id)?;
        let mut o = object("Plate", id, &p.name, None);
        // Null fields are left out: some plates do not say their naming convention.
        if !id.is_multiple_of(3) {
            o.insert("ColumnNamingConvention".into(), json!("number"));
            o.insert("RowNamingConvention".into(), json!("letter"));
        }
        o.insert("Columns".into(), json!(p.columns));
        o.insert("Rows".into(), json!(p.rows));
        o.insert("url:screens".into(), json!(format!("{API_BASE}/m/plates/{id}/screens/")));
        o.insert("url:wells".into(), json!(format!("{API_BASE}/m/plates/{id}/wells/")));
        o.insert("omero:wellsampleIndex".into(), json!([0, p.fields - 1]));
        Some(Value::Object(o))
    }

    fn well_json(&self, id: u64) -> Option<Value> {
        let w = self.wells.get(&id)?;
        let mut o = object("Well", id, "", None);
        o.remove("Name");
        o.insert("Column".into(), json!(w.column));
        o.insert("Row".into(), json!(w.row));
        let samples: Vec<Value> = w
            .images
            .iter()
            .enumerate()
            .filter_map(|(field, image)| {
                let image = &self.images[image.as_ref()?];
                Some(json!({
                    "@type": "http://www.openmicroscopy.org/Schemas/OME/2016-06#WellSample",
                    "@id": 30_000_000 + image.id,
                    "PositionX": {"@type": "TBD#LengthI", "Unit": "REFERENCEFRAME", "Symbol": "reference frame", "Value": field as f64},
                    "Image": {"@type": "http://www.openmicroscopy.org/Schemas/OME/2016-06#Image", "@id": image.id,
                              "Name": image.name, "omero:series": 0, "url:image": format!("{API_BASE}/m/images/{}/", image.id)},
                    "PlateAcquisition": {"@type": "http://www.openmicroscopy.org/Schemas/OME/2016-06#PlateAcquisition",
                                         "@id": 40_000_000 + w.plate, "MaximumFieldCount": self.plates[&w.plate].fields},
                }))
            })
            .collect();
        o.insert("WellSamples".into(), json!(samples));
        o.insert("url:plates".into(), json!(format!("{API_BASE}/m/wells/{id}/plates/")));
        Some(Value::Object(o))
    }

    fn image_json(&self, id: u64) -> Option<Value> {
        let i = self.images.get(&id)?;
        let mut o = object("Image", id, &i.name, Some(&i.description));
        o.insert("omero:series".into(), json!(0));
        o.insert(
            "Pixels".into(),
            json!({"SizeX": i.size[0], "SizeY": i.size[1], "SizeZ": i.size[2], "SizeT": i.size[3], "SizeC": i.size[4],
                   "Type": {"@type": "TBD#PixelsType", "value": i.pixels_type}}),
        );
        o.insert("url:datasets".into(), json!(format!("{API_BASE}/m/images/{id}/datasets/")));
        Some(Value::Object(o))
    }

    fn api_object(&self, req: &Request, kind: &str, id: &str) -> Response {
        let Ok(id) = id.parse::<u64>() else { return not_found_text(req) };
        let child_count = query(req, "childCount") == Some("true");
        let (found, type_name) = match kind {
            "screens" => (self.screen_json(id, child_count), "Screen"),
            "projects" => (self.project_json(id, child_count), "Project"),
            "datasets" => (self.dataset_json(id, child_count), "Dataset"),
            "plates" => (self.plate_json(id), "Plate"),
            "wells" => (self.well_json(id), "Well"),
            "images" => (self.image_json(id), "Image"),
            _ => return not_found_text(req),
        };
        match found {
            Some(data) => json_response(200, json!({ "data": data })),
            None => json_response(404, json!({"message": format!("{type_name} {id} not found")})),
        }
    }

    /// `m/screens/` and `m/projects/`: case-insensitive name order, `offset`/`limit`
    /// (default 200, at most 1,000).
    fn api_list(&self, req: &Request, kind: &str) -> Response {
        let child_count = query(req, "childCount") == Some("true");
        let items: Vec<Value> = match kind {
            "screens" => self
                .screens_in_order()
                .iter()
                .filter_map(|s| self.screen_json(s.id, child_count))
                .collect(),
            "projects" => self
                .projects_in_order()
                .iter()
                .filter_map(|p| self.project_json(p.id, child_count))
                .collect(),
            _ => return not_found_text(req),
        };
        let offset = query(req, "offset").and_then(|o| o.parse::<usize>().ok()).unwrap_or(0);
        let limit = match query(req, "limit").and_then(|l| l.parse::<i64>().ok()) {
            Some(l) if l >= 0 => (l as usize).min(1_000),
            _ => 200,
        };
        let total = items.len();
        let data: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
        json_response(
            200,
            json!({"data": data, "meta": {"offset": offset, "limit": limit, "maxLimit": 1000, "totalCount": total}}),
        )
    }

    /// `m/wells/<id>/plates/`, `m/plates/<id>/screens/`, `m/datasets/<id>/projects/`,
    /// `m/images/<id>/datasets/`: the parents of an object, as a list.
    fn api_parents(&self, req: &Request, kind: &str, id: &str, parents: &str) -> Response {
        let Ok(id) = id.parse::<u64>() else { return not_found_text(req) };
        let data: Vec<Value> = match (kind, parents) {
            ("wells", "plates") => {
                self.wells.get(&id).and_then(|w| self.plate_json(w.plate)).into_iter().collect()
            }
            ("plates", "screens") => self
                .plates
                .get(&id)
                .and_then(|p| self.screen_json(p.screen, false))
                .into_iter()
                .collect(),
            ("datasets", "projects") => self
                .datasets
                .get(&id)
                .and_then(|d| self.project_json(d.project, false))
                .into_iter()
                .collect(),
            ("images", "datasets") => self
                .images
                .get(&id)
                .and_then(|i| i.dataset)
                .and_then(|d| self.dataset_json(d, false))
                .into_iter()
                .collect(),
            _ => return not_found_text(req),
        };
        let total = data.len();
        json_response(
            200,
            json!({"data": data, "meta": {"offset": 0, "limit": 200, "maxLimit": 1000, "totalCount": total}}),
        )
    }

    // -----------------------------------------------------------------------------------
    // webclient/api

    /// `webclient/api/annotations/?type=map|file&<kind>=<id>…&page=N`: per kind in
    /// OMERO.web's order, each annotation once per object it is linked to, sorted by
    /// namespace (none last); paged per kind by the annotations limit.
    fn annotations(&self, req: &Request) -> Response {
        let ty = query(req, "type");
        // `page` and `limit` as OMERO.web reads them: integers, the limit not capped, and
        // by default the deployment's.
        let number = |name: &str, default: usize| match query(req, name) {
            None => Ok(default),
            Some(text) => text.parse::<usize>().map_err(|_| ()),
        };
        let (Ok(page), Ok(limit)) =
            (number("page", 1), number("limit", self.settings.annotations_limit))
        else {
            return text_response(400, "text/plain", "Invalid parameter value");
        };
        for (key, value) in &req.query {
            if Kind::ALL.iter().any(|k| k.query_key() == key) && value.parse::<u64>().is_err() {
                return text_response(500, "text/html", "<h1>Server Error (500)</h1>");
            }
        }
        let mut out = Vec::new();
        for kind in Kind::ALL {
            let ids: Vec<u64> =
                req.values(kind.query_key()).filter_map(|v| v.parse().ok()).collect();
            if ids.is_empty() {
                continue;
            }
            let mut entries: Vec<(Option<String>, u64, u64, Value)> = Vec::new();
            for id in ids {
                let parent = |link: u64| {
                    let mut parent = json!({"id": id, "class": kind.class()});
                    if let Some(name) = self.name_of(kind, id) {
                        parent["name"] = json!(name);
                    }
                    json!({"id": link, "owner": {"id": 2}, "parent": parent, "date": "2019-06-04T10:43:19+01:00",
                           "permissions": {"canDelete": false, "canAnnotate": false, "canLink": false, "canEdit": false}})
                };
                if ty != Some("file") {
                    for (a, link) in self.map_links(kind, id) {
                        entries.push((a.ns.clone(), a.id, link, json!({
                            "id": a.id, "ns": a.ns, "name": null, "description": null, "owner": {"id": 2},
                            "date": "2019-06-04T10:43:19+01:00",
                            "permissions": {"canDelete": false, "canAnnotate": false, "canLink": false, "canEdit": false},
                            "link": parent(link), "class": "MapAnnotationI", "values": a.pairs,
                        })));
                    }
                }
                if ty != Some("map") {
                    for (a, link) in self.file_links(kind, id) {
                        entries.push((a.ns.clone(), a.id, link, json!({
                            "id": a.id, "ns": a.ns, "name": null, "description": a.description, "owner": {"id": 2},
                            "date": "2019-06-04T10:43:19+01:00",
                            "permissions": {"canDelete": false, "canAnnotate": false, "canLink": false, "canEdit": false, "canDownload": true},
                            "link": parent(link), "class": "FileAnnotationI",
                            "file": {"id": a.file_id, "name": a.name, "size": a.size, "path": "/", "mimetype": a.mimetype},
                        })));
                    }
                }
            }
            entries.sort_by(|a, b| {
                super::ns_order(&a.0, &b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2))
            });
            out.extend(
                // `page=0` turns paging off.
                entries
                    .into_iter()
                    .skip(page.saturating_sub(1) * limit)
                    .take(if page == 0 { usize::MAX } else { limit })
                    .map(|e| e.3),
            );
        }
        let experimenters = if out.is_empty() {
            json!([])
        } else {
            json!([{"id": 2, "omeName": "demo", "firstName": "Public", "lastName": "data"}])
        };
        json_response(200, json!({"annotations": out, "experimenters": experimenters}))
    }

    /// `webclient/api/{plates,datasets,images}/?id=<parent>&page=0`: paged by `page` (1 by
    /// default, 0 for all) and `limit` (500, IDR's `page_size`).
    fn children(&self, req: &Request, list: &str) -> Response {
        let number = |name: &str, default: usize| match query(req, name) {
            None => Some(default),
            Some(text) => text.parse::<usize>().ok(),
        };
        let (Some(page), Some(limit)) = (number("page", 1), number("limit", 500)) else {
            return text_response(400, "text/plain", "Invalid parameter value");
        };
        let Some(id) = query(req, "id") else { return json_response(200, json!({ list: [] })) };
        let Ok(id) = id.parse::<u64>() else {
            return text_response(400, "text/plain", "Invalid parameter value");
        };
        let items: Vec<Value> = match list {
            "plates" => self.screens.get(&id).map_or_else(Vec::new, |s| {
                s.plates.iter().map(|p| json!({"id": p, "name": self.plates[p].name, "ownerId": 2, "childCount": 1, "permsCss": ""})).collect()
            }),
            "datasets" => self.projects.get(&id).map_or_else(Vec::new, |p| {
                p.datasets
                    .iter()
                    .map(|d| json!({"id": d, "name": self.datasets[d].name, "ownerId": 2, "childCount": self.datasets[d].images.len(), "permsCss": ""}))
                    .collect()
            }),
            "images" => self.datasets.get(&id).map_or_else(Vec::new, |d| {
                d.images.iter().map(|i| json!({"id": i, "name": self.images[i].name, "ownerId": 2, "permsCss": "", "filesetId": 31_000_000 + i})).collect()
            }),
            _ => return not_found_text(req),
        };
        let items: Vec<Value> = if page == 0 {
            items
        } else {
            items.into_iter().skip((page - 1) * limit).take(limit).collect()
        };
        json_response(200, json!({ list: items }))
    }

    // -----------------------------------------------------------------------------------
    // webgateway

    /// `webgateway/plate/<id>/<field>/`: the grid padded as IDR's `expand` layout pads it.
    fn grid(&self, req: &Request, plate: &str, rest: &[&str]) -> Response {
        let Ok(plate_id) = plate.parse::<u64>() else { return not_found_text(req) };
        let field: u32 = match rest {
            [] | [""] => 0,
            [field, ..] => match field.parse() {
                Ok(f) => f,
                Err(_) => return not_found_text(req),
            },
        };
        let Some(plate) = self.plates.get(&plate_id) else {
            // The view returns the Http404 class, which cannot be serialised.
            return json_response(
                500,
                json!({"message": "Object of type type is not JSON serializable", "stacktrace": "Traceback (most recent call last): …"}),
            );
        };
        let (rows, columns) = padded(plate.rows, plate.columns);
        let mut grid = vec![vec![Value::Null; columns as usize]; rows as usize];
        let mut first_size = None;
        for well_id in &plate.wells {
            let well = &self.wells[well_id];
            let Some(Some(image_id)) = well.images.get(field as usize) else { continue };
            let image = &self.images[image_id];
            first_size.get_or_insert((image.size[0], image.size[1], image.id));
            grid[well.row as usize][well.column as usize] = json!({
                "type": "Image", "id": image.id, "name": image.name, "description": image.description,
                "author": "Public data", "date": image.date, "wellId": well.id, "field": field,
                "thumb_url": format!("/webgateway/render_thumbnail/{}/", image.id),
            });
        }
        let image_sizes = match first_size {
            Some((x, y, image_id)) => json!([{"x": x, "y": y, "image_id": image_id}]),
            None => json!([]),
        };
        json_response(
            200,
            json!({
                "grid": grid,
                "collabels": (1..=columns).collect::<Vec<_>>(),
                "rowlabels": (0..rows).map(row_label).collect::<Vec<_>>(),
                "image_sizes": image_sizes,
            }),
        )
    }

    /// `webclient/imgData/<id>/`; a missing image is 403 with an empty body.
    fn img_data(&self, id: &str) -> Response {
        let Some(image) = id.parse::<u64>().ok().and_then(|id| self.images.get(&id)) else {
            return Response { status: 403, content_type: None, body: Default::default() };
        };
        let (dataset, project) = match image.dataset {
            Some(d) => {
                let dataset = &self.datasets[&d];
                let project = &self.projects[&dataset.project];
                (json!([d, dataset.name]), json!([project.id, project.name]))
            }
            None => (json!([null, "Multiple"]), json!([null, "Multiple"])),
        };
        let channels: Vec<Value> = image
            .channels
            .iter()
            .map(|c| {
                json!({"emissionWave": c.emission, "label": c.label, "color": c.color, "inverted": false,
                       "reverseIntensity": false, "family": "linear", "coefficient": 1.0,
                       "window": {"min": c.window[0], "max": c.window[1], "start": c.window[2], "end": c.window[3]},
                       "active": c.active})
            })
            .collect();
        json_response(
            200,
            json!({
                "id": image.id,
                "meta": {
                    "imageName": image.name, "imageDescription": image.description, "imageAuthor": "Public data",
                    "projectName": project[1], "projectId": project[0], "projectDescription": "",
                    "datasetName": dataset[1], "datasetId": dataset[0], "datasetDescription": "",
                    "wellSampleId": "", "wellId": image.well.map_or(json!(""), |w| json!(w)),
                    "imageTimestamp": image.date as f64, "imageId": image.id, "pixelsType": image.pixels_type,
                },
                "perms": {"canAnnotate": false, "canEdit": false, "canDelete": false, "canLink": false},
                "tiles": false, "interpolate": true,
                "size": {"width": image.size[0], "height": image.size[1], "z": image.size[2], "t": image.size[3], "c": image.size[4]},
                "pixel_size": {"x": image.pixel_size[0], "y": image.pixel_size[1], "z": image.pixel_size[2]},
                "init_zoom": 0, "pixel_range": [0, 65535], "channels": channels,
                "rdefs": {"model": "color", "projection": "normal", "defaultZ": 0, "defaultT": 0, "invertAxis": false},
            }),
        )
    }

    /// A small JPEG per image (start and end markers around bytes of its id).
    fn thumbnail(&self, req: &Request, id: &str) -> Response {
        let Some(image) = id.parse::<u64>().ok().and_then(|id| self.images.get(&id)) else {
            return not_found_text(req);
        };
        Response {
            status: 200,
            content_type: Some("image/jpeg".to_owned()),
            body: jpeg(image.id).into(),
        }
    }

    /// `webgateway/get_thumbnails/[<w>/]?id=…`: `{"<id>": data URI or null}` for at most 50
    /// distinct ids; more is a 500 with a text message, as OMERO.web's.
    fn thumbnails(&self, req: &Request) -> Response {
        use base64::Engine as _;
        let mut ids: Vec<u64> = Vec::new();
        for raw in req.values("id") {
            let Ok(id) = raw.parse::<u64>() else {
                return text_response(400, "text/plain", &format!("Invalid id: {raw}"));
            };
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        if ids.len() > idr_client::endpoints::MAX_THUMBNAIL_IDS {
            return text_response(500, "text/plain", "Max 50 thumbnails at a time.");
        }
        let map: serde_json::Map<String, Value> = ids
            .iter()
            .map(|id| {
                let uri = self.images.get(id).map(|image| {
                    let data = base64::engine::general_purpose::STANDARD.encode(jpeg(image.id));
                    Value::String(format!("data:image/jpeg;base64,{data}"))
                });
                (id.to_string(), uri.unwrap_or(Value::Null))
            })
            .collect();
        json_response(200, Value::Object(map))
    }

    /// `webgateway/table/Screen.plateLinks.child.wells/<well>/query/?query=`: the rows of
    /// the screen's bulk table whose `Well` is one of the query's.
    fn table_query(&self, req: &Request, well: &str) -> Response {
        let Some(q) = query(req, "query") else {
            return json_response(
                200,
                json!({"error": "Must specify query parameter, use * to retrieve all"}),
            );
        };
        let table = well
            .parse::<u64>()
            .ok()
            .and_then(|w| self.wells.get(&w))
            .and_then(|w| self.tables.get(&self.plates[&w.plate].screen));
        let Some(table) = table else {
            return json_response(
                200,
                json!({"error": "Could not retrieve bulk annotations table"}),
            );
        };
        // `Col-<n>` is rewritten to `(Col==<n>)`; `Plate` and `Well` are id columns.
        let (column, wanted): (&str, Option<Vec<u64>>) = if let Some(id) = q.strip_prefix("Well-") {
            ("Well", id.parse().ok().map(|id| vec![id]))
        } else if let Some(id) = q.strip_prefix("Plate-") {
            ("Plate", id.parse().ok().map(|id| vec![id]))
        } else {
            (
                "Well",
                q.split('|')
                    .map(|part| {
                        part.trim()
                            .strip_prefix("(Well==")
                            .and_then(|p| p.strip_suffix(')'))
                            .and_then(|p| p.parse().ok())
                    })
                    .collect(),
            )
        };
        let position = table.columns.iter().position(|(name, _)| name == column);
        let (Some(wanted), Some(position)) = (wanted, position) else {
            return json_response(200, json!({"error": format!("Error executing query: {q}")}));
        };
        let rows: Vec<Value> = table
            .rows
            .iter()
            .filter(|row| matches!(row[position], Cell::Int(w) if wanted.contains(&w)))
            .map(|row| Value::Array(row.iter().map(cell_json).collect()))
            .collect();
        if rows.len() > self.settings.max_table_rows {
            return json_response(
                200,
                json!({
                    "error": format!("Trying to download {} rows exceeds configured omero.web.max_table_download_rows of {}", rows.len(), self.settings.max_table_rows),
                    "status": 404,
                }),
            );
        }
        let columns: Vec<&str> = table.columns.iter().map(|(name, _)| name.as_str()).collect();
        let body = if table.legacy {
            json!({
                "data": {"rows": rows, "columns": columns, "descriptions": vec![Value::Null; columns.len()]},
                "id": table.file_id, "annId": table.annotation_id, "owner": "Public data", "addedBy": "Public data",
                "parentType": "Screen", "parentId": table.screen, "addedOn": 1_500_000_000_000u64,
            })
        } else {
            let count = rows.len();
            json!({
                "data": {"column_types": table.columns.iter().map(|(_, t)| *t).collect::<Vec<_>>(), "columns": columns, "rows": rows},
                "meta": {"rowCount": table.rows.len(), "totalCount": count, "limit": null, "offset": 0},
                "id": table.file_id, "annId": table.annotation_id, "owner": "Public data", "addedBy": "Public data",
                "parentType": "Screen", "parentId": table.screen, "addedOn": 1_500_000_000_000u64,
            })
        };
        // Django writes NaN as a bare token, which strict JSON parsers reject.
        let text = body.to_string().replace("\"__NaN__\"", "NaN");
        Response::json(200, text)
    }
}

/// A cell as the gateway writes it; `NaN` is a placeholder the caller turns into the
/// bare token.
fn cell_json(cell: &Cell) -> Value {
    match cell {
        Cell::Int(n) => json!(n),
        Cell::Text(s) => json!(s),
        Cell::Float(f) if f.is_nan() => json!("__NaN__"),
        Cell::Float(f) => json!(f),
        Cell::Bool(b) => json!(b),
    }
}

/// The thumbnail of image `id`: a real 64×64 JPEG that browsers decode, looking a little
/// like a fluorescence field (a few nuclei on black), different for every id and the same
/// on every call.
pub fn jpeg(id: u64) -> Vec<u8> {
    const SIDE: usize = 64;
    let mut seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut rgb = vec![0u8; SIDE * SIDE * 3];
    // Hue by id: green, cyan or magenta stains.
    let tint: [u16; 3] = match id % 3 {
        0 => [40, 230, 90],
        1 => [40, 200, 230],
        _ => [220, 60, 200],
    };
    for _ in 0..(3 + next(5)) {
        let (cx, cy) = (next(SIDE as u64) as f32, next(SIDE as u64) as f32);
        let (rx, ry) = (5.0 + next(7) as f32, 4.0 + next(6) as f32);
        for y in 0..SIDE {
            for x in 0..SIDE {
                let (dx, dy) = ((x as f32 - cx) / rx, (y as f32 - cy) / ry);
                let d = dx * dx + dy * dy;
                if d < 1.0 {
                    let light = 1.0 - d * 0.7;
                    let at = (y * SIDE + x) * 3;
                    for (c, t) in rgb[at..at + 3].iter_mut().zip(tint) {
                        *c = (*c).max((f32::from(t) * light) as u8);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 80)
        .encode(&rgb, SIDE as u16, SIDE as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap_or_else(|e| unreachable!("a fixed-size RGB buffer always encodes: {e}"));
    out
}
