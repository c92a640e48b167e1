//! [`IdrClient`]: one typed async function per IDR endpoint, with caching, request
//! coalescing (singleflight), a concurrency cap, retries and a circuit breaker.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::Semaphore;
use url::Url;

use crate::endpoints::{self as ep, ApiObject, Children};
use crate::flights::Flights;
use crate::model::*;
use crate::policy::{
    answer_bytes, backoff, Admit, Breaker, BreakerConfig, Cache, Decoded, Key, Outcome, Part,
    RetryBudget,
};
use crate::shared::{Claim, FetchEnd, Permit, SharedTier};
use crate::tally::Tally;
use crate::upstream::Upstream;
use crate::{Error, Request, Response};

/// The public IDR.
pub const IDR_BASE: &str = "https://idr.openmicroscopy.org";

/// Pages of annotations one batch may take before the client gives up with an error.
const MAX_ANNOTATION_PAGES: u32 = 100;

/// Settings of the client's politeness layer.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The base of every absolute URL handed to users (thumbnails, webclient links). It is
    /// the upstream URL online and the public IDR offline.
    pub public_base: Url,
    /// Upstream calls in flight at once, over all requests.
    pub max_concurrency: usize,
    /// Extra attempts after a transient failure.
    pub retries: u32,
    pub backoff: Duration,
    pub cache_bytes: usize,
    pub cache_ttl: Duration,
    /// How long a "not found" is remembered.
    pub negative_ttl: Duration,
    pub breaker: BreakerConfig,
    /// Annotations per page of `webclient/api/annotations/` (sent as `limit`).
    pub annotations_page: usize,
    /// How long a shared claim or permit outlives its holder, which renews it every
    /// third of this while it works: a dead holder's comes back within it.
    pub shared_lease: Duration,
    /// Which upstream this is, for the shared tier (replicas of different upstreams
    /// sharing one Redis never mix their answers).
    pub shared_namespace: String,
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            public_base: Url::parse(IDR_BASE).unwrap_or_else(|_| unreachable!("constant URL")),
            max_concurrency: 8,
            retries: 4,
            backoff: Duration::from_millis(100),
            cache_bytes: 64 * 1024 * 1024,
            cache_ttl: Duration::from_secs(600),
            negative_ttl: Duration::from_secs(30),
            breaker: BreakerConfig::default(),
            annotations_page: ep::ANNOTATIONS_PAGE,
            shared_lease: Duration::from_secs(35),
            shared_namespace: IDR_BASE.to_owned(),
        }
    }
}

/// Cheap to clone; clones share the cache, the in-flight table and the concurrency cap.
#[derive(Clone)]
pub struct IdrClient {
    inner: Arc<Inner>,
}

struct Inner {
    upstream: Box<dyn Upstream>,
    config: ClientConfig,
    cache: Cache,
    breaker: Breaker,
    retry_budget: RetryBudget,
    permits: Semaphore,
    in_flight: Flights<Key, Outcome>,
    /// What the replicas share (answers, fetches, the upstream cap), when they do.
    shared: Option<Arc<dyn SharedTier>>,
    calls: AtomicU64,
    /// When an upstream attempt last got a 2xx answer.
    last_success: Mutex<Option<Instant>>,
}

/// What the client knows of the upstream's health, for readiness checks.
#[derive(Clone, Copy, Debug)]
pub struct Health {
    /// The circuit breaker refuses calls (IDR failed repeatedly).
    pub breaker_open: bool,
    /// Time since an upstream attempt last got a 2xx answer; `None` if none has yet.
    pub since_success: Option<Duration>,
}

impl IdrClient {
    pub fn new(upstream: impl Upstream, config: ClientConfig) -> IdrClient {
        IdrClient::with_shared(upstream, config, None)
    }

    /// A client that shares answers, fetches and the upstream cap with other replicas
    /// through `shared` (see [`SharedTier`]).
    pub fn with_shared(
        upstream: impl Upstream,
        config: ClientConfig,
        shared: Option<Arc<dyn SharedTier>>,
    ) -> IdrClient {
        IdrClient {
            inner: Arc::new(Inner {
                upstream: Box::new(upstream),
                cache: Cache::new(config.cache_bytes),
                breaker: Breaker::new(config.breaker),
                retry_budget: RetryBudget::new(),
                permits: Semaphore::new(config.max_concurrency.max(1)),
                in_flight: Flights::default(),
                shared,
                calls: AtomicU64::new(0),
                last_success: Mutex::new(None),
                config,
            }),
        }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Upstream calls made so far (attempts, including retries).
    pub fn upstream_calls(&self) -> u64 {
        self.inner.calls.load(Ordering::Relaxed)
    }

    pub fn cache_bytes(&self) -> usize {
        self.inner.cache.bytes()
    }

    /// Whether answers are cached at all (`cache_bytes` and `cache_ttl` both non-zero).
    pub fn caches(&self) -> bool {
        self.inner.config.cache_bytes > 0 && !self.inner.config.cache_ttl.is_zero()
    }

    /// How long a successful answer is cached.
    pub fn cache_ttl(&self) -> Duration {
        self.inner.config.cache_ttl
    }

    /// How long a "not found" is cached.
    pub fn negative_ttl(&self) -> Duration {
        self.inner.config.negative_ttl
    }

    pub fn health(&self) -> Health {
        let last = *self.inner.last_success.lock().unwrap_or_else(|e| e.into_inner());
        Health {
            breaker_open: self.inner.breaker.is_open(),
            since_success: last.map(|at| at.elapsed()),
        }
    }

    /// Whether the answers are recordings (`--offline`): what they lack is not recorded,
    /// rather than missing from IDR.
    pub fn is_recorded(&self) -> bool {
        self.inner.upstream.recorded()
    }

    /// Asks IDR one cheap question (`GET /api/`, its API versions), once, past the cache
    /// but through the breaker and the concurrency cap, and says whether a whole answer
    /// came back.
    pub async fn probe(&self) -> Result<(), Error> {
        let req = Request::get("/api/");
        let resp = self.inner.send_once(&req, &Tally::current()).await?;
        if resp.status == 200 {
            Ok(())
        } else {
            Err(Error::Status { status: resp.status, url: req.to_string(), message: None })
        }
    }

    /// An absolute URL on the public base for a path such as a grid's `thumb_url`.
    pub fn public_url(&self, path: &str) -> String {
        let base = self.inner.config.public_base.as_str().trim_end_matches('/');
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else if path.starts_with('/') {
            format!("{base}{path}")
        } else {
            format!("{base}/{path}")
        }
    }

    /// Sends `req` (or reuses a cached or in-flight answer) and decodes it. Successful
    /// decodes are cached for the TTL, "not found" for the shorter negative TTL; either
    /// way the decoded value is shared, never decoded again.
    async fn fetch<T: Send + Sync + 'static>(
        &self,
        req: Request,
        decode: impl Fn(&str, &Response) -> Result<T, Error> + Send + 'static,
    ) -> Result<Arc<T>, Error> {
        let key = Key::answer::<T>(req.clone());
        let outcome = match self.cached(&key) {
            Some(hit) => hit,
            None => self.flight(key, req, decode, Keep::Answer).await,
        };
        typed(outcome)
    }

