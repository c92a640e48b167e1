//! The recordings format and the store that answers requests from it.
//!
//! One JSON file per upstream request (see `tests/fixtures/upstream/README.md`). The same
//! format backs `idr serve --offline`, the tests and `idr record`. A request with no
//! recording fails loudly with the nearest recorded requests named.
//!
//! Annotation lists are the one endpoint answered by composition: OMERO.web answers
//! `?image=1&image=2` by concatenating the per-object results, so the store does the same
//! from whatever recordings cover each id. This keeps offline answers independent of how a
//! dataloader happened to group ids into batches.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{AnnotationType, ObjectKind};
use crate::{Error, Method, Request, Response};

/// One recorded request and its response, as stored on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recording {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
    /// Where the body came from and which of its values are placeholders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedResponse {
    pub status: u16,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

impl Recording {
    /// Records a live exchange, choosing the most readable body form.
    pub fn capture(request: &Request, response: &Response) -> Recording {
        let is_json = response.content_type.as_deref().is_some_and(|t| t.contains("json"));
        let json_body =
            is_json.then(|| serde_json::from_slice::<Value>(&response.body).ok()).flatten();
        let (body, body_text, body_base64) = match (json_body, std::str::from_utf8(&response.body))
        {
            (Some(v), _) => (Some(v), None, None),
            (None, Ok(text)) => (None, Some(text.to_owned()), None),
            (None, Err(_)) => {
                (None, None, Some(base64::engine::general_purpose::STANDARD.encode(&response.body)))
            }
        };
        Recording {
            request: RecordedRequest {
                method: request.method.as_str().to_owned(),
                path: request.path.clone(),
                query: request.query.clone(),
                body: request.body.as_deref().and_then(|b| serde_json::from_str(b).ok()),
            },
            response: RecordedResponse {
                status: response.status,
                content_type: response.content_type.clone(),
                body,
                body_text,
                body_base64,
            },
            provenance: Some(serde_json::json!({"label": "RECORDED", "source": "idr record"})),
        }
    }

    fn key(&self) -> Result<Key, Invalid> {
        let method = match self.request.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            other => return Err(Invalid::Method(other.to_owned())),
        };
        let mut query = self.request.query.clone();
        query.sort();
        Ok(Key { method, path: self.request.path.clone(), query, body: self.request.body.clone() })
    }

    fn response(&self) -> Result<Response, Invalid> {
        let r = &self.response;
        let body = match (&r.body, &r.body_text, &r.body_base64) {
            (Some(v), None, None) => v.to_string().into_bytes(),
            (None, Some(t), None) => t.clone().into_bytes(),
            (None, None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| Invalid::Base64(e.to_string()))?,
            (None, None, None) => Vec::new(),
            _ => return Err(Invalid::SeveralBodies),
        };
        Ok(Response { status: r.status, content_type: r.content_type.clone(), body: body.into() })
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Key {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
}

impl Key {
    fn of(req: &Request) -> Key {
        Key {
            method: req.method,
            path: req.path.clone(),
            query: req.query.clone(),
            body: req.body.as_deref().and_then(|b| serde_json::from_str(b).ok()),
        }
    }

    fn lookup(&self) -> Lookup {
        (self.method, self.path.clone(), self.query.clone())
    }
}

/// A request without its body: recordings are looked up by this, then matched by body.
type Lookup = (Method, String, Vec<(String, String)>);

/// What one annotations recording says about one object.
#[derive(Clone, Debug)]
struct Covered {
    annotations: Vec<Value>,
    experimenters: Vec<Value>,
}

/// Recordings indexed for replay.
#[derive(Clone, Debug, Default)]
pub struct RecordingStore {
    exact: HashMap<Lookup, Vec<(Option<Value>, Response)>>,
    /// Annotations per (type, ns filter, object kind, id), from every annotations recording.
    annotations: HashMap<(String, Option<String>, ObjectKind, u64), Covered>,
    described: Vec<String>,
}

/// Why recordings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The io error is its `source` (printed by whoever prints the chain).
    #[error("cannot read {path}")]
    Read { path: String, source: std::io::Error },
    #[error("{name}: {problem}")]
    Invalid { name: String, problem: Invalid },
}

