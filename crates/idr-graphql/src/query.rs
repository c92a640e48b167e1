//! The root `Query` type and the search filter input.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, Result, ID};
use idr_client::endpoints::ApiObject;
use idr_client::model::{
    Condition, ImageHit, SearchOp, SearchQuery, SearchResource as ClientResource,
};

use crate::connection::{self, Page, PageArgs, Total};
use crate::error::{bad_input, parse_id, ResultExt};
use crate::objects::{client, Dataset, Image, Plate, Project, Screen, ValueCount, Well};

/// Resources the search engine indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum SearchResource {
    /// Images (the default).
    Image,
    /// Non-HCS studies.
    Project,
    /// HCS studies.
    Screen,
    /// Plates.
    Plate,
    /// Wells.
    Well,
}

impl From<SearchResource> for ClientResource {
    fn from(r: SearchResource) -> ClientResource {
        match r {
            SearchResource::Image => ClientResource::Image,
            SearchResource::Project => ClientResource::Project,
            SearchResource::Screen => ClientResource::Screen,
            SearchResource::Plate => ClientResource::Plate,
            SearchResource::Well => ClientResource::Well,
        }
    }
}

/// How a condition compares a key's value. Matching is case-insensitive, as in IDR's
/// search engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum FilterOp {
    /// The value equals `value`.
    Equals,
    /// The object has the key with a value other than `value`.
    NotEquals,
    /// The value contains `value`.
    Contains,
    /// The object has the key with a value that does not contain `value`.
    NotContains,
    /// The value is one of `values`.
    In,
    /// The object has the key with a value that is none of `values`.
    NotIn,
}

impl From<FilterOp> for SearchOp {
    fn from(op: FilterOp) -> SearchOp {
        match op {
            FilterOp::Equals => SearchOp::Equals,
            FilterOp::NotEquals => SearchOp::NotEquals,
            FilterOp::Contains => SearchOp::Contains,
            FilterOp::NotContains => SearchOp::NotContains,
            FilterOp::In => SearchOp::In,
            FilterOp::NotIn => SearchOp::NotIn,
        }
    }
}

/// One condition on an image's key/values, or `all` / `any` of other filters.
///
/// The search engine runs conditions combined as: all of (conditions, and groups of `any`
/// conditions). So `{all: [c1, {any: [c2, c3]}]}` works, deeper nesting is refused with a
/// clear error, and `not` is refused (the engine's `NOT_*` operators are not negations:
/// they match objects that *have* the key with another value). IDR-QL compiles richer
/// boolean expressions into this form.
#[derive(Clone, Debug, InputObject)]
pub struct ImageFilter {
    /// The key, such as `Gene Symbol`; without it the value matches under any key.
    pub key: Option<String>,
    /// How the value is compared.
    #[graphql(default_with = "FilterOp::Equals")]
    pub op: FilterOp,
    /// The value, for every operator but `IN` / `NOT_IN`.
    pub value: Option<String>,
    /// The values, for `IN` / `NOT_IN`.
    pub values: Option<Vec<String>>,
    /// Every one of these filters holds.
    pub all: Option<Vec<ImageFilter>>,
    /// At least one of these filters holds.
    pub any: Option<Vec<ImageFilter>>,
    /// This filter does not hold (not supported by the search engine; see above).
    pub not: Option<Box<ImageFilter>>,
}

impl ImageFilter {
    fn is_condition(&self) -> bool {
        self.key.is_some() || self.value.is_some() || self.values.is_some()
    }

    fn condition(&self) -> Result<Condition> {
        if self.all.is_some() || self.any.is_some() || self.not.is_some() {
            return Err(bad_input(
                "a filter is either one condition (key/op/value) or all/any/not, not both",
            ));
        }
        let op = SearchOp::from(self.op);
        let values = if op.takes_list() {
            if self.value.is_some() {
                return Err(bad_input(format!("`{:?}` takes `values`, not `value`", self.op)));
            }
            let values = self.values.clone().unwrap_or_default();
            if values.is_empty() {
                return Err(bad_input("`values` must not be empty"));
            }
            values
        } else {
            if self.values.is_some() {
                return Err(bad_input(format!("`{:?}` takes `value`, not `values`", self.op)));
            }
            vec![self.value.clone().ok_or_else(|| bad_input("a condition needs a `value`"))?]
        };
        Ok(Condition { key: self.key.clone().filter(|k| !k.is_empty()), op, values })
    }

