//! The object types of the schema. Each holds what is already known about an IDR object
//! (from the call that found it) and loads the rest lazily, through the dataloaders, only
//! when a field asks for it.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result, SimpleObject, ID};
use idr_client::endpoints::{ApiObject, Children};
use idr_client::model::{
    Annotation, AnnotationBody, Container, GridCell, ImageData, ObjectKind, PlateGrid, PlateMeta,
    WellMeta,
};
use idr_client::WellRow;

use crate::connection::{self, Page, PageArgs};
use crate::context::{client, loaders};
use crate::error::ResultExt;
use crate::inputs::ImageFilter;
use crate::loaders::{load_one, WellKey};

fn id(n: u64) -> ID {
    ID(n.to_string())
}

/// Map annotations of one object, in server order.
async fn map_annotations(
    ctx: &Context<'_>,
    kind: ObjectKind,
    id: u64,
) -> Result<Arc<[Annotation]>> {
    Ok(load_one(&loaders(ctx).map_annotations, (kind, id))
        .await?
        .unwrap_or_else(|| Arc::from(Vec::new())))
}

fn key_values_of(annotations: &[Annotation]) -> Vec<KeyValue> {
    annotations
        .iter()
        .filter_map(|a| match &a.body {
            AnnotationBody::Map(pairs) => Some(pairs),
            _ => None,
        })
        .flatten()
        .map(|(key, value)| KeyValue { key: key.clone(), value: value.clone() })
        .collect()
}

/// The container an object sits in, for an object reached without it (see
/// `ParentLoader`): its id and name.
async fn parent(
    ctx: &Context<'_>,
    child: ApiObject,
    id: u64,
) -> Result<Option<(u64, Option<String>)>> {
    Ok(load_one(&loaders(ctx).parents, (child, id)).await?.map(|(id, name)| (id, Some(name))))
}

/// A screen's, project's or dataset's own record: the one already known, or loaded.
async fn container_meta(
    ctx: &Context<'_>,
    object: ApiObject,
    id: u64,
    known: &Option<Arc<Container>>,
) -> Result<Option<Arc<Container>>> {
    if let Some(meta) = known {
        return Ok(Some(meta.clone()));
    }
    Ok(client(ctx).container(object, id).await.gql()?.map(Arc::new))
}

/// The values of `key` among an object's key/values.
async fn values_for(
    ctx: &Context<'_>,
    kind: ObjectKind,
    id: u64,
    key: &str,
) -> Result<Vec<String>> {
    let pairs = key_values_of(&map_annotations(ctx, kind, id).await?);
    Ok(values_of(pairs.iter().map(|kv| (kv.key.as_str(), kv.value.as_str())), key))
}

/// An object's map annotations, optionally of one namespace.
async fn annotations_for(
    ctx: &Context<'_>,
    kind: ObjectKind,
    id: u64,
    namespace: Option<&str>,
) -> Result<Vec<MapAnnotation>> {
    Ok(map_annotation_list(&map_annotations(ctx, kind, id).await?, namespace))
}

/// The values of `key` (compared without regard to case) among `pairs`, in order.
fn values_of<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>, key: &str) -> Vec<String> {
    pairs
        .into_iter()
        .filter(|(k, _)| idr_filter::same_key(k, key))
        .map(|(_, v)| v.to_owned())
        .collect()
}

/// Keeps the items that match `filter`, judged on their names and, when the filter needs
/// them, their key/values (loaded for all items in one batch).
pub(crate) async fn keep_matching<T>(
    ctx: &Context<'_>,
    items: Vec<T>,
    filter: Option<&ImageFilter>,
    kind: ObjectKind,
    id: impl Fn(&T) -> u64,
    name: impl Fn(&T) -> Option<String>,
) -> Result<Vec<T>> {
    let Some(filter) = filter else { return Ok(items) };
    let expr = filter.to_expr()?;
    let mut pairs: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    if expr.needs_key_values() {
        let loaded =
            loaders(ctx).map_annotations.load_many(items.iter().map(|i| (kind, id(i)))).await;
        let Ok(loaded) = loaded;
        for ((_, object), result) in loaded {
            let annotations = result.map_err(|e| crate::error::upstream(&e))?;
            let kv = key_values_of(&annotations).into_iter().map(|kv| (kv.key, kv.value)).collect();
            pairs.insert(object, kv);
        }
    }
    let empty = Vec::new();
    Ok(items
        .into_iter()
        .filter(|item| expr.matches(name(item).as_deref(), pairs.get(&id(item)).unwrap_or(&empty)))
        .collect())
}

fn map_annotation_list(annotations: &[Annotation], namespace: Option<&str>) -> Vec<MapAnnotation> {
    annotations
        .iter()
        .filter(|a| matches!(a.body, AnnotationBody::Map(_)))
        .filter(|a| namespace.is_none_or(|ns| a.namespace.as_deref() == Some(ns)))
        .map(|a| MapAnnotation(a.clone()))
        .collect()
}

