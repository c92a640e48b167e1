//! Global object identification (the Relay `Node` interface): every screen, plate, well,
//! image, project and dataset has an `id` that names its type, such as `Image:122770`,
//! because IDR's numeric ids are unique only within a type (screen 51 and project 51 are
//! different objects). IDR's own id stays available as `idrId`.
//!
//! The lookups by id accept both forms: `image(id: "122770")` and
//! `image(id: "Image:122770")` are the same image, and `image(id: "Plate:4554")` is refused
//! with `BAD_USER_INPUT`. `node(id:)` and `nodes(ids:)` need the global form. All of them
//! load through the request's dataloaders, every id at once (no batch timer), so a list of
//! ids costs one call per distinct object and nothing for those the cache holds.

use std::collections::HashSet;

use async_graphql::{Context, Interface, Result, ID};
use futures_util::future::join;
use idr_client::endpoints::ApiObject;

use crate::context::loaders;
use crate::ids::global_id;
use crate::loaders::{load_one, prime, Record};
use crate::objects::{Dataset, Image, Plate, Project, Screen, Well};

/// An object with a global id: `node(id:)` finds it again.
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    method = "node_id",
    desc = "The object's global id, such as `Image:122770`: its type and IDR's id. Treat it as opaque; IDR's own id is `idrId`."
))]
pub enum Node {
    Screen(Screen),
    Plate(Plate),
    Well(Well),
    Image(Image),
    Project(Project),
    Dataset(Dataset),
}

macro_rules! into {
    ($($method:ident => $variant:ident,)+) => {
        impl Node {
            $(pub(crate) fn $method(self) -> Option<$variant> {
                match self {
                    Node::$variant(object) => Some(object),
                    _ => None,
                }
            })+
        }
    };
}

into! {
    into_screen => Screen,
    into_plate => Plate,
    into_well => Well,
    into_image => Image,
    into_project => Project,
    into_dataset => Dataset,
}

/// The objects `keys` name, in order (`None` where IDR has no such object), loaded at
/// once: images through the image loader, the rest through the object loader, each
/// distinct key once. A failed load fails the whole list, with the upstream's code.
pub(crate) async fn load(
    ctx: &Context<'_>,
    keys: &[(ApiObject, u64)],
) -> Vec<Result<Option<Node>>> {
    let loaders = loaders(ctx);
    let mut seen = HashSet::new();
    let distinct: Vec<(ApiObject, u64)> =
        keys.iter().copied().filter(|k| seen.insert(*k)).collect();
    let images: Vec<u64> =
        distinct.iter().filter(|(k, _)| *k == ApiObject::Image).map(|(_, id)| *id).collect();
    let others: Vec<(ApiObject, u64)> =
        distinct.iter().copied().filter(|(k, _)| *k != ApiObject::Image).collect();
    join(prime(&loaders.images, images), prime(&loaders.objects, others)).await;
    // Each entry on its own: an object IDR could not give fails its place in the list
    // (`null` with its error, at its index), not the objects next to it.
    let mut out = Vec::with_capacity(keys.len());
    for (object, id) in keys.iter().copied() {
        out.push(match object {
            ApiObject::Image => load_one(&loaders.images, id).await.map(|found| {
                found.map(|data| Node::Image(Image { data: Some(data), ..Image::new(id) }))
            }),
            _ => load_one(&loaders.objects, (object, id))
                .await
                .map(|found| found.map(|record| node_of(record, object))),
        });
    }
    out
}

/// One object, as [`load`] loads it.
pub(crate) async fn load_single(
    ctx: &Context<'_>,
    object: ApiObject,
    id: u64,
) -> Result<Option<Node>> {
    load(ctx, &[(object, id)]).await.pop().unwrap_or(Ok(None))
}

fn node_of(record: Record, object: ApiObject) -> Node {
    match record {
        Record::Plate(meta) => Node::Plate(Plate {
            id: meta.id,
            name: Some(meta.name.clone()),
            screen: None,
            meta: Some(meta),
        }),
        Record::Well(meta) => Node::Well(Well::from_meta(&meta)),
        Record::Container(meta) => match object {
            ApiObject::Project => Node::Project(Project::loaded(meta)),
            ApiObject::Dataset => Node::Dataset(Dataset::loaded(meta)),
            _ => Node::Screen(Screen::loaded(meta)),
        },
    }
}

/// The `id` every node type gives: written once, for the interface and the types.
macro_rules! node_ids {
    ($($ty:ident => $object:expr,)+) => {
        $(impl $ty {
            /// The global id (the `Node` interface's `id`).
            pub(crate) async fn node_id(&self, _ctx: &Context<'_>) -> Result<ID> {
                Ok(global_id($object, self.id))
            }
        })+
    };
}

node_ids! {
    Screen => ApiObject::Screen,
    Plate => ApiObject::Plate,
    Well => ApiObject::Well,
    Image => ApiObject::Image,
    Project => ApiObject::Project,
    Dataset => ApiObject::Dataset,
}
