//! What a resolver reads from the request's context: the client and the request's
//! loaders.

use async_graphql::Context;
use idr_client::IdrClient;

use crate::loaders::Loaders;

pub(crate) fn client<'a>(ctx: &Context<'a>) -> &'a IdrClient {
    ctx.data_unchecked::<IdrClient>()
}

pub(crate) fn loaders<'a>(ctx: &Context<'a>) -> &'a Loaders {
    ctx.data_unchecked::<Loaders>()
}
