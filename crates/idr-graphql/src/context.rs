//! What a resolver reads from the request's context: the client, the request's
//! loaders, and the counts shared across requests. The bottom layer of the crate.

use async_graphql::Context;
use idr_client::IdrClient;

use crate::loaders::Loaders;

pub(crate) fn client<'a>(ctx: &Context<'a>) -> &'a IdrClient {
    ctx.data_unchecked::<IdrClient>()
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
