//! Dataloaders: every upstream lookup a resolver makes goes through one of these, so that
//! sibling fields are batched onto IDR's batch endpoints instead of one call each.
//!
//! A fresh set of loaders serves each request (see [`crate::execute`]): it batches and
//! de-duplicates the keys requested together and remembers each key's outcome for the rest
//! of that request. Across requests, the client's cache and singleflight take over.
//!
//! Batching need not rely on timing: a resolver that already knows the ids its children
//! will ask for primes the loader with all of them at once (`Plate.wells` does this for
//! the images' key/values), so a plate's annotations are one batch however slowly its
//! wells resolve.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use futures_util::future::join_all;
use idr_client::endpoints::ApiObject;
use idr_client::model::{Annotation, AnnotationType, ImageData, ObjectKind, PlateGrid};
use idr_client::{Error, IdrClient, WellRow};

/// One key's outcome: `None` when the object does not exist upstream, and a failure kept
/// per key, so one bad object does not fail the others loaded in the same batch. Every
/// loader answers every key it is given: a key left out of a batch's answer is not
/// cached, and would be asked again in another batch.
pub(crate) type Loaded<T> = Result<Option<T>, Error>;

/// A loader that can answer a key from the client's cache, at once. A dataloader waits
/// [`BATCH_DELAY`] for more keys before it sends a batch; a key the cache already holds
/// needs no batch, so it must not wait for one: a warm query never waits on a timer.
pub(crate) trait Peek<K: Send + Sync + Hash + Eq + Clone + 'static>: Loader<K> {
    /// The key's value if the client's cache holds it.
    fn peek(&self, key: &K) -> Option<Self::Value>;
}

/// Loads one key: `None` when the object does not exist, a GraphQL error (with its code)
/// when the upstream call failed. A key the cache holds is answered without a batch.
pub(crate) async fn load_one<K, L, T>(
    loader: &DataLoader<L, HashMapCache>,
    key: K,
) -> async_graphql::Result<Option<T>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Peek<K, Value = Loaded<T>, Error = Infallible>,
    T: Send + Sync + Clone + 'static,
{
    let loaded = match loader.loader().peek(&key) {
        Some(value) => Some(value),
        None => loader.load_one(key).await.unwrap_or_else(|never| match never {}),
    };
    match loaded {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(crate::error::upstream(&e)),
        None => Ok(None),
    }
}

/// Loads `keys` at once, without the batch delay, into the loader's cache, where the
/// fields that ask for them find them: for a caller that knows every key it will need
/// (a plate priming its wells), waiting for more keys only adds time, warm or cold.
/// Keys the cache holds are fed as they are, and only the others are loaded.
pub(crate) async fn prime<K, L>(loader: &DataLoader<L, HashMapCache>, keys: Vec<K>)
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Peek<K, Error = Infallible>,
{
    let mut cached = Vec::new();
    let mut missing = Vec::new();
    for key in keys {
        match loader.loader().peek(&key) {
            Some(value) => cached.push((key, value)),
            None => missing.push(key),
        }
    }
    if !missing.is_empty() {
        let Ok(values) = loader.loader().load(&missing).await;
        cached.extend(values);
    }
    if !cached.is_empty() {
        loader.feed_many(cached).await;
    }
}

/// How long a loader waits for more keys before sending a batch.
const BATCH_DELAY: Duration = Duration::from_millis(5);

/// All loaders of one request.
pub struct Loaders {
    pub(crate) map_annotations: DataLoader<AnnotationLoader, HashMapCache>,
    pub(crate) file_annotations: DataLoader<AnnotationLoader, HashMapCache>,
    pub(crate) images: DataLoader<ImageLoader, HashMapCache>,
    pub(crate) parents: DataLoader<ParentLoader, HashMapCache>,
    pub(crate) grids: DataLoader<GridLoader, HashMapCache>,
    pub(crate) well_rows: DataLoader<WellRowLoader, HashMapCache>,
    pub(crate) objects: DataLoader<ObjectLoader, HashMapCache>,
    spawned: Arc<Spawned>,
}

impl Loaders {
    pub fn new(client: &IdrClient) -> Loaders {
        let spawned = Arc::new(Spawned::default());
        let annotations = |ty| AnnotationLoader { client: client.clone(), ty };
        let max_ids = idr_client::endpoints::MAX_ANNOTATION_IDS;
        Loaders {
            map_annotations: new_loader(annotations(AnnotationType::Map), max_ids, &spawned),
            file_annotations: new_loader(annotations(AnnotationType::File), max_ids, &spawned),
            images: new_loader(ImageLoader { client: client.clone() }, 100, &spawned),
            parents: new_loader(ParentLoader { client: client.clone() }, 100, &spawned),
            grids: new_loader(GridLoader { client: client.clone() }, 50, &spawned),
            // A whole plate in one batch, so that it is one query (the client chunks what
            // it must send well by well).
            well_rows: new_loader(
                WellRowLoader { client: client.clone() },
                idr_client::endpoints::MAX_TABLE_DOWNLOAD_ROWS,
                &spawned,
            ),
            objects: new_loader(ObjectLoader { client: client.clone() }, 100, &spawned),
            spawned,
        }
    }
}

