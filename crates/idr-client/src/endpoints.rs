//! One request builder and one decoder per IDR endpoint, as plain functions with no IO.
//!
//! Builders return canonical [`Request`]s; decoders take the URL (for error messages) and
//! the [`Response`] and return typed data or a typed [`Error`]. Everything IDR-specific
//! about status codes and error bodies lives here.

use serde_json::{json, Value};

use crate::json::{self, Node};
use crate::model::*;
use crate::{Error, Request, Response};

/// IDR's gunicorn rejects request lines over 4,094 bytes; stay clearly below.
pub const MAX_REQUEST_LINE: usize = 4_000;
/// At most this many ids in one annotations call (BATCHING.md).
pub const MAX_ANNOTATION_IDS: usize = 200;
/// At most this many wells in one bulk-table OR-query.
pub const MAX_TABLE_WELLS: usize = 100;
/// IDR's `omero.web.max_table_download_rows`: the most rows one table query may answer.
pub const MAX_TABLE_DOWNLOAD_ROWS: usize = 10_000;
/// Annotations asked for per page, sent as `limit`: without it OMERO.web pages by its
/// deployment's `page_size` × 100 (50,000 on IDR, 20,000 by default), which a client cannot
/// see. A page this long may have a successor.
pub const ANNOTATIONS_PAGE: usize = 10_000;
/// `api/v0` default page length, used for aligned, cacheable pages.
pub const API_PAGE: u64 = 200;
const SEARCH: &str = "/searchengine/api/v1/resources";

// ---------------------------------------------------------------------------------------
// Shared status handling.

/// Reads a JSON error message (`{"message": …}` or `{"error": …}`) from a body, if any.
fn body_message(resp: &Response) -> Option<String> {
    let value: Value = serde_json::from_slice(&json::replace_non_finite(&resp.body)).ok()?;
    ["message", "error", "Error"].iter().find_map(|k| value.get(*k)?.as_str().map(str::to_owned))
}

fn unexpected_status(url: &str, resp: &Response) -> Error {
    Error::Status { status: resp.status, url: url.to_owned(), message: body_message(resp) }
}

/// Success, or `NotFound` for the statuses the endpoint uses to say "no such object".
fn expect_ok(url: &str, resp: &Response, what: &str, not_found: &[u16]) -> Result<(), Error> {
    if resp.is_success() {
        Ok(())
    } else if not_found.contains(&resp.status) {
        Err(Error::NotFound { what: what.to_owned() })
    } else if resp.status == 400 {
        Err(Error::InvalidArgument(
            body_message(resp).unwrap_or_else(|| format!("upstream rejected {url}")),
        ))
    } else {
        Err(unexpected_status(url, resp))
    }
}

/// Whether a successful answer is whole: a thumbnail must be a JPEG that ends with its
/// end-of-image marker, and every other endpoint's JSON must close every bracket and
/// string it opens and must not be an HTML page (a login or proxy page). A body that fails
/// this was cut short or replaced on the way, so the call is worth retrying; decoding it
/// could only give wrong data or a confusing error.
pub fn check_complete(req: &Request, resp: &Response) -> Result<(), Error> {
    if !resp.is_success() {
        return Ok(());
    }
    let url = req.to_string();
    if is_thumbnail(req) {
        let jpeg_type = resp.content_type.as_deref().is_some_and(|t| t.starts_with("image/jpeg"));
        if jpeg_type && resp.body.starts_with(&JPEG_START) && !ends_as_jpeg(&resp.body) {
            return Err(Error::unusable(&url, "the JPEG has no end-of-image marker (cut short)"));
        }
        return Ok(());
    }
    let first = resp.body.iter().find(|b| !b.is_ascii_whitespace());
    let html_type = resp.content_type.as_deref().is_some_and(|t| t.starts_with("text/html"));
    if html_type || first == Some(&b'<') {
        return Err(Error::unusable(&url, "an HTML page where JSON was expected"));
    }
    if !json::scan(&resp.body, usize::MAX).complete {
        return Err(Error::unusable(&url, "the JSON body is cut short"));
    }
    Ok(())
}

fn is_thumbnail(req: &Request) -> bool {
    req.path.contains("/render_thumbnail/")
}

const JPEG_START: [u8; 3] = [0xFF, 0xD8, 0xFF];

/// A JPEG ends with the EOI marker `FF D9`; encoders may pad after it with zeros.
fn ends_as_jpeg(body: &[u8]) -> bool {
    let end = body.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    body[..end].ends_with(&[0xFF, 0xD9])
}

fn parse(url: &str, resp: &Response) -> Result<Value, Error> {
    json::parse(url, &resp.body)
}

// ---------------------------------------------------------------------------------------
// webclient/api/annotations/

/// Requests for the annotations of many objects of one kind, chunked so that no call has
/// more than [`MAX_ANNOTATION_IDS`] ids or a request line over [`MAX_REQUEST_LINE`].
/// Ids are de-duplicated and sorted, so the same set always gives the same requests.
pub fn annotations_requests(
    ty: AnnotationType,
    kind: ObjectKind,
    ids: &[u64],
    limit: usize,
) -> Vec<Request> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Vec::new();
    let mut current: Vec<u64> = Vec::new();
    // Bytes of `&image=12544310` per id, plus the fixed part of the line.
    let fixed = annotations_request(ty, kind, &[], None, limit).request_line_len();
    let mut line = fixed;
    for id in ids {
        let cost = kind.query_key().len() + 2 + id.to_string().len();
        if !current.is_empty()
            && (current.len() == MAX_ANNOTATION_IDS || line + cost > MAX_REQUEST_LINE)
        {
            out.push(annotations_request(ty, kind, &current, None, limit));
            current.clear();
            line = fixed;
        }
        current.push(id);
        line += cost;
    }
    if !current.is_empty() {
        out.push(annotations_request(ty, kind, &current, None, limit));
    }
    out
}