/// Row labels run A–Z, then AA, AB, … like the gateway's.
fn row_letters(row: u32) -> String {
    let mut n = row as u64 + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        out.push(b'A' + rem);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------

/// One key/value pair of a map annotation. Order is meaningful and keys may repeat.
#[derive(Clone, Debug, SimpleObject)]
pub struct KeyValue {
    /// The key, such as `Gene Symbol`.
    pub key: String,
    /// The value; may be empty, and often packs a URL after a space.
    pub value: String,
}

/// The kinds of OMERO object an annotation can be linked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum ObjectType {
    /// A non-HCS study container.
    Project,
    /// A set of images in a project.
    Dataset,
    /// An image.
    Image,
    /// An HCS study container.
    Screen,
    /// A multi-well plate.
    Plate,
    /// A run (plate acquisition) of a plate.
    Acquisition,
    /// A well of a plate.
    Well,
}

impl From<ObjectKind> for ObjectType {
    fn from(kind: ObjectKind) -> ObjectType {
        match kind {
            ObjectKind::Project => ObjectType::Project,
            ObjectKind::Dataset => ObjectType::Dataset,
            ObjectKind::Image => ObjectType::Image,
            ObjectKind::Screen => ObjectType::Screen,
            ObjectKind::Plate => ObjectType::Plate,
            ObjectKind::Acquisition => ObjectType::Acquisition,
            ObjectKind::Well => ObjectType::Well,
        }
    }
}

/// The object an annotation is linked to.
#[derive(Clone, Debug, SimpleObject)]
pub struct AnnotatedObject {
    /// `null` for kinds this API does not model.
    pub kind: Option<ObjectType>,
    /// IDR's numeric id of the object.
    pub id: ID,
    /// The object's name (wells get one made from their plate labels, such as `A1`).
    pub name: Option<String>,
}

/// A map annotation: an ordered list of key/value pairs under a namespace, such as
/// `openmicroscopy.org/mapr/gene` or `idr.openmicroscopy.org/study/info`.
pub struct MapAnnotation(Annotation);

/// A map annotation: an ordered list of key/value pairs under a namespace, such as
/// `openmicroscopy.org/mapr/gene` or `idr.openmicroscopy.org/study/info`.
#[Object]
impl MapAnnotation {
    /// The annotation's id. IDR links one annotation to many objects, so ids repeat.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The annotation's namespace, such as `openmicroscopy.org/mapr/gene`.
    async fn namespace(&self) -> Option<&str> {
        self.0.namespace.as_deref()
    }
    /// The pairs in their stored order.
    async fn key_values(&self) -> Vec<KeyValue> {
        key_values_of(std::slice::from_ref(&self.0))
    }
    /// The object this annotation is linked to (for inherited annotations, the container).
    async fn source(&self) -> AnnotatedObject {
        AnnotatedObject {
            kind: self.0.parent.kind.map(ObjectType::from),
            id: id(self.0.parent.id),
            name: self.0.parent.name.clone(),
        }
    }
}

/// A file attached to an object: for screens, the bulk-annotation table and feature files.
pub struct FileAnnotation {
    annotation: Annotation,
    public_base: String,
}

/// A file attached to an object: for screens, the bulk-annotation table and feature files.
#[Object]
impl FileAnnotation {
    /// The annotation id (what the download URL uses).
    async fn id(&self) -> ID {
        id(self.annotation.id)
    }
    /// The annotation's namespace, such as `openmicroscopy.org/mapr/gene`.
    async fn namespace(&self) -> Option<&str> {
        self.annotation.namespace.as_deref()
    }
    /// `bulk_annotations` for the bulk table; often empty.
    async fn description(&self) -> Option<&str> {
        self.annotation.description.as_deref()
    }
    /// The file name.
    async fn name(&self) -> Option<&str> {
        match &self.annotation.body {
            AnnotationBody::File(f) => Some(&f.name),
            _ => None,
        }
    }
    /// Size in bytes. A Float because IDR's feature files exceed 2^31 bytes (some exceed a terabyte).
    async fn size(&self) -> Option<f64> {
        match &self.annotation.body {
            AnnotationBody::File(f) => f.size.map(|s| s as f64),
            _ => None,
        }
    }
    /// For example `OMERO.tables` for a bulk-annotation table (downloaded as HDF5, not CSV).
    async fn mimetype(&self) -> Option<&str> {
        match &self.annotation.body {
            AnnotationBody::File(f) => f.mimetype.as_deref(),
            _ => None,
        }
    }
    /// The OriginalFile id (the id of the table itself, used by table endpoints).
    async fn file_id(&self) -> Option<ID> {
        match &self.annotation.body {
            AnnotationBody::File(f) => Some(id(f.id)),
            _ => None,
        }
    }
    /// Absolute URL that downloads the file from IDR. Mind `size` before following it.
    async fn download_url(&self) -> String {
        format!("{}/webclient/annotation/{}/", self.public_base, self.annotation.id)
    }
}

/// One row of a bulk-annotation table (the study's CSV as imported into OMERO.tables).
pub struct BulkAnnotationRow(WellRow);

