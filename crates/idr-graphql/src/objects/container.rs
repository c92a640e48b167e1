//! Non-HCS studies: projects and their datasets.

use super::*;

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
        let project = Parent::new(self.id, self.name.clone());
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
    pub(crate) project: Option<Parent>,
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
        Ok(project.map(|Parent { id, name }| Project { id, name, meta: None }))
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
        let dataset = Parent::new(self.id, self.name.clone());
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
