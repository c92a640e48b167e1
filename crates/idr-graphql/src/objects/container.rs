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
    pub(crate) fn loaded(meta: Arc<Container>) -> Project {
        Project { id: meta.id, name: Some(meta.name.clone()), meta: Some(meta) }
    }
}

/// A project: a non-HCS study (or one experiment of it), holding datasets.
#[Object]
impl Project {
    /// `id`, `name`, `description`, `keyValues`, `values(key:)`, `annotations` and
    /// `webclientUrl`, as on every container.
    #[graphql(flatten)]
    async fn container_fields(&self) -> ContainerFields {
        ContainerFields::new(ApiObject::Project, self.id, &self.name, &self.meta)
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
    /// Files attached to the project (supplementary tables, feature files).
    async fn file_annotations(&self, ctx: &Context<'_>) -> Result<Option<Vec<FileAnnotation>>> {
        file_annotations(ctx, ObjectKind::Project, self.id).await
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
    pub(crate) fn loaded(meta: Arc<Container>) -> Dataset {
        Dataset { id: meta.id, name: Some(meta.name.clone()), project: None, meta: Some(meta) }
    }
}

/// A dataset of a project, holding images.
#[Object]
impl Dataset {
    /// `id`, `name`, `description`, `keyValues`, `values(key:)`, `annotations` and
    /// `webclientUrl`, as on every container.
    #[graphql(flatten)]
    async fn container_fields(&self) -> ContainerFields {
        ContainerFields::new(ApiObject::Dataset, self.id, &self.name, &self.meta)
    }
    /// The project the dataset belongs to.
    async fn project(&self, ctx: &Context<'_>) -> Result<Option<Project>> {
        let project = match &self.project {
            Some(project) => Some(project.clone()),
            None => parent(ctx, ApiObject::Dataset, self.id).await?,
        };
        Ok(project.map(|Parent { id, name }| Project { id, name, meta: None }))
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
}