/// One row of a bulk-annotation table (the study's CSV as imported into OMERO.tables).
#[Object]
impl BulkAnnotationRow {
    /// Column names, in table order.
    async fn columns(&self) -> &[String] {
        &self.0.table.columns
    }
    /// Cell values as text, one per column; `null` for empty numeric cells (`NaN`).
    async fn values(&self) -> &[Option<String>] {
        self.0.values()
    }
    /// The value of one column (exact name first, then case-insensitive).
    async fn value(&self, column: String) -> Option<&str> {
        let i = self.0.table.column_index(&column)?;
        self.0.values().get(i)?.as_deref()
    }
}

/// How many objects carry one value of a key.
#[derive(Clone, Debug, SimpleObject)]
pub struct ValueCount {
    /// The value as the search engine indexes it: lower-cased, spaces kept.
    pub value: String,
    /// How many objects carry the value.
    pub count: u64,
}

/// Physical size of a pixel in micrometres.
#[derive(Clone, Debug, SimpleObject)]
pub struct PixelSize {
    /// Along x; `null` when unknown.
    pub x: Option<f64>,
    /// Along y; `null` when unknown.
    pub y: Option<f64>,
    /// Between focal planes; `null` when unknown.
    pub z: Option<f64>,
}

/// A channel of an image, with its rendering settings.
#[derive(Clone, Debug, SimpleObject)]
pub struct Channel {
    /// The channel's name, such as `DAPI`.
    pub label: String,
    /// Rendering colour as `RRGGBB`.
    pub color: String,
    /// Emission wavelength in nanometres, when recorded.
    pub emission_wavelength: Option<f64>,
    /// Whether the channel is shown by default.
    pub active: bool,
    /// Start of the rendering window (intensity mapped to black).
    pub window_start: Option<f64>,
    /// End of the rendering window (intensity mapped to full colour).
    pub window_end: Option<f64>,
}

// ---------------------------------------------------------------------------------------

/// A screen: a high-content screening study (or one part of it), holding plates.
#[derive(Clone)]
pub struct Screen {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) meta: Option<Arc<Container>>,
}

impl Screen {
    pub(crate) fn loaded(meta: Container) -> Screen {
        Screen { id: meta.id, name: Some(meta.name.clone()), meta: Some(Arc::new(meta)) }
    }

    async fn meta(&self, ctx: &Context<'_>) -> Result<Option<Arc<Container>>> {
        container_meta(ctx, ApiObject::Screen, self.id, &self.meta).await
    }
}

/// A screen: a high-content screening study (or one part of it), holding plates.
#[Object]
impl Screen {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The study name, e.g. `idr0002-heriche-condensation/screenA`.
    /// The object's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(self.meta(ctx).await?.map(|m| m.name.clone())),
        }
    }
    /// The description, when there is one.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.meta(ctx).await?.and_then(|m| m.description.clone()))
    }
    /// All key/value pairs of the screen's map annotations (the study information), in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Screen, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Screen, self.id, &key).await.map(Some)
    }
    /// The screen's map annotations, optionally only those of one namespace.
    async fn annotations(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> Result<Option<Vec<MapAnnotation>>> {
        annotations_for(ctx, ObjectKind::Screen, self.id, namespace.as_deref()).await.map(Some)
    }
    /// The plates of the screen, in IDR's order (by name, case-insensitive), optionally
    /// only those matching `where` (on their names and key/values).
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    async fn plates(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Page<Plate>>> {
        let args = PageArgs::new(first, after.as_deref())?;
        let plates = client(ctx).children(Children::Plates, self.id).await.gql()?;
        let screen = (self.id, self.name.clone());
        let plates = plates
            .into_iter()
            .map(|p| Plate {
                id: p.id,
                name: Some(p.name),
                screen: Some(screen.clone()),
                meta: None,
            })
            .collect();
        let plates = keep_matching(
            ctx,
            plates,
            filter.as_ref(),
            ObjectKind::Plate,
            |p| p.id,
            |p| p.name.clone(),
        )
        .await?;
        Ok(Some(connection::slice(plates, args)))
    }
    /// Files attached to the screen (the bulk-annotation table, feature files).
    async fn file_annotations(&self, ctx: &Context<'_>) -> Result<Option<Vec<FileAnnotation>>> {
        let annotations =
            load_one(&loaders(ctx).file_annotations, (ObjectKind::Screen, self.id)).await?;
        let public_base = client(ctx).public_url("");
        let public_base = public_base.trim_end_matches('/').to_owned();
        Ok(Some(
            annotations
                .iter()
                .flat_map(|list| list.iter())
                .filter(|a| matches!(a.body, AnnotationBody::File(_)))
                .map(|a| FileAnnotation { annotation: a.clone(), public_base: public_base.clone() })
                .collect(),
        ))
    }
    /// The screen in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=screen-{}", self.id))
    }
}

/// A multi-well plate of a screen.
#[derive(Clone)]
pub struct Plate {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The screen it was reached through, with its name if known.
    pub(crate) screen: Option<(u64, Option<String>)>,
    pub(crate) meta: Option<Arc<PlateMeta>>,
}