/// A loader whose batches run as tasks recorded in `spawned`.
fn new_loader<K, L>(
    loader: L,
    max_batch: usize,
    spawned: &Arc<Spawned>,
) -> DataLoader<L, HashMapCache>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K>,
{
    let spawned = spawned.clone();
    DataLoader::with_cache(loader, move |batch| spawned.spawn(batch), HashMapCache::default())
        .max_batch_size(max_batch)
        .delay(BATCH_DELAY)
}

/// The batch tasks of one request. async-graphql runs each batch as a spawned task; when
/// the request goes away (finished, or its client disconnected), its loaders are dropped
/// and so are the tasks still running, which drops their upstream calls. A call another
/// request shares (singleflight) carries on for that request.
#[derive(Default)]
struct Spawned(Mutex<Vec<tokio::task::AbortHandle>>);

impl Spawned {
    fn spawn(
        &self,
        batch: futures_util::future::BoxFuture<'static, ()>,
    ) -> tokio::task::JoinHandle<()> {
        // The batch logs (retries, say) under the request's span, with its id, and counts
        // its calls to the request's tally.
        idr_client::tally::Tally::add_batch();
        let batch = tracing::Instrument::in_current_span(batch);
        let task = match idr_client::tally::Tally::current() {
            Some(tally) => tokio::spawn(tally.scope(batch)),
            None => tokio::spawn(batch),
        };
        let mut handles = self.0.lock().unwrap_or_else(|e| e.into_inner());
        handles.retain(|h| !h.is_finished());
        handles.push(task.abort_handle());
        task
    }
}

impl Drop for Loaders {
    fn drop(&mut self) {
        for handle in self.spawned.0.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            handle.abort();
        }
    }
}

/// Annotations of one type per object: one upstream call per object kind and chunk of ids.
pub(crate) struct AnnotationLoader {
    client: IdrClient,
    ty: AnnotationType,
}

impl Loader<(ObjectKind, u64)> for AnnotationLoader {
    type Value = Loaded<Arc<[Annotation]>>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[(ObjectKind, u64)],
    ) -> Result<HashMap<(ObjectKind, u64), Self::Value>, Infallible> {
        let mut by_kind: BTreeMap<ObjectKind, Vec<u64>> = BTreeMap::new();
        for (kind, id) in keys {
            by_kind.entry(*kind).or_default().push(*id);
        }
        let results = join_all(
            by_kind.iter().map(|(kind, ids)| self.client.annotations(self.ty, *kind, ids)),
        )
        .await;
        let mut out = HashMap::new();
        for ((kind, ids), result) in by_kind.iter().zip(results) {
            match result {
                Ok(lists) => out.extend(lists.into_iter().map(|(key, list)| (key, Ok(Some(list))))),
                Err(e) => out.extend(ids.iter().map(|id| ((*kind, *id), Err(e.clone())))),
            }
        }
        Ok(out)
    }
}

impl Peek<(ObjectKind, u64)> for AnnotationLoader {
    fn peek(&self, (kind, id): &(ObjectKind, u64)) -> Option<Self::Value> {
        self.client.cached_annotations(self.ty, *kind, *id).map(|list| Ok(Some(list)))
    }
}

/// Image details (`imgData`): one call per image, made concurrently under the client's cap.
pub(crate) struct ImageLoader {
    client: IdrClient,
}

impl Loader<u64> for ImageLoader {
    type Value = Loaded<Arc<ImageData>>;
    type Error = Infallible;

    async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, Self::Value>, Infallible> {
        let results = join_all(keys.iter().map(|id| self.client.image_data(*id))).await;
        Ok(keys.iter().zip(results).map(|(id, r)| (*id, r)).collect())
    }
}

impl Peek<u64> for ImageLoader {
    fn peek(&self, id: &u64) -> Option<Self::Value> {
        self.client.cached_image_data(*id)
    }
}

/// An object's own `api/v0` record, for the lookups by id (`screen(id:)`, `node(id:)`,
/// `plates(ids:)`, …): one call per object (IDR has no batch form), made concurrently
/// under the client's cap. Images are not here: their record is `imgData`
/// ([`ImageLoader`]).
pub(crate) struct ObjectLoader {
    client: IdrClient,
}

/// A record [`ObjectLoader`] loads.
#[derive(Clone)]
pub(crate) enum Record {
    Container(Arc<idr_client::model::Container>),
    Plate(Arc<idr_client::model::PlateMeta>),
    Well(Arc<idr_client::model::WellMeta>),
}

impl ObjectLoader {
    async fn fetch(&self, object: ApiObject, id: u64) -> Loaded<Record> {
        Ok(match object {
            ApiObject::Plate => self.client.plate(id).await?.map(Record::Plate),
            ApiObject::Well => self.client.well(id).await?.map(Record::Well),
            // Images are loaded by `ImageLoader`; nothing asks this loader for one.
            ApiObject::Image => None,
            container => self.client.container(container, id).await?.map(Record::Container),
        })
    }
}

