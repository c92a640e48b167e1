//! The decoded, typed shapes of IDR's answers. Field names are ours, not OMERO's; each
//! type says which endpoint fills it.

use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) use idr_filter::{Condition, EngineQuery, Op};

/// The OMERO object kinds that annotations and links point at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Project,
    Dataset,
    Image,
    Screen,
    Plate,
    Acquisition,
    Well,
}

impl ObjectKind {
    /// All kinds, in the order OMERO.web's annotation list concatenates them.
    pub const SERVER_ORDER: [ObjectKind; 7] = [
        ObjectKind::Project,
        ObjectKind::Dataset,
        ObjectKind::Image,
        ObjectKind::Screen,
        ObjectKind::Plate,
        ObjectKind::Acquisition,
        ObjectKind::Well,
    ];

    /// The query key of `webclient/api/annotations/` for this kind.
    pub fn query_key(self) -> &'static str {
        match self {
            ObjectKind::Project => "project",
            ObjectKind::Dataset => "dataset",
            ObjectKind::Image => "image",
            ObjectKind::Screen => "screen",
            ObjectKind::Plate => "plate",
            ObjectKind::Acquisition => "acquisition",
            ObjectKind::Well => "well",
        }
    }

    /// The OMERO model class name as it appears in `link.parent.class`.
    pub fn class_name(self) -> &'static str {
        match self {
            ObjectKind::Project => "ProjectI",
            ObjectKind::Dataset => "DatasetI",
            ObjectKind::Image => "ImageI",
            ObjectKind::Screen => "ScreenI",
            ObjectKind::Plate => "PlateI",
            ObjectKind::Acquisition => "PlateAcquisitionI",
            ObjectKind::Well => "WellI",
        }
    }

    pub fn from_query_key(key: &str) -> Option<ObjectKind> {
        ObjectKind::SERVER_ORDER.into_iter().find(|k| k.query_key() == key)
    }

    pub fn from_class_name(class: &str) -> Option<ObjectKind> {
        ObjectKind::SERVER_ORDER.into_iter().find(|k| k.class_name() == class)
    }
}

/// The `type=` filter of the annotations endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnnotationType {
    Map,
    File,
}

impl AnnotationType {
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationType::Map => "map",
            AnnotationType::File => "file",
        }
    }
}

/// One object a linked annotation hangs off (`link.parent`).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectRef {
    pub kind: Option<ObjectKind>,
    pub id: u64,
    pub name: Option<String>,
}

/// One annotation as linked to one object (`webclient/api/annotations/`).
#[derive(Clone, Debug, PartialEq)]
pub struct Annotation {
    pub id: u64,
    pub namespace: Option<String>,
    pub description: Option<String>,
    /// The object this link attaches the annotation to. The same annotation id can appear
    /// once per linked object.
    pub parent: ObjectRef,
    pub body: AnnotationBody,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AnnotationBody {
    /// `MapAnnotationI`: ordered pairs, keys may repeat, values may be empty.
    Map(Vec<(String, String)>),
    /// `FileAnnotationI`.
    File(FileInfo),
    /// Any other class (tags, comments, …), kept by class name only.
    Other { class: String },
}

/// The `file` of a `FileAnnotationI`.
#[derive(Clone, Debug, PartialEq)]
pub struct FileInfo {
    /// The OriginalFile id.
    pub id: u64,
    pub name: String,
    /// Bytes; IDR feature files can exceed a terabyte.
    pub size: Option<u64>,
    pub path: Option<String>,
    pub mimetype: Option<String>,
}

/// An item of the `webclient/api/{plates,datasets,images}/` lists.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildSummary {
    pub id: u64,
    pub name: String,
    /// Plates: number of acquisitions (runs). Datasets: number of images. Images: absent.
    pub child_count: Option<u64>,
}

/// A container object from `api/v0/m/{screens,projects,datasets}/<id>/`.
#[derive(Clone, Debug, PartialEq)]
pub struct Container {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// `omero:childCount` when asked for.
    pub child_count: Option<u64>,
}

/// A page of an `api/v0` list.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub offset: u64,
    pub total_count: u64,
}

/// A plate from `api/v0/m/plates/<id>/`.
#[derive(Clone, Debug, PartialEq)]
pub struct PlateMeta {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub rows: Option<u32>,
    pub columns: Option<u32>,
    /// `RowNamingConvention` and `ColumnNamingConvention`: `letter` or `number`.
    pub row_naming: Option<String>,
    pub column_naming: Option<String>,
    /// `omero:wellsampleIndex`: the lowest and highest field index.
    pub field_index_range: Option<(u32, u32)>,
}

