//! Choosing the upstream: live IDR (or any server speaking its API) or recordings.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use idr_client::recording::RecordingStore;
use idr_client::{ClientConfig, HttpConfig, HttpUpstream, IdrClient, RecordedUpstream};
use url::Url;

mod bundled {
    include!(concat!(env!("OUT_DIR"), "/bundled.rs"));
}

/// Where upstream requests go.
#[derive(Clone, Debug)]
pub enum UpstreamChoice {
    /// Live HTTP at this base URL.
    Http { base: Url, timeout: Duration, max_concurrency: usize },
    /// The recordings embedded in the binary.
    Bundled,
    /// Recordings in a directory.
    Dir(PathBuf),
}

/// The recordings embedded at build time.
pub fn bundled_store() -> Result<RecordingStore, String> {
    RecordingStore::from_files(bundled::BUNDLED.iter().map(|(name, text)| (*name, *text)))
}

/// The client for an upstream choice, and a one-line description of it for the log.
pub fn build_client(choice: &UpstreamChoice) -> Result<(IdrClient, String), String> {
    match choice {
        UpstreamChoice::Http { base, timeout, max_concurrency } => {
            let mut http = HttpConfig::new(base.clone());
            http.timeout = *timeout;
            let upstream = HttpUpstream::new(http).map_err(|e| e.to_string())?;
            let config = ClientConfig {
                public_base: base.clone(),
                max_concurrency: *max_concurrency,
                ..ClientConfig::default()
            };
            Ok((IdrClient::new(upstream, config), format!("upstream {base}")))
        }
        UpstreamChoice::Bundled => {
            let store = bundled_store()?;
            let described = format!("offline: {} bundled recordings", store.len());
            Ok((offline_client(store), described))
        }
        UpstreamChoice::Dir(dir) => {
            let store = RecordingStore::from_dir(dir)?;
            let described = format!("offline: {} recordings from {}", store.len(), dir.display());
            Ok((offline_client(store), described))
        }
    }
}

fn offline_client(store: RecordingStore) -> IdrClient {
    IdrClient::new(RecordedUpstream::new(Arc::new(store)), ClientConfig::default())
}
