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
}

/// A project: a non-HCS study (or one experiment of it), holding datasets.
#[Object]
impl Project {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// `name` and `description`, as on every container.
    #[graphql(flatten)]
    async fn container_fields(&self) -> ContainerFields {
        ContainerFields {
            object: ApiObject::Project,
            id: self.id,
            name: self.name.clone(),
            meta: self.meta.clone(),
        }
    }
    /// `keyValues` and `values(key:)`, as on every object.
    #[graphql(flatten)]
    async fn key_value_fields(&self) -> KeyValueFields {
        KeyValueFields { kind: ObjectKind::Project, id: self.id }
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
        let project = Parent::new(self.id, self.name.clone());
        let args = PageArgs::new(first, after.as_deref())?;
        children_page(ctx, Children::Datasets, project, filter, args, |d, project| Dataset {
            id: d.id,
            name: Some(d.name),
            project: Some(project.clone()),
            meta: None,
        })
        .await
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
}

/// A dataset of a project, holding images.
#[Object]
impl Dataset {
    /// IDR's numeric id.
    async fn id(&self) -> ID {
        id(self.id)
    }
    /// `name` and `description`, as on every container.
    #[graphql(flatten)]
    async fn container_fields(&self) -> ContainerFields {
        ContainerFields {
            object: ApiObject::Dataset,
            id: self.id,
            name: self.name.clone(),
            meta: self.meta.clone(),
        }
    }
    /// The project the dataset belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let project = match &self.project {
            Some(project) => Some(project.clone()),
            None => parent(ctx, ApiObject::Dataset, self.id).await?,
        };
        Ok(project.map(|Parent { id, name }| Project { id, name, meta: None }))
    }
    /// `keyValues` and `values(key:)`, as on every object.
    #[graphql(flatten)]
    async fn key_value_fields(&self) -> KeyValueFields {
        KeyValueFields { kind: ObjectKind::Dataset, id: self.id }
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
        let dataset = Parent::new(self.id, self.name.clone());
        let args = PageArgs::new(first, after.as_deref())?;
        children_page(ctx, Children::Images, dataset, filter, args, |i, dataset| Image {
            name: Some(i.name),
            dataset: Some(dataset.clone()),
            project: self.project.clone(),
            ..Image::new(i.id)
        })
        .await
    }
    /// The dataset in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show=dataset-{}", self.id))
    }
}
