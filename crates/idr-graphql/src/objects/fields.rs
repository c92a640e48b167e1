//! Fields that several object types share, written once: each type flattens them in
//! (`#[graphql(flatten)]`), so they appear on it as its own fields.

use super::*;

/// The fields of every object, written once: each object type flattens them in.
#[derive(Clone, Copy)]
pub(crate) struct ObjectFields {
    pub(super) kind: ObjectKind,
    pub(super) id: u64,
}

impl ObjectFields {
    pub(super) fn new(kind: ObjectKind, id: u64) -> ObjectFields {
        ObjectFields { kind, id }
    }
}

#[Object(visible = false)]
impl ObjectFields {
    /// The object's global id, such as `Image:122770`: its type and IDR's id (IDR's ids
    /// repeat across types: screen 51 and project 51 are different objects). Treat it as
    /// opaque; `node(id:)` finds the object again.
    async fn id(&self) -> ID {
        crate::ids::global_id_of(self.kind, self.id)
    }
    /// IDR's own numeric id (as text: IDR's ids are 64-bit), as IDR's web client, URLs
    /// and the lookups by id (`image(id: "122770")`) take it.
    async fn idr_id(&self) -> ID {
        id(self.id)
    }
    /// All key/value pairs of the object's own map annotations (for a screen or project,
    /// the study information), in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, self.kind, self.id, &key).await.map(Some)
    }
    /// The object in IDR's web client.
    async fn webclient_url(&self, ctx: &Context<'_>) -> String {
        client(ctx).public_url(&format!("/webclient/?show={}-{}", self.kind.query_key(), self.id))
    }
}

/// [`ObjectFields`] and `annotations(namespace:)`: the fields of every object but an image
/// (whose `annotations` can also take its containers'), written once.
#[derive(Clone, Copy)]
pub(crate) struct AnnotatedFields(pub(super) ObjectFields);

impl AnnotatedFields {
    pub(super) fn new(kind: ObjectKind, id: u64) -> AnnotatedFields {
        AnnotatedFields(ObjectFields::new(kind, id))
    }
}

#[Object(visible = false)]
impl AnnotatedFields {
    #[graphql(flatten)]
    async fn object_fields(&self) -> ObjectFields {
        self.0
    }
    /// The object's own map annotations, optionally only those of one namespace.
    async fn annotations(
        &self,
        ctx: &Context<'_>,
        namespace: Option<String>,
    ) -> Result<Option<Vec<MapAnnotation>>> {
        let ObjectFields { kind, id } = self.0;
        annotations_for(ctx, kind, id, namespace.as_deref()).await.map(Some)
    }
}

/// [`AnnotatedFields`], `name` and `description`: the fields of every screen, project and
/// dataset, written once. `meta` is the container's record when the path already read it.
#[derive(Clone)]
pub(crate) struct ContainerFields {
    pub(super) object: ApiObject,
    pub(super) id: u64,
    pub(super) name: Option<String>,
    pub(super) meta: Option<Arc<Container>>,
}

impl ContainerFields {
    pub(super) fn new(
        object: ApiObject,
        id: u64,
        name: &Option<String>,
        meta: &Option<Arc<Container>>,
    ) -> ContainerFields {
        ContainerFields { object, id, name: name.clone(), meta: meta.clone() }
    }
}

#[Object(visible = false)]
impl ContainerFields {
    #[graphql(flatten)]
    async fn annotated_fields(&self) -> AnnotatedFields {
        AnnotatedFields::new(self.object.kind(), self.id)
    }
    /// The name; for a screen or a project the study name, such as
    /// `idr0002-heriche-condensation/screenA`.
    async fn name(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        match &self.name {
            Some(name) => Ok(Some(name.clone())),
            None => Ok(container_meta(ctx, self.object, self.id, &self.meta)
                .await?
                .map(|m| m.name.clone())),
        }
    }
    /// The description, when there is one.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(container_meta(ctx, self.object, self.id, &self.meta)
            .await?
            .and_then(|m| m.description.clone()))
    }
}
