//! `searchImages`: runs what IDR's search engine can of a filter, filters the rest locally
//! on each hit's key/values, and pages with cursors that wrap the engine's bookmarks.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_graphql::connection::{Connection, Edge};
use idr_client::endpoints::ApiObject;
use idr_client::model::{ImageHit, SearchQuery, Study, StudyKind};
use idr_client::IdrClient;
use idr_filter::Expr;

use crate::connection::{decode_cursor, search_cursor, Count, Total, TotalKind};
use crate::context::client;
use crate::error::{bad_input, ResultExt};
use crate::inputs::ImageFilter;
use crate::objects::{Image, Parent};

/// How far one GraphQL page may read the engine looking for matches: in hits (what the
/// answer needs, whatever the engine's page size, a deployment setting: 1,000 on IDR), and
/// in engine calls (what politeness allows).
const MAX_SCAN_HITS: u64 = 20_000;
const MAX_SCAN_CALLS: usize = 200;
/// How far counting a locally filtered search may read, likewise.
const MAX_COUNT_HITS: u64 = 50_000;
const MAX_COUNT_CALLS: usize = 500;

/// Counts of locally filtered searches, remembered across requests: paging through such a
/// search asks for `totalCount` on every page, and recounting reads every engine page.
/// Bounded in entries and time, like the response cache it sits on.
#[derive(Default)]
pub(crate) struct Counts {
    entries: Mutex<HashMap<u64, (u64, Instant)>>,
}

impl Counts {
    const MAX_ENTRIES: usize = 1_024;
    const TTL: Duration = Duration::from_secs(600);

    fn get(&self, key: u64) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&key).filter(|(_, at)| at.elapsed() < Counts::TTL).map(|(n, _)| *n)
    }

    fn insert(&self, key: u64, count: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Counts::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Counts::TTL);
            if entries.len() >= Counts::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (count, Instant::now()));
    }
}

/// A search: the engine's query and what is checked here on each hit.
#[derive(Hash)]
pub(crate) struct FilteredSearch {
    pub(crate) query: SearchQuery,
    /// The full filter, when the engine's answer is only a superset of it.
    pub(crate) expr: Option<Expr>,
    /// Hits must be in this screen / project (the engine only filters by study name).
    pub(crate) screen: Option<u64>,
    pub(crate) project: Option<u64>,
}

impl FilteredSearch {
    /// The search for `filter` within the scopes given, or `None` when the scopes leave
    /// no image (an unknown container, a screen and a project, or a study that names
    /// another container than the screen or project).
    ///
    /// The engine scopes by name: the container's, on its own kind. When another
    /// container of that kind has the same name, hits are also checked by id here.
    pub(crate) async fn new(
        client: &IdrClient,
        filter: &ImageFilter,
        study: Option<String>,
        screen: Option<u64>,
        project: Option<u64>,
    ) -> async_graphql::Result<Option<FilteredSearch>> {
        let (expr, mut query, exact) = crate::args::search_filter(filter)?;
        query.study = study.map(Study::any);
        let mut search =
            FilteredSearch { query, expr: (!exact).then_some(expr), screen: None, project: None };
        // An image is in a screen or in a project, never both.
        if screen.is_some() && project.is_some() {
            return Ok(None);
        }
        for (object, id, kind) in [
            (ApiObject::Screen, screen, StudyKind::Screen),
            (ApiObject::Project, project, StudyKind::Project),
        ] {
            let Some(id) = id else { continue };
            let Some(container) = client.container(object, id).await.gql()? else {
                return Ok(None);
            };
            // `study` and `screen` / `project` together: both must hold.
            if search.query.study.as_ref().is_some_and(|s| !same_name(&s.name, &container.name)) {
                return Ok(None);
            }
            if !unique_name(client, object, &container.name).await {
                match object {
                    ApiObject::Screen => search.screen = Some(id),
                    _ => search.project = Some(id),
                }
            }
            search.query.study = Some(Study { name: container.name.clone(), kind });
        }
        Ok(Some(search))
    }

    fn is_exact(&self) -> bool {
        self.expr.is_none() && self.screen.is_none() && self.project.is_none()
    }

    fn accepts(&self, hit: &ImageHit) -> bool {
        let in_scope = |wanted: Option<u64>, actual: &Option<idr_client::model::ImageRef>| {
            wanted.is_none_or(|id| actual.as_ref().is_some_and(|r| r.id == id))
        };
        in_scope(self.screen, &hit.screen)
            && in_scope(self.project, &hit.project)
            && self.expr.as_ref().is_none_or(|e| e.matches(Some(&hit.name), &hit.key_values))
    }

    /// Counts matching hits by reading every engine page (bounded), or remembers the count.
    async fn count_matches(
        &self,
        client: &IdrClient,
        counts: &Counts,
    ) -> async_graphql::Result<u64> {
        let key = {
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            self.hash(&mut hasher);
            hasher.finish()
        };
        if let Some(count) = counts.get(key) {
            return Ok(count);
        }
        let count = self.count_pages(client).await?;
        counts.insert(key, count);
        Ok(count)
    }