/// One annotations request of pages of `limit`; `page` is only sent for pages after the
/// first.
pub fn annotations_request(
    ty: AnnotationType,
    kind: ObjectKind,
    ids: &[u64],
    page: Option<u32>,
    limit: usize,
) -> Request {
    let mut req = Request::get("/webclient/api/annotations/").param("type", ty.as_str());
    for id in ids {
        req = req.param(kind.query_key(), id);
    }
    req = req.param("limit", limit);
    if let Some(page) = page {
        req = req.param("page", page);
    }
    req
}

pub fn decode_annotations(url: &str, resp: &Response) -> Result<Vec<Annotation>, Error> {
    expect_ok(url, resp, "annotations", &[404])?;
    // The read fields only, when the body has the documented shape; otherwise all of it,
    // so that what is wrong is reported with its path.
    let value = match pruned::annotations(&resp.body) {
        Some(value) => value,
        None => parse(url, resp)?,
    };
    annotations_of(url, &value)
}

/// The annotations of a parsed `webclient/api/annotations/` body (whole or pruned).
pub(crate) fn annotations_of(url: &str, value: &Value) -> Result<Vec<Annotation>, Error> {
    let root = Node::root(url, value);
    let list = root.get("annotations")?;
    list.items()?.iter().map(decode_annotation).collect()
}

/// Bodies read without the parts nothing reads. An annotation carries its owner,
/// permissions and dates, and its link the same again: about half of the JSON of a batch
/// of key/values, which parsed into values cost a third of a cold plate's decoding. Only
/// what [`decode_annotation`] reads is kept, as the same JSON (a key absent stays absent,
/// a `null` stays `null`), so it decodes and fails exactly as the whole body would.
pub(crate) mod pruned {
    use serde::{Deserialize, Deserializer};
    use serde_json::{Map, Value};

    /// A field that, when present, is kept whatever it holds (`null` included).
    fn kept<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Value::deserialize(d).map(Some)
    }

    #[derive(Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "kept")]
        annotations: Option<Value>,
    }

    // The shape each annotation is kept in; `annotations` is parsed as values first only
    // when it is not a list of objects (then nothing is pruned).
    #[derive(Deserialize)]
    struct Annotation {
        #[serde(default, deserialize_with = "kept")]
        id: Option<Value>,
        #[serde(default, deserialize_with = "kept")]
        ns: Option<Value>,
        #[serde(default, deserialize_with = "kept")]
        description: Option<Value>,
        #[serde(default, deserialize_with = "kept")]
        class: Option<Value>,
        #[serde(default, deserialize_with = "kept")]
        values: Option<Value>,
        #[serde(default, deserialize_with = "kept")]
        file: Option<Value>,
        #[serde(default, deserialize_with = "link")]
        link: Option<Value>,
    }

    /// A link, kept with its parent only (`null` stays `null`).
    fn link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
        Ok(Some(match Option::<Link>::deserialize(d)? {
            None => Value::Null,
            Some(Link { parent }) => {
                let mut map = Map::new();
                map.extend(parent.map(|p| ("parent".to_owned(), p)));
                Value::Object(map)
            }
        }))
    }

    #[derive(Deserialize)]
    struct Link {
        #[serde(default, deserialize_with = "kept")]
        parent: Option<Value>,
    }

    #[derive(Deserialize)]
    struct Annotations {
        annotations: Vec<Annotation>,
    }

    /// `{"annotations": [...]}` with each annotation's read fields, or `None` when the
    /// body is not of that shape (the caller then reads all of it).
    pub(crate) fn annotations(body: &[u8]) -> Option<Value> {
        let body = crate::json::replace_non_finite(body);
        let Ok(Annotations { annotations }) = serde_json::from_slice::<Annotations>(&body) else {
            // Not a list of objects (or not JSON): no pruning.
            let Body { annotations } = serde_json::from_slice(&body).ok()?;
            let mut root = Map::new();
            root.extend(annotations.map(|a| ("annotations".to_owned(), a)));
            return Some(Value::Object(root));
        };
        let list = annotations.into_iter().map(|a| {
            let mut object = Map::new();
            for (key, value) in [
                ("id", a.id),
                ("ns", a.ns),
                ("description", a.description),
                ("class", a.class),
                ("values", a.values),
                ("file", a.file),
                ("link", a.link),
            ] {
                if let Some(value) = value {
                    object.insert(key.to_owned(), value);
                }
            }
            Value::Object(object)
        });
        let mut root = Map::new();
        root.insert("annotations".to_owned(), Value::Array(list.collect()));
        Some(Value::Object(root))
    }
}