impl Plate {
    async fn meta(&self, ctx: &Context<'_>) -> Result<Option<Arc<PlateMeta>>> {
        if let Some(meta) = &self.meta {
            return Ok(Some(meta.clone()));
        }
        Ok(client(ctx).plate(self.id).await.gql()?.map(Arc::new))
    }

    async fn grid(&self, ctx: &Context<'_>, field: u32) -> Result<Option<Arc<PlateGrid>>> {
        load_one(&loaders(ctx).grids, (self.id, field)).await
    }

    /// Labels from the plate's own size and naming; from the grid's labels (cut to the
    /// plate's size when known) only when the plate does not say its naming.
    async fn labels(&self, ctx: &Context<'_>, axis: Axis) -> Result<Vec<String>> {
        let meta = self.meta(ctx).await?;
        let (count, naming) = match (axis, meta.as_deref()) {
            (_, None) => (None, None),
            (Axis::Rows, Some(meta)) => (meta.rows, meta.row_naming.as_deref()),
            (Axis::Columns, Some(meta)) => (meta.columns, meta.column_naming.as_deref()),
        };
        let label = |i: u32| match naming {
            Some(n) if n.eq_ignore_ascii_case("letter") => Some(row_letters(i)),
            Some(n) if n.eq_ignore_ascii_case("number") => Some((i + 1).to_string()),
            _ => None,
        };
        if let (Some(count), Some(_)) = (count, label(0)) {
            return Ok((0..count).filter_map(label).collect());
        }
        let grid = self.grid(ctx, 0).await?;
        let labels = grid
            .map(|g| match axis {
                Axis::Rows => g.row_labels.clone(),
                Axis::Columns => g.column_labels.clone(),
            })
            .unwrap_or_default();
        Ok(match count {
            Some(count) => labels.into_iter().take(count as usize).collect(),
            None => labels,
        })
    }
}

#[derive(Clone, Copy)]
enum Axis {
    Rows,
    Columns,
}

/// A multi-well plate of a screen.
#[Object]
impl Plate {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The object's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(self.meta(ctx).await?.map(|m| m.name.clone())),
        }
    }
    /// The screen the plate belongs to.
    async fn screen(&self, ctx: &Context<'_>) -> Result<Option<Screen>> {
        let screen = match &self.screen {
            Some(screen) => Some(screen.clone()),
            None => parent(ctx, ApiObject::Plate, self.id).await?,
        };
        Ok(screen.map(|(id, name)| Screen { id, name, meta: None }))
    }
    /// The plate's row labels, such as `A`…`H`: as many as it really has rows (IDR's web
    /// grid pads small plates to 8 × 12).
    async fn row_labels(&self, ctx: &Context<'_>) -> Result<Option<Vec<String>>> {
        self.labels(ctx, Axis::Rows).await.map(Some)
    }
    /// The plate's column labels, such as `1`…`12`.
    async fn column_labels(&self, ctx: &Context<'_>) -> Result<Option<Vec<String>>> {
        self.labels(ctx, Axis::Columns).await.map(Some)
    }
    /// How many fields (images per well) the plate has.
    async fn field_count(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self
            .meta(ctx)
            .await?
            .and_then(|m| m.field_index_range)
            .map(|(lo, hi)| (hi.saturating_sub(lo) + 1) as i32))
    }
    /// The wells that hold an image at `field` (0-based), in row-major order, each with
    /// that field's image. One upstream call per plate and field. `null` (with an error)
    /// when the plate's grid cannot be read, without failing sibling plates.
    /// With `where`, only the wells matching it (on their labels, as `name`, and their
    /// key/values).
    #[graphql(complexity = "384 * child_complexity")]
    async fn wells(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] field: i32,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
    ) -> Result<Option<Vec<Well>>> {
        let field = crate::args::field_index(field)?;
        let Some(grid) = self.grid(ctx, field).await? else { return Ok(None) };
        // Prime the loaders with every image and well of the plate, so their key/values
        // and bulk rows are one batch each. Failures stay cached per key and are reported
        // at the field that asks.
        let images = ctx.look_ahead().field("images");
        if images.field("keyValues").exists() || images.field("annotations").exists() {
            let keys = grid.cells.iter().map(|c| (ObjectKind::Image, c.image_id));
            let _ = loaders(ctx).map_annotations.load_many(keys).await;
        }
        if ctx.look_ahead().field("bulkAnnotation").exists() {
            let keys = grid.cells.iter().map(|c| WellKey { well: c.well_id, plate: Some(self.id) });
            let _ = loaders(ctx).well_rows.load_many(keys).await;
        }
        let plate = (self.id, self.name.clone());
        let wells: Vec<Well> = grid
            .cells
            .iter()
            .map(|cell| Well::from_grid(&grid, cell, plate.clone(), self.screen.clone()))
            .collect();
        let label = |w: &Well| w.position.as_ref().map(|p| p.label.clone());
        Ok(Some(
            keep_matching(ctx, wells, filter.as_ref(), ObjectKind::Well, |w| w.id, label).await?,
        ))
    }
    /// The images at `field` (0-based) of every well, in row-major order, optionally only
    /// those matching `where` (on their names and key/values, checked here with the
    /// key/values of the whole plate loaded in one batch). `null` (with an error) when the
    /// plate's grid cannot be read.
    #[graphql(complexity = "384 * child_complexity")]
    async fn images(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 0)] field: i32,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
    ) -> Result<Option<Vec<Image>>> {
        let field = crate::args::field_index(field)?;
        let Some(grid) = self.grid(ctx, field).await? else { return Ok(None) };
        if ctx.look_ahead().field("keyValues").exists()
            || ctx.look_ahead().field("annotations").exists()
        {
            let keys = grid.cells.iter().map(|c| (ObjectKind::Image, c.image_id));
            let _ = loaders(ctx).map_annotations.load_many(keys).await;
        }
        let plate = (self.id, self.name.clone());
        let images: Vec<Image> = grid
            .cells
            .iter()
            .filter_map(|cell| {
                Well::from_grid(&grid, cell, plate.clone(), self.screen.clone()).images?.pop()
            })
            .collect();
        Ok(Some(
            keep_matching(
                ctx,
                images,
                filter.as_ref(),
                ObjectKind::Image,
                |i| i.id,
                |i| i.name.clone(),
            )
            .await?,
        ))
    }
    /// All key/value pairs of the plate's map annotations, in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Plate, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Plate, self.id, &key).await.map(Some)
    }
    /// The plate in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=plate-{}", self.id))
    }
}

