//! Choosing the upstream: live IDR (or any server speaking its API) or recordings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use idr_client::recording::{LoadError, RecordingStore};
use idr_client::{ClientConfig, HttpConfig, HttpUpstream, IdrClient, RecordedUpstream, SharedTier};
use url::Url;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// Where upstream requests go, and how many bytes of answers the client caches.
#[derive(Clone, Debug)]
pub enum UpstreamChoice {
    /// Live HTTP at this base URL.
    Http { base: Url, timeout: Duration, max_concurrency: usize, cache_bytes: usize },
    /// The recordings embedded in the binary.
    Bundled { cache_bytes: usize },
    /// Recordings in a directory.
    Dir { dir: PathBuf, cache_bytes: usize },
}

/// Why the upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot set up the HTTP client")]
    Http(#[source] idr_client::Error),
    #[error("cannot load the recordings")]
    Recordings(#[from] LoadError),
}

/// The recordings embedded at build time.
pub fn bundled_store() -> Result<RecordingStore, LoadError> {
    RecordingStore::from_files(bundled::BUNDLED.iter().map(|(name, text)| (*name, *text)))
}

/// The client for an upstream choice, and a one-line description of it for the log.
pub fn build_client(choice: &UpstreamChoice) -> Result<(IdrClient, String), UpstreamError> {
    build_shared_client(choice, None)
}

/// [`build_client`], sharing answers, fetches and the upstream cap with other replicas
/// through `shared` (`--redis`).
pub fn build_shared_client(
    choice: &UpstreamChoice,
    shared: Option<Arc<dyn SharedTier>>,
) -> Result<(IdrClient, String), UpstreamError> {
    match choice {
        UpstreamChoice::Http { base, timeout, max_concurrency, cache_bytes } => {
            let mut http = HttpConfig::new(base.clone());
            http.timeout = *timeout;
            let upstream = HttpUpstream::new(http).map_err(UpstreamError::Http)?;
            let config = ClientConfig {
                public_base: base.clone(),
                max_concurrency: *max_concurrency,
                cache_bytes: *cache_bytes,
                // A claim or permit outlives the longest call its holder can make.
                shared_lease: *timeout + Duration::from_secs(5),
                shared_namespace: base.to_string(),
                ..ClientConfig::default()
            };
            Ok((IdrClient::with_shared(upstream, config, shared), format!("upstream {base}")))
        }
        UpstreamChoice::Bundled { cache_bytes } => {
            let store = bundled_store()?;
            let described = format!("offline: {} bundled recordings", store.len());
            Ok((offline_client(store, *cache_bytes, shared, &described), described))
        }
        UpstreamChoice::Dir { dir, cache_bytes } => {
            let store = RecordingStore::from_dir(dir)?;
            let described = format!("offline: {} recordings from {}", store.len(), dir.display());
            Ok((offline_client(store, *cache_bytes, shared, &described), described))
        }
    }
}

fn offline_client(
    store: RecordingStore,
    cache_bytes: usize,
    shared: Option<Arc<dyn SharedTier>>,
    described: &str,
) -> IdrClient {
    // Offline replicas share only with replicas of the same recordings.
    let shared_namespace = described.to_owned();
    let config = ClientConfig { cache_bytes, shared_namespace, ..ClientConfig::default() };
    IdrClient::with_shared(RecordedUpstream::new(Arc::new(store)), config, shared)
}
