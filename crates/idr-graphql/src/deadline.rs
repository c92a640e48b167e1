//! Partial data at the request's deadline (FAULTS.md F1).
//!
//! One request may need several upstream calls in a row, each with its own per-call
//! deadline and retries, so its total time is bounded only by the server's request
//! deadline. Cancelling the whole execution there would throw away every field already
//! resolved. Instead, [`Deadline`] gives every field resolution a deadline of its own,
//! slightly before the request's, and earlier the deeper the field sits: the deepest
//! unfinished fields give up first (`null` with `UPSTREAM_TIMEOUT`), their parents then
//! complete with what they have, and the response goes out, partial, in time.

use std::sync::Arc;
use std::time::Duration;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo,
};
use async_graphql::{ErrorExtensions, PathSegment, QueryPathSegment, ServerResult, Value};
use tokio::time::Instant;

/// How much earlier each level of nesting gives up than the level above it.
const STEP: Duration = Duration::from_millis(25);

/// When the request must be answered; put in the request's data by [`crate::execute`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct RequestDeadline(pub(crate) Instant);

/// The extension; see the module docs.
pub(crate) struct Deadline;

impl ExtensionFactory for Deadline {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Deadline)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for Deadline {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let Some(RequestDeadline(deadline)) = ctx.data_opt::<RequestDeadline>().copied() else {
            return next.run(ctx, info).await;
        };
        let path_node = info.path_node;
        let mut depth = 0u32;
        let mut node = Some(path_node);
        while let Some(n) = node {
            depth += u32::from(matches!(n.segment, QueryPathSegment::Name(_)));
            node = n.parent;
        }
        let pos = info.field.name.pos;
        let at = deadline.checked_sub(STEP * depth).unwrap_or(deadline);
        match tokio::time::timeout_at(at, next.run(ctx, info)).await {
            Ok(result) => result,
            Err(_) => {
                let mut path = Vec::new();
                let mut node = Some(path_node);
                while let Some(n) = node {
                    path.push(match n.segment {
                        QueryPathSegment::Name(name) => PathSegment::Field(name.to_owned()),
                        QueryPathSegment::Index(i) => PathSegment::Index(i),
                    });
                    node = n.parent;
                }
                path.reverse();
                let mut error = async_graphql::Error::new(
                    "IDR did not answer before this request's deadline; the rest of the response is complete",
                )
                .extend_with(|_, e| e.set("code", "UPSTREAM_TIMEOUT"))
                .into_server_error(pos);
                error.path = path;
                Err(error)
            }
        }
    }
}
