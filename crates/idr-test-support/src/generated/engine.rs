//! The generated world's search engine, with omero_search_engine 0.7's semantics
//! (ENDPOINTS.md §8–9): stored values are lower-cased with their spaces kept, query values
//! stripped and lower-cased, keys compared without regard to case; `not_*` operators hold
//! for an object that has the key with another value; `study=` on the GET route means a
//! *project* name; hits are sorted by id and paged by the configured page size with
//! bookmarks; no hit is `results: []` (GET) or an `Error` (POST).

use idr_client::{Method, Request, Response};
use serde_json::{json, Value};

use super::{Kind, World};

/// An object's key/value pairs, in order.
type KeyValues = Vec<(String, String)>;

/// One condition as the engine runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineFilter {
    /// `None`: the value may be under any key.
    pub key: Option<String>,
    pub op: String,
    /// Stripped and lower-cased, as the engine does.
    pub values: Vec<String>,
}

impl EngineFilter {
    pub fn new(key: Option<&str>, op: &str, values: &[&str]) -> EngineFilter {
        EngineFilter {
            key: key.map(str::to_owned),
            op: op.to_owned(),
            values: values.iter().map(|v| v.trim().to_lowercase()).collect(),
        }
    }

    /// Whether an object with these key/values matches.
    pub fn holds(&self, pairs: &[(String, String)]) -> bool {
        let lowered: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| (k.to_lowercase(), v.to_lowercase())).collect();
        self.holds_lowered(&lowered)
    }

    /// [`EngineFilter::holds`] on pairs already lower-cased, as the index holds them.
    fn holds_lowered(&self, pairs: &[(String, String)]) -> bool {
        let key = self.key.as_ref().map(|k| k.to_lowercase());
        pairs.iter().filter(|(k, _)| key.as_ref().is_none_or(|key| k == key)).any(|(_, v)| {
            match self.op.as_str() {
                "equals" => self.values.first() == Some(v),
                "not_equals" => self.values.first().is_some_and(|w| w != v),
                "contains" => self.values.first().is_some_and(|w| v.contains(w.as_str())),
                "not_contains" => self.values.first().is_some_and(|w| !v.contains(w.as_str())),
                "in" => self.values.contains(v),
                "not_in" => !self.values.contains(v),
                _ => false,
            }
        })
    }
}

/// A study-name condition: the image's project (or screen, when `screens` is true) is
/// named `name` (without regard to case).
struct StudyFilter {
    name: String,
    projects: bool,
    screens: bool,
}

fn error(message: impl Into<String>) -> Response {
    Response::json(200, json!({ "Error": message.into() }).to_string())
}

const OPERATORS: [&str; 6] = ["equals", "not_equals", "contains", "not_contains", "in", "not_in"];

impl World {
    pub(super) fn search_engine(&self, req: &Request, rest: &[&str]) -> Response {
        match (req.method, rest) {
            (Method::Get, ["image", "search"]) => self.simple_search(req),
            (Method::Post, ["submitquery"]) => self.submit_query(req),
            (Method::Post, ["submitquery", "containers"]) => self.submit_containers(req),
            (Method::Get, [resource, "searchvaluesusingkey"]) => {
                self.values_using_key(req, resource)
            }
            (Method::Get, [resource, "keys"]) => self.keys(resource),
            (_, [resource, ..]) => Response {
                status: 404,
                content_type: Some("text/plain".to_owned()),
                body: format!("No data for table {resource}").into_bytes().into(),
            },
            _ => error("unknown route"),
        }
    }

    /// The key/values the engine indexes for an image: its own map annotations, each
    /// pair with its position inside its annotation.
    fn indexed_pairs(&self, image: u64) -> Vec<(usize, String, String)> {
        self.map_annotations_of(Kind::Image, image)
            .iter()
            .flat_map(|a| a.pairs.iter().enumerate().map(|(i, (k, v))| (i, k.clone(), v.clone())))
            .collect()
    }

    /// The ids of the images that hold every filter and study condition, sorted.
    fn matching(
        &self,
        and: &[EngineFilter],
        or: &[Vec<EngineFilter>],
        studies: &[StudyFilter],
    ) -> Vec<u64> {
        self.links
            .engine
            .iter()
            .filter(|(id, pairs)| {
                and.iter().all(|f| f.holds_lowered(pairs))
                    && or.iter().all(|group| group.iter().any(|f| f.holds_lowered(pairs)))
                    && studies.iter().all(|s| self.in_study(*id, s))
            })
            .map(|(id, _)| *id)
            .collect()
    }

