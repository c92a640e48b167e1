//! High-content screening: screens, their plates, and the plates' wells.

use super::*;

/// A screen: a high-content screening study (or one part of it), holding plates.
#[derive(Clone)]
pub struct Screen {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    pub(crate) meta: Option<Arc<Container>>,
}

impl Screen {
    pub(crate) fn loaded(meta: Arc<Container>) -> Screen {
        Screen { id: meta.id, name: Some(meta.name.clone()), meta: Some(meta) }
    }
}

/// A screen: a high-content screening study (or one part of it), holding plates.
#[Object]
impl Screen {
    /// `id`, `name`, `description`, `keyValues`, `values(key:)`, `annotations` and
    /// `webclientUrl`, as on every container.
    #[graphql(flatten)]
    async fn container_fields(&self) -> ContainerFields {
        ContainerFields::new(ApiObject::Screen, self.id, &self.name, &self.meta)
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
        let screen = Parent::new(self.id, self.name.clone());
        let args = PageArgs::new(first, after.as_deref())?;
        children_page(ctx, Children::Plates, screen, filter, args, |p, screen| Plate {
            id: p.id,
            name: Some(p.name),
            screen: Some(screen.clone()),
            meta: None,
        })
        .await
    }
    /// Files attached to the screen (the bulk-annotation table, feature files).
    async fn file_annotations(&self, ctx: &Context<'_>) -> Result<Option<Vec<FileAnnotation>>> {
        file_annotations(ctx, ObjectKind::Screen, self.id).await
    }
}

/// A multi-well plate of a screen.
#[derive(Clone)]
pub struct Plate {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The screen it was reached through, with its name if known.
    pub(crate) screen: Option<Parent>,
    pub(crate) meta: Option<Arc<PlateMeta>>,
}

impl Plate {
    async fn meta(&self, ctx: &Context<'_>) -> Result<Option<Arc<PlateMeta>>> {
        if let Some(meta) = &self.meta {
            return Ok(Some(meta.clone()));
        }
        client(ctx).plate(self.id).await.gql()
    }

    async fn grid(&self, ctx: &Context<'_>, field: u32) -> Result<Option<Arc<PlateGrid>>> {
        load_one(&loaders(ctx).grids, (self.id, field)).await
    }

