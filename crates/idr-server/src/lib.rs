//! The HTTP server (`fn app(state) -> Router`) and the pieces of the `idr` binary that are
//! worth testing without a process: configuration of the upstream, the bundled recordings.
//!
//! Business logic lives below, in `idr-graphql` and `idr-client`; this crate wires HTTP.

mod http;
mod identical;
mod listen;
pub mod lsp;
pub mod mcp;
pub mod metrics;
mod proxies;
pub mod ql;
mod rate;
pub mod rows;
pub mod shared;
mod upstream;
mod web;

pub use http::{app, metrics_app, AppState, CorsOrigins, Limits};
pub use identical::Identical;
pub use listen::{serve, ConnectionLimits};
pub use metrics::Metrics;
pub use proxies::{ClientIp, TrustedProxies};
pub use ql::LiveCatalog;
pub use rate::RateLimit;
pub use upstream::{
    build_client, build_shared_client, bundled_store, UpstreamChoice, UpstreamError,
};