fn decode_annotation(node: &Node<'_>) -> Result<Annotation, Error> {
    let link = node.get("link")?;
    let parent = link.get("parent")?;
    let class = node.get("class")?.str()?;
    let body = match class {
        "MapAnnotationI" => {
            let mut pairs = Vec::new();
            if let Some(values) = node.opt("values") {
                for pair in values.items()? {
                    let items = pair.items()?;
                    let [key, value] = items.as_slice() else {
                        return Err(pair.error("expected a [key, value] pair"));
                    };
                    pairs.push((
                        key.text()?,
                        if value.is_null() { String::new() } else { value.text()? },
                    ));
                }
            }
            AnnotationBody::Map(pairs)
        }
        "FileAnnotationI" => {
            let file = node.get("file")?;
            AnnotationBody::File(FileInfo {
                id: file.get("id")?.u64()?,
                name: file.opt_text("name")?.unwrap_or_default(),
                size: file.opt("size").map(|n| n.u64()).transpose()?,
                path: file.opt_text("path")?,
                mimetype: file.opt_text("mimetype")?,
            })
        }
        other => AnnotationBody::Other { class: other.to_owned() },
    };
    Ok(Annotation {
        id: node.get("id")?.u64()?,
        namespace: node.opt_text("ns")?,
        description: node.opt_text("description")?,
        parent: ObjectRef {
            kind: ObjectKind::from_class_name(parent.get("class")?.str()?),
            id: parent.get("id")?.u64()?,
            name: parent.opt_text("name")?,
        },
        body,
    })
}

// ---------------------------------------------------------------------------------------
// webclient/api/{plates,datasets,images}/?id=<parent>

/// The children lists of the webclient tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Children {
    /// Plates of a screen.
    Plates,
    /// Datasets of a project.
    Datasets,
    /// Images of a dataset.
    Images,
}

impl Children {
    fn key(self) -> &'static str {
        match self {
            Children::Plates => "plates",
            Children::Datasets => "datasets",
            Children::Images => "images",
        }
    }
}

/// `page=0` turns OMERO.web's paging off, so one call returns every child.
pub fn children_request(children: Children, parent_id: u64) -> Request {
    Request::get(format!("/webclient/api/{}/", children.key()))
        .param("id", parent_id)
        .param("page", 0)
}