    /// Loads, all at once and as soon as the grid is there, what a selection of the
    /// plate's images (`images`) and wells (`wells`, when the wells were asked for) will
    /// read: the images' key/values and details (`imgData`), the wells' key/values and
    /// bulk rows (the typed biology reads the same key/values), and
    /// the plate's screen when it was not reached through it. Every key is known, so no
    /// batch waits for a timer, and the loads share the client's cap instead of waiting
    /// in turn. Failures stay cached per key and are reported at the field that asks.
    async fn prime(
        &self,
        ctx: &Context<'_>,
        grid: &PlateGrid,
        images: &async_graphql::Lookahead<'_>,
        wells: Option<&async_graphql::Lookahead<'_>>,
    ) {
        let image_ids = || grid.cells.iter().map(|c| c.image_id);
        let mut annotation_keys = Vec::new();
        if crate::objects::image::MAP_FIELDS.iter().any(|f| images.field(f).exists()) {
            annotation_keys = image_ids().map(|id| (ObjectKind::Image, id)).collect();
        }
        if wells
            .is_some_and(|w| crate::objects::image::MAP_FIELDS.iter().any(|f| w.field(f).exists()))
        {
            let mut seen = std::collections::HashSet::new();
            annotation_keys.extend(
                grid.cells
                    .iter()
                    .filter(|c| seen.insert(c.well_id))
                    .map(|c| (ObjectKind::Well, c.well_id)),
            );
        }
        let mut data_keys = Vec::new();
        if crate::objects::image::needs_data(images) {
            data_keys = image_ids().collect();
        }
        let mut row_keys = Vec::new();
        if wells.is_some_and(|w| w.field("bulkAnnotation").exists()) {
            row_keys = grid
                .cells
                .iter()
                .map(|c| WellKey { well: c.well_id, plate: Some(self.id) })
                .collect();
        }
        let mut screen_keys = Vec::new();
        let screen_asked =
            images.field("screen").exists() || wells.is_some_and(|w| w.field("screen").exists());
        if self.screen.is_none() && screen_asked {
            screen_keys.push((ApiObject::Plate, self.id));
        }
        let loaders = loaders(ctx);
        futures_util::future::join4(
            prime(&loaders.map_annotations, annotation_keys),
            prime(&loaders.images, data_keys),
            prime(&loaders.well_rows, row_keys),
            prime(&loaders.parents, screen_keys),
        )
        .await;
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
    /// `id`, `keyValues`, `values(key:)`, `annotations` and `webclientUrl`, as on every
    /// object but an image.
    #[graphql(flatten)]
    async fn annotated_fields(&self) -> AnnotatedFields {
        AnnotatedFields::new(ObjectKind::Plate, self.id)
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
        Ok(screen.map(|Parent { id, name }| Screen { id, name, meta: None }))
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
        let wells = ctx.look_ahead();
        self.prime(ctx, &grid, &wells.field("images"), Some(&wells)).await;
        let plate = Parent::new(self.id, self.name.clone());
        let wells: Vec<Well> = grid
            .cells
            .iter()
            .map(|cell| Well::from_grid(&grid, cell, plate.clone(), self.screen.clone()))
            .collect();
        Ok(Some(keep_matching(ctx, wells, filter.as_ref()).await?))
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
        self.prime(ctx, &grid, &ctx.look_ahead(), None).await;
        let plate = Parent::new(self.id, self.name.clone());
        let images: Vec<Image> = grid
            .cells
            .iter()
            .filter_map(|cell| {
                Well::from_grid(&grid, cell, plate.clone(), self.screen.clone()).images?.pop()
            })
            .collect();
        Ok(Some(keep_matching(ctx, images, filter.as_ref()).await?))
    }
}

/// Where a well sits in its plate.
#[derive(Clone, Debug)]
pub(crate) struct WellPosition {
    row: u32,
    column: u32,
    pub(super) label: String,
}

/// A well of a plate, with the images of its fields.
#[derive(Clone)]
pub struct Well {
    pub(crate) id: u64,
    pub(crate) plate: Option<Parent>,
    pub(crate) screen: Option<Parent>,
    pub(crate) position: Option<WellPosition>,
    pub(crate) images: Option<Vec<Image>>,
}

impl Well {
    fn from_grid(grid: &PlateGrid, cell: &GridCell, plate: Parent, screen: Option<Parent>) -> Well {
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

    pub(crate) fn from_meta(meta: &WellMeta) -> Well {
        let position = WellPosition {
            row: meta.row,
            column: meta.column,
            label: format!("{}{}", row_letters(meta.row), meta.column + 1),
        };
        let images = meta
            .images
            .iter()
            .map(|i| Image { name: i.name.clone(), well: Some(meta.id), ..Image::new(i.id) })
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
        Ok(client(ctx).well(self.id).await.gql()?.and_then(|m| Well::from_meta(&m).position))
    }
}

/// A well of a plate, with the images of its fields.
#[Object]
impl Well {
    /// `id`, `keyValues`, `values(key:)`, `annotations` and `webclientUrl`, as on every
    /// object but an image.
    #[graphql(flatten)]
    async fn annotated_fields(&self) -> AnnotatedFields {
        AnnotatedFields::new(ObjectKind::Well, self.id)
    }
    /// `genes`, `phenotypes`, `sirnas`, `compounds`, `antibodies`, `organism` and
    /// `cellLine`, read from the well's own map annotations, as on images.
    #[graphql(flatten)]
    async fn biology(&self) -> BiologyFields {
        BiologyFields::new(ObjectKind::Well, self.id)
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
        Ok(plate.map(|Parent { id, name }| Plate {
            id,
            name,
            screen: self.screen.clone(),
            meta: None,
        }))
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
                .map(|m| Well::from_meta(&m).images.unwrap_or_default())
                .unwrap_or_default(),
        ))
    }
    /// The well's row of its screen's bulk-annotation table; `null` when it has none.
    async fn bulk_annotation(&self, ctx: &Context<'_>) -> Result<Option<BulkAnnotationRow>> {
        let key = WellKey { well: self.id, plate: self.plate.as_ref().map(|p| p.id) };
        Ok(load_one(&loaders(ctx).well_rows, key).await?.map(BulkAnnotationRow))
    }
}