/// Where a well sits in its plate.
#[derive(Clone, Debug)]
pub(crate) struct WellPosition {
    row: u32,
    column: u32,
    label: String,
}

/// A well of a plate, with the images of its fields.
#[derive(Clone)]
pub struct Well {
    pub(crate) id: u64,
    pub(crate) plate: Option<(u64, Option<String>)>,
    pub(crate) screen: Option<(u64, Option<String>)>,
    pub(crate) position: Option<WellPosition>,
    pub(crate) images: Option<Vec<Image>>,
}

impl Well {
    fn from_grid(
        grid: &PlateGrid,
        cell: &GridCell,
        plate: (u64, Option<String>),
        screen: Option<(u64, Option<String>)>,
    ) -> Well {
        let row_label = grid
            .row_labels
            .get(cell.row as usize)
            .cloned()
            .unwrap_or_else(|| row_letters(cell.row));
        let column_label = grid
            .column_labels
            .get(cell.column as usize)
            .cloned()
            .unwrap_or_else(|| (cell.column + 1).to_string());
        let image = Image {
            id: cell.image_id,
            name: Some(cell.image_name.clone()),
            thumb_path: Some(cell.thumb_url.clone()).filter(|t| !t.is_empty()),
            well: Some(cell.well_id),
            plate: Some(plate.clone()),
            screen: screen.clone(),
            ..Image::new(cell.image_id)
        };
        Well {
            id: cell.well_id,
            plate: Some(plate),
            screen,
            position: Some(WellPosition {
                row: cell.row,
                column: cell.column,
                label: format!("{row_label}{column_label}"),
            }),
            images: Some(vec![image]),
        }
    }

    pub(crate) fn from_meta(meta: WellMeta) -> Well {
        let position = WellPosition {
            row: meta.row,
            column: meta.column,
            label: format!("{}{}", row_letters(meta.row), meta.column + 1),
        };
        let images = meta
            .images
            .into_iter()
            .map(|i| Image { name: i.name, well: Some(meta.id), ..Image::new(i.id) })
            .collect();
        Well {
            id: meta.id,
            plate: None,
            screen: None,
            position: Some(position),
            images: Some(images),
        }
    }

    async fn position(&self, ctx: &Context<'_>) -> Result<Option<WellPosition>> {
        if let Some(p) = &self.position {
            return Ok(Some(p.clone()));
        }
        Ok(client(ctx).well(self.id).await.gql()?.and_then(|m| Well::from_meta(m).position))
    }
}

