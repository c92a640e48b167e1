//! The root `Query` type.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result, ID};
use idr_client::endpoints::ApiObject;

use crate::connection::{self, Page, PageArgs, Total};
use crate::context::client;
use crate::error::{parse_id, ResultExt};
use crate::inputs::{ImageFilter, SearchResource};
use crate::objects::{
    keep_matching, Dataset, Image, Listed, Plate, Project, Screen, ValueCount, Well,
};
use crate::search::FilteredSearch;

/// The entry points: IDR objects by id, top-level lists, and the search engine.
pub struct Query;

/// The entry points: IDR objects by id, top-level lists, and the search engine.
///
/// Nullability follows one rule: a field that needs a call to IDR of its own is nullable,
/// so that when the call fails only that field is `null`, next to an error with its
/// `path` and `extensions.code`, and the rest of the response keeps its data. A field
/// computed from what its parent already holds is non-null.
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
            meta: Some(meta),
        }))
    }
    /// A well by id; `null` when IDR has no such well.
    async fn well(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Well>> {
        let id = parse_id(&id)?;
        Ok(client(ctx).well(id).await.gql()?.map(|meta| Well::from_meta(&meta)))
    }
    /// An image by id; `null` when IDR has no such image (or it is not public).
    async fn image(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Image>> {
        let id = parse_id(&id)?;
        let data = crate::loaders::load_one(&crate::context::loaders(ctx).images, id).await?;
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
    /// All screens, by name, optionally only those matching `where` (on their
    /// names and key/values).
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    async fn screens(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Page<Screen>>> {
        let args = PageArgs::new(first, after.as_deref())?;
        top_level(ctx, ApiObject::Screen, filter, args, Screen::loaded).await.map(Some)
    }
    /// All projects, by name, optionally only those matching `where` (on their
    /// names and key/values).
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    async fn projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ImageFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Page<Project>>> {
        let args = PageArgs::new(first, after.as_deref())?;
        top_level(ctx, ApiObject::Project, filter, args, Project::loaded).await.map(Some)
    }
    /// Images whose key/values match `where`, through IDR's search engine (parts of the
    /// filter it cannot run are checked here on each hit). `totalCount` is the engine's
    /// hit count when it ran the whole filter; cursors reach every page.
    #[graphql(complexity = "crate::connection::cost(first, child_complexity)")]
    #[expect(clippy::too_many_arguments, reason = "one GraphQL argument each")]
    async fn search_images(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: ImageFilter,
        #[graphql(
            desc = "Restrict to one study by name, e.g. `idr0002-heriche-condensation/screenA`."
        )]
        study: Option<String>,
        #[graphql(desc = "Restrict to the images of one screen.")] screen: Option<ID>,
        #[graphql(desc = "Restrict to the images of one project.")] project: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Connection<String, Image, Total>>> {
        let first = PageArgs::new(first, None)?.first;
        let client = client(ctx);
        let screen = screen.as_ref().map(parse_id).transpose()?;
        let project = project.as_ref().map(parse_id).transpose()?;
        let Some(search) = FilteredSearch::new(client, &filter, study, screen, project).await?
        else {
            return Ok(Some(Connection::with_additional_fields(false, false, Total::known(0))));
        };
        let look_ahead = ctx.look_ahead().field("pageInfo").field("hasNextPage").exists();
        Arc::new(search).page(client, first, after.as_deref(), look_ahead).await.map(Some)
    }
    /// Every value of `key` with the number of objects that carry it (values lower-cased
    /// by the search engine).
    async fn search_values(
        &self,
        ctx: &Context<'_>,
        key: String,
        #[graphql(default_with = "SearchResource::Image")] resource: SearchResource,
    ) -> Result<Option<Vec<ValueCount>>> {
        crate::args::search_key(&key)?;
        let values = client(ctx).search_values(resource.into(), &key).await.gql()?;
        Ok(Some(
            values.iter().map(|v| ValueCount { value: v.value.clone(), count: v.count }).collect(),
        ))
    }
    /// Every key the search engine knows for the resource, sorted.
    async fn search_keys(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "SearchResource::Image")] resource: SearchResource,
    ) -> Result<Option<Vec<String>>> {
        client(ctx).search_keys(resource.into()).await.gql().map(|keys| Some(keys.to_vec()))
    }
}

/// A page of the top-level screens or projects. With a filter the whole list is read
/// (the API cannot filter), then the matches are sliced; without, only the page is read.
async fn top_level<T: async_graphql::OutputType + Listed>(
    ctx: &Context<'_>,
    object: ApiObject,
    filter: Option<ImageFilter>,
    args: PageArgs,
    loaded: fn(Arc<idr_client::model::Container>) -> T,
) -> Result<Page<T>> {
    let client = client(ctx);
    if let Some(filter) = filter {
        let total = client.containers(object, 0, 1).await.gql()?.total_count;
        let all = client.containers(object, 0, total).await.gql()?;
        let items = all.items.into_iter().map(|c| loaded(Arc::new(c))).collect();
        let kept = keep_matching(ctx, items, Some(&filter)).await?;
        return Ok(connection::slice(kept, args));
    }
    let page = client.containers(object, args.offset as u64, args.first as u64).await.gql()?;
    Ok(offset_page(
        page.items.into_iter().map(|c| loaded(Arc::new(c))).collect(),
        args,
        page.total_count,
    ))
}

/// A connection page over items the upstream already sliced at `args.offset`.
fn offset_page<T: async_graphql::OutputType>(items: Vec<T>, args: PageArgs, total: u64) -> Page<T> {
    let end = args.offset + items.len();
    let mut page = Connection::with_additional_fields(
        args.offset > 0,
        (end as u64) < total,
        Total::known(total),
    );
    page.edges.extend(
        items
            .into_iter()
            .enumerate()
            .map(|(i, node)| Edge::new(connection::offset_cursor(args.offset + i), node)),
    );
    page
}
