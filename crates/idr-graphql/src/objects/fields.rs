//! Fields that several object types share, written once: each type flattens them in
//! (`#[graphql(flatten)]`), so they appear on it as its own fields.

use super::*;

/// The key/value fields of every object, written once: each object type flattens them in.
#[derive(Clone, Copy)]
pub(crate) struct KeyValueFields {
    pub(super) kind: ObjectKind,
    pub(super) id: u64,
}

#[Object(visible = false)]
impl KeyValueFields {
    /// All key/value pairs of the object's own map annotations (for a screen or project,
    /// the study information), in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Option<Vec<KeyValue>>> {
        Ok(Some(key_values_of(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The values of one key among the key/values (the key compared without regard to case).
    async fn values(&self, ctx: &Context<'_>, key: String) -> Result<Option<Vec<String>>> {
        values_for(ctx, self.kind, self.id, &key).await.map(Some)
    }
}

/// The `name` and `description` of a screen, project or dataset, written once: each
/// flattens them in. `meta` is the container's record when the path already read it.
#[derive(Clone)]
pub(crate) struct ContainerFields {
    pub(super) object: ApiObject,
    pub(super) id: u64,
    pub(super) name: Option<String>,
    pub(super) meta: Option<Arc<Container>>,
}

#[Object(visible = false)]
impl ContainerFields {
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