pub fn decode_children(
    url: &str,
    resp: &Response,
    children: Children,
) -> Result<Vec<ChildSummary>, Error> {
    expect_ok(url, resp, children.key(), &[404])?;
    let value = parse(url, resp)?;
    let root = Node::root(url, &value);
    let list = root.get(children.key())?;
    list.items()?
        .iter()
        .map(|item| {
            Ok(ChildSummary {
                id: item.get("id")?.u64()?,
                name: item.opt_text("name")?.unwrap_or_default(),
                child_count: item.opt("childCount").map(|n| n.u64()).transpose()?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// api/v0/m/…

/// Objects of the JSON API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiObject {
    Screen,
    Project,
    Dataset,
    Plate,
    Well,
    Image,
}

impl ApiObject {
    fn segment(self) -> &'static str {
        match self {
            ApiObject::Screen => "screens",
            ApiObject::Project => "projects",
            ApiObject::Dataset => "datasets",
            ApiObject::Plate => "plates",
            ApiObject::Well => "wells",
            ApiObject::Image => "images",
        }
    }

    /// The same object as an annotation target.
    pub fn kind(self) -> ObjectKind {
        match self {
            ApiObject::Screen => ObjectKind::Screen,
            ApiObject::Project => ObjectKind::Project,
            ApiObject::Dataset => ObjectKind::Dataset,
            ApiObject::Plate => ObjectKind::Plate,
            ApiObject::Well => ObjectKind::Well,
            ApiObject::Image => ObjectKind::Image,
        }
    }

    /// The type name OMERO uses in its 404 message.
    pub fn type_name(self) -> &'static str {
        match self {
            ApiObject::Screen => "Screen",
            ApiObject::Project => "Project",
            ApiObject::Dataset => "Dataset",
            ApiObject::Plate => "Plate",
            ApiObject::Well => "Well",
            ApiObject::Image => "Image",
        }
    }
}

pub fn api_object_request(object: ApiObject, id: u64) -> Request {
    let req = Request::get(format!("/api/v0/m/{}/{id}/", object.segment()));
    match object {
        // Datasets carry their image count only when asked.
        ApiObject::Dataset => req.param("childCount", "true"),
        _ => req,
    }
}

/// The container an object sits in, from its `api/v0` parent list: a well's plate, a
/// plate's screen, a dataset's project. `None` for kinds this API does not ask that of.
pub fn api_parents_request(child: ApiObject, id: u64) -> Option<Request> {
    let parents = match child {
        ApiObject::Well => "plates",
        ApiObject::Plate => "screens",
        ApiObject::Dataset => "projects",
        _ => return None,
    };
    Some(Request::get(format!("/api/v0/m/{}/{id}/{parents}/", child.segment())))
}

/// A page of top-level screens or projects, at an offset that is a multiple of [`API_PAGE`]
/// so that pages are shared by every caller and cache well.
pub fn api_list_request(object: ApiObject, offset: u64) -> Request {
    Request::get(format!("/api/v0/m/{}/", object.segment()))
        .param("childCount", "true")
        .param("offset", offset)
}

fn api_data(url: &str, resp: &Response, what: &str) -> Result<Value, Error> {
    expect_ok(url, resp, what, &[404])?;
    let mut value = parse(url, resp)?;
    match value.get_mut("data") {
        Some(data) => Ok(data.take()),
        None => Err(Error::decode(url, "$", "missing field `data`")),
    }
}

fn decode_container_node(node: &Node<'_>) -> Result<Container, Error> {
    Ok(Container {
        id: node.get("@id")?.u64()?,
        name: node.opt_text("Name")?.unwrap_or_default(),
        description: node.opt_text("Description")?.filter(|d| !d.is_empty()),
        child_count: node.opt("omero:childCount").map(|n| n.u64()).transpose()?,
    })
}

pub fn decode_container(
    url: &str,
    resp: &Response,
    object: ApiObject,
    id: u64,
) -> Result<Container, Error> {
    let data = api_data(url, resp, &format!("{} {id}", object.type_name()))?;
    decode_container_node(&Node::root(url, &data))
}

pub fn decode_container_page(url: &str, resp: &Response) -> Result<Page<Container>, Error> {
    expect_ok(url, resp, "list", &[404])?;
    let value = parse(url, resp)?;
    let root = Node::root(url, &value);
    let data = root.get("data")?;
    let items = data.items()?.iter().map(decode_container_node).collect::<Result<_, _>>()?;
    let meta = root.get("meta")?;
    Ok(Page {
        items,
        offset: meta.get("offset")?.u64()?,
        total_count: meta.get("totalCount")?.u64()?,
    })
}

pub fn decode_plate(url: &str, resp: &Response, id: u64) -> Result<PlateMeta, Error> {
    let data = api_data(url, resp, &format!("Plate {id}"))?;
    let node = Node::root(url, &data);
    let small = |key: &'static str| -> Result<Option<u32>, Error> {
        node.opt(key).map(|n| n.u64().map(|v| v.min(u64::from(u32::MAX)) as u32)).transpose()
    };
    let field_index_range = match node.opt("omero:wellsampleIndex") {
        Some(range) => {
            let items = range.items()?;
            match items.as_slice() {
                [lo, hi] => Some((lo.u64()? as u32, hi.u64()? as u32)),
                _ => return Err(range.error("expected [min, max]")),
            }
        }
        None => None,
    };
    Ok(PlateMeta {
        id: node.get("@id")?.u64()?,
        name: node.opt_text("Name")?.unwrap_or_default(),
        description: node.opt_text("Description")?.filter(|d| !d.is_empty()),
        rows: small("Rows")?,
        columns: small("Columns")?,
        row_naming: node.opt_text("RowNamingConvention")?,
        column_naming: node.opt_text("ColumnNamingConvention")?,
        field_index_range,
    })
}

pub fn decode_well(url: &str, resp: &Response, id: u64) -> Result<WellMeta, Error> {
    let data = api_data(url, resp, &format!("Well {id}"))?;
    let node = Node::root(url, &data);
    let mut images = Vec::new();
    if let Some(samples) = node.opt("WellSamples") {
        for sample in samples.items()? {
            if let Some(image) = sample.opt("Image") {
                images
                    .push(ImageRef { id: image.get("@id")?.u64()?, name: image.opt_text("Name")? });
            }
        }
    }
    Ok(WellMeta {
        id: node.get("@id")?.u64()?,
        row: node.opt("Row").map(|n| n.u64()).transpose()?.unwrap_or(0) as u32,
        column: node.opt("Column").map(|n| n.u64()).transpose()?.unwrap_or(0) as u32,
        images,
    })
}

// ---------------------------------------------------------------------------------------
// webgateway/plate/<id>/<field>/

pub fn plate_grid_request(plate_id: u64, field: u32) -> Request {
    Request::get(format!("/webgateway/plate/{plate_id}/{field}/"))
}

/// A missing plate makes the gateway answer HTTP 500 (it returns Django's `Http404` class,
/// which it cannot serialise), so a 500 with that JSON error body means "not found" here.
/// A 500 without one (Django's HTML error page) is a real server failure.
pub fn decode_plate_grid(
    url: &str,
    resp: &Response,
    plate_id: u64,
    field: u32,
) -> Result<PlateGrid, Error> {
    if resp.status == 500 && body_message(resp).is_none() {
        return Err(unexpected_status(url, resp));
    }
    expect_ok(url, resp, &format!("Plate {plate_id}"), &[404, 500])?;
    let value = parse(url, resp)?;
    let root = Node::root(url, &value);
    if let Some(message) = root.opt("error").or_else(|| root.opt("message")) {
        return Err(Error::Reported { url: url.to_owned(), message: message.text()? });
    }
    let labels = |key: &'static str| -> Result<Vec<String>, Error> {
        match root.opt(key) {
            Some(list) => list.items()?.iter().map(|n| n.text()).collect(),
            None => Ok(Vec::new()),
        }
    };
    let mut cells = Vec::new();
    for (r, row) in root.get("grid")?.items()?.iter().enumerate() {
        for (c, cell) in row.items()?.iter().enumerate() {
            if cell.is_null() {
                continue;
            }
            cells.push(GridCell {
                row: r as u32,
                column: c as u32,
                well_id: cell.get("wellId")?.u64()?,
                image_id: cell.get("id")?.u64()?,
                image_name: cell.opt_text("name")?.unwrap_or_default(),
                description: cell.opt_text("description")?.unwrap_or_default(),
                thumb_url: cell.opt_text("thumb_url")?.unwrap_or_default(),
                date: cell.opt("date").map(|n| n.f64()).transpose()?,
            });
        }
    }
    let image_size = match root.opt("image_sizes") {
        Some(sizes) => match sizes.items()?.first() {
            Some(first) => Some((first.get("x")?.u64()?, first.get("y")?.u64()?)),
            None => None,
        },
        None => None,
    };
    Ok(PlateGrid {
        plate_id,
        field,
        row_labels: labels("rowlabels")?,
        column_labels: labels("collabels")?,
        cells,
        image_size,
    })
}

// ---------------------------------------------------------------------------------------
// webclient/imgData/<id>/

