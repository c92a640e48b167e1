//! Relay connections: cursors, `first`/`after` validation, and slicing a full list.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, OutputType};
use base64::Engine as _;

use crate::error::bad_input;

/// The most items one page may ask for (shared with IDR-QL).
pub(crate) const MAX_FIRST: i32 = idr_filter::limits::MAX_FIRST as i32;
/// Items per page when `first` is not given.
pub(crate) const DEFAULT_FIRST: i32 = idr_filter::limits::DEFAULT_FIRST as i32;

/// Fields every connection carries besides edges, nodes and pageInfo.
pub struct Total(pub(crate) TotalKind);

pub(crate) enum TotalKind {
    Known(u64),
    /// Counted on demand (a search whose hits are filtered here).
    Deferred(Arc<dyn Count>),
}

/// A total that costs upstream calls, computed only when `totalCount` is asked for.
#[async_graphql::async_trait::async_trait]
pub(crate) trait Count: Send + Sync {
    async fn count(&self, ctx: &Context<'_>) -> async_graphql::Result<u64>;
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
            TotalKind::Deferred(count) => count.count(ctx).await.map(Some),
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

/// Where a search cursor points: `s:<bookmark>:<index>:<hits before>`, wrapping the
/// engine's bookmarks (see `search.rs`).
pub(crate) struct SearchPosition {
    /// The bookmark that fetches the engine page holding the item (none for the first).
    pub(crate) bookmark: Option<u64>,
    /// The item's index in that page.
    pub(crate) index: usize,
    /// How many hits the engine pages before that one held.
    pub(crate) before: u64,
}

pub(crate) fn search_cursor(bookmark: Option<u64>, index: usize, before: u64) -> String {
    encode(&format!("s:{}:{index}:{before}", bookmark.map(|b| b.to_string()).unwrap_or_default()))
}

pub(crate) fn decode_cursor(cursor: &str) -> async_graphql::Result<SearchPosition> {
    let text = decode(cursor)?;
    let bad = || bad_input("`after` is not a cursor of this search");
    let rest = text.strip_prefix("s:").ok_or_else(bad)?;
    let mut parts = rest.split(':');
    let (Some(bookmark), Some(index), Some(before), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let bookmark =
        if bookmark.is_empty() { None } else { Some(bookmark.parse().map_err(|_| bad())?) };
    let index: usize = index.parse().map_err(|_| bad())?;
    let before: u64 = before.parse().map_err(|_| bad())?;
    if index >= 100_000 || before >= 1_000_000_000 {
        return Err(bad());
    }
    Ok(SearchPosition { bookmark, index, before })
}