    /// The engine's normal form: and-conditions plus or-groups of conditions.
    pub(crate) fn to_query(&self) -> Result<SearchQuery> {
        let mut query = SearchQuery::default();
        if self.not.is_some() {
            return Err(bad_input(
                "`not` is not supported by IDR's search engine; NOT_EQUALS / NOT_CONTAINS / NOT_IN match images that have the key with another value",
            ));
        }
        if self.is_condition() {
            query.and.push(self.condition()?);
            return Ok(query);
        }
        match (&self.all, &self.any) {
            (Some(all), None) => {
                for f in all {
                    if f.is_condition() {
                        query.and.push(f.condition()?);
                    } else if let (Some(any), None, None) = (&f.any, &f.all, &f.not) {
                        query
                            .or
                            .push(any.iter().map(ImageFilter::condition).collect::<Result<_>>()?);
                    } else {
                        return Err(bad_input(
                            "inside `all`, use conditions or `any` of conditions",
                        ));
                    }
                }
            }
            (None, Some(any)) => {
                query.or.push(any.iter().map(ImageFilter::condition).collect::<Result<_>>()?)
            }
            _ => return Err(bad_input("a filter needs a condition, `all` or `any`")),
        }
        if query.and.is_empty() && query.or.iter().all(Vec::is_empty) {
            return Err(bad_input("the filter has no conditions"));
        }
        Ok(query)
    }
}

/// Search cursors: the bookmark that fetches the engine page holding the item (none for
/// the first page) and the item's index in that page.
fn search_cursor(bookmark: Option<u64>, index: usize) -> String {
    connection::encode(&format!(
        "s:{}:{index}",
        bookmark.map(|b| b.to_string()).unwrap_or_default()
    ))
}

fn decode_search_cursor(cursor: &str) -> Result<(Option<u64>, usize)> {
    let text = connection::decode(cursor)?;
    let bad = || bad_input("`after` is not a cursor of this search");
    let rest = text.strip_prefix("s:").ok_or_else(bad)?;
    let (bookmark, index) = rest.split_once(':').ok_or_else(bad)?;
    let bookmark =
        if bookmark.is_empty() { None } else { Some(bookmark.parse().map_err(|_| bad())?) };
    Ok((bookmark, index.parse().map_err(|_| bad())?))
}

fn hit_image(hit: ImageHit) -> Image {
    let named = |r: Option<idr_client::model::ImageRef>| r.map(|r| (r.id, r.name));
    Image {
        name: Some(hit.name),
        well: hit.well_id,
        plate: named(hit.plate),
        screen: named(hit.screen),
        dataset: named(hit.dataset),
        project: named(hit.project),
        hit_key_values: Some(Arc::from(hit.key_values)),
        ..Image::new(hit.id)
    }
}

/// The entry points: IDR objects by id, top-level lists, and the search engine.
pub struct Query;

