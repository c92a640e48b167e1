//! Parsed documents, cached by their text. Clients send the same few queries again and
//! again (a front end's, a notebook's loop), and parsing is an eighth of a small query's
//! CPU: a text seen before is checked and parsed once, and shared. A text that fails its
//! checks is not cached; it fails the same way each time.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::ServerResult;

use crate::limits::DocumentLimits;

/// Weight of a cached document per byte of its text: the syntax tree takes about this
/// many times the text's size.
const TREE_PER_TEXT_BYTE: usize = 16;

/// The cache; see the module docs. The limits are the schema's, fixed for its life, so
/// the text alone is the key.
pub(crate) struct Documents {
    cache: moka::sync::Cache<Arc<str>, Arc<ExecutableDocument>>,
}

impl Documents {
    /// A cache holding documents up to about `max_bytes` of syntax trees.
    pub(crate) fn new(max_bytes: u64) -> Documents {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|text: &Arc<str>, _: &Arc<ExecutableDocument>| {
                u32::try_from(text.len().saturating_mul(TREE_PER_TEXT_BYTE)).unwrap_or(u32::MAX)
            })
            .build();
        Documents { cache }
    }

    /// `query` checked and parsed by `limits` ([`DocumentLimits::parse`]), or the same
    /// document as the last time this text came.
    pub(crate) fn parse(
        &self,
        limits: &DocumentLimits,
        query: &str,
    ) -> ServerResult<Arc<ExecutableDocument>> {
        if let Some(document) = self.cache.get(query) {
            return Ok(document);
        }
        let document = Arc::new(limits.parse(query)?);
        self.cache.insert(Arc::from(query), document.clone());
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_seen_before_is_not_parsed_again() {
        let documents = Documents::new(1 << 20);
        let limits = DocumentLimits::default();
        let first = documents.parse(&limits, "{ screen(id: 102) { name } }").unwrap();
        let again = documents.parse(&limits, "{ screen(id: 102) { name } }").unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the second parse is the first's document");
        let other = documents.parse(&limits, "{ screen(id: 51) { name } }").unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[test]
    fn a_refused_text_is_refused_every_time() {
        let documents = Documents::new(1 << 20);
        let limits = DocumentLimits { max_bytes: 10, ..DocumentLimits::default() };
        for _ in 0..2 {
            let error = documents.parse(&limits, "{ screen(id: 102) { name } }").unwrap_err();
            assert!(error.message.contains("the limit is 10"), "{}", error.message);
        }
        let unparsable = DocumentLimits::default();
        for _ in 0..2 {
            assert!(documents.parse(&unparsable, "{ screen(id: ").is_err());
        }
    }
}
