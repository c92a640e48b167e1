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
use crate::loaders::{load_one, prime, WellKey};

mod annotation;
pub(crate) mod biology;
mod container;
mod fields;
mod image;
mod screen;
pub(crate) mod study;

use annotation::file_annotations;
pub use annotation::{
    AnnotatedObject, BulkAnnotationRow, FileAnnotation, KeyValue, MapAnnotation, ObjectType,
    ValueCount,
};
pub(crate) use biology::BiologyFields;
pub use container::{Dataset, Project};
use fields::{AnnotatedFields, ContainerFields, ObjectFields};
pub use image::{Channel, Image, PixelSize};
pub use screen::{Plate, Screen, Well};
pub use study::{ContainerMatch, License, Publication, Reference, Study, StudyMatch};

/// The container an object was reached through (or was loaded for it): its id, and its
/// name when the path knew it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Parent {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
}

impl Parent {
    pub(crate) fn new(id: u64, name: Option<String>) -> Parent {
        Parent { id, name }
    }
}

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
async fn parent(ctx: &Context<'_>, child: ApiObject, id: u64) -> Result<Option<Parent>> {
    Ok(load_one(&loaders(ctx).parents, (child, id))
        .await?
        .map(|(id, name)| Parent::new(id, Some(name))))
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
    client(ctx).container(object, id).await.gql()
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

/// An object a list can filter with `where`: its kind, id, and the name the list knows.
pub(crate) trait Listed {
    const KIND: ObjectKind;
    fn object_id(&self) -> u64;
    /// The name `where: {key: "name"}` compares with (a well's label).
    fn listed_name(&self) -> Option<String>;
}

macro_rules! listed {
    ($($ty:ident: $kind:ident, |$o:ident| $name:expr;)*) => {$(
        impl Listed for $ty {
            const KIND: ObjectKind = ObjectKind::$kind;
            fn object_id(&self) -> u64 {
                self.id
            }
            fn listed_name(&self) -> Option<String> {
                let $o = self;
                $name
            }
        }
    )*};
}

listed! {
    Screen: Screen, |o| o.name.clone();
    Plate: Plate, |o| o.name.clone();
    Well: Well, |o| o.position.as_ref().map(|p| p.label.clone());
    Image: Image, |o| o.name.clone();
    Project: Project, |o| o.name.clone();
    Dataset: Dataset, |o| o.name.clone();
}

/// Keeps the items that match `filter`, judged on their names and, when the filter needs
/// them, their key/values (loaded for all items in one batch).
pub(crate) async fn keep_matching<T: Listed>(
    ctx: &Context<'_>,
    items: Vec<T>,
    filter: Option<&ImageFilter>,
) -> Result<Vec<T>> {
    let Some(filter) = filter else { return Ok(items) };
    let expr = filter.to_expr()?;
    let mut pairs: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    if expr.needs_key_values() {
        let loaded = loaders(ctx)
            .map_annotations
            .load_many(items.iter().map(|i| (T::KIND, i.object_id())))
            .await;
        let Ok(loaded) = loaded;
        for ((_, object), result) in loaded {
            let annotations = result.map_err(|e| crate::error::upstream(&e))?.unwrap_or_default();
            let kv = key_values_of(&annotations).into_iter().map(|kv| (kv.key, kv.value)).collect();
            pairs.insert(object, kv);
        }
    }
    let empty = Vec::new();
    Ok(items
        .into_iter()
        .filter(|item| {
            expr.matches(
                item.listed_name().as_deref(),
                pairs.get(&item.object_id()).unwrap_or(&empty),
            )
        })
        .collect())
}

/// A page of a container's children (a screen's plates, a project's datasets, a
/// dataset's images): the whole list from IDR (it cannot filter), made into objects that
/// know their parent, kept by `where`, then sliced.
async fn children_page<T: Listed + async_graphql::OutputType>(
    ctx: &Context<'_>,
    list: Children,
    parent: Parent,
    filter: Option<ImageFilter>,
    args: PageArgs,
    child: impl Fn(idr_client::model::ChildSummary, &Parent) -> T,
) -> Result<Option<Page<T>>> {
    let items = client(ctx).children(list, parent.id).await.gql()?;
    let items = items.iter().map(|item| child(item.clone(), &parent)).collect();
    let kept = keep_matching(ctx, items, filter.as_ref()).await?;
    Ok(Some(connection::slice(kept, args)))
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