pub fn image_data_request(image_id: u64) -> Request {
    Request::get(format!("/webclient/imgData/{image_id}/"))
}

/// IDR answers 403 with an empty body for a missing image (the public user may not see
/// it), and 404 to logged-in users.
pub fn decode_image_data(url: &str, resp: &Response, image_id: u64) -> Result<ImageData, Error> {
    expect_ok(url, resp, &format!("Image {image_id}"), &[403, 404])?;
    let value = parse(url, resp)?;
    let root = Node::root(url, &value);
    let meta = root.get("meta")?;
    let size = match root.opt("size") {
        Some(s) => Some(ImageSize {
            width: s.get("width")?.u64()?,
            height: s.get("height")?.u64()?,
            z: s.get("z")?.u64()?,
            t: s.get("t")?.u64()?,
            c: s.get("c")?.u64()?,
        }),
        None => None,
    };
    let pixel_size = match root.opt("pixel_size") {
        Some(p) => PixelSize {
            x: p.opt("x").map(|n| n.f64()).transpose()?,
            y: p.opt("y").map(|n| n.f64()).transpose()?,
            z: p.opt("z").map(|n| n.f64()).transpose()?,
        },
        None => PixelSize::default(),
    };
    let mut channels = Vec::new();
    if let Some(list) = root.opt("channels") {
        for ch in list.items()? {
            let window = match ch.opt("window") {
                Some(w) => Some(ChannelWindow {
                    min: w.get("min")?.f64()?,
                    max: w.get("max")?.f64()?,
                    start: w.get("start")?.f64()?,
                    end: w.get("end")?.f64()?,
                }),
                None => None,
            };
            channels.push(Channel {
                label: ch.opt_text("label")?.unwrap_or_default(),
                color: ch.opt_text("color")?.unwrap_or_default(),
                emission_wavelength: ch.opt("emissionWave").map(|n| n.f64()).transpose()?,
                active: ch.opt("active").map(|n| n.bool()).transpose()?.unwrap_or(true),
                window,
            });
        }
    }
    let opt_id = |key: &'static str| -> Result<Option<u64>, Error> {
        Ok(meta.opt(key).map(|n| n.u64_or_empty()).transpose()?.flatten())
    };
    Ok(ImageData {
        id: root.opt("id").map(|n| n.u64()).transpose()?.unwrap_or(image_id),
        name: meta.opt_text("imageName")?.unwrap_or_default(),
        description: meta.opt_text("imageDescription")?.unwrap_or_default(),
        author: meta.opt_text("imageAuthor")?,
        project_id: opt_id("projectId")?,
        dataset_id: opt_id("datasetId")?,
        well_id: opt_id("wellId")?,
        timestamp: meta.opt("imageTimestamp").map(|n| n.f64()).transpose()?,
        pixels_type: meta.opt_text("pixelsType")?,
        size,
        pixel_size,
        channels,
    })
}

// ---------------------------------------------------------------------------------------
// webgateway/render_thumbnail/<id>/[<size>/]

pub fn thumbnail_request(image_id: u64, size: Option<u32>) -> Request {
    match size {
        Some(size) => Request::get(format!("/webgateway/render_thumbnail/{image_id}/{size}/")),
        None => Request::get(format!("/webgateway/render_thumbnail/{image_id}/")),
    }
}

/// Thumbnails are a few kilobytes; anything over this is not a thumbnail.
pub const MAX_THUMBNAIL_BYTES: usize = 2 * 1024 * 1024;

/// The JPEG bytes; anything that is not a JPEG, or is too large for a thumbnail, is refused
/// rather than forwarded.
pub fn decode_thumbnail(url: &str, resp: &Response, image_id: u64) -> Result<bytes::Bytes, Error> {
    expect_ok(url, resp, &format!("Thumbnail of image {image_id}"), &[403, 404])?;
    if resp.body.len() > MAX_THUMBNAIL_BYTES {
        return Err(Error::TooLarge { url: url.to_owned(), limit: MAX_THUMBNAIL_BYTES });
    }
    let is_jpeg_type = resp.content_type.as_deref().is_some_and(|t| t.starts_with("image/jpeg"));
    let is_jpeg_bytes = resp.body.starts_with(&JPEG_START);
    if !is_jpeg_type || !is_jpeg_bytes {
        return Err(Error::decode(url, "$", "expected a JPEG body"));
    }
    Ok(resp.body.clone())
}

// ---------------------------------------------------------------------------------------
// webgateway/get_thumbnails/[<size>/]?id=…&id=…

/// Ids one `get_thumbnails` call may ask for (`omero.web.thumbnails_batch`; more gives a
/// 500 "Max 50 thumbnails at a time.").
pub const MAX_THUMBNAIL_IDS: usize = 50;

/// The calls that fetch the thumbnails of `ids` at `size`, at most
/// [`MAX_THUMBNAIL_IDS`] ids each (their request lines stay far below
/// [`MAX_REQUEST_LINE`]: 50 ids of 19 digits are about 1,200 bytes).
pub fn thumbnails_requests(ids: &[u64], size: Option<u32>) -> Vec<Request> {
    let path = match size {
        Some(size) => format!("/webgateway/get_thumbnails/{size}/"),
        None => "/webgateway/get_thumbnails/".to_owned(),
    };
    ids.chunks(MAX_THUMBNAIL_IDS)
        .map(|chunk| chunk.iter().fold(Request::get(path.clone()), |req, id| req.param("id", id)))
        .collect()
}

/// A thumbnail as IDR answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Thumbnail {
    Jpeg(bytes::Bytes),
    /// IDR has none (the image does not exist, or its thumbnail cannot be made).
    Missing,
}