    /// Like [`IdrClient::fetch`] (shared by identical requests in flight), but the answer
    /// itself is not cached: its caller caches the parts of it that are good.
    async fn fetch_for_parts<T: Send + Sync + 'static>(
        &self,
        req: Request,
        decode: impl Fn(&str, &Response) -> Result<T, Error> + Send + 'static,
    ) -> Result<Arc<T>, Error> {
        let key = Key::answer::<T>(req.clone());
        typed(self.flight(key, req, decode, Keep::Parts).await)
    }

    /// The cached answer to `request`, if there is one: no call, no wait.
    fn peek<T: Send + Sync + 'static>(&self, request: Request) -> Option<Result<Arc<T>, Error>> {
        self.cached(&Key::answer::<T>(request)).map(typed)
    }

    /// The cached share of a batch answer for `part` (see [`IdrClient::derive`]).
    fn peek_part<T: Send + Sync + 'static>(&self, part: Part) -> Option<Arc<T>> {
        typed(self.cached(&Key::Part(part))?).ok()
    }

    /// A cache hit, counted to the current request.
    fn cached(&self, key: &Key) -> Option<Outcome> {
        let hit = self.inner.cache.get(key)?;
        Tally::add_cache_hit(&Tally::current());
        metrics::counter!("idr_cache_hits_total").increment(1);
        Some(hit)
    }

    /// Caches `value` as `part`'s share of a batch answer (see [`Cache::insert_part`]).
    fn derive<T: Send + Sync + 'static>(&self, part: Part, value: T, bytes: usize) {
        self.inner.cache.insert_part(part, Arc::new(value), bytes, self.inner.config.cache_ttl);
    }

    /// Like [`IdrClient::derive`], for `ttl`.
    fn derive_for<T: Send + Sync + 'static>(
        &self,
        part: Part,
        value: T,
        bytes: usize,
        ttl: Duration,
    ) {
        self.inner.cache.insert_part(part, Arc::new(value), bytes, ttl);
    }

    /// Joins the call already in flight for `key`, or starts one. The call decodes the
    /// answer and caches it before it leaves the in-flight table, and looks in the cache
    /// again first, so a request never misses both the cache and the table for an answer
    /// that is already there. When every waiter has gone, the call is dropped (cancelled).
    async fn flight<T>(
        &self,
        key: Key,
        request: Request,
        decode: impl Fn(&str, &Response) -> Result<T, Error> + Send + 'static,
        keep: Keep,
    ) -> Outcome
    where
        T: Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        let this = key.clone();
        // The attempts are the cost of the request that started the call, whichever
        // waiter polls it.
        let tally = Tally::current();
        let budget = Tally::budget(&tally);
        let deadline = Tally::deadline(&tally);
        // Over its budget, a request may still join a call in flight, but starts none.
        let started = self.inner.in_flight.join_or(key, move || {
            Tally::reserve_call(&tally).then_some(async move {
                if let Some(hit) = inner.cache.get(&this) {
                    Tally::add_cache_hit(&tally);
                    Tally::refund_call(&tally);
                    metrics::counter!("idr_cache_hits_total").increment(1);
                    return hit;
                }
                metrics::counter!("idr_cache_misses_total").increment(1);
                // Answers cached part by part (a thumbnail batch) are not shared whole: a
                // part that failed must not reach the other replicas for the full TTL.
                let shared = inner.shared.clone().filter(|_| keep == Keep::Answer);
                let fetched = match shared {
                    Some(shared) => inner.fetch_shared(shared, &request, &tally).await,
                    None => inner
                        .send_with_retries(&request, &tally)
                        .await
                        .map(|resp| Fetched::called(resp, None)),
                };
                let (outcome, resp, shared_ttl) = match fetched {
                    Ok(Fetched { resp, claim, shared_ttl }) => {
                        // Another replica's answer costs this request no call.
                        if shared_ttl.is_some() {
                            Tally::refund_call(&tally);
                        }
                        let outcome =
                            decode(&request.to_string(), &resp).map(|v| Arc::new(v) as Decoded);
                        // This replica fetched it for all: the claim ends with a good
                        // answer, which is stored for everyone, or with the error IDR's
                        // answer decoded to, which the waiters share.
                        if let Some(claim) = claim {
                            claim.finish(match &outcome {
                                Ok(_) if resp.is_success() => {
                                    FetchEnd::Answer(resp.clone(), inner.config.cache_ttl)
                                }
                                Ok(_) => FetchEnd::Unshared,
                                Err(error) => FetchEnd::Failed(error.clone()),
                            });
                        }
                        (outcome, resp, shared_ttl)
                    }
                    // No answer: the call's failure, or another replica's (a `NotFound` it
                    // decoded is remembered here as if this replica had asked).
                    Err(error) => (Err(error), Response::json(404, ""), None),
                };
                let ttl =
                    match &outcome {
                        _ if keep == Keep::Parts => None,
                        // An answer from Redis lives here no longer than it had left there.
                        Ok(_) => Some(shared_ttl.map_or(inner.config.cache_ttl, |left| {
                            left.min(inner.config.cache_ttl)
                        })),
                        Err(Error::NotFound { .. }) => Some(inner.config.negative_ttl),
                        Err(_) => None,
                    };
                if let Some(ttl) = ttl {
                    inner.cache.insert(this, outcome.clone(), answer_bytes(&request, &resp), ttl);
                }
                outcome
            })
        });
        let Some((flight, joined)) = started else {
            return Err(Error::OverBudget { budget });
        };
        if joined {
            Tally::add_coalesced();
            metrics::counter!("idr_upstream_coalesced_total").increment(1);
        }
        // The request's deadline bounds its wait, not the call: one timer per upstream
        // wait, none for an answer from the cache.
        match deadline {
            Some(at) => tokio::time::timeout_at(at, flight).await.unwrap_or(Err(Error::Deadline)),
            None => flight.await,
        }
    }

    // -----------------------------------------------------------------------------------
    // Typed endpoints.

    /// Annotations of one type for many objects of one kind, split back per object. Ids
    /// are chunked to respect IDR's request-line limit and fetched concurrently.
    pub async fn annotations(
        &self,
        ty: AnnotationType,
        kind: ObjectKind,
        ids: &[u64],
    ) -> Result<AnnotationsByObject, Error> {
        let mut lists: BTreeMap<(ObjectKind, u64), Vec<Annotation>> =
            ids.iter().map(|id| ((kind, *id), Vec::new())).collect();
        let limit = self.inner.config.annotations_page.max(1);
        let chunks = ep::annotations_requests(ty, kind, ids, limit);
        let results = join_all(
            chunks.into_iter().map(|req| self.annotations_all_pages(ty, kind, req, limit)),
        )
        .await;
        for result in results {
            for annotation in result? {
                let parent_kind = annotation.parent.kind.unwrap_or(kind);
                if let Some(list) = lists.get_mut(&(parent_kind, annotation.parent.id)) {
                    list.push(annotation);
                }
            }
        }
        let out: AnnotationsByObject =
            lists.into_iter().map(|(key, list)| (key, Arc::from(list))).collect();
        for ((kind, id), list) in &out {
            let bytes = 64 + list.iter().map(annotation_bytes).sum::<usize>();
            self.derive(Part::Annotations(ty, *kind, *id), ObjectAnnotations(list.clone()), bytes);
        }
        Ok(out)
    }

    /// One object's annotations of one type, if the cache holds them (from an earlier
    /// [`IdrClient::annotations`] batch).
    pub fn cached_annotations(
        &self,
        ty: AnnotationType,
        kind: ObjectKind,
        id: u64,
    ) -> Option<Arc<[Annotation]>> {
        let hit = self.peek_part::<ObjectAnnotations>(Part::Annotations(ty, kind, id))?;
        Some(hit.0.clone())
    }

    /// A page exactly as long as the limit may have a successor: fetch it too (up to
    /// [`MAX_ANNOTATION_PAGES`]).
    async fn annotations_all_pages(
        &self,
        ty: AnnotationType,
        kind: ObjectKind,
        first: Request,
        limit: usize,
    ) -> Result<Vec<Annotation>, Error> {
        let ids: Vec<u64> = first.values(kind.query_key()).filter_map(|v| v.parse().ok()).collect();
        let mut all = Arc::unwrap_or_clone(self.fetch(first, ep::decode_annotations).await?);
        let mut last_len = all.len();
        let mut page = 2;
        while last_len >= limit {
            if page > MAX_ANNOTATION_PAGES {
                // Never a silently cut list.
                return Err(Error::Unusable {
                    url: ep::annotations_request(ty, kind, &ids, Some(page), limit).path_and_query(),
                    reason: format!(
                        "more than {MAX_ANNOTATION_PAGES} pages of {limit} annotations for one batch"
                    ),
                });
            }
            let more = self
                .fetch(
                    ep::annotations_request(ty, kind, &ids, Some(page), limit),
                    ep::decode_annotations,
                )
                .await?;
            last_len = more.len();
            all.extend(more.iter().cloned());
            page += 1;
        }
        Ok(all)
    }

    pub async fn children(
        &self,
        children: Children,
        parent_id: u64,
    ) -> Result<Arc<Vec<ChildSummary>>, Error> {
        self.fetch(ep::children_request(children, parent_id), move |url, resp| {
            ep::decode_children(url, resp, children)
        })
        .await
    }

    /// A screen, project or dataset; `None` when IDR has no such object.
    pub async fn container(
        &self,
        object: ApiObject,
        id: u64,
    ) -> Result<Option<Arc<Container>>, Error> {
        found(
            self.fetch(ep::api_object_request(object, id), move |url, resp| {
                ep::decode_container(url, resp, object, id)
            })
            .await,
        )
    }

    /// [`IdrClient::container`], if the cache holds the answer.
    pub fn cached_container(
        &self,
        object: ApiObject,
        id: u64,
    ) -> Option<Result<Option<Arc<Container>>, Error>> {
        self.peek(ep::api_object_request(object, id)).map(found)
    }

    /// [`IdrClient::plate`], if the cache holds the answer.
    pub fn cached_plate(&self, id: u64) -> Option<Result<Option<Arc<PlateMeta>>, Error>> {
        self.peek(ep::api_object_request(ApiObject::Plate, id)).map(found)
    }

    /// [`IdrClient::well`], if the cache holds the answer.
    pub fn cached_well(&self, id: u64) -> Option<Result<Option<Arc<WellMeta>>, Error>> {
        self.peek(ep::api_object_request(ApiObject::Well, id)).map(found)
    }

    /// The containers an object sits in (a well's plate, a plate's screen, a dataset's
    /// project), as `api/v0` lists them; empty for an object with none, or unknown.
    pub async fn parents(&self, child: ApiObject, id: u64) -> Result<Vec<Container>, Error> {
        let Some(req) = ep::api_parents_request(child, id) else { return Ok(Vec::new()) };
        parent_list(self.fetch(req, ep::decode_container_page).await)
    }

    /// [`IdrClient::parents`], if the cache holds the answer.
    pub fn cached_parents(
        &self,
        child: ApiObject,
        id: u64,
    ) -> Option<Result<Vec<Container>, Error>> {
        let Some(req) = ep::api_parents_request(child, id) else { return Some(Ok(Vec::new())) };
        self.peek(req).map(parent_list)
    }

    /// Top-level screens or projects, `count` items from `offset`, assembled from aligned
    /// upstream pages.
    pub async fn containers(
        &self,
        object: ApiObject,
        offset: u64,
        count: u64,
    ) -> Result<Page<Container>, Error> {
        let mut items = Vec::new();
        let mut page_start = offset - offset % ep::API_PAGE;
        let mut total;
        loop {
            let page = self
                .fetch(ep::api_list_request(object, page_start), ep::decode_container_page)
                .await?;
            total = page.total_count;
            let got = page.items.len() as u64;
            let skip = offset.saturating_sub(page_start) as usize;
            items.extend(
                page.items
                    .iter()
                    .skip(skip)
                    .take((count as usize).saturating_sub(items.len()))
                    .cloned(),
            );
            page_start += ep::API_PAGE;
            if items.len() as u64 >= count || got == 0 || page_start >= total {
                break;
            }
        }
        Ok(Page { items, offset, total_count: total })
    }

    pub async fn plate(&self, id: u64) -> Result<Option<Arc<PlateMeta>>, Error> {
        found(
            self.fetch(ep::api_object_request(ApiObject::Plate, id), move |url, resp| {
                ep::decode_plate(url, resp, id)
            })
            .await,
        )
    }

    pub async fn well(&self, id: u64) -> Result<Option<Arc<WellMeta>>, Error> {
        found(
            self.fetch(ep::api_object_request(ApiObject::Well, id), move |url, resp| {
                ep::decode_well(url, resp, id)
            })
            .await,
        )
    }

    pub async fn plate_grid(
        &self,
        plate_id: u64,
        field: u32,
    ) -> Result<Option<Arc<PlateGrid>>, Error> {
        found(
            self.fetch(ep::plate_grid_request(plate_id, field), move |url, resp| {
                ep::decode_plate_grid(url, resp, plate_id, field)
            })
            .await,
        )
    }

    /// [`IdrClient::plate_grid`], if the cache holds the answer.
    pub fn cached_plate_grid(
        &self,
        plate_id: u64,
        field: u32,
    ) -> Option<Result<Option<Arc<PlateGrid>>, Error>> {
        self.peek(ep::plate_grid_request(plate_id, field)).map(found)
    }

    /// [`IdrClient::image_data`], if the cache holds the answer.
    pub fn cached_image_data(
        &self,
        image_id: u64,
    ) -> Option<Result<Option<Arc<ImageData>>, Error>> {
        self.peek(ep::image_data_request(image_id)).map(found)
    }

    pub async fn image_data(&self, image_id: u64) -> Result<Option<Arc<ImageData>>, Error> {
        found(
            self.fetch(ep::image_data_request(image_id), move |url, resp| {
                ep::decode_image_data(url, resp, image_id)
            })
            .await,
        )
    }

    /// One image's JPEG thumbnail (`None`: IDR has none), from an earlier batch when the
    /// cache holds it there, else through `render_thumbnail` (which IDR's nginx caches).
    pub async fn thumbnail(
        &self,
        image_id: u64,
        size: Option<u32>,
    ) -> Result<Option<bytes::Bytes>, Error> {
        if let Some(hit) = self.peek_part::<ThumbnailEntry>(Part::Thumbnail(image_id, size)) {
            return Ok(match &hit.0 {
                ep::Thumbnail::Jpeg(jpeg) => Some(jpeg.clone()),
                ep::Thumbnail::Missing => None,
            });
        }
        found(
            self.fetch(ep::thumbnail_request(image_id, size), move |url, resp| {
                ep::decode_thumbnail(url, resp, image_id)
            })
            .await
            .map(Arc::unwrap_or_clone),
        )
    }

    /// What [`IdrClient::thumbnails`] would take for `ids` now: the upstream calls (one
    /// per [`ep::MAX_THUMBNAIL_IDS`] of the distinct ids the cache does not hold) and the
    /// number it does hold. Costs nothing.
    pub fn thumbnail_plan(&self, ids: &[u64], size: Option<u32>) -> (usize, usize) {
        let mut seen = std::collections::HashSet::new();
        let (mut misses, mut hits) = (0usize, 0usize);
        for id in ids.iter().filter(|id| seen.insert(**id)) {
            if self.has_thumbnail(*id, size) {
                hits += 1;
            } else {
                misses += 1;
            }
        }
        (misses.div_ceil(ep::MAX_THUMBNAIL_IDS), hits)
    }

    /// Whether the cache holds image `id`'s thumbnail at `size` (from a batch, or from
    /// `render_thumbnail`). Counts no hit.
    pub fn has_thumbnail(&self, id: u64, size: Option<u32>) -> bool {
        let cache = &self.inner.cache;
        cache.contains(&Key::Part(Part::Thumbnail(id, size)))
            || cache.contains(&Key::answer::<bytes::Bytes>(ep::thumbnail_request(id, size)))
    }

    /// A thumbnail the cache holds, from a batch or from `render_thumbnail`.
    fn cached_thumbnail(&self, id: u64, size: Option<u32>) -> Option<ep::Thumbnail> {
        if let Some(hit) = self.peek_part::<ThumbnailEntry>(Part::Thumbnail(id, size)) {
            return Some(hit.0.clone());
        }
        match self.peek::<bytes::Bytes>(ep::thumbnail_request(id, size))? {
            Ok(jpeg) => Some(ep::Thumbnail::Jpeg(Arc::unwrap_or_clone(jpeg))),
            Err(Error::NotFound { .. }) => Some(ep::Thumbnail::Missing),
            Err(_) => None,
        }
    }

    /// The JPEG thumbnails of many images at one size, per id: from the cache, and for the
    /// rest through IDR's batch endpoint, 50 ids a call, the calls concurrent (under the
    /// concurrency cap). Each thumbnail is then cached on its own, so a later batch with
    /// other neighbours, or [`IdrClient::thumbnail`], finds it. A call that fails fails
    /// its own ids only.
    ///
    /// Offline, a batch is answered only when recorded as it is; one that is not is asked
    /// again image by image (`render_thumbnail`), so each recorded thumbnail is found.
    pub async fn thumbnails(
        &self,
        ids: &[u64],
        size: Option<u32>,
    ) -> BTreeMap<u64, ep::ThumbnailResult> {
        let mut out = BTreeMap::new();
        let mut misses = Vec::new();
        for id in ids {
            if out.contains_key(id) || misses.contains(id) {
                continue;
            }
            match self.cached_thumbnail(*id, size) {
                Some(hit) => {
                    out.insert(*id, Ok(hit));
                }
                None => misses.push(*id),
            }
        }
        let chunks: Vec<&[u64]> = misses.chunks(ep::MAX_THUMBNAIL_IDS).collect();
        let requests = ep::thumbnails_requests(&misses, size);
        let answers = join_all(chunks.iter().zip(requests).map(|(chunk, req)| async move {
            let wanted = chunk.to_vec();
            let answer = self
                .fetch_for_parts(req, move |url, resp| ep::decode_thumbnails(url, resp, &wanted))
                .await;
            let ones: Vec<(u64, ep::ThumbnailResult)> = match answer {
                Err(Error::NotRecorded { .. }) if chunk.len() > 1 => {
                    join_all(chunk.iter().map(|id| async move {
                        let one = self.thumbnail(*id, size).await.map(|jpeg| match jpeg {
                            Some(jpeg) => ep::Thumbnail::Jpeg(jpeg),
                            None => ep::Thumbnail::Missing,
                        });
                        (*id, one)
                    }))
                    .await
                }
                Ok(batch) => batch.iter().map(|(id, one)| (*id, one.clone())).collect(),
                Err(e) => chunk.iter().map(|id| (*id, Err(e.clone()))).collect(),
            };
            // Cached as each call ends, so that a caller who stops waiting keeps what came.
            for (id, one) in &ones {
                let (bytes, ttl) = match one {
                    Ok(ep::Thumbnail::Jpeg(jpeg)) => (64 + jpeg.len(), self.inner.config.cache_ttl),
                    // "None" is IDR's answer now, and as short-lived as any "not found".
                    Ok(ep::Thumbnail::Missing) => (64, self.inner.config.negative_ttl),
                    Err(_) => continue,
                };
                let thumbnail = one.clone().unwrap_or(ep::Thumbnail::Missing);
                self.derive_for(Part::Thumbnail(*id, size), ThumbnailEntry(thumbnail), bytes, ttl);
            }
            ones
        }))
        .await;
        out.extend(answers.into_iter().flatten());
        out
    }

    /// Bulk-annotation rows of wells (all in one screen), keyed by well id. A well without
    /// a row is absent from the map.
    pub async fn well_rows(&self, well_ids: &[u64]) -> Result<Arc<RowsByWell>, Error> {
        let results = join_all(ep::well_table_requests(well_ids).into_iter().map(|req| async {
            match self.fetch(req, decode_rows).await {
                Ok(rows) => Ok(Some(rows)),
                Err(Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }))
        .await;
        let mut tables = Vec::new();
        for result in results {
            tables.extend(result?);
        }
        let found_a_table = !tables.is_empty();
        // One chunk (the usual case) is shared as it is.
        let rows = if tables.len() == 1 {
            tables.swap_remove(0)
        } else {
            let mut out = RowsByWell::new();
            for rows in tables {
                out.extend(rows.iter().map(|(id, row)| (*id, row.clone())));
            }
            Arc::new(out)
        };
        if found_a_table {
            self.derive_well_rows(well_ids, &rows);
        }
        Ok(rows)
    }

    /// Remembers each well's row (or that it has none) for [`IdrClient::cached_well_row`].
    fn derive_well_rows(&self, well_ids: &[u64], rows: &RowsByWell) {
        for id in well_ids {
            let row = rows.get(id).cloned();
            let bytes = 64 + row.as_ref().map_or(0, |r| r.table.columns.len() * 8);
            self.derive(Part::WellRow(*id), WellRowEntry(row), bytes);
        }
    }

    /// One well's bulk row (`Some(None)`: the well has none), if the cache holds it from an
    /// earlier [`IdrClient::plate_rows`] or [`IdrClient::well_rows`].
    pub fn cached_well_row(&self, well_id: u64) -> Option<Option<WellRow>> {
        let hit = self.peek_part::<WellRowEntry>(Part::WellRow(well_id))?;
        Some(hit.0.clone())
    }

    /// Bulk-annotation rows of the wells of one plate, keyed by well id: the whole plate
    /// in one query, which every request for the plate shares, or, when the gateway
    /// refuses that (see [`ep::plate_query_refused`]), the wells' own rows in chunks.
    pub async fn plate_rows(
        &self,
        plate_id: u64,
        well_ids: &[u64],
    ) -> Result<Arc<RowsByWell>, Error> {
        let Some(via) = well_ids.iter().min().copied() else { return Ok(Arc::default()) };
        match self.fetch(ep::plate_table_request(plate_id, via), decode_rows).await {
            Ok(rows) => {
                self.derive_well_rows(well_ids, &rows);
                Ok(rows)
            }
            Err(Error::NotFound { .. }) => Ok(Arc::default()),
            Err(e) if ep::plate_query_refused(&e) => self.well_rows(well_ids).await,
            Err(e) => Err(e),
        }
    }

    /// The screens and projects whose images match, through the engine's container search.
    pub async fn search_containers(
        &self,
        query: &SearchQuery,
    ) -> Result<Arc<Vec<ContainerHit>>, Error> {
        let req = ep::containers_request(query)?;
        self.fetch(req, ep::decode_containers).await
    }

    pub async fn search_values(
        &self,
        resource: SearchResource,
        key: &str,
    ) -> Result<Arc<Vec<ValueCount>>, Error> {
        self.fetch(ep::search_values_request(resource, key), move |url, resp| {
            ep::decode_search_values(url, resp, resource)
        })
        .await
    }

    pub async fn search_keys(&self, resource: SearchResource) -> Result<Arc<Vec<String>>, Error> {
        self.fetch(ep::search_keys_request(resource), move |url, resp| {
            ep::decode_search_keys(url, resp, resource)
        })
        .await
    }

    pub async fn search_images(
        &self,
        query: &SearchQuery,
        bookmark: Option<u64>,
    ) -> Result<Arc<SearchPage>, Error> {
        let req = ep::search_request(query, bookmark)?;
        self.fetch(req, ep::decode_search).await
    }
}

/// One row of a bulk-annotation table, sharing the table it came from.
#[derive(Clone, Debug)]
pub struct WellRow {
    pub table: Arc<Table>,
    pub row: usize,
}

impl WellRow {
    pub fn values(&self) -> &[Option<String>] {
        &self.table.rows[self.row]
    }
}

/// One object's annotations, cached on their own (see [`IdrClient::derive`]).
struct ObjectAnnotations(Arc<[Annotation]>);

/// One well's bulk row, cached on its own (see [`IdrClient::derive`]).
struct WellRowEntry(Option<WellRow>);

/// The upstream route a path is counted under, for metrics: its numbers replaced by
/// `{id}` (`/webclient/imgData/{id}/`), so the labels stay few whatever ids are asked.
fn endpoint_of(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Counts an upstream call in flight in `idr_upstream_in_flight` until dropped (also when
/// the call is cancelled).
struct InFlight;

/// Renews a lease every third of it until aborted.
fn renewer<F, Fut>(lease: Duration, renew: F) -> Option<tokio::task::JoinHandle<()>>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    Some(runtime.spawn(async move {
        let every = (lease / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            renew().await;
        }
    }))
}

/// What [`Inner::fetch_shared`] got: the response; the claim, when this replica fetched
/// it for all; and, for an answer another replica stored, how long it has left.
pub(crate) struct Fetched {
    resp: Response,
    claim: Option<ClaimGuard>,
    shared_ttl: Option<Duration>,
}

impl Fetched {
    fn called(resp: Response, claim: Option<ClaimGuard>) -> Fetched {
        Fetched { resp, claim, shared_ttl: None }
    }

    fn shared(resp: Response, left: Duration) -> Fetched {
        Fetched { resp, claim: None, shared_ttl: Some(left) }
    }

    /// An answer found in the shared tier, counted as a cache hit of the request.
    fn shared_hit(tally: &Option<Arc<Tally>>, resp: Response, left: Duration) -> Fetched {
        Tally::add_cache_hit(tally);
        metrics::counter!("idr_shared_cache_hits_total").increment(1);
        Fetched::shared(resp, left)
    }
}

/// How long one request may spend in slow calls to the shared tier before it goes on
/// without it: a tier that is slow but within its own timeout would otherwise add its
/// time to every call of the request.
const SHARED_BUDGET: Duration = Duration::from_millis(500);

/// A call to the shared tier that takes this long counts to [`SHARED_BUDGET`].
const SLOW_SHARED_CALL: Duration = Duration::from_millis(50);

/// A permit of the shared cap: its lease renewed while the call runs, and given back when
/// dropped.
struct SharedPermit {
    shared: Option<(Arc<dyn SharedTier>, String)>,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl SharedPermit {
    fn held(shared: Arc<dyn SharedTier>, token: String, lease: Duration) -> SharedPermit {
        let (s, t) = (shared.clone(), token.clone());
        let renew = renewer(lease, move || {
            let (s, t) = (s.clone(), t.clone());
            async move { s.renew_permit(&t, lease).await }
        });
        SharedPermit { shared: Some((shared, token)), renew }
    }
}

impl Drop for SharedPermit {
    fn drop(&mut self) {
        if let Some(renew) = self.renew.take() {
            renew.abort();
        }
        if let Some((shared, token)) = self.shared.take() {
            shared.release_permit(&token);
        }
    }
}

/// A claim on the one fetch of an answer: renewed while the fetch works, and ended by
/// [`ClaimGuard::finish`] with how the fetch ended, or as abandoned when dropped unfinished
/// (a cancelled request), so that no other replica waits on a fetch that is gone. Neither
/// waits, so neither can be cut short.
pub(crate) struct ClaimGuard {
    shared: Arc<dyn SharedTier>,
    key: String,
    token: Option<String>,
    renew: Option<tokio::task::JoinHandle<()>>,
}

impl ClaimGuard {
    fn new(shared: Arc<dyn SharedTier>, key: String, token: String, lease: Duration) -> ClaimGuard {
        let (s, k, t) = (shared.clone(), key.clone(), token.clone());
        let renew = renewer(lease, move || {
            let (s, k, t) = (s.clone(), k.clone(), t.clone());
            async move { s.renew(&k, &t, lease).await }
        });
        ClaimGuard { shared, key, token: Some(token), renew }
    }

    fn finish(mut self, end: FetchEnd) {
        self.end(end);
    }

    fn end(&mut self, end: FetchEnd) {
        if let Some(renew) = self.renew.take() {
            renew.abort();
        }
        if let Some(token) = self.token.take() {
            self.shared.release(&self.key, &token, end);
        }
    }
}

impl Drop for ClaimGuard {
    fn drop(&mut self) {
        self.end(FetchEnd::Abandoned);
    }
}

impl InFlight {
    fn enter() -> InFlight {
        metrics::gauge!("idr_upstream_in_flight").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("idr_upstream_in_flight").decrement(1.0);
    }
}

/// One image's thumbnail at one size, cached on its own (see [`IdrClient::derive`]).
struct ThumbnailEntry(ep::Thumbnail);

/// What a call keeps in the cache once answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Its decoded answer (or that there is none).
    Answer,
    /// Nothing: its caller caches the good parts of the answer, one by one, and a bad
    /// part must not be served from the cache as if it were IDR's answer.
    Parts,
}

/// A rough size of an annotation in memory, for the cache's byte bound.
fn annotation_bytes(annotation: &Annotation) -> usize {
    let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let body = match &annotation.body {
        AnnotationBody::Map(pairs) => pairs.iter().map(|(k, v)| k.len() + v.len() + 48).sum(),
        AnnotationBody::File(file) => file.name.len() + 64,
        AnnotationBody::Other { class } => class.len(),
    };
    96 + text(&annotation.namespace) + text(&annotation.description) + body
}

/// Bulk-annotation rows by well id.
pub type RowsByWell = HashMap<u64, WellRow>;

/// A table answer, decoded and indexed by well once, when it arrives.
fn decode_rows(url: &str, resp: &Response) -> Result<RowsByWell, Error> {
    ep::decode_table(url, resp).map(rows_by_well)
}

/// A table's rows by the id in their `Well` column (none without one).
fn rows_by_well(table: Table) -> RowsByWell {
    let Some(well_col) = table.column_index("Well") else { return HashMap::new() };
    let table = Arc::new(table);
    table
        .rows
        .iter()
        .enumerate()
        .filter_map(|(i, row)| {
            let id = row[well_col].as_deref()?.parse::<u64>().ok()?;
            Some((id, WellRow { table: table.clone(), row: i }))
        })
        .collect()
}

/// A decoded value as the type its key names.
fn typed<T: Send + Sync + 'static>(outcome: Outcome) -> Result<Arc<T>, Error> {
    outcome.map(|value| {
        value.downcast::<T>().unwrap_or_else(|_| unreachable!("the key names the type"))
    })
}

/// An `api/v0` parents list as containers: none for an object IDR does not know.
fn parent_list(page: Result<Arc<Page<Container>>, Error>) -> Result<Vec<Container>, Error> {
    match page {
        Ok(page) => Ok(page.items.clone()),
        Err(Error::NotFound { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// "Not found" as `None`, everything else unchanged.
fn found<T>(result: Result<T, Error>) -> Result<Option<T>, Error> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

impl Inner {
    /// One attempt: through the breaker and under the concurrency cap, classified, and
    /// counted by the breaker.
    async fn send_once(
        &self,
        req: &Request,
        tally: &Option<Arc<Tally>>,
    ) -> Result<Response, Error> {
        let endpoint = endpoint_of(&req.path);
        let probe = match self.breaker.admit() {
            Admit::Yes { probe } => self.breaker.guard(probe),
            Admit::No => {
                // Not sent: counted under its endpoint, so the refusals are visible.
                metrics::counter!("idr_upstream_calls_total", "endpoint" => endpoint, "status" => "circuit_open")
                    .increment(1);
                return Err(Error::CircuitOpen);
            }
        };
        let (result, started) = {
            let _permit = self.permits.acquire().await.map_err(|_| Error::CircuitOpen)?;
            // The deployment's cap, shared by every replica, after this one's own (unless
            // the request that started the call has spent its time with a slow shared
            // tier).
            let _shared = match &self.shared {
                Some(shared) if !Tally::shared_spent(tally, SHARED_BUDGET) => {
                    Some(self.shared_permit(shared.clone()).await?)
                }
                _ => None,
            };
            // The call's time is IDR's, not the wait for a permit here.
            let started = Instant::now();
            self.calls.fetch_add(1, Ordering::Relaxed);
            let _in_flight = InFlight::enter();
            (self.upstream.send(req).await.and_then(|resp| classify(req, resp)), started)
        };
        // The HTTP status when there was one (a 503 made an error stays a 503), else the
        // kind of failure (`transport`, `timeout`, …).
        let status = match &result {
            Ok(Response { status, .. }) | Err(Error::Status { status, .. }) => {
                std::borrow::Cow::Owned(status.to_string())
            }
            Err(e) => std::borrow::Cow::Borrowed(e.kind()),
        };
        metrics::counter!("idr_upstream_calls_total", "endpoint" => endpoint.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("idr_upstream_call_duration_seconds", "endpoint" => endpoint)
            .record(started.elapsed().as_secs_f64());
        // A 5xx answer reaches the decoder as a response, not an error, but it still says
        // the upstream is failing; without this, persistent 500s never open the breaker.
        // (The plate grid's 500 for a missing plate counts too; that is rare enough.)
        let failed = match &result {
            Ok(resp) => resp.status >= 500,
            Err(e) => e.is_upstream_failure(),
        };
        probe.record(failed);
        if result.as_ref().is_ok_and(Response::is_success) {
            *self.last_success.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        result
    }

    /// Runs one call to the shared tier, counting its time to the request when it was
    /// slow (a healthy tier answers in a millisecond or two, and spends nothing).
    async fn timed<T>(tally: &Option<Arc<Tally>>, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        let took = started.elapsed();
        if took >= SLOW_SHARED_CALL {
            Tally::add_shared_time(tally, took);
        }
        out
    }

    /// The answer to `req` through the shared tier: another replica's stored answer, or
    /// the outcome of the fetch another replica is making (waited for while it renews its
    /// claim, taken over when the claim is gone without one), or fetched here under a
    /// claim, which is returned so that the caller shares what it decodes and releases it.
    async fn fetch_shared(
        &self,
        shared: Arc<dyn SharedTier>,
        req: &Request,
        tally: &Option<Arc<Tally>>,
    ) -> Result<Fetched, Error> {
        let key = crate::shared::answer_key(&self.config.shared_namespace, req);
        let lease = self.config.shared_lease;
        // The fetch this request waits for, and the pause before asking again.
        let mut waited_on: Option<String> = None;
        let mut pause = Duration::from_millis(10);
        // Until it fetches under a claim, or goes on alone: out of time for the shared
        // tier, told to fetch for itself, or the tier cannot say.
        while !Tally::shared_spent(tally, SHARED_BUDGET) {
            match Inner::timed(tally, shared.claim(&key, lease, waited_on.as_deref())).await {
                Claim::Stored(resp, left) if waited_on.is_some() => {
                    Inner::coalesced_across_replicas();
                    return Ok(Fetched::shared(resp, left));
                }
                Claim::Stored(resp, left) => return Ok(Fetched::shared_hit(tally, resp, left)),
                Claim::Failed(error) => {
                    // Another replica's call, not one of this request's.
                    Tally::refund_call(tally);
                    Inner::coalesced_across_replicas();
                    return Err(error);
                }
                Claim::Alone | Claim::Unavailable => break,
                Claim::Mine(token) => {
                    // Held while this fetch lives, renewed as it works, and released
                    // when it ends, however it ends (a cancelled request included).
                    let claim = ClaimGuard::new(shared.clone(), key.clone(), token, lease);
                    return match self.send_with_retries(req, tally).await {
                        Ok(resp) => Ok(Fetched::called(resp, Some(claim))),
                        Err(error) => {
                            claim.finish(FetchEnd::Failed(error.clone()));
                            Err(error)
                        }
                    };
                }
                Claim::Theirs(holder) => {
                    // Another fetch holds it (renewing it while it works): ask again,
                    // backing off, until its answer or its failure is there, or its claim
                    // is gone without either (its request was cancelled, or its replica
                    // died and the lease ran out) and this one takes over.
                    waited_on = Some(holder);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
            }
        }
        Ok(Fetched::called(self.send_with_retries(req, tally).await?, None))
    }

    fn coalesced_across_replicas() {
        Tally::add_coalesced();
        metrics::counter!("idr_shared_coalesced_total").increment(1);
    }

    /// One of the deployment's permits for a call, given back when the guard drops.
    async fn shared_permit(&self, shared: Arc<dyn SharedTier>) -> Result<SharedPermit, Error> {
        let cap = self.config.max_concurrency.max(1);
        let lease = self.config.shared_lease;
        match shared.acquire(cap, lease, lease).await {
            Permit::Held(token) => Ok(SharedPermit::held(shared, token, lease)),
            Permit::Unavailable => Ok(SharedPermit { shared: None, renew: None }),
            // Not IDR's failure: not retried, not counted as a call (see `send_with_retries`).
            Permit::TimedOut => Err(Error::Deadline),
        }
    }

    /// One upstream call, retried with backoff while transient and the budget allows.
    async fn send_with_retries(
        &self,
        req: &Request,
        tally: &Option<Arc<Tally>>,
    ) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            let result = self.send_once(req, tally).await;
            // Refused here (the breaker, or no shared permit in time): no call was made.
            if matches!(result, Err(Error::CircuitOpen | Error::Deadline)) {
                return result;
            }
            Tally::add_upstream_call(tally);
            if attempt == 0 {
                self.retry_budget.deposit();
            }
            match result {
                Err(e)
                    if e.is_transient()
                        && attempt < self.config.retries
                        && self.retry_budget.withdraw() =>
                {
                    attempt += 1;
                    metrics::counter!("idr_upstream_retries_total").increment(1);
                    tracing::debug!(request = %req, attempt, error = %e, "retrying upstream call");
                    tokio::time::sleep(backoff(self.config.backoff, attempt)).await;
                }
                other => return other,
            }
        }
    }
}

/// Turns gateway-level failures (502/503/504) and answers that are not whole (see
/// [`ep::check_complete`]) into errors so they are retried; everything else is left for
/// the endpoint decoder, which knows what its statuses mean.
fn classify(req: &Request, resp: Response) -> Result<Response, Error> {
    if matches!(resp.status, 502..=504) {
        return Err(Error::Status { status: resp.status, url: req.to_string(), message: None });
    }
    ep::check_complete(req, &resp)?;
    Ok(resp)
}