    async fn count_pages(&self, client: &IdrClient) -> async_graphql::Result<u64> {
        let mut bookmark = None;
        let mut count = 0;
        let mut seen = 0u64;
        for _ in 0..MAX_COUNT_CALLS {
            if seen >= MAX_COUNT_HITS {
                break;
            }
            let page = client.search_images(&self.query, bookmark).await.gql()?;
            if self.is_exact() {
                return Ok(page.total);
            }
            count += page.hits.iter().filter(|h| self.accepts(h)).count() as u64;
            match page.next_bookmark(seen) {
                Some(next) => {
                    bookmark = Some(next);
                    seen += page.hits.len() as u64;
                }
                None => return Ok(count),
            }
        }
        Err(bad_input(format!(
            "too many images to count after filtering (more than {MAX_COUNT_HITS} search hits, or {MAX_COUNT_CALLS} engine pages); the pages themselves still work"
        )))
    }

    /// One page of up to `first` matches after the cursor position `after`. With
    /// `look_ahead` (the client asked for `hasNextPage`), a full page of a filtered
    /// search reads on for one more match, so that `hasNextPage` is exact within the scan
    /// budget.
    pub(crate) async fn page(
        self: Arc<Self>,
        client: &IdrClient,
        first: usize,
        after: Option<&str>,
        look_ahead: bool,
    ) -> async_graphql::Result<Connection<String, Image, Total>> {
        // Where to start: the engine page (its bookmark, and how many hits came before
        // it) and the index in it.
        let (mut bookmark, mut start, mut seen) = match after {
            Some(cursor) => {
                let position = decode_cursor(cursor)?;
                (position.bookmark, position.index + 1, position.before)
            }
            None => (None, 0, 0),
        };
        let mut edges = Vec::new();
        let mut total = None;
        // Once the page is full, whether a further match exists: exact searches know it
        // from the engine's pagination, filtered ones look ahead for one (within the
        // same scan budget), so that `hasNextPage` is not true before an empty page.
        let mut has_next = false;
        let mut scanned_hits = 0u64;
        'pages: for calls in 1.. {
            let page = client.search_images(&self.query, bookmark).await.gql()?;
            total.get_or_insert(page.total);
            let len = page.hits.len();
            scanned_hits += len as u64;
            let next = page.next_bookmark(seen);
            for (i, hit) in page.hits.iter().enumerate().skip(start) {
                if !self.accepts(hit) {
                    continue;
                }
                if edges.len() == first {
                    has_next = true;
                    break 'pages;
                }
                edges.push(Edge::new(search_cursor(bookmark, i, seen), hit_image(hit.clone())));
            }
            match next {
                None => break,
                Some(_) if edges.len() == first && (self.is_exact() || !look_ahead) => {
                    has_next = true;
                    break;
                }
                Some(_) if calls >= MAX_SCAN_CALLS || scanned_hits >= MAX_SCAN_HITS => {
                    if edges.is_empty() {
                        return Err(bad_input(format!(
                            "no match in the next {scanned_hits} search hits; add a condition the search engine can run to narrow the search"
                        )));
                    }
                    // Unknown beyond the budget: the next page continues from here.
                    has_next = true;
                    break;
                }
                Some(next) => {
                    bookmark = Some(next);
                    start = 0;
                    seen += len as u64;
                }
            }
        }
        let total = match (self.is_exact(), total) {
            (true, Some(n)) => Total::known(n),
            _ => Total(TotalKind::Deferred(self.clone())),
        };
        let mut connection = Connection::with_additional_fields(after.is_some(), has_next, total);
        connection.edges = edges;
        Ok(connection)
    }
}

/// Whether two study names are the same to the search engine (which ignores case).
fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Whether no other top-level container of this kind has `name` (without regard to case),
/// so that the engine's scope by name is the scope by id. Reads the whole list (a few
/// hundred on IDR, cached); when that fails, the answer is "no" and hits are checked by id.
async fn unique_name(client: &IdrClient, object: ApiObject, name: &str) -> bool {
    let Ok(first) = client.containers(object, 0, 1).await else { return false };
    let Ok(all) = client.containers(object, 0, first.total_count).await else { return false };
    all.items.iter().filter(|c| same_name(&c.name, name)).count() == 1
}

#[async_graphql::async_trait::async_trait]
impl Count for FilteredSearch {
    async fn count(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<u64> {
        self.count_matches(client(ctx), ctx.data_unchecked::<Counts>()).await
    }
}

fn hit_image(hit: ImageHit) -> Image {
    let named = |r: Option<idr_client::model::ImageRef>| r.map(|r| Parent::new(r.id, r.name));
    Image {
        name: Some(hit.name),
        well: hit.well_id,
        plate: named(hit.plate),
        screen: named(hit.screen),
        dataset: named(hit.dataset),
        project: named(hit.project),
        ..Image::new(hit.id)
    }
}
