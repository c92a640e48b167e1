//! The root `Query` type.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, Result, ID};
use idr_client::endpoints::ApiObject;

use crate::connection::{self, Page, PageArgs, Total};
use crate::context::client;
use crate::error::ResultExt;
use crate::ids::{check_count, parse_global, parse_id_of};
use crate::inputs::{ImageFilter, SearchResource};
use crate::node::{load, load_single, Node};
use crate::objects::{
    keep_matching, Dataset, Image, Listed, Plate, Project, Screen, Study, StudyMatch, ValueCount,
    Well,
};
use crate::search::FilteredSearch;

/// The entry points: IDR objects by id, top-level lists, and the search engine.
pub struct Query;

/// The objects of one kind named by `ids` (IDR's or global), as [`load`] loads them.
/// Each entry of a list lookup: the object, `null` for none, or the error of that one
/// (`null` in its place, with the error at its index).
type Entries<T> = Vec<Option<Result<T>>>;

async fn plural<T>(
    ctx: &Context<'_>,
    ids: &[ID],
    object: ApiObject,
    cast: fn(Node) -> Option<T>,
) -> Result<Option<Entries<T>>> {
    check_count(ids)?;
    let keys = ids
        .iter()
        .map(|id| parse_id_of(id, object).map(|n| (object, n)))
        .collect::<Result<Vec<_>>>()?;
    let loaded = load(ctx, &keys).await;
    Ok(Some(loaded.into_iter().map(|entry| entry.map(|n| n.and_then(cast)).transpose()).collect()))
}

/// The entry points: IDR objects by id, top-level lists, and the search engine.
///
/// Nullability follows one rule: a field that needs a call to IDR of its own is nullable,
/// so that when the call fails only that field is `null`, next to an error with its
/// `path` and `extensions.code`, and the rest of the response keeps its data. A field
/// computed from what its parent already holds is non-null.
#[Object]
impl Query {
    /// A screen by id (`"102"` or `"Screen:102"`); `null` when IDR has no such screen.
    async fn screen(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Screen>> {
        let id = parse_id_of(&id, ApiObject::Screen)?;
        Ok(load_single(ctx, ApiObject::Screen, id).await?.and_then(Node::into_screen))
    }
    /// A plate by id (`"4554"` or `"Plate:4554"`); `null` when IDR has no such plate.
    async fn plate(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Plate>> {
        let id = parse_id_of(&id, ApiObject::Plate)?;
        Ok(load_single(ctx, ApiObject::Plate, id).await?.and_then(Node::into_plate))
    }
    /// A well by id (`"1046872"` or `"Well:1046872"`); `null` when IDR has no such well.
    async fn well(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Well>> {
        let id = parse_id_of(&id, ApiObject::Well)?;
        Ok(load_single(ctx, ApiObject::Well, id).await?.and_then(Node::into_well))
    }
    /// An image by id (`"122770"` or `"Image:122770"`); `null` when IDR has no such image
    /// (or it is not public).
    async fn image(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Image>> {
        let id = parse_id_of(&id, ApiObject::Image)?;
        Ok(load_single(ctx, ApiObject::Image, id).await?.and_then(Node::into_image))
    }
    /// A project by id (`"51"` or `"Project:51"`); `null` when IDR has no such project.
    async fn project(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Project>> {
        let id = parse_id_of(&id, ApiObject::Project)?;
        Ok(load_single(ctx, ApiObject::Project, id).await?.and_then(Node::into_project))
    }
    /// A dataset by id (`"51"` or `"Dataset:51"`); `null` when IDR has no such dataset.
    async fn dataset(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Dataset>> {
        let id = parse_id_of(&id, ApiObject::Dataset)?;
        Ok(load_single(ctx, ApiObject::Dataset, id).await?.and_then(Node::into_dataset))
    }
    /// Any object by its global id (`"Image:122770"`, `"Screen:102"`); `null` when IDR
    /// has no such object.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (object, id) = parse_global(&id)?;
        load_single(ctx, object, id).await
    }
    /// Objects by their global ids (at most 500), in the order given, `null` where IDR has
    /// no such object. Each distinct object is loaded once, all at once.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Option<Entries<Node>>> {
        check_count(&ids)?;
        let keys = ids.iter().map(parse_global).collect::<Result<Vec<_>>>()?;
        Ok(Some(load(ctx, &keys).await.into_iter().map(Result::transpose).collect()))
    }
    /// Images by id (IDR's or global; at most 500), in the order given, `null` where IDR
    /// has no such image.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn images(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Option<Entries<Image>>> {
        plural(ctx, &ids, ApiObject::Image, Node::into_image).await
    }
    /// Plates by id (IDR's or global; at most 500), in the order given, `null` where IDR
    /// has no such plate.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn plates(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Option<Entries<Plate>>> {
        plural(ctx, &ids, ApiObject::Plate, Node::into_plate).await
    }
    /// Wells by id (IDR's or global; at most 500), in the order given, `null` where IDR
    /// has no such well.
    #[graphql(complexity = "ids.len().max(1) * child_complexity")]
    async fn wells(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Option<Entries<Well>>> {
        plural(ctx, &ids, ApiObject::Well, Node::into_well).await
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
            desc = "Restrict to one study: a screen's or project's name (`idr0002-heriche-condensation/screenA`), or a study's name or accession (`idr0002`) when the study is that one screen or project."
        )]
        study: Option<String>,
        #[graphql(desc = "Restrict to the images of one screen.")] screen: Option<ID>,
        #[graphql(desc = "Restrict to the images of one project.")] project: Option<ID>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Option<Connection<String, Image, Total>>> {
        let first = PageArgs::new(first, None)?.first;
        let client = client(ctx);
        let screen = screen.as_ref().map(|id| parse_id_of(id, ApiObject::Screen)).transpose()?;
        let project = project.as_ref().map(|id| parse_id_of(id, ApiObject::Project)).transpose()?;
        let study = match study {
            Some(name) => Some(crate::studies::scope_name(client, &name).await?),
            None => None,
        };
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
    /// A study by its accession (`idr0002`), its name (`idr0002-heriche-condensation`)
    /// or the name of one of its screens or projects (`…/screenA`): its screens and
    /// projects and its typed study information. `null` when IDR has no such study; an
    /// accession that several studies share is an error naming them.
    async fn study(&self, ctx: &Context<'_>, name: String) -> Result<Option<Study>> {
        crate::studies::find(client(ctx), &name).await
    }
    /// The studies whose images match `where`, through the search engine's container
    /// search (`submitquery/containers/`): each with its count of matching images, and
    /// the screens and projects that hold them. Most matching images first. The whole
    /// filter must be one the search engine runs (no condition on `name`, none under
    /// `not` alone).
    async fn studies(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: ImageFilter,
    ) -> Result<Option<Vec<StudyMatch>>> {
        crate::studies::matching(client(ctx), &filter).await.map(Some)
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