/// A well of a plate, with the images of its fields.
#[Object]
impl Well {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// 0-based row index in the plate.
    async fn row(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.position(ctx).await?.map(|p| p.row as i32))
    }
    /// 0-based column index in the plate.
    async fn column(&self, ctx: &Context<'_>) -> Result<Option<i32>> {
        Ok(self.position(ctx).await?.map(|p| p.column as i32))
    }
    /// The well's name from the plate's labels, such as `A1` or `H12`.
    async fn label(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.position(ctx).await?.map(|p| p.label))
    }
    /// The plate the well belongs to.
    async fn plate(&self, ctx: &Context<'_>) -> Result<Option<Plate>> {
        let plate = match &self.plate {
            Some(plate) => Some(plate.clone()),
            None => parent(ctx, ApiObject::Well, self.id).await?,
        };
        Ok(plate.map(|(id, name)| Plate { id, name, screen: self.screen.clone(), meta: None }))
    }
    /// The well's images: the requested field's image when reached through `Plate.wells`,
    /// every field's image when fetched on its own.
    async fn images(&self, ctx: &Context<'_>) -> Result<Option<Vec<Image>>> {
        if let Some(images) = &self.images {
            return Ok(Some(images.clone()));
        }
        Ok(Some(
            client(ctx)
                .well(self.id)
                .await
                .gql()?
                .map(|m| Well::from_meta(m).images.unwrap_or_default())
                .unwrap_or_default(),
        ))
    }
    /// All key/value pairs of the well's map annotations, in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Well, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Well, self.id, &key).await.map(Some)
    }
    /// The well's map annotations, optionally only those of one namespace.
    async fn annotations(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> Result<Option<Vec<MapAnnotation>>> {
        annotations_for(ctx, ObjectKind::Well, self.id, namespace.as_deref()).await.map(Some)
    }
    /// The well's row of its screen's bulk-annotation table; `null` when it has none.
    async fn bulk_annotation(&self, ctx: &Context<'_>) -> Result<Option<BulkAnnotationRow>> {
        let key = WellKey { well: self.id, plate: self.plate.as_ref().map(|p| p.0) };
        Ok(load_one(&loaders(ctx).well_rows, key).await?.map(BulkAnnotationRow))
    }
}

/// An image, with links to view it and its thumbnail.
#[derive(Clone)]
pub struct Image {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The grid's relative `thumb_url`, when the image came from a plate grid.
    pub(crate) thumb_path: Option<String>,
    pub(crate) well: Option<u64>,
    pub(crate) plate: Option<(u64, Option<String>)>,
    pub(crate) screen: Option<(u64, Option<String>)>,
    pub(crate) dataset: Option<(u64, Option<String>)>,
    pub(crate) project: Option<(u64, Option<String>)>,
    /// Key/values the search engine already returned with the image.
    pub(crate) data: Option<Arc<ImageData>>,
}

impl Image {
    pub(crate) fn new(id: u64) -> Image {
        Image {
            id,
            name: None,
            thumb_path: None,
            well: None,
            plate: None,
            screen: None,
            dataset: None,
            project: None,
            data: None,
        }
    }

    async fn data(&self, ctx: &Context<'_>) -> Result<Option<Arc<ImageData>>> {
        if let Some(data) = &self.data {
            return Ok(Some(data.clone()));
        }
        load_one(&loaders(ctx).images, self.id).await
    }

    /// The well: known from how the image was reached, or from its `imgData`.
    async fn well_id(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        match self.well {
            Some(well) => Ok(Some(well)),
            None => Ok(self.data(ctx).await?.and_then(|d| d.well_id)),
        }
    }

    /// The plate: known from how the image was reached, or its well's.
    async fn plate_ref(&self, ctx: &Context<'_>) -> Result<Option<(u64, Option<String>)>> {
        if let Some(plate) = &self.plate {
            return Ok(Some(plate.clone()));
        }
        match self.well_id(ctx).await? {
            Some(well) => parent(ctx, ApiObject::Well, well).await,
            None => Ok(None),
        }
    }

    /// The screen: known from how the image was reached, or its plate's.
    async fn screen_ref(&self, ctx: &Context<'_>) -> Result<Option<(u64, Option<String>)>> {
        if let Some(screen) = &self.screen {
            return Ok(Some(screen.clone()));
        }
        match self.plate_ref(ctx).await? {
            Some((plate, _)) => parent(ctx, ApiObject::Plate, plate).await,
            None => Ok(None),
        }
    }

    /// The dataset: known from how the image was reached, or from its `imgData`.
    async fn dataset_ref(&self, ctx: &Context<'_>) -> Result<Option<(u64, Option<String>)>> {
        if let Some(dataset) = &self.dataset {
            return Ok(Some(dataset.clone()));
        }
        Ok(self.data(ctx).await?.and_then(|d| d.dataset_id).map(|id| (id, None)))
    }

    /// The project: known from how the image was reached, from its `imgData`, or its
    /// dataset's.
    async fn project_ref(&self, ctx: &Context<'_>) -> Result<Option<(u64, Option<String>)>> {
        if let Some(project) = &self.project {
            return Ok(Some(project.clone()));
        }
        if let Some(id) = self.data(ctx).await?.and_then(|d| d.project_id) {
            return Ok(Some((id, None)));
        }
        match self.dataset_ref(ctx).await? {
            Some((dataset, _)) => parent(ctx, ApiObject::Dataset, dataset).await,
            None => Ok(None),
        }
    }

    /// The containers this image sits in, nearest first, however it was reached.
    async fn containers(&self, ctx: &Context<'_>) -> Result<Vec<(ObjectKind, u64)>> {
        let mut out = Vec::new();
        if let Some(well) = self.well_id(ctx).await? {
            out.push((ObjectKind::Well, well));
            if let Some((plate, _)) = self.plate_ref(ctx).await? {
                out.push((ObjectKind::Plate, plate));
            }
            if let Some((screen, _)) = self.screen_ref(ctx).await? {
                out.push((ObjectKind::Screen, screen));
            }
        }
        if let Some((dataset, _)) = self.dataset_ref(ctx).await? {
            out.push((ObjectKind::Dataset, dataset));
        }
        if let Some((project, _)) = self.project_ref(ctx).await? {
            out.push((ObjectKind::Project, project));
        }
        Ok(out)
    }
}