impl Loader<(ApiObject, u64)> for ObjectLoader {
    type Value = Loaded<Record>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[(ApiObject, u64)],
    ) -> Result<HashMap<(ApiObject, u64), Self::Value>, Infallible> {
        let results = join_all(keys.iter().map(|(object, id)| self.fetch(*object, *id))).await;
        Ok(keys.iter().copied().zip(results).collect())
    }
}

impl Peek<(ApiObject, u64)> for ObjectLoader {
    fn peek(&self, (object, id): &(ApiObject, u64)) -> Option<Self::Value> {
        let c = &self.client;
        Some(match object {
            ApiObject::Plate => c.cached_plate(*id)?.map(|r| r.map(Record::Plate)),
            ApiObject::Well => c.cached_well(*id)?.map(|r| r.map(Record::Well)),
            ApiObject::Image => Ok(None),
            container => c.cached_container(*container, *id)?.map(|r| r.map(Record::Container)),
        })
    }
}

/// The container an object sits in (a well's plate, a plate's screen, a dataset's
/// project), for objects reached without it: one `api/v0` call per object (IDR has no
/// batch form), made concurrently under the client's cap. The first parent is taken;
/// these containers have one.
pub(crate) struct ParentLoader {
    client: IdrClient,
}

impl Loader<(ApiObject, u64)> for ParentLoader {
    type Value = Loaded<(u64, String)>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[(ApiObject, u64)],
    ) -> Result<HashMap<(ApiObject, u64), Self::Value>, Infallible> {
        let results =
            join_all(keys.iter().map(|(child, id)| self.client.parents(*child, *id))).await;
        Ok(keys.iter().zip(results).map(|(key, result)| (*key, result.map(first_parent))).collect())
    }
}

impl Peek<(ApiObject, u64)> for ParentLoader {
    fn peek(&self, (child, id): &(ApiObject, u64)) -> Option<Self::Value> {
        Some(self.client.cached_parents(*child, *id)?.map(first_parent))
    }
}

/// The first of an object's containers, by id and name; these containers have one.
fn first_parent(parents: Vec<idr_client::model::Container>) -> Option<(u64, String)> {
    parents.into_iter().next().map(|p| (p.id, p.name))
}

/// Plate grids, one call per (plate, field).
pub(crate) struct GridLoader {
    client: IdrClient,
}

impl Loader<(u64, u32)> for GridLoader {
    type Value = Loaded<Arc<PlateGrid>>;
    type Error = Infallible;

    async fn load(
        &self,
        keys: &[(u64, u32)],
    ) -> Result<HashMap<(u64, u32), Self::Value>, Infallible> {
        let results =
            join_all(keys.iter().map(|(plate, field)| self.client.plate_grid(*plate, *field)))
                .await;
        Ok(keys.iter().zip(results).map(|(key, r)| (*key, r)).collect())
    }
}

impl Peek<(u64, u32)> for GridLoader {
    fn peek(&self, (plate, field): &(u64, u32)) -> Option<Self::Value> {
        self.client.cached_plate_grid(*plate, *field)
    }
}

/// A well whose bulk row is wanted, with its plate when known: the rows of a plate's wells
/// come with one query for the whole plate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct WellKey {
    pub(crate) well: u64,
    pub(crate) plate: Option<u64>,
}

pub(crate) struct WellRowLoader {
    client: IdrClient,
}

impl Loader<WellKey> for WellRowLoader {
    type Value = Loaded<WellRow>;
    type Error = Infallible;

    async fn load(&self, keys: &[WellKey]) -> Result<HashMap<WellKey, Self::Value>, Infallible> {
        // Wells with an unknown plate may be in different screens: query them one by one.
        let mut groups: Vec<Vec<WellKey>> = Vec::new();
        let mut by_plate: BTreeMap<u64, Vec<WellKey>> = BTreeMap::new();
        for key in keys {
            match key.plate {
                Some(plate) => by_plate.entry(plate).or_default().push(*key),
                None => groups.push(vec![*key]),
            }
        }
        groups.extend(by_plate.into_values());
        let results = join_all(groups.iter().map(|group| {
            let ids: Vec<u64> = group.iter().map(|k| k.well).collect();
            async move {
                match group[0].plate {
                    Some(plate) => self.client.plate_rows(plate, &ids).await,
                    None => self.client.well_rows(&ids).await,
                }
            }
        }))
        .await;
        let mut out = HashMap::new();
        for (group, result) in groups.iter().zip(results) {
            for key in group {
                match &result {
                    Ok(rows) => {
                        // A well without a row is answered too (see `Loaded`).
                        out.insert(*key, Ok(rows.get(&key.well).cloned()));
                    }
                    Err(e) => {
                        out.insert(*key, Err(e.clone()));
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Peek<WellKey> for WellRowLoader {
    fn peek(&self, key: &WellKey) -> Option<Self::Value> {
        self.client.cached_well_row(key.well).map(Ok)
    }
}