/// One thumbnail of a batch: what IDR gave, or why it is unusable.
pub type ThumbnailResult = Result<Thumbnail, Error>;

/// A `get_thumbnails` answer, per asked id: `{"<id>": "data:image/jpeg;base64,…" or
/// null}`. An id the answer leaves out, or gives as anything but a JPEG data URI within
/// [`MAX_THUMBNAIL_BYTES`], is an error of its own; the other ids still count.
pub fn decode_thumbnails(
    url: &str,
    resp: &Response,
    ids: &[u64],
) -> Result<std::collections::BTreeMap<u64, ThumbnailResult>, Error> {
    use base64::Engine as _;
    expect_ok(url, resp, "Thumbnails", &[])?;
    let body: Value = serde_json::from_slice(&resp.body)
        .map_err(|e| Error::decode(url, "$", format!("not JSON: {e}")))?;
    let Value::Object(map) = body else {
        return Err(Error::decode(url, "$", "expected an object of data URIs by image id"));
    };
    let one = |id: u64| -> ThumbnailResult {
        let path = format!("$.{id}");
        match map.get(&id.to_string()) {
            None => Err(Error::decode(url, &path, "the answer leaves this image out")),
            Some(Value::Null) => Ok(Thumbnail::Missing),
            Some(Value::String(uri)) => {
                let Some(data) = uri.strip_prefix("data:image/jpeg;base64,") else {
                    return Err(Error::decode(url, &path, "expected a JPEG data URI"));
                };
                // Base64 is 4/3 of the bytes: refuse before decoding what cannot fit.
                if data.len() / 4 * 3 > MAX_THUMBNAIL_BYTES {
                    return Err(Error::TooLarge {
                        url: url.to_owned(),
                        limit: MAX_THUMBNAIL_BYTES,
                    });
                }
                let jpeg = base64::engine::general_purpose::STANDARD
                    .decode(data.trim_end())
                    .map_err(|e| Error::decode(url, &path, format!("bad base64: {e}")))?;
                if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) {
                    return Err(Error::decode(url, &path, "the data URI does not hold a JPEG"));
                }
                Ok(Thumbnail::Jpeg(jpeg.into()))
            }
            Some(_) => Err(Error::decode(url, &path, "expected a data URI or null")),
        }
    };
    Ok(ids.iter().map(|id| (*id, one(*id))).collect())
}

// ---------------------------------------------------------------------------------------
// webgateway/table/Screen.plateLinks.child.wells/<well>/query/

/// The bulk-annotation rows of wells that share a screen. One well uses IDR's own
/// shorthand (`Well-<id>`); several use a PyTables OR-condition.
pub fn well_table_request(well_ids: &[u64]) -> Option<Request> {
    let first = *well_ids.first()?;
    let query = if well_ids.len() == 1 {
        format!("Well-{first}")
    } else {
        well_ids.iter().map(|id| format!("(Well=={id})")).collect::<Vec<_>>().join("|")
    };
    Some(
        Request::get(format!("/webgateway/table/Screen.plateLinks.child.wells/{first}/query/"))
            .param("query", query),
    )
}

/// The bulk-annotation rows of a whole plate in one call: `Plate-<id>` (which the gateway
/// rewrites to `(Plate==<id>)` on the table's `PlateColumn`), asked through one of the
/// plate's wells, which names the screen's table.
pub fn plate_table_request(plate_id: u64, via_well: u64) -> Request {
    Request::get(format!("/webgateway/table/Screen.plateLinks.child.wells/{via_well}/query/"))
        .param("query", format!("Plate-{plate_id}"))
}

/// Whether the gateway refused a whole-plate query in a way the wells' own queries get
/// around: more rows than `omero.web.max_table_download_rows`, or a table without a
/// `Plate` column (the condition names a column that is not there).
pub fn plate_query_refused(error: &Error) -> bool {
    matches!(error, Error::Reported { message, .. }
        if message.contains("max_table_download_rows") || message.contains("Error executing query"))
}

/// The requests for the bulk-annotation rows of many wells of one screen: each well
/// once, in id order, chunked so that no call has more than [`MAX_TABLE_WELLS`] wells or
/// a request line over [`MAX_REQUEST_LINE`].
pub fn well_table_requests(well_ids: &[u64]) -> Vec<Request> {
    let mut ids = well_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut chunks: Vec<Vec<u64>> = Vec::new();
    for id in ids {
        let fits = chunks.last().is_some_and(|c: &Vec<u64>| {
            let mut next = c.clone();
            next.push(id);
            next.len() <= MAX_TABLE_WELLS
                && well_table_request(&next)
                    .is_some_and(|r| r.request_line_len() <= MAX_REQUEST_LINE)
        });
        match chunks.last_mut() {
            Some(c) if fits => c.push(id),
            _ => chunks.push(vec![id]),
        }
    }
    chunks.iter().filter_map(|chunk| well_table_request(chunk)).collect()
}

