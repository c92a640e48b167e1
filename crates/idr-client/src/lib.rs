//! Typed async access to the Image Data Resource (IDR): one function per JSON endpoint,
//! request building and decoding as plain functions, and an [`Upstream`] that is either
//! live HTTP or a directory of recordings.
//!
//! This is the only crate that speaks HTTP to IDR. It knows nothing of GraphQL.

mod client;
pub mod endpoints;
mod error;
pub mod flights;
pub mod json;
pub mod model;
mod policy;
pub mod recording;
mod request;
pub mod shared;
pub mod tally;
pub mod text;
pub mod upstream;

pub use client::{ClientConfig, Health, IdrClient, RowsByWell, WellRow, IDR_BASE};
pub use error::Error;
pub use policy::BreakerConfig;
pub use request::{Method, Request, Response};
pub use shared::{Claim, FetchEnd, Permit, SharedTier};
pub use upstream::{HttpConfig, HttpUpstream, RecordedUpstream, RecordingUpstream, Upstream};

#[cfg(test)]
mod tests;
