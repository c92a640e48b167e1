//! Automatic persisted queries, Apollo's protocol: a client sends only a query's SHA-256
//! (`extensions.persistedQuery`, version 1); the first time, the answer is
//! `PERSISTED_QUERY_NOT_FOUND`, the client sends the text with the hash, and from then on
//! the hash alone is enough, which keeps GET URLs short and cacheable.
//!
//! async-graphql has an extension for this, but it runs inside `Schema::execute`, after
//! [`crate::admitted`] has checked, parsed and costed the text; a hash-only request has
//! no text to parse and would be refused before the extension saw it. So the hash is
//! resolved here, first, with the extension's messages (Apollo clients read them), and a
//! code on each. The texts are kept in a byte-bounded cache: a hash arriving once it has
//! been evicted gets `PERSISTED_QUERY_NOT_FOUND` again, which clients handle by sending
//! the text.

use std::sync::Arc;

use async_graphql::ServerError;
use sha2::{Digest, Sha256};

/// Texts kept, in bytes (documents are at most 16 KiB, so at least a thousand of them).
pub(crate) const PERSISTED_BYTES: u64 = 16 * 1024 * 1024;

pub(crate) struct PersistedQueries {
    by_hash: moka::sync::Cache<String, Arc<str>>,
}

/// What the request's extension asked for, once resolved.
pub(crate) enum Persist {
    /// No persisted-query extension.
    Nothing,
    /// A text came with its (correct) hash: remember it once it has validated.
    Remember(String),
}

impl PersistedQueries {
    pub(crate) fn new(max_bytes: u64) -> PersistedQueries {
        let by_hash = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|hash: &String, text: &Arc<str>| {
                u32::try_from(hash.len() + text.len()).unwrap_or(u32::MAX)
            })
            .build();
        PersistedQueries { by_hash }
    }

    /// Reads `extensions.persistedQuery`: fills in the text of a hash-only request, or
    /// checks that a text matches its hash. Errors are the answer to the request.
    pub(crate) fn resolve(
        &self,
        request: &mut async_graphql::Request,
    ) -> Result<Persist, ServerError> {
        let Some(extension) = request.extensions.get("persistedQuery") else {
            return Ok(Persist::Nothing);
        };
        let extension = extension.clone().into_json().unwrap_or_default();
        let version = extension.get("version").and_then(serde_json::Value::as_i64);
        let hash = extension.get("sha256Hash").and_then(serde_json::Value::as_str);
        let Some(hash) = hash.filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        else {
            return Err(coded(
                "Invalid \"PersistedQuery\" extension configuration: `extensions.persistedQuery` needs `version: 1` and `sha256Hash`, the query's SHA-256 as 64 hex digits.",
                "BAD_REQUEST",
            ));
        };
        if version != Some(1) {
            return Err(coded(
                &format!(
                    "Only the \"PersistedQuery\" extension of version \"1\" is supported, and the current version is \"{}\".",
                    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
                ),
                "PERSISTED_QUERY_NOT_SUPPORTED",
            ));
        }
        let hash = hash.to_ascii_lowercase();
        if request.query.is_empty() {
            return match self.by_hash.get(&hash) {
                Some(text) => {
                    request.query = text.to_string();
                    Ok(Persist::Nothing)
                }
                None => Err(coded("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")),
            };
        }
        if format!("{:x}", Sha256::digest(request.query.as_bytes())) != hash {
            return Err(coded(
                "provided sha does not match query: `sha256Hash` must be the SHA-256 of `query`, byte for byte, as 64 hex digits",
                "BAD_REQUEST",
            ));
        }
        Ok(Persist::Remember(hash))
    }

    /// Keeps `text` under `hash` (a text that passed its checks and validated).
    pub(crate) fn remember(&self, hash: String, text: &str) {
        if !self.by_hash.contains_key(&hash) {
            self.by_hash.insert(hash, Arc::from(text));
        }
    }
}

fn coded(message: &str, code: &'static str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = async_graphql::ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}