/// A well from `api/v0/m/wells/<id>/`.
#[derive(Clone, Debug, PartialEq)]
pub struct WellMeta {
    pub id: u64,
    /// 0-based.
    pub row: u32,
    /// 0-based.
    pub column: u32,
    /// Images of the well's samples (fields), in field order.
    pub images: Vec<ImageRef>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImageRef {
    pub id: u64,
    pub name: Option<String>,
}

/// The grid of one plate at one field (`webgateway/plate/<id>/<field>/`).
#[derive(Clone, Debug, PartialEq)]
pub struct PlateGrid {
    pub plate_id: u64,
    pub field: u32,
    /// Row labels as text (`"A"` or `"1"`); the gateway sends letters or ints.
    pub row_labels: Vec<String>,
    pub column_labels: Vec<String>,
    pub cells: Vec<GridCell>,
    /// Pixel size of one image of the plate, when the plate is not empty.
    pub image_size: Option<(u64, u64)>,
}

/// A well position in the grid that holds an image at the requested field.
#[derive(Clone, Debug, PartialEq)]
pub struct GridCell {
    /// 0-based position in the grid.
    pub row: u32,
    pub column: u32,
    pub well_id: u64,
    pub image_id: u64,
    pub image_name: String,
    pub description: String,
    /// Relative path such as `/webgateway/render_thumbnail/1938559/`.
    pub thumb_url: String,
    /// Unix seconds.
    pub date: Option<f64>,
}

/// The details of one image (`webclient/imgData/<id>/`).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageData {
    pub id: u64,
    pub name: String,
    pub description: String,
    pub author: Option<String>,
    pub project_id: Option<u64>,
    pub dataset_id: Option<u64>,
    /// `""` in the body when the image is not in a well.
    pub well_id: Option<u64>,
    /// Unix seconds.
    pub timestamp: Option<f64>,
    pub pixels_type: Option<String>,
    pub size: Option<ImageSize>,
    pub pixel_size: PixelSize,
    pub channels: Vec<Channel>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageSize {
    pub width: u64,
    pub height: u64,
    pub z: u64,
    pub t: u64,
    pub c: u64,
}

/// Physical pixel size in micrometres; `None` where unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PixelSize {
    pub x: Option<f64>,
    pub y: Option<f64>,
    pub z: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub label: String,
    /// `RRGGBB`.
    pub color: String,
    pub emission_wavelength: Option<f64>,
    pub active: bool,
    pub window: Option<ChannelWindow>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelWindow {
    pub min: f64,
    pub max: f64,
    pub start: f64,
    pub end: f64,
}

/// Rows of a bulk-annotation table (`webgateway/table/…/query/`).
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    /// OMERO.tables column classes, when the server sends them (not in the 2019 format).
    pub column_types: Vec<String>,
    /// Cell values as text; `None` for null or `NaN`.
    pub rows: Vec<Vec<Option<String>>>,
    /// The table's OriginalFile id.
    pub file_id: Option<u64>,
    pub annotation_id: Option<u64>,
}

impl Table {
    /// The position of the column named `column` in each row: an exact match, else one
    /// that differs only in ASCII case.
    pub fn column_index(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == column).or_else(|| {
            let lower = column.to_ascii_lowercase();
            self.columns.iter().position(|c| c.to_ascii_lowercase() == lower)
        })
    }
}

/// One value of a key and how many objects carry it (`searchvaluesusingkey`).
#[derive(Clone, Debug, PartialEq)]
pub struct ValueCount {
    pub key: String,
    pub value: String,
    pub count: u64,
}

/// One image found by the search engine.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageHit {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// Flattened key/values of all the image's map annotations, in index order.
    pub key_values: Vec<(String, String)>,
    pub project: Option<ImageRef>,
    pub dataset: Option<ImageRef>,
    pub screen: Option<ImageRef>,
    pub plate: Option<ImageRef>,
    pub well_id: Option<u64>,
}

/// One study container found by the search engine's container search
/// (`submitquery/containers/`): a screen or a project holding matching images.
#[derive(Clone, Debug, PartialEq)]
pub struct ContainerHit {
    pub id: u64,
    pub name: String,
    /// `Screen` or `Project`.
    pub kind: StudyKind,
    /// How many of its images match.
    pub image_count: u64,
    /// The container's study-level key/values, in index order.
    pub key_values: Vec<(String, String)>,
}

/// One page of a search (as many hits as the engine's page size, 1,000 on IDR).
#[derive(Clone, Debug, PartialEq)]
pub struct SearchPage {
    /// The total hit count over all pages.
    pub total: u64,
    pub hits: Vec<ImageHit>,
    /// The engine's bookmark for this page (the sort value of its last hit): pass it back
    /// to get the page after it.
    pub bookmark: Option<u64>,
    /// Whether the engine says another page follows (its `pagination.next_page`, given
    /// on first pages only).
    pub more: Option<bool>,
}

impl SearchPage {
    /// The bookmark that fetches the next page, or `None` on the last one. `hits_before`
    /// is how many hits the pages before this one held. The engine's page size is a
    /// deployment setting, so the end is told by its own counts (`pagination`, or the
    /// total against the hits seen so far), never by a page shorter than some size.
    pub fn next_bookmark(&self, hits_before: u64) -> Option<u64> {
        if self.hits.is_empty() {
            return None;
        }
        let more = match self.more {
            Some(more) => more,
            None => hits_before + (self.hits.len() as u64) < self.total,
        };
        self.bookmark.filter(|_| more)
    }
}

/// A search: the engine's part of a filter (see `idr_filter::Plan`), and a scope.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    pub filter: EngineQuery,
    /// Restrict to the images of a study, by name.
    pub study: Option<Study>,
}

/// A study scope as the engine takes it: a name, of a screen, a project or either.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Study {
    pub name: String,
    pub kind: StudyKind,
}

impl Study {
    /// A screen or a project of this name.
    pub fn any(name: impl Into<String>) -> Study {
        Study { name: name.into(), kind: StudyKind::Any }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StudyKind {
    Any,
    Screen,
    Project,
}

impl StudyKind {
    /// The engine's `resource` for a filter on the study's name.
    pub fn resource(self) -> &'static str {
        match self {
            StudyKind::Any => "container",
            StudyKind::Screen => "screen",
            StudyKind::Project => "project",
        }
    }
}

/// Search-engine resources.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SearchResource {
    Image,
    Project,
    Screen,
    Plate,
    Well,
}

impl SearchResource {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchResource::Image => "image",
            SearchResource::Project => "project",
            SearchResource::Screen => "screen",
            SearchResource::Plate => "plate",
            SearchResource::Well => "well",
        }
    }
}

/// Map annotations of many objects, split back per object.
pub type AnnotationsByObject = BTreeMap<(ObjectKind, u64), Arc<[Annotation]>>;