/// Always check `error` before `data`: the gateway reports most failures with HTTP 200.
pub fn decode_table(url: &str, resp: &Response) -> Result<Table, Error> {
    expect_ok(url, resp, "table", &[404])?;
    let value = parse(url, resp)?;
    let root = Node::root(url, &value);
    if let Some(error) = root.opt("error") {
        let message = error.text()?;
        if message.contains("Could not retrieve bulk annotations table") {
            return Err(Error::NotFound { what: "bulk annotation table".to_owned() });
        }
        return Err(Error::Reported { url: url.to_owned(), message });
    }
    let data = root.get("data")?;
    let columns =
        data.get("columns")?.items()?.iter().map(|n| n.text()).collect::<Result<Vec<_>, _>>()?;
    let column_types = match data.opt("column_types") {
        Some(types) => types.items()?.iter().map(|n| n.text()).collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for row in data.get("rows")?.items()? {
        let cells = row.items()?;
        if cells.len() != columns.len() {
            return Err(row.error(format!(
                "row has {} cells for {} columns",
                cells.len(),
                columns.len()
            )));
        }
        rows.push(
            cells
                .iter()
                .map(|c| if c.is_null() { Ok(None) } else { c.text().map(Some) })
                .collect::<Result<_, _>>()?,
        );
    }
    Ok(Table {
        columns,
        column_types,
        rows,
        file_id: root.opt("id").map(|n| n.u64()).transpose()?,
        annotation_id: root.opt("annId").map(|n| n.u64()).transpose()?,
    })
}

// ---------------------------------------------------------------------------------------
// searchengine

/// The search engine signals errors with HTTP 200 and an `Error` member (`"none"` or
/// `null` on success). The webgateway's lower-case `error` is taken as an error too, so
/// such a body is never mistaken for an empty result (and cached).
/// The body of a search-engine answer, or the error it reports in its `Error` member.
fn search_answer(url: &str, resp: &Response, what: &str) -> Result<Value, Error> {
    expect_ok(url, resp, what, &[404])?;
    let value = parse(url, resp)?;
    match search_error(url, &Node::root(url, &value)) {
        Some(error) => Err(error),
        None => Ok(value),
    }
}

fn search_error(url: &str, root: &Node<'_>) -> Option<Error> {
    let error = root.opt("Error").or_else(|| root.opt("error"))?;
    let message = error.text().ok()?;
    (message != "none").then(|| Error::Reported { url: url.to_owned(), message })
}

pub fn search_values_request(resource: SearchResource, key: &str) -> Request {
    Request::get(format!("{SEARCH}/{}/searchvaluesusingkey/", resource.as_str())).param("key", key)
}

pub fn decode_search_values(
    url: &str,
    resp: &Response,
    resource: SearchResource,
) -> Result<Vec<ValueCount>, Error> {
    let value = search_answer(url, resp, "values")?;
    let root = Node::root(url, &value);
    let count_key = format!("Number of {}s", resource.as_str());
    let Some(data) = root.opt("data") else { return Ok(Vec::new()) };
    data.items()?
        .iter()
        .map(|bucket| {
            Ok(ValueCount {
                key: bucket.opt_text("Key")?.unwrap_or_default(),
                value: bucket.get("Value")?.text()?,
                count: bucket.get(&count_key)?.u64()?,
            })
        })
        .collect()
}

pub fn search_keys_request(resource: SearchResource) -> Request {
    Request::get(format!("{SEARCH}/{}/keys/", resource.as_str()))
}

pub fn decode_search_keys(
    url: &str,
    resp: &Response,
    resource: SearchResource,
) -> Result<Vec<String>, Error> {
    let value = search_answer(url, resp, "keys")?;
    let root = Node::root(url, &value);
    let mut keys = Vec::new();
    for source in root.items()? {
        if let Some(list) = source.opt(resource.as_str()) {
            for key in list.items()? {
                keys.push(key.text()?);
            }
        }
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// A single condition without a scope goes to the GET `search/` route; anything else
/// (several conditions, OR-groups, `in` lists, a study scope) to POST `submitquery/`. Values are sent lower-cased, which is
/// what the case-insensitive engine compares against anyway, so equal searches share a
/// cache entry.
pub fn search_request(query: &SearchQuery, bookmark: Option<u64>) -> Result<Request, Error> {
    let filter = &query.filter;
    check_conditions(filter)?;
    match (filter.and.as_slice(), filter.or.is_empty()) {
        // The GET route's `study` means a project name only (0.7's `simple_search`), so
        // any scoped search goes through `submitquery`, whose container filter takes a
        // project or a screen name.
        ([single], true) if !single.op.takes_list() && query.study.is_none() => {
            let mut req = Request::get(format!("{SEARCH}/image/search/"))
                .param("value", single.values[0].to_lowercase());
            if let Some(key) = &single.key {
                req = req.param("key", key);
            }
            if single.op != Op::Equals {
                req = req.param("operator", single.op.engine_name());
            }
            if let Some(bookmark) = bookmark {
                req = req.param("bookmark", bookmark);
            }
            Ok(req)
        }
        _ => {
            let mut body = query_body(query);
            if let Some(bookmark) = bookmark {
                body["bookmark"] = json!([bookmark]);
            }
            Ok(Request::post_json(format!("{SEARCH}/submitquery/"), &body))
        }
    }
}

/// The checks every search makes of its conditions before asking the engine.
fn check_conditions(filter: &EngineQuery) -> Result<(), Error> {
    if filter.is_empty() {
        return Err(Error::InvalidArgument("a search needs at least one condition".to_owned()));
    }
    for cond in filter.and.iter().chain(filter.or.iter().flatten()) {
        if cond.values.is_empty() {
            return Err(Error::InvalidArgument("a condition needs a value".to_owned()));
        }
        if !cond.op.takes_list() && cond.values.len() != 1 {
            return Err(Error::InvalidArgument(format!(
                "`{}` takes exactly one value",
                cond.op.engine_name()
            )));
        }
    }
    Ok(())
}

/// The `query_details` body of `submitquery/` and `submitquery/containers/`: image
/// conditions (values lower-cased), OR-groups, and the study scope as a name filter.
fn query_body(query: &SearchQuery) -> Value {
    let filter = &query.filter;
    let condition = |c: &Condition| {
        let mut f = json!({
            "operator": c.op.engine_name(),
            "resource": "image",
            "value": if c.op.takes_list() {
                Value::from(c.values.iter().map(|v| v.to_lowercase()).collect::<Vec<_>>())
            } else {
                Value::from(c.values[0].to_lowercase())
            },
        });
        if let Some(key) = &c.key {
            f["name"] = Value::from(key.as_str());
        }
        f
    };
    let mut and: Vec<Value> = filter.and.iter().map(condition).collect();
    if let Some(study) = &query.study {
        and.push(json!({"name": "name", "operator": "equals", "resource": study.kind.resource(), "value": study.name}));
    }
    let or: Vec<Value> = filter
        .or
        .iter()
        .map(|group| Value::from(group.iter().map(condition).collect::<Vec<_>>()))
        .collect();
    json!({
        "query_details": {"and_filters": and, "or_filters": or, "case_sensitive": false},
    })
}

/// `POST submitquery/containers/`: the screens and projects whose images match, each with
/// its count of matching images and its study key/values (9c).
pub fn containers_request(query: &SearchQuery) -> Result<Request, Error> {
    check_conditions(&query.filter)?;
    Ok(Request::post_json(format!("{SEARCH}/submitquery/containers/"), &query_body(query)))
}

pub fn decode_containers(url: &str, resp: &Response) -> Result<Vec<ContainerHit>, Error> {
    let value = match search_answer(url, resp, "container search") {
        Err(Error::Reported { message, .. }) if message.contains("returns no results") => {
            return Ok(Vec::new())
        }
        answer => answer?,
    };
    let root = Node::root(url, &value);
    let results = root.get("results")?;
    if results.value.is_array() {
        return Ok(Vec::new());
    }
    let mut hits = Vec::new();
    for doc in results.get("results")?.items()? {
        let kind_node = doc.get("type")?;
        let kind = match kind_node.str()? {
            "screen" => StudyKind::Screen,
            "project" => StudyKind::Project,
            other => return Err(kind_node.error(format!("`{other}` is not screen or project"))),
        };
        hits.push(ContainerHit {
            id: doc.get("id")?.u64()?,
            name: doc.get("name")?.text()?,
            kind,
            image_count: doc.get("image count")?.u64()?,
            key_values: indexed_pairs(&doc)?,
        });
    }
    Ok(hits)
}

/// A search document's `key_values` in index order (the array's own order breaks ties):
/// each pair's key is `name` on images and `key` on containers.
fn indexed_pairs(doc: &Node<'_>) -> Result<Vec<(String, String)>, Error> {
    let Some(pairs) = doc.opt("key_values") else { return Ok(Vec::new()) };
    let mut indexed = Vec::new();
    for (pos, pair) in pairs.items()?.iter().enumerate() {
        let index = pair.opt("index").map(|n| n.u64()).transpose()?.unwrap_or(0);
        let key = pair.opt_text("name")?.or(pair.opt_text("key")?).unwrap_or_default();
        let value = pair.opt_text("value")?.unwrap_or_default();
        indexed.push((index, pos, key, value));
    }
    indexed.sort_by_key(|(index, pos, _, _)| (*index, *pos));
    Ok(indexed.into_iter().map(|(_, _, k, v)| (k, v)).collect())
}

pub fn decode_search(url: &str, resp: &Response) -> Result<SearchPage, Error> {
    let empty = SearchPage { total: 0, hits: Vec::new(), bookmark: None, more: Some(false) };
    let value = match search_answer(url, resp, "search") {
        Err(Error::Reported { message, .. }) if message.contains("returns no results") => {
            return Ok(empty)
        }
        answer => answer?,
    };
    let root = Node::root(url, &value);
    // No match: top-level `results` is an empty array, not an object.
    let results = root.get("results")?;
    if results.value.is_array() {
        return Ok(empty);
    }
    let total = results.get("size")?.u64()?;
    let docs = results.get("results")?;
    let mut hits = Vec::new();
    for doc in docs.items()? {
        let key_values = indexed_pairs(&doc)?;
        let reference =
            |id_key: &'static str, name_key: &'static str| -> Result<Option<ImageRef>, Error> {
                Ok(match doc.opt(id_key) {
                    Some(id) => Some(ImageRef { id: id.u64()?, name: doc.opt_text(name_key)? }),
                    None => None,
                })
            };
        hits.push(ImageHit {
            id: doc.get("id")?.u64()?,
            name: doc.opt_text("name")?.unwrap_or_default(),
            description: doc.opt_text("description")?.filter(|d| !d.is_empty()),
            key_values,
            project: reference("project_id", "project_name")?,
            dataset: reference("dataset_id", "dataset_name")?,
            screen: reference("screen_id", "screen_name")?,
            plate: reference("plate_id", "plate_name")?,
            well_id: doc.opt("well_id").map(|n| n.u64()).transpose()?,
        });
    }
    let bookmark =
        results.opt("bookmark").and_then(|b| b.value.as_array()?.first().and_then(json::as_u64));
    // `pagination` comes with first pages only; later pages are told by the counts.
    let more = results.opt("pagination").map(|p| p.opt("next_page").is_some());
    Ok(SearchPage { total, hits, bookmark, more })
}