/// An image, with links to view it and its thumbnail.
#[Object]
impl Image {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The object's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(self.data(ctx).await?.map(|d| d.name.clone())),
        }
    }
    /// The description, when there is one.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.data(ctx).await?.map(|d| d.description.clone()).filter(|d| !d.is_empty()))
    }
    /// Absolute URL of the JPEG thumbnail on IDR (96 px on the longest side unless `size`
    /// gives another, 16–1024).
    async fn thumbnail_url(&self, ctx: &Context<'_>, size: Option<i32>) -> Result<String> {
        let path = match (crate::args::thumbnail_size(size)?, &self.thumb_path) {
            (None, Some(path)) => path.clone(),
            (None, None) => format!("/webgateway/render_thumbnail/{}/", self.id),
            (Some(size), _) => format!("/webgateway/render_thumbnail/{}/{size}/", self.id),
        };
        Ok(client(ctx).public_url(&path))
    }
    /// The image in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=image-{}", self.id))
    }
    /// The image in IDR's full-resolution viewer.
    async fn viewer_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/img_detail/{}/", self.id))
    }
    /// Width in pixels.
    async fn width(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        Ok(self.data(ctx).await?.and_then(|d| d.size).map(|s| s.width))
    }
    /// Height in pixels.
    async fn height(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        Ok(self.data(ctx).await?.and_then(|d| d.size).map(|s| s.height))
    }
    /// Number of focal planes.
    async fn size_z(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        Ok(self.data(ctx).await?.and_then(|d| d.size).map(|s| s.z))
    }
    /// Number of time points.
    async fn size_t(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        Ok(self.data(ctx).await?.and_then(|d| d.size).map(|s| s.t))
    }
    /// Number of channels.
    async fn size_c(&self, ctx: &Context<'_>) -> Result<Option<u64>> {
        Ok(self.data(ctx).await?.and_then(|d| d.size).map(|s| s.c))
    }
    /// Physical pixel size in micrometres.
    async fn pixel_size(&self, ctx: &Context<'_>) -> Result<Option<PixelSize>> {
        Ok(self.data(ctx).await?.map(|d| PixelSize {
            x: d.pixel_size.x,
            y: d.pixel_size.y,
            z: d.pixel_size.z,
        }))
    }
    /// Pixel type, such as `uint16`.
    async fn pixels_type(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.data(ctx).await?.and_then(|d| d.pixels_type.clone()))
    }
    /// The channels with their rendering settings.
    async fn channels(&self, ctx: &Context<'_>) -> Result<Option<Vec<Channel>>> {
        let Some(data) = self.data(ctx).await? else { return Ok(Some(Vec::new())) };
        Ok(Some(
            data.channels
                .iter()
                .map(|c| Channel {
                    label: c.label.clone(),
                    color: c.color.clone(),
                    emission_wavelength: c.emission_wavelength,
                    active: c.active,
                    window_start: c.window.map(|w| w.start),
                    window_end: c.window.map(|w| w.end),
                })
                .collect(),
        ))
    }
    /// All key/value pairs of the image's own map annotations, in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Image, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Image, self.id, &key).await.map(Some)
    }
    /// The image's map annotations; with `inherited: true` also those of the well, plate,
    /// screen, dataset and project it sits in (see each annotation's `source`).
    async fn annotations(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = false)] inherited: bool,
        namespace: Option<String>,
    ) -> Result<Option<Vec<MapAnnotation>>> {
        let mut keys = vec![(ObjectKind::Image, self.id)];
        if inherited {
            keys.extend(self.containers(ctx).await?);
        }
        let lists = futures_util::future::try_join_all(
            keys.iter().map(|key| load_one(&loaders(ctx).map_annotations, *key)),
        )
        .await?;
        Ok(Some(
            lists
                .iter()
                .flatten()
                .flat_map(|list| map_annotation_list(list, namespace.as_deref()))
                .collect(),
        ))
    }
    /// The well the image belongs to (HCS images only).
    async fn well(&self, ctx: &Context<'_>) -> Result<Option<Well>> {
        Ok(self.well_id(ctx).await?.map(|id| Well {
            id,
            plate: self.plate.clone(),
            screen: self.screen.clone(),
            position: None,
            images: None,
        }))
    }
    /// The plate the image belongs to (HCS images only).
    async fn plate(&self, ctx: &Context<'_>) -> Result<Option<Plate>> {
        let plate = self.plate_ref(ctx).await?;
        Ok(plate.map(|(id, name)| Plate { id, name, screen: self.screen.clone(), meta: None }))
    }
    /// The screen the image belongs to (HCS images only).
    async fn screen(&self, ctx: &Context<'_>) -> Result<Option<Screen>> {
        Ok(self.screen_ref(ctx).await?.map(|(id, name)| Screen { id, name, meta: None }))
    }
    /// The dataset the image belongs to (non-HCS images with a single dataset).
    async fn dataset(&self, ctx: &Context<'_>) -> Result<Option<Dataset>> {
        Ok(self.dataset_ref(ctx).await?.map(|(id, name)| Dataset {
            id,
            name,
            project: self.project.clone(),
            meta: None,
        }))
    }
    /// The project the image belongs to (non-HCS images with a single project).
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        Ok(self.project_ref(ctx).await?.map(|(id, name)| Project { id, name, meta: None }))
    }
}