    fn in_study(&self, image: u64, study: &StudyFilter) -> bool {
        let wanted = study.name.to_lowercase();
        let project =
            self.images[&image].dataset.map(|d| &self.projects[&self.datasets[&d].project].name);
        let screen = self.hcs_parents(image).map(|(s, _, _)| &self.screens[&s].name);
        (study.projects && project.is_some_and(|p| p.to_lowercase() == wanted))
            || (study.screens && screen.is_some_and(|s| s.to_lowercase() == wanted))
    }

    /// An image document as the engine's index holds it; some numbers as integral
    /// floats, as pandas writes them.
    fn document(&self, id: u64) -> Value {
        let image = &self.images[&id];
        let number = |n: u64| if id.is_multiple_of(3) { json!(n as f64) } else { json!(n) };
        let mut pairs = self.indexed_pairs(id);
        // Ordered by index: every annotation's first pair, then every second pair, …
        pairs.sort_by_key(|(index, _, _)| *index);
        let key_values: Vec<Value> = pairs
            .into_iter()
            .map(|(index, k, v)| json!({"index": number(index as u64), "name": k, "value": v}))
            .collect();
        let mut doc = json!({
            "doc_type": "image_keyvalue_pair_metadata", "data_source": "idr", "id": number(id),
            "name": image.name, "description": image.description, "owner_id": 2, "group_id": 3,
            "experiment": null, "image_size": null, "key_values": key_values,
            "project_id": null, "project_name": null, "dataset_id": null, "dataset_name": null,
            "screen_id": null, "screen_name": null, "plate_id": null, "plate_name": null,
            "well_id": null, "wellsample_id": null,
        });
        if let Some((screen, plate, well)) = self.hcs_parents(id) {
            doc["screen_id"] = number(screen);
            doc["screen_name"] = json!(self.screens[&screen].name);
            doc["plate_id"] = number(plate);
            doc["plate_name"] = json!(self.plates[&plate].name);
            doc["well_id"] = number(well);
            doc["wellsample_id"] = number(30_000_000 + id);
        }
        if let Some(dataset) = image.dataset {
            let d = &self.datasets[&dataset];
            doc["dataset_id"] = number(dataset);
            doc["dataset_name"] = json!(d.name);
            doc["project_id"] = number(d.project);
            doc["project_name"] = json!(self.projects[&d.project].name);
        }
        doc
    }

    /// The `results` member for the hits after `bookmark`, or `[]` when there are none.
    fn results(&self, hits: &[u64], bookmark: Option<u64>, with_pagination: bool) -> Value {
        let size = self.settings.engine_page_size.max(1);
        let before = hits.iter().filter(|id| bookmark.is_some_and(|b| **id <= b)).count();
        let page: Vec<u64> = hits[before..].iter().copied().take(size).collect();
        let Some(last) = page.last() else { return json!([]) };
        let total_pages = hits.len().div_ceil(size);
        let mut results = json!({
            "results": page.iter().map(|id| self.document(*id)).collect::<Vec<_>>(),
            "size": hits.len(),
            "total_pages": total_pages,
            "bookmark": [last],
        });
        if with_pagination {
            let current = before / size + 1;
            results["pagination"] = json!({
                "current_page": current,
                "next_page": if current < total_pages { json!(current + 1) } else { Value::Null },
                "page_records": [{"page": current, "bookmark": [last]}],
                "total_pages": total_pages,
            });
        }
        results
    }