/// What is wrong with one recording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("{0}")]
    Json(String),
    #[error("unknown method {0}")]
    Method(String),
    #[error("bad base64: {0}")]
    Base64(String),
    #[error("more than one of body, body_text, body_base64")]
    SeveralBodies,
}

impl RecordingStore {
    /// Loads every `*.json` file in `dir` (not recursive).
    pub fn from_dir(dir: &Path) -> Result<RecordingStore, LoadError> {
        let mut files = Vec::new();
        let unreadable = |path: &Path| {
            let path = path.display().to_string();
            move |source| LoadError::Read { path, source }
        };
        let entries = std::fs::read_dir(dir).map_err(unreadable(dir))?;
        for entry in entries {
            let path = entry.map_err(unreadable(dir))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read(&path).map_err(unreadable(&path))?;
                files.push((path.display().to_string(), text));
            }
        }
        files.sort();
        RecordingStore::from_files(files.iter().map(|(n, t)| (n.as_str(), t.as_slice())))
    }

    /// Builds a store from (name, JSON text) pairs, e.g. recordings embedded in a binary.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<RecordingStore, LoadError> {
        let mut store = RecordingStore::default();
        for (name, text) in files {
            store.add_named(name, serde_json::from_slice(text))?;
        }
        Ok(store)
    }

    /// Builds a store from recordings given as JSON values, each what one file holds, as
    /// tests and tools make them in memory; a value is named by its place (`rec0.json`, …).
    pub fn from_values(values: &[Value]) -> Result<RecordingStore, LoadError> {
        let mut store = RecordingStore::default();
        for (i, value) in values.iter().enumerate() {
            store.add_named(&format!("rec{i}.json"), Recording::deserialize(value))?;
        }
        Ok(store)
    }

    fn add_named(
        &mut self,
        name: &str,
        recording: Result<Recording, serde_json::Error>,
    ) -> Result<(), LoadError> {
        let invalid = |problem| LoadError::Invalid { name: name.to_owned(), problem };
        let recording = recording.map_err(|e| invalid(Invalid::Json(e.to_string())))?;
        self.add(recording).map_err(invalid)
    }

    pub fn len(&self) -> usize {
        self.described.len()
    }

    pub fn is_empty(&self) -> bool {
        self.described.is_empty()
    }

    pub fn add(&mut self, recording: Recording) -> Result<(), Invalid> {
        let key = recording.key()?;
        let response = recording.response()?;
        let probe = Request {
            method: key.method,
            path: key.path.clone(),
            query: key.query.clone(),
            body: None,
        };
        self.described.push(probe.to_string());
        if key.path == "/webclient/api/annotations/" && response.status == 200 {
            self.index_annotations(&key, &response);
        }
        self.exact.entry(key.lookup()).or_default().push((key.body, response));
        Ok(())
    }

    fn index_annotations(&mut self, key: &Key, response: &Response) {
        let Some(filter) = AnnotationsFilter::of(&key.query) else { return };
        // A page as long as its limit may not hold every annotation of its objects.
        let count = serde_json::from_slice::<Value>(&response.body)
            .ok()
            .and_then(|b| b.get("annotations").and_then(Value::as_array).map(Vec::len));
        if filter.limit.is_some_and(|limit| count.is_none_or(|n| n >= limit)) {
            return;
        }
        let Ok(body) = serde_json::from_slice::<Value>(&response.body) else { return };
        let experimenters =
            body.get("experimenters").and_then(Value::as_array).cloned().unwrap_or_default();
        let annotations =
            body.get("annotations").and_then(Value::as_array).cloned().unwrap_or_default();
        for (kind, id) in &filter.objects {
            let own = annotations
                .iter()
                .filter(|a| {
                    let parent = &a["link"]["parent"];
                    parent["class"].as_str() == Some(kind.class_name())
                        && parent["id"].as_u64() == Some(*id)
                })
                .cloned()
                .collect();
            self.annotations.insert(
                (filter.ty.clone(), filter.ns.clone(), *kind, *id),
                Covered { annotations: own, experimenters: experimenters.clone() },
            );
        }
    }

    /// Answers a request from the recordings.
    pub fn answer(&self, req: &Request) -> Result<Response, Error> {
        let key = Key::of(req);
        if let Some(candidates) = self.exact.get(&key.lookup()) {
            if let Some((_, resp)) = candidates.iter().find(|(body, _)| *body == key.body) {
                return Ok(resp.clone());
            }
        }
        if req.path == "/webclient/api/annotations/" {
            if let Some(resp) = self.compose_annotations(req) {
                return Ok(resp);
            }
        }
        Err(Error::NotRecorded { request: req.to_string(), nearest: self.nearest(req).into() })
    }

    /// Composes an annotations answer for many ids from per-object recordings, in the
    /// server's order: by object kind, then by namespace with null last.
    fn compose_annotations(&self, req: &Request) -> Option<Response> {
        let filter = AnnotationsFilter::of(&req.query)?;
        let mut annotations = Vec::new();
        let mut experimenters: BTreeMap<u64, Value> = BTreeMap::new();
        for kind in ObjectKind::SERVER_ORDER {
            let mut of_kind = Vec::new();
            for (k, id) in filter.objects.iter().filter(|(k, _)| *k == kind) {
                let covered =
                    self.annotations.get(&(filter.ty.clone(), filter.ns.clone(), *k, *id))?;
                of_kind.extend(covered.annotations.iter().cloned());
                for e in &covered.experimenters {
                    if let Some(id) = e["id"].as_u64() {
                        experimenters.insert(id, e.clone());
                    }
                }
            }
            of_kind.sort_by_key(|a| match a["ns"].as_str() {
                Some(ns) => (0, ns.to_owned()),
                None => (1, String::new()),
            });
            // The server pages each kind by the limit asked for.
            of_kind.truncate(filter.limit.unwrap_or(usize::MAX));
            annotations.extend(of_kind);
        }
        let body = serde_json::json!({"annotations": annotations, "experimenters": experimenters.into_values().collect::<Vec<_>>()});
        Some(Response::json(200, body.to_string()))
    }

    /// The recorded requests most like `req`: same path first, then shared path prefix.
    fn nearest(&self, req: &Request) -> Vec<String> {
        let wanted = req.to_string();
        let mut scored: Vec<(usize, &String)> = self
            .described
            .iter()
            .map(|d| {
                let common = d.chars().zip(wanted.chars()).take_while(|(a, b)| a == b).count();
                (common, d)
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        scored.into_iter().take(3).map(|(_, d)| crate::text::truncate(d, 160)).collect()
    }
}

/// The parts of an annotations query that decide its answer.
struct AnnotationsFilter {
    ty: String,
    ns: Option<String>,
    /// Annotations per page (of each kind); the first page only is composed.
    limit: Option<usize>,
    objects: Vec<(ObjectKind, u64)>,
}

impl AnnotationsFilter {
    /// `None` for queries the store does not compose (paging, lineage, unknown keys).
    fn of(query: &[(String, String)]) -> Option<AnnotationsFilter> {
        let mut ty = None;
        let mut ns = None;
        let mut limit = None;
        let mut objects = Vec::new();
        for (k, v) in query {
            match k.as_str() {
                "type" => ty = Some(v.clone()),
                "ns" => ns = Some(v.clone()),
                "limit" => limit = Some(v.parse().ok().filter(|l| *l > 0)?),
                _ => objects.push((ObjectKind::from_query_key(k)?, v.parse().ok()?)),
            }
        }
        let ty = ty?;
        let known = [AnnotationType::Map, AnnotationType::File].iter().any(|t| t.as_str() == ty);
        (known && !objects.is_empty()).then_some(AnnotationsFilter { ty, ns, limit, objects })
    }
}

/// Keeps a store behind an `Arc` so clones are cheap.
pub type SharedStore = Arc<RecordingStore>;