/// The entry points: IDR objects by id, top-level lists, and the search engine.
#[Object]
impl Query {
    /// A screen by id; `null` when IDR has no such screen.
    async fn screen(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Screen>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).container(ApiObject::Screen, id).await.gql()?.map(Screen::loaded))
    }
    /// A plate by id; `null` when IDR has no such plate.
    async fn plate(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Plate>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).plate(id).await.gql()?.map(|meta| Plate {
            id: meta.id,
            name: Some(meta.name.clone()),
            screen: None,
            meta: Some(Arc::new(meta)),
        }))
    }
    /// A well by id; `null` when IDR has no such well.
    async fn well(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Well>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).well(id).await.gql()?.map(Well::from_meta))
    }
    /// An image by id; `null` when IDR has no such image (or it is not public).
    async fn image(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Image>> {
        let id = parse_id(&id)?;
        let data = crate::loaders::load_one(&crate::objects::loaders(ctx).images, id).await?;
        Ok(data.map(|data| Image { data: Some(data), ..Image::new(id) }))
    }
    /// A project by id; `null` when IDR has no such project.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Project>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).container(ApiObject::Project, id).await.gql()?.map(Project::loaded))
    }
    /// A dataset by id; `null` when IDR has no such dataset.
    async fn dataset(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Dataset>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).container(ApiObject::Dataset, id).await.gql()?.map(Dataset::loaded))
    }
    /// All screens, by name.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn screens(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Screen>> {
        let args = PageArgs::new(first, after.as_deref())?;
        let page = client(ctx)
            .containers(ApiObject::Screen, args.offset as u64, args.first as u64)
            .await
            .gql()?;
        Ok(offset_page(
            page.items.into_iter().map(Screen::loaded).collect(),
            args,
            page.total_count,
        ))
    }
    /// All projects, by name.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Page<Project>> {
        let args = PageArgs::new(first, after.as_deref())?;
        let page = client(ctx)
            .containers(ApiObject::Project, args.offset as u64, args.first as u64)
            .await
            .gql()?;
        Ok(offset_page(
            page.items.into_iter().map(Project::loaded).collect(),
            args,
            page.total_count,
        ))
    }
    /// Images whose key/values match `where`, through IDR's search engine. `totalCount`
    /// is the engine's hit count; cursors reach every page.
    #[graphql(complexity = "first.unwrap_or(20).max(1) as usize * child_complexity")]
    async fn search_images(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: ImageFilter,
        #[graphql(desc = "Restrict to one study, e.g. `idr0002-heriche-condensation/screenA`.")]
        study: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, Image, Total>> {
        let mut query = filter.to_query()?;
        query.study = study;
        let first = PageArgs::new(first, None)?.first;
        let (mut bookmark, mut start) = match after.as_deref() {
            Some(cursor) => {
                let (bookmark, index) = decode_search_cursor(cursor)?;
                (bookmark, index + 1)
            }
            None => (None, 0),
        };
        let client = client(ctx);
        let mut page = client.search_images(&query, bookmark).await.gql()?;
        // The item after the cursor may open the next engine page.
        if start >= page.hits.len() {
            if let Some(next) = page.next_bookmark.filter(|_| !page.hits.is_empty()) {
                bookmark = Some(next);
                start = 0;
                page = client.search_images(&query, bookmark).await.gql()?;
            }
        }
        let end = (start + first).min(page.hits.len());
        let has_next = end < page.hits.len() || page.next_bookmark.is_some();
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            Total { total_count: page.total },
        );
        let hits: Vec<ImageHit> =
            page.hits.into_iter().skip(start).take(end.saturating_sub(start)).collect();
        connection.edges.extend(
            hits.into_iter()
                .enumerate()
                .map(|(i, hit)| Edge::new(search_cursor(bookmark, start + i), hit_image(hit))),
        );
        Ok(connection)
    }
    /// Every value of `key` with the number of objects that carry it (values lower-cased
    /// by the search engine).
    async fn search_values(
        &self,
        ctx: &Context<'_>,
        key: String,
        #[graphql(default_with = "SearchResource::Image")] resource: SearchResource,
    ) -> Result<Vec<ValueCount>> {
        if key.trim().is_empty() {
            return Err(bad_input("`key` must not be empty"));
        }
        let values = client(ctx).search_values(resource.into(), &key).await.gql()?;
        Ok(values.into_iter().map(|v| ValueCount { value: v.value, count: v.count }).collect())
    }
    /// Every key the search engine knows for the resource, sorted.
    async fn search_keys(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SearchResource::Image")] resource: SearchResource,
    ) -> Result<Vec<String>> {
        client(ctx).search_keys(resource.into()).await.gql()
    }
}

/// A connection page over items the upstream already sliced at `args.offset`.
fn offset_page<T: async_graphql::OutputType>(items: Vec<T>, args: PageArgs, total: u64) -> Page<T> {
    let end = args.offset + items.len();
    let mut page = Connection::with_additional_fields(
        args.offset > 0,
        (end as u64) < total,
        Total { total_count: total },
    );
    page.edges.extend(
        items
            .into_iter()
            .enumerate()
            .map(|(i, node)| Edge::new(connection::offset_cursor(args.offset + i), node)),
    );
    page
}