    /// `GET image/search/?key=&value=&operator=&bookmark=&study=`.
    fn simple_search(&self, req: &Request) -> Response {
        let value = req.values("value").next();
        let Some(value) = value else { return error("No value is provided") };
        let op = req.values("operator").next().unwrap_or("equals");
        if !OPERATORS.contains(&op) && !["gt", "lt", "gte", "lte"].contains(&op) {
            return error(format!("'{op}' is not a valid operator"));
        }
        let key = req.values("key").next();
        let filter = EngineFilter::new(key, op, &[value]);
        let bookmark = match req.values("bookmark").next().map(str::parse::<u64>) {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(_)) => return error("bad bookmark"),
        };
        // 0.7's simple_search applies `study` to project names only.
        let studies: Vec<StudyFilter> = req
            .values("study")
            .map(|s| StudyFilter { name: s.to_owned(), projects: true, screens: false })
            .collect();
        let hits = self.matching(std::slice::from_ref(&filter), &[], &studies);
        let mut and = json!({"operator": op, "resource": "image", "value": value});
        if let Some(key) = key {
            and["name"] = json!(key);
        }
        let body = json!({
            "notice": "", "resource": "image", "server_query_time": "0.01", "raw_elasticsearch_query": {},
            "query_details": {"and_filters": [and], "bookmark": [bookmark.map(|b| json!([b.to_string()]))], "case_sensitive": null},
            "results": self.results(&hits, bookmark, bookmark.is_none()),
        });
        Response::json(200, body.to_string())
    }

    /// The images a `submitquery` body's `query_details` selects, or the engine's error.
    fn query_hits(&self, body: &Value) -> Result<Vec<u64>, Response> {
        let details = &body["query_details"];
        let mut and = Vec::new();
        let mut studies = Vec::new();
        for f in details["and_filters"].as_array().into_iter().flatten() {
            match parse_filter(f) {
                Ok(Parsed::Image(filter)) => and.push(filter),
                Ok(Parsed::Study(study)) => studies.push(study),
                Err(e) => return Err(error(e)),
            }
        }
        let mut or = Vec::new();
        for group in details["or_filters"].as_array().into_iter().flatten() {
            let mut filters = Vec::new();
            for f in group.as_array().into_iter().flatten() {
                match parse_filter(f) {
                    Ok(Parsed::Image(filter)) => filters.push(filter),
                    Ok(Parsed::Study(_)) => {
                        return Err(error(
                            "a study filter inside an or-group is not supported here",
                        ))
                    }
                    Err(e) => return Err(error(e)),
                }
            }
            or.push(filters);
        }
        Ok(self.matching(&and, &or, &studies))
    }

    /// `POST submitquery/containers/` (9c): the screens and projects holding matching
    /// images, by name, each with its count of them and its study key/values (`key`, not
    /// `name`, in each pair). No pagination.
    fn submit_containers(&self, req: &Request) -> Response {
        let Some(body) = req.body.as_deref().and_then(|b| serde_json::from_str::<Value>(b).ok())
        else {
            return error("the body is not JSON");
        };
        let hits = match self.query_hits(&body) {
            Ok(hits) => hits,
            Err(response) => return response,
        };
        if hits.is_empty() {
            return error("Your query returns no results");
        }
        let mut containers: std::collections::BTreeMap<(String, &str, u64), u64> =
            Default::default();
        for image in hits {
            let container = match (self.images[&image].dataset, self.hcs_parents(image)) {
                (Some(d), _) => {
                    let p = self.datasets[&d].project;
                    Some((self.projects[&p].name.clone(), "project", p))
                }
                (None, Some((screen, _, _))) => {
                    Some((self.screens[&screen].name.clone(), "screen", screen))
                }
                (None, None) => None,
            };
            if let Some(key) = container {
                *containers.entry(key).or_default() += 1;
            }
        }
        let results: Vec<Value> = containers
            .into_iter()
            .map(|((name, kind, id), count)| {
                let object = if kind == "screen" { Kind::Screen } else { Kind::Project };
                let key_values: Vec<Value> = self
                    .map_annotations_of(object, id)
                    .iter()
                    .filter(|a| a.ns.as_deref() == Some(super::NS_STUDY))
                    .flat_map(|a| a.pairs.iter().enumerate())
                    .map(|(i, (k, v))| json!({"index": i, "key": k, "value": v}))
                    .collect();
                json!({"id": id, "name": name, "type": kind, "data_source": "idr",
                       "image count": count, "key_values": key_values})
            })
            .collect();
        let answer = json!({
            "Error": "none", "notice": "", "resource": "image", "server_query_time": "0.03",
            "raw_elasticsearch_query": {}, "query_details": body["query_details"],
            "results": {"results": results},
        });
        Response::json(200, answer.to_string())
    }

    /// `POST submitquery/` with `query_details.and_filters` / `or_filters`, `bookmark`
    /// and `pagination`.
    fn submit_query(&self, req: &Request) -> Response {
        let Some(body) = req.body.as_deref().and_then(|b| serde_json::from_str::<Value>(b).ok())
        else {
            return error("the body is not JSON");
        };
        let details = &body["query_details"];
        let hits = match self.query_hits(&body) {
            Ok(hits) => hits,
            Err(response) => return response,
        };
        let bookmark = match &body["bookmark"] {
            Value::Null => None,
            Value::Array(items) => match items.as_slice() {
                [n] => match n.as_u64() {
                    Some(b) => Some(b),
                    None => return error(format!("{n} is not of type 'integer'")),
                },
                _ => return error("bookmark must hold one integer"),
            },
            other => return error(format!("{other} is not of type 'array'")),
        };
        if hits.is_empty() {
            return error("Your query returns no results");
        }
        let with_pagination = bookmark.is_none() || !body["pagination"].is_null();
        let answer = json!({
            "Error": "none", "notice": "", "resource": "image", "server_query_time": "0.02",
            "raw_elasticsearch_query": {}, "query_details": details,
            "results": self.results(&hits, bookmark, with_pagination),
        });
        Response::json(200, answer.to_string())
    }

    /// The objects of a search resource, each with its key/values.
    fn resource_objects(&self, resource: &str) -> Option<Vec<(u64, KeyValues)>> {
        let kind = match resource {
            "image" => Kind::Image,
            "screen" => Kind::Screen,
            "project" => Kind::Project,
            "plate" => Kind::Plate,
            "well" => Kind::Well,
            _ => return None,
        };
        let ids: Vec<u64> = match kind {
            Kind::Image => self.images.keys().copied().collect(),
            Kind::Screen => self.screens.keys().copied().collect(),
            Kind::Project => self.projects.keys().copied().collect(),
            Kind::Plate => self.plates.keys().copied().collect(),
            _ => self.wells.keys().copied().collect(),
        };
        Some(ids.into_iter().map(|id| (id, self.key_values(kind, id))).collect())
    }

    /// `GET <resource>/searchvaluesusingkey/?key=`: every lower-cased value (spaces kept)
    /// of the key, with how many objects carry it.
    fn values_using_key(&self, req: &Request, resource: &str) -> Response {
        let Some(key) = req.values("key").next() else { return error("No key is provided ") };
        let Some(objects) = self.resource_objects(resource) else {
            return error("unknown resource");
        };
        let key = key.to_lowercase();
        let mut counts: std::collections::BTreeMap<String, (String, u64)> = Default::default();
        for (_, pairs) in &objects {
            let mut seen = std::collections::BTreeSet::new();
            for (k, v) in pairs {
                if k.to_lowercase() == key && seen.insert(v.to_lowercase()) {
                    let entry = counts.entry(v.to_lowercase()).or_insert((k.clone(), 0));
                    entry.1 += 1;
                }
            }
        }
        let count_key = format!("Number of {resource}s");
        // The engine names the total after the key's resource, which an unknown key has
        // none of.
        let total_key = if counts.is_empty() {
            "total_number_of_None".to_owned()
        } else {
            format!("total_number_of_{resource}")
        };
        let data: Vec<Value> = counts
            .iter()
            .map(|(value, (key, n))| json!({"Key": key, count_key.clone(): n, "Value": value, "data_source": "idr"}))
            .collect();
        let total: u64 = counts.values().map(|(_, n)| n).sum();
        Response::json(
            200,
            json!({"data": data, "total_number_of_buckets": data.len(), total_key: total})
                .to_string(),
        )
    }

    /// `GET <resource>/keys/`.
    fn keys(&self, resource: &str) -> Response {
        let Some(objects) = self.resource_objects(resource) else {
            return error("unknown resource");
        };
        let keys: std::collections::BTreeSet<&String> =
            objects.iter().flat_map(|(_, p)| p.iter().map(|(k, _)| k)).collect();
        Response::json(200, json!([{"data_source": "idr", resource: keys}]).to_string())
    }
}

