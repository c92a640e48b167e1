//! Relay connections: cursors, `first`/`after` validation, and slicing a full list.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, OutputType};
use base64::Engine as _;

use crate::error::bad_input;
use crate::search::FilteredSearch;

/// The most items one page may ask for (shared with IDR-QL).
pub(crate) const MAX_FIRST: i32 = idr_filter::limits::MAX_FIRST as i32;
/// Items per page when `first` is not given.
pub(crate) const DEFAULT_FIRST: i32 = idr_filter::limits::DEFAULT_FIRST as i32;

/// Fields every connection carries besides edges, nodes and pageInfo.
pub struct Total(pub(crate) TotalKind);

pub(crate) enum TotalKind {
    Known(u64),
    /// A search whose hits are filtered here: counted on demand.
    Filtered(Arc<FilteredSearch>),
}

impl Total {
    pub(crate) fn known(n: u64) -> Total {
        Total(TotalKind::Known(n))
    }
}

/// Fields every connection carries besides edges, nodes and pageInfo.
#[Object]
impl Total {
    /// How many items there are over all pages. For a search that is filtered beyond what
    /// IDR's search engine can run, counting reads the engine's whole answer (up to a
    /// bound), so ask for it only when needed; `null` (with an error) when that fails.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<u64>> {
        match &self.0 {
            TotalKind::Known(n) => Ok(Some(*n)),
            TotalKind::Filtered(search) => search
                .count(crate::objects::client(ctx), ctx.data_unchecked::<crate::search::Counts>())
                .await
                .map(Some),
        }
    }
}

pub(crate) type Page<T> = Connection<String, T, Total>;

/// The static cost of a connection field: its page size (the default when `first` is not
/// given, at least 1) times the cost of one node.
pub(crate) fn cost(first: Option<i32>, child_complexity: usize) -> usize {
    first.unwrap_or(DEFAULT_FIRST).max(1) as usize * child_complexity
}

/// Validated paging arguments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PageArgs {
    pub(crate) first: usize,
    pub(crate) offset: usize,
}

impl PageArgs {
    /// `first` must be 1–100 (default 20); `after` must be a cursor this server made.
    pub(crate) fn new(first: Option<i32>, after: Option<&str>) -> async_graphql::Result<PageArgs> {
        let first = first.unwrap_or(DEFAULT_FIRST);
        if !(1..=MAX_FIRST).contains(&first) {
            return Err(bad_input(format!(
                "`first` must be between 1 and {MAX_FIRST}, not {first}"
            )));
        }
        let offset = match after {
            Some(cursor) => decode_offset(cursor)? + 1,
            None => 0,
        };
        Ok(PageArgs { first: first as usize, offset })
    }
}

pub(crate) fn encode(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub(crate) fn decode(cursor: &str) -> async_graphql::Result<String> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| bad_input("`after` is not a cursor from this API"))
}

pub(crate) fn offset_cursor(offset: usize) -> String {
    encode(&format!("o:{offset}"))
}

fn decode_offset(cursor: &str) -> async_graphql::Result<usize> {
    decode(cursor)?
        .strip_prefix("o:")
        .and_then(|n| n.parse().ok())
        .filter(|n: &usize| *n < 10_000_000)
        .ok_or_else(|| bad_input("`after` is not a cursor of this list"))
}

/// One page of a list that was fetched whole.
pub(crate) fn slice<T: OutputType>(all: Vec<T>, args: PageArgs) -> Page<T> {
    let total = all.len();
    let end = (args.offset + args.first).min(total);
    let mut page = Connection::with_additional_fields(
        args.offset > 0,
        end < total,
        Total::known(total as u64),
    );
    page.edges.extend(
        all.into_iter()
            .enumerate()
            .skip(args.offset)
            .take(args.first)
            .map(|(i, node)| Edge::new(offset_cursor(i), node)),
    );
    page
}