/// A project: a non-HCS study (or one experiment of it), holding datasets.
#[derive(Clone)]
pub struct Project {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) meta: Option<Arc<Container>>,
}

impl Project {
    pub(crate) fn loaded(meta: Container) -> Project {
        Project { id: meta.id, name: Some(meta.name.clone()), meta: Some(Arc::new(meta)) }
    }

    async fn meta(&self, ctx: &Context<'_>) -> Result<Option<Arc<Container>>> {
        container_meta(ctx, ApiObject::Project, self.id, &self.meta).await
    }
}

/// A project: a non-HCS study (or one experiment of it), holding datasets.
#[Object]
impl Project {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The study name, e.g. `idr0021-lawo-pericentriolarmaterial/experimentA`.
    /// The object's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(self.meta(ctx).await?.map(|m| m.name.clone())),
        }
    }
    /// The description, when there is one.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.meta(ctx).await?.and_then(|m| m.description.clone()))
    }
    /// All key/value pairs of the project's map annotations (the study information), in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Project, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Project, self.id, &key).await.map(Some)
    }
    /// The project's map annotations, optionally only those of one namespace.
    async fn annotations(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> Result<Option<Vec<MapAnnotation>>> {
        annotations_for(ctx, ObjectKind::Project, self.id, namespace.as_deref()).await.map(Some)
    }
    /// The datasets of the project, by name, optionally only those matching `where` (on
    /// their names and key/values).
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    async fn datasets(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Page<Dataset>>> {
        let args = PageArgs::new(first, after.as_deref())?;
        let datasets = client(ctx).children(Children::Datasets, self.id).await.gql()?;
        let project = (self.id, self.name.clone());
        let datasets = datasets
            .into_iter()
            .map(|d| Dataset {
                id: d.id,
                name: Some(d.name),
                project: Some(project.clone()),
                meta: None,
            })
            .collect();
        let datasets = keep_matching(
            ctx,
            datasets,
            filter.as_ref(),
            ObjectKind::Dataset,
            |d| d.id,
            |d| d.name.clone(),
        )
        .await?;
        Ok(Some(connection::slice(datasets, args)))
    }
    /// The project in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=project-{}", self.id))
    }
}

/// A dataset of a project, holding images.
#[derive(Clone)]
pub struct Dataset {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) project: Option<(u64, Option<String>)>,
    pub(crate) meta: Option<Arc<Container>>,
}

impl Dataset {
    pub(crate) fn loaded(meta: Container) -> Dataset {
        Dataset {
            id: meta.id,
            name: Some(meta.name.clone()),
            project: None,
            meta: Some(Arc::new(meta)),
        }
    }

    async fn meta(&self, ctx: &Context<'_>) -> Result<Option<Arc<Container>>> {
        container_meta(ctx, ApiObject::Dataset, self.id, &self.meta).await
    }
}

/// A dataset of a project, holding images.
#[Object]
impl Dataset {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// The object's name.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(self.meta(ctx).await?.map(|m| m.name.clone())),
        }
    }
    /// The description, when there is one.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.meta(ctx).await?.and_then(|m| m.description.clone()))
    }
    /// The project the dataset belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let project = match &self.project {
            Some(project) => Some(project.clone()),
            None => parent(ctx, ApiObject::Dataset, self.id).await?,
        };
        Ok(project.map(|(id, name)| Project { id, name, meta: None }))
    }
    /// All key/value pairs of the dataset's map annotations, in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, ObjectKind::Dataset, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, ObjectKind::Dataset, self.id, &key).await.map(Some)
    }
    /// The images of the dataset, by name, optionally only those matching `where` (on
    /// their names and key/values, checked here).
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    async fn images(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Page<Image>>> {
        let args = PageArgs::new(first, after.as_deref())?;
        let images = client(ctx).children(Children::Images, self.id).await.gql()?;
        let dataset = (self.id, self.name.clone());
        let images = images
            .into_iter()
            .map(|i| Image {
                name: Some(i.name),
                dataset: Some(dataset.clone()),
                project: self.project.clone(),
                ..Image::new(i.id)
            })
            .collect();
        let images = keep_matching(
            ctx,
            images,
            filter.as_ref(),
            ObjectKind::Image,
            |i| i.id,
            |i| i.name.clone(),
        )
        .await?;
        Ok(Some(connection::slice(images, args)))
    }
    /// The dataset in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=dataset-{}", self.id))
    }
}