enum Parsed {
    Image(EngineFilter),
    Study(StudyFilter),
}

/// One filter of a POST body, checked as the engine's JSON schema checks it.
fn parse_filter(f: &Value) -> Result<Parsed, String> {
    let op =
        f["operator"].as_str().ok_or_else(|| format!("'operator' is a required property: {f}"))?;
    if !OPERATORS.contains(&op) {
        return Err(format!("'{op}' is not one of {OPERATORS:?}"));
    }
    let resource = f["resource"].as_str().unwrap_or("image");
    let key = f["name"].as_str();
    let values: Vec<&str> = match (&f["value"], op) {
        (Value::Array(items), "in" | "not_in") => items.iter().filter_map(Value::as_str).collect(),
        (Value::String(v), _) => vec![v.as_str()],
        _ => return Err(format!("the value does not fit the operator: {f}")),
    };
    match (resource, key) {
        ("image", _) => Ok(Parsed::Image(EngineFilter::new(key, op, &values))),
        ("container" | "project" | "screen", Some("name"))
            if op == "equals" && values.len() == 1 =>
        {
            Ok(Parsed::Study(StudyFilter {
                name: values[0].to_owned(),
                projects: resource != "screen",
                screens: resource != "project",
            }))
        }
        _ => Err(format!("'{resource}' filters are not supported here: {f}")),
    }
}
