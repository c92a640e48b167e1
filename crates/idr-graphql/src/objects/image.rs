//! Images, with their pixels, channels and containers.

use super::*;

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

/// An image, with links to view it and its thumbnail.
#[derive(Clone)]
pub struct Image {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
    /// The grid's relative `thumb_url`, when the image came from a plate grid.
    pub(crate) thumb_path: Option<String>,
    pub(crate) well: Option<u64>,
    pub(crate) plate: Option<Parent>,
    pub(crate) screen: Option<Parent>,
    pub(crate) dataset: Option<Parent>,
    pub(crate) project: Option<Parent>,
    /// Key/values the search engine already returned with the image.
    pub(crate) data: Option<Arc<ImageData>>,
}

/// The fields that read the image's map annotations (one batch per plate primes them all).
pub(crate) const MAP_FIELDS: &[&str] = &[
    "keyValues",
    "values",
    "annotations",
    "genes",
    "phenotypes",
    "sirnas",
    "compounds",
    "antibodies",
    "organism",
    "cellLine",
];

/// The fields of an image that read its details (`imgData`) when it was reached from a
/// plate's grid, which gives its id, name and containers but no sizes.
const DATA_FIELDS: &[&str] = &[
    "description",
    "width",
    "height",
    "sizeZ",
    "sizeT",
    "sizeC",
    "pixelSize",
    "pixelsType",
    "channels",
    "dataset",
    "project",
];

/// Whether `images` (a selection of a plate's images) reads their details.
pub(crate) fn needs_data(images: &async_graphql::Lookahead<'_>) -> bool {
    DATA_FIELDS.iter().any(|f| images.field(f).exists())
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

    /// The image's details (`imgData`), from how it was reached or one call.
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
    async fn plate_ref(&self, ctx: &Context<'_>) -> Result<Option<Parent>> {
        if let Some(plate) = &self.plate {
            return Ok(Some(plate.clone()));
        }
        match self.well_id(ctx).await? {
            Some(well) => parent(ctx, ApiObject::Well, well).await,
            None => Ok(None),
        }
    }

    /// The screen: known from how the image was reached, or its plate's.
    async fn screen_ref(&self, ctx: &Context<'_>) -> Result<Option<Parent>> {
        if let Some(screen) = &self.screen {
            return Ok(Some(screen.clone()));
        }
        match self.plate_ref(ctx).await? {
            Some(plate) => parent(ctx, ApiObject::Plate, plate.id).await,
            None => Ok(None),
        }
    }

    /// The dataset: known from how the image was reached, or from its `imgData`.
    async fn dataset_ref(&self, ctx: &Context<'_>) -> Result<Option<Parent>> {
        if let Some(dataset) = &self.dataset {
            return Ok(Some(dataset.clone()));
        }
        Ok(self.data(ctx).await?.and_then(|d| d.dataset_id).map(|id| Parent::new(id, None)))
    }

    /// The project: known from how the image was reached, from its `imgData`, or its
    /// dataset's.
    async fn project_ref(&self, ctx: &Context<'_>) -> Result<Option<Parent>> {
        if let Some(project) = &self.project {
            return Ok(Some(project.clone()));
        }
        if let Some(id) = self.data(ctx).await?.and_then(|d| d.project_id) {
            return Ok(Some(Parent::new(id, None)));
        }
        match self.dataset_ref(ctx).await? {
            Some(dataset) => parent(ctx, ApiObject::Dataset, dataset.id).await,
            None => Ok(None),
        }
    }

    /// The containers this image sits in, nearest first, however it was reached.
    async fn containers(&self, ctx: &Context<'_>) -> Result<Vec<(ObjectKind, u64)>> {
        let mut out = Vec::new();
        if let Some(well) = self.well_id(ctx).await? {
            out.push((ObjectKind::Well, well));
            if let Some(Parent { id: plate, .. }) = self.plate_ref(ctx).await? {
                out.push((ObjectKind::Plate, plate));
            }
            if let Some(Parent { id: screen, .. }) = self.screen_ref(ctx).await? {
                out.push((ObjectKind::Screen, screen));
            }
        }
        if let Some(Parent { id: dataset, .. }) = self.dataset_ref(ctx).await? {
            out.push((ObjectKind::Dataset, dataset));
        }
        if let Some(Parent { id: project, .. }) = self.project_ref(ctx).await? {
            out.push((ObjectKind::Project, project));
        }
        Ok(out)
    }
}

/// An image, with links to view it and its thumbnail.
#[Object]
impl Image {
    /// `id`, `keyValues`, `values(key:)` and `webclientUrl`, as on every object.
    #[graphql(flatten)]
    async fn object_fields(&self) -> ObjectFields {
        ObjectFields::new(ObjectKind::Image, self.id)
    }
    /// `genes`, `phenotypes`, `sirnas`, `compounds`, `antibodies`, `organism` and
    /// `cellLine`, as on wells.
    #[graphql(flatten)]
    async fn biology(&self) -> super::BiologyFields {
        super::BiologyFields::new(ObjectKind::Image, self.id)
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
    /// URL of the JPEG thumbnail (96 px on the longest side unless `size` gives another,
    /// 16–1024). By default an absolute URL on IDR. With `proxy: true`, a path on this
    /// server (`/thumbnails/{id}`, resolve it against the URL you sent this query to),
    /// which is cached here and can be read from any web page (CORS); many at once are
    /// cheaper through `GET /thumbnails?ids=…`.
    async fn thumbnail_url(
        &self,
        ctx: &Context<'_>,
        size: Option<i32>,
        #[graphql(default = false)] proxy: bool,
    ) -> Result<String> {
        let size = crate::args::thumbnail_size(size)?;
        if proxy {
            return Ok(match size {
                Some(size) => format!("/thumbnails/{}?size={size}", self.id),
                None => format!("/thumbnails/{}", self.id),
            });
        }
        let path = match (size, &self.thumb_path) {
            (None, Some(path)) => path.clone(),
            (None, None) => format!("/webgateway/render_thumbnail/{}/", self.id),
            (Some(size), _) => format!("/webgateway/render_thumbnail/{}/{size}/", self.id),
        };
        Ok(client(ctx).public_url(&path))
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
        Ok(plate.map(|Parent { id, name }| Plate {
            id,
            name,
            screen: self.screen.clone(),
            meta: None,
        }))
    }
    /// The screen the image belongs to (HCS images only).
    async fn screen(&self, ctx: &Context<'_>) -> Result<Option<Screen>> {
        Ok(self.screen_ref(ctx).await?.map(|Parent { id, name }| Screen { id, name, meta: None }))
    }
    /// The dataset the image belongs to (non-HCS images with a single dataset).
    async fn dataset(&self, ctx: &Context<'_>) -> Result<Option<Dataset>> {
        Ok(self.dataset_ref(ctx).await?.map(|Parent { id, name }| Dataset {
            id,
            name,
            project: self.project.clone(),
            meta: None,
        }))
    }
    /// The project the image belongs to (non-HCS images with a single project).
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        Ok(self.project_ref(ctx).await?.map(|Parent { id, name }| Project { id, name, meta: None }))
    }
}
