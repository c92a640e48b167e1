//! The schema against generated IDRs (idr-test-support's `World`), over real HTTP on
//! loopback: every field equals the ground truth however its object is reached (from the
//! root, through its parents, through its children, as a search hit); every connection
//! pages to the end at several `first` values with an exact `totalCount` and exact
//! `hasNextPage`; `searchImages`, the lists' `where:` and IDR-QL answer what a reference
//! evaluation of the filter on the truth answers, for every operator, nested
//! `all` / `any` / `not` and every scope. The worlds differ in seed, size, fields per well,
//! the search engine's page size (IDR's 1,000, and 25 and 7) and the length of the
//! annotation pages the client asks for (so that batches span pages).
//!
//! A mismatch prints the world, the path in the response and both values. The recordings
//! tests pin real IDR data; these pin behaviour at sizes and settings the recordings do
//! not have.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use idr_client::upstream::{HttpConfig, HttpUpstream};
use idr_client::{ClientConfig, IdrClient};
use idr_test_support::{
    row_label, Cell, Faults, Filter, Kind, Op, ReplayServer, Scope, Settings, Size, World,
};
use serde_json::{json, Value};

use crate::{build_schema, DocumentLimits, IdrSchema, SchemaLimits};

// ---------------------------------------------------------------------------------------
// The worlds and the server over each.

/// Three worlds: IDR's settings; big plates with engine pages of 25 and annotation pages of
/// 500; tiny plates with three fields, engine pages of 7 and annotation pages of 40.
fn worlds() -> Vec<Generated> {
    vec![
        Generated::start("seed 1, small, IDR's settings", 1, Size::small(), Settings::default()),
        Generated::start(
            "seed 2, 16 × 24 plates, engine pages of 25, annotation pages of 500",
            2,
            Size {
                screens: 2,
                plates: 4,
                rows: 16,
                columns: 24,
                fields: 1,
                projects: 3,
                datasets: 2,
                images: 12,
                full: false,
            },
            Settings { engine_page_size: 25, annotations_limit: 500, ..Settings::default() },
        ),
        Generated::start(
            "seed 3, tiny, 3 fields, engine pages of 7, annotation pages of 40",
            3,
            Size {
                screens: 2,
                plates: 2,
                rows: 4,
                columns: 6,
                fields: 3,
                projects: 2,
                datasets: 2,
                images: 5,
                full: false,
            },
            Settings { engine_page_size: 7, annotations_limit: 40, ..Settings::default() },
        ),
    ]
}

/// A generated world served over HTTP, and the schema in front of it.
struct Generated {
    label: String,
    seed: u64,
    world: Arc<World>,
    /// The schema's upstream; it counts calls per route.
    server: ReplayServer,
    schema: IdrSchema,
    base: String,
}

impl Generated {
    fn start(label: &str, seed: u64, size: Size, settings: Settings) -> Generated {
        Generated::start_limited(label, seed, size, settings, |limits| limits)
    }

    /// As [`Generated::start`], with the schema's limits changed by `limits`.
    fn start_limited(
        label: &str,
        seed: u64,
        size: Size,
        settings: Settings,
        limits: impl FnOnce(SchemaLimits) -> SchemaLimits,
    ) -> Generated {
        let world = Arc::new(World::generate(seed, size, settings));
        let server = ReplayServer::start(world.clone(), Faults::default());
        let http = HttpConfig::new(server.url().parse().expect("a URL"));
        // As `idr serve --upstream` does: links point at the upstream. Annotations are
        // asked for in pages as short as the world's limit, so that batches span pages.
        let config = ClientConfig {
            public_base: server.url().parse().expect("a URL"),
            annotations_page: settings
                .annotations_limit
                .min(ClientConfig::default().annotations_page),
            ..ClientConfig::default()
        };
        let client = IdrClient::new(HttpUpstream::new(http).expect("a client"), config);
        // The walks ask for whole plates with every field, many objects at once; the
        // limits on cost are tested on their own.
        let walk_limits = SchemaLimits {
            complexity: usize::MAX,
            document: DocumentLimits {
                max_bytes: 1 << 22,
                max_aliases: 10_000,
                max_expanded: 1 << 24,
                ..DocumentLimits::default()
            },
            ..SchemaLimits::default()
        };
        Generated {
            label: label.to_owned(),
            seed,
            world,
            base: server.url().trim_end_matches('/').to_owned(),
            server,
            schema: build_schema(client, limits(walk_limits)),
        }
    }

    /// The whole response to a document with variables.
    async fn response(&self, document: &str, variables: Value) -> Value {
        let request = async_graphql::Request::new(document)
            .variables(async_graphql::Variables::from_json(variables));
        serde_json::to_value(crate::execute(&self.schema, request).await).expect("serialises")
    }

    /// The data of a document that must succeed.
    async fn data(&self, body: &str) -> Value {
        let document = document(body);
        let response = self.response(&document, json!({})).await;
        if let Some(errors) = response.get("errors") {
            panic!("[{}] errors: {errors:#}\n{document}", self.label);
        }
        response["data"].clone()
    }

    /// Calls the upstream has had on one route (`{id}` for numbers).
    fn calls(&self, route: &str) -> u64 {
        self.server.calls_by_route().get(route).copied().unwrap_or(0)
    }

    fn truth(&self) -> Truth<'_> {
        Truth { world: &self.world, base: &self.base }
    }

    fn mismatches(&self) -> Mismatches {
        Mismatches { label: self.label.clone(), items: Vec::new(), count: 0 }
    }
}

// ---------------------------------------------------------------------------------------
// Comparison.

/// Differences found, printed with their paths when the test ends.
struct Mismatches {
    label: String,
    items: Vec<String>,
    count: usize,
}

impl Mismatches {
    const SHOWN: usize = 25;

    fn push(&mut self, message: String) {
        self.count += 1;
        if self.items.len() < Mismatches::SHOWN {
            self.items.push(message);
        }
    }

    /// Compares `got` with `want` below `path`: objects key by key (both ways), lists item
    /// by item, numbers by value.
    fn compare(&mut self, path: &str, got: &Value, want: &Value) {
        match (got, want) {
            (Value::Object(g), Value::Object(w)) => {
                for (key, w_value) in w {
                    match g.get(key) {
                        Some(g_value) => self.compare(&format!("{path}.{key}"), g_value, w_value),
                        None => {
                            self.push(format!("{path}.{key}: missing, want {}", short(w_value)))
                        }
                    }
                }
                for key in g.keys().filter(|k| !w.contains_key(*k)) {
                    self.push(format!("{path}.{key}: not expected, got {}", short(&g[key])));
                }
            }
            (Value::Array(g), Value::Array(w)) => {
                if g.len() != w.len() {
                    self.push(format!(
                        "{path}: {} items, want {}\n    got  {}\n    want {}",
                        g.len(),
                        w.len(),
                        short(got),
                        short(want)
                    ));
                }
                for (i, (g, w)) in g.iter().zip(w).enumerate() {
                    self.compare(&format!("{path}[{i}]"), g, w);
                }
            }
            (Value::Number(g), Value::Number(w)) if g.as_f64() == w.as_f64() => {}
            _ if got == want => {}
            _ => self.push(format!("{path}: got {}, want {}", short(got), short(want))),
        }
    }

    fn check(&mut self, what: impl std::fmt::Display, ok: bool) {
        if !ok {
            self.push(what.to_string());
        }
    }

    fn finish(self) {
        assert!(
            self.count == 0,
            "[{}] {} mismatches:\n  {}",
            self.label,
            self.count,
            self.items.join("\n  ")
        );
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 300 {
        format!("{}…", text.chars().take(300).collect::<String>())
    } else {
        text
    }
}

// ---------------------------------------------------------------------------------------
// Selections and what they must give.

/// Fragments, each with the builder of its expected value in [`Truth`].
const FRAGMENTS: &[(&str, &str)] = &[
    (
        "Ann",
        "fragment Ann on MapAnnotation { id namespace keyValues { key value } source { kind id name } }",
    ),
    (
        "Img",
        "fragment Img on Image { id idrId name description thumbnailUrl small: thumbnailUrl(size: 64) webclientUrl viewerUrl
           width height sizeZ sizeT sizeC pixelSize { x y z } pixelsType
           channels { label color emissionWavelength active windowStart windowEnd }
           keyValues { key value } genes: values(key: \"GENE SYMBOL\")
           annotations { ...Ann } inherited: annotations(inherited: true) { ...Ann }
           phenotypes: annotations(inherited: true, namespace: \"openmicroscopy.org/mapr/phenotype\") { id }
           well { id label } plate { id name } screen { id name } dataset { id name } project { id name }
           up: well { plate { id screen { id } } }
           typedGenes: genes { symbol identifier url } typedPhenotypes: phenotypes { text termName accession url }
           sirnas { identifier poolIdentifier } compounds { name pubchemCid } antibodies { name identifier }
           organism { name ncbiTaxon } cellLine { name accession } }",
    ),
    (
        "Wel",
        "fragment Wel on Well { id idrId row column label plate { id name } keyValues { key value }
           phenotypes: values(key: \"phenotype\") annotations { ...Ann }
           genes: annotations(namespace: \"openmicroscopy.org/mapr/gene\") { id }
           bulkAnnotation { columns values score: value(column: \"score\") } webclientUrl
           typedGenes: genes { symbol identifier url } typedPhenotypes: phenotypes { text termName accession url }
           sirnas { identifier poolIdentifier } compounds { name pubchemCid } antibodies { name identifier }
           organism { name ncbiTaxon } cellLine { name accession } }",
    ),
    (
        "Pla",
        "fragment Pla on Plate { id idrId name screen { id name } rowLabels columnLabels fieldCount
           keyValues { key value } plateType: values(key: \"Plate Type\")
           annotations { ...Ann } webclientUrl }",
    ),
    (
        "Scr",
        "fragment Scr on Screen { id idrId name description keyValues { key value } organism: values(key: \"organism\")
           annotations { ...Ann } study: annotations(namespace: \"idr.openmicroscopy.org/study/info\") { id }
           fileAnnotations { id namespace description name size mimetype fileId downloadUrl } webclientUrl }",
    ),
    (
        "Pro",
        "fragment Pro on Project { id idrId name description keyValues { key value } organism: values(key: \"Organism\")
           annotations { ...Ann } fileAnnotations { id namespace description name size mimetype fileId downloadUrl }
           webclientUrl }",
    ),
    (
        "Dat",
        "fragment Dat on Dataset { id idrId name description project { id name } keyValues { key value }
           treatment: values(key: \"treatment\") annotations { ...Ann } webclientUrl }",
    ),
];

/// `body` with the fragments it spreads (and those they spread).
fn document(body: &str) -> String {
    let mut text = body.to_owned();
    let mut used = BTreeSet::new();
    loop {
        let before = used.len();
        for (name, fragment) in FRAGMENTS {
            if text.contains(&format!("...{name}")) && used.insert(*name) {
                text.push('\n');
                text.push_str(fragment);
            }
        }
        if used.len() == before {
            return text;
        }
    }
}

fn gql_id(id: u64) -> Value {
    json!(id.to_string())
}

/// The global id of an object: `Image:122770`.
fn gid(kind: Kind, id: u64) -> Value {
    let name = kind.class().trim_end_matches('I');
    json!(format!("{name}:{id}"))
}

/// IDR's id in an `id` of a response: a global id's number, or a bare number.
fn number_of(id: &Value) -> Option<u64> {
    let text = id.as_str()?;
    text.rsplit_once(':').map_or(text, |(_, n)| n).parse().ok()
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Project => "PROJECT",
        Kind::Dataset => "DATASET",
        Kind::Image => "IMAGE",
        Kind::Screen => "SCREEN",
        Kind::Plate => "PLATE",
        Kind::Well => "WELL",
    }
}

fn key_values(pairs: &[(String, String)]) -> Value {
    pairs.iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
}

/// The values of `key` (compared without regard to case) among `pairs`.
fn values_of(pairs: &[(String, String)], key: &str) -> Value {
    pairs
        .iter()
        .filter(|(k, _)| k.to_lowercase() == key.to_lowercase())
        .map(|(_, v)| json!(v))
        .collect()
}

/// A bulk-table cell as the schema gives it.
fn cell_text(cell: &Cell) -> Value {
    match cell {
        Cell::Int(n) => json!(n.to_string()),
        Cell::Text(s) => json!(s),
        Cell::Float(f) if f.is_nan() => Value::Null,
        Cell::Float(f) if f.fract() == 0.0 => json!(format!("{}", *f as i64)),
        Cell::Float(f) => json!(f.to_string()),
        Cell::Bool(b) => json!(b.to_string()),
    }
}

/// The expected value of each fragment, from the ground truth.
struct Truth<'a> {
    world: &'a World,
    base: &'a str,
}

impl Truth<'_> {
    fn name_ref(&self, kind: Kind, id: u64) -> Value {
        json!({"id": gid(kind, id), "name": self.world.name_of(kind, id)})
    }

    fn annotations(&self, kind: Kind, id: u64) -> Vec<Value> {
        self.world
            .map_annotations_of(kind, id)
            .iter()
            .map(|a| {
                json!({"id": gql_id(a.id), "namespace": a.ns, "keyValues": key_values(&a.pairs),
                       "source": {"kind": kind_name(kind), "id": gid(kind, id), "name": self.world.name_of(kind, id)}})
            })
            .collect()
    }

    fn annotation_ids(&self, kinds: &[(Kind, u64)], ns: &str) -> Value {
        kinds
            .iter()
            .flat_map(|(kind, id)| self.world.map_annotations_of(*kind, *id))
            .filter(|a| a.ns.as_deref() == Some(ns))
            .map(|a| json!({"id": gql_id(a.id)}))
            .collect()
    }

    /// The typed biology of an object, as the schema documents it: one item per annotation
    /// of the mapr namespace, each field the first non-empty value of its key, an item
    /// without its naming keys left out; `organism` and `cellLine` the first named.
    fn biology(&self, kind: Kind, id: u64) -> Value {
        let annotations = self.world.map_annotations_of(kind, id);
        let of = |ns: &str| -> Vec<&Vec<(String, String)>> {
            let ns = format!("openmicroscopy.org/mapr/{ns}");
            annotations.iter().filter(|a| a.ns.as_deref() == Some(&ns)).map(|a| &a.pairs).collect()
        };
        let first = |pairs: &[(String, String)], key: &str| -> Value {
            pairs
                .iter()
                .find(|(k, v)| k.eq_ignore_ascii_case(key) && !v.trim().is_empty())
                .map_or(Value::Null, |(_, v)| json!(v))
        };
        let items = |ns: &str, fields: &[(&str, &str)], naming: &[&str]| -> Value {
            of(ns)
                .into_iter()
                .map(|pairs| {
                    let item: serde_json::Map<String, Value> = fields
                        .iter()
                        .map(|(field, key)| (field.to_string(), first(pairs, key)))
                        .collect();
                    item
                })
                .filter(|item| naming.iter().any(|f| !item[*f].is_null()))
                .map(Value::Object)
                .collect()
        };
        let one = |ns: &str, key: &str, extra: &str, prefixes: &[&str]| -> Value {
            of(ns).into_iter().find(|pairs| !first(pairs, key).is_null()).map_or(
                Value::Null,
                |pairs| {
                    let accession = pairs
                        .iter()
                        .map(|(_, v)| v)
                        .find(|v| prefixes.iter().any(|p| v.starts_with(p)));
                    json!({"name": first(pairs, key), extra: accession})
                },
            )
        };
        json!({
            "typedGenes": items("gene", &[("symbol", "Gene Symbol"), ("identifier", "Gene Identifier"), ("url", "Gene Identifier URL")], &["symbol", "identifier"]),
            "typedPhenotypes": items("phenotype", &[("text", "Phenotype"), ("termName", "Phenotype Term Name"), ("accession", "Phenotype Term Accession"), ("url", "Phenotype Term Accession URL")], &["text", "accession"]),
            "sirnas": items("sirna", &[("identifier", "siRNA Identifier"), ("poolIdentifier", "siRNA Pool Identifier")], &["identifier", "poolIdentifier"]),
            "compounds": items("compound", &[("name", "Compound Name"), ("pubchemCid", "PubChem CID")], &["name", "pubchemCid"]),
            "antibodies": items("antibody", &[("name", "Antibody"), ("identifier", "Antibody Identifier")], &["name", "identifier"]),
            "organism": one("organism", "Organism", "ncbiTaxon", &["NCBITaxon_"]),
            "cellLine": one("cell_line", "Cell Line", "accession", &["EFO_", "CLO_", "CVCL_"]),
        })
    }

    /// The image and the containers it sits in, nearest first.
    fn image_and_containers(&self, id: u64) -> Vec<(Kind, u64)> {
        let mut out = vec![(Kind::Image, id)];
        if let Some((screen, plate, well)) = self.world.hcs_parents(id) {
            out.extend([(Kind::Well, well), (Kind::Plate, plate), (Kind::Screen, screen)]);
        }
        if let Some(dataset) = self.world.images[&id].dataset {
            out.push((Kind::Dataset, dataset));
            out.push((Kind::Project, self.world.datasets[&dataset].project));
        }
        out
    }

    /// `fields` with what every object has: `id`, `keyValues`, its own `annotations` and
    /// `webclientUrl`.
    fn object(&self, kind: Kind, id: u64, fields: Value) -> Value {
        let mut object = json!({
            "id": gid(kind, id),
            "idrId": gql_id(id),
            "keyValues": key_values(&self.world.key_values(kind, id)),
            "annotations": self.annotations(kind, id),
            "webclientUrl": format!("{}/webclient/?show={}-{id}", self.base, kind.query_key()),
        });
        if let (Value::Object(all), Value::Object(own)) = (&mut object, fields) {
            all.extend(own);
            if let (Kind::Image | Kind::Well, Value::Object(biology)) =
                (kind, self.biology(kind, id))
            {
                all.extend(biology);
            }
        }
        object
    }

    fn image(&self, id: u64) -> Value {
        let (w, base) = (self.world, self.base);
        let image = &w.images[&id];
        let pairs = w.key_values(Kind::Image, id);
        let containers = self.image_and_containers(id);
        let hcs = w.hcs_parents(id);
        let dataset = image.dataset;
        let project = dataset.map(|d| w.datasets[&d].project);
        self.object(Kind::Image, id, json!({
            "name": image.name,
            "description": (!image.description.is_empty()).then_some(&image.description),
            "thumbnailUrl": format!("{base}/webgateway/render_thumbnail/{id}/"),
            "small": format!("{base}/webgateway/render_thumbnail/{id}/64/"),
            "viewerUrl": format!("{base}/webclient/img_detail/{id}/"),
            "width": image.size[0], "height": image.size[1], "sizeZ": image.size[2],
            "sizeT": image.size[3], "sizeC": image.size[4],
            "pixelSize": {"x": image.pixel_size[0], "y": image.pixel_size[1], "z": image.pixel_size[2]},
            "pixelsType": image.pixels_type,
            "channels": image.channels.iter().map(|c| json!({
                "label": c.label, "color": c.color, "emissionWavelength": c.emission, "active": c.active,
                "windowStart": c.window[2], "windowEnd": c.window[3],
            })).collect::<Vec<_>>(),
            "genes": values_of(&pairs, "gene symbol"),
            "inherited": containers.iter().flat_map(|(k, i)| self.annotations(*k, *i)).collect::<Vec<_>>(),
            "phenotypes": self.annotation_ids(&containers, "openmicroscopy.org/mapr/phenotype"),
            "well": hcs.map(|(_, _, well)| json!({"id": gid(Kind::Well, well), "label": w.well_label(well)})),
            "plate": hcs.map(|(_, plate, _)| self.name_ref(Kind::Plate, plate)),
            "screen": hcs.map(|(screen, _, _)| self.name_ref(Kind::Screen, screen)),
            "dataset": dataset.map(|d| self.name_ref(Kind::Dataset, d)),
            "project": project.map(|p| self.name_ref(Kind::Project, p)),
            "up": hcs.map(|(screen, plate, _)| json!({"plate": {"id": gid(Kind::Plate, plate), "screen": {"id": gid(Kind::Screen, screen)}}})),
        }))
    }

    /// A well, without its images (which depend on how it was reached).
    fn well(&self, id: u64) -> Value {
        let w = self.world;
        let well = &w.wells[&id];
        let pairs = w.key_values(Kind::Well, id);
        let bulk = w.bulk_row(id).map(|(table, row)| {
            let score = table.columns.iter().position(|(name, _)| name == "Score");
            json!({
                "columns": table.columns.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "values": row.iter().map(cell_text).collect::<Vec<_>>(),
                "score": score.map_or(Value::Null, |i| cell_text(&row[i])),
            })
        });
        self.object(
            Kind::Well,
            id,
            json!({
                "row": well.row, "column": well.column, "label": w.well_label(id),
                "plate": self.name_ref(Kind::Plate, well.plate),
                "phenotypes": values_of(&pairs, "phenotype"),
                "genes": self.annotation_ids(&[(Kind::Well, id)], "openmicroscopy.org/mapr/gene"),
                "bulkAnnotation": bulk,
            }),
        )
    }

    /// A well with the images `images { id name }` gives when fetched on its own: every
    /// field's.
    fn well_alone(&self, id: u64) -> Value {
        let mut well = self.well(id);
        well["images"] = self.world.wells[&id]
            .images
            .iter()
            .flatten()
            .map(|i| self.name_ref(Kind::Image, *i))
            .collect();
        well
    }

    fn plate(&self, id: u64) -> Value {
        let w = self.world;
        let plate = &w.plates[&id];
        let pairs = w.key_values(Kind::Plate, id);
        self.object(
            Kind::Plate,
            id,
            json!({
                "name": plate.name,
                "screen": self.name_ref(Kind::Screen, plate.screen),
                "rowLabels": (0..plate.rows).map(row_label).collect::<Vec<_>>(),
                "columnLabels": (1..=plate.columns).map(|c| c.to_string()).collect::<Vec<_>>(),
                "fieldCount": plate.fields,
                "plateType": values_of(&pairs, "plate type"),
            }),
        )
    }

    fn screen(&self, id: u64) -> Value {
        let w = self.world;
        let screen = &w.screens[&id];
        let pairs = w.key_values(Kind::Screen, id);
        let files = self.files(Kind::Screen, id);
        self.object(Kind::Screen, id, json!({
            "name": screen.name, "description": screen.description,
            "organism": values_of(&pairs, "organism"),
            "study": self.annotation_ids(&[(Kind::Screen, id)], "idr.openmicroscopy.org/study/info"),
            "fileAnnotations": files,
        }))
    }

    fn project(&self, id: u64) -> Value {
        let w = self.world;
        let project = &w.projects[&id];
        let pairs = w.key_values(Kind::Project, id);
        let fields = json!({
            "name": project.name, "description": project.description,
            "organism": values_of(&pairs, "organism"),
            "fileAnnotations": self.files(Kind::Project, id),
        });
        self.object(Kind::Project, id, fields)
    }

    /// The file annotations of a screen or project, as `fileAnnotations` gives them.
    fn files(&self, kind: Kind, id: u64) -> Vec<Value> {
        self.world
            .file_annotations_of(kind, id)
            .iter()
            .map(|f| {
                json!({"id": gql_id(f.id), "namespace": f.ns, "description": f.description, "name": f.name,
                       "size": f.size, "mimetype": f.mimetype, "fileId": gql_id(f.file_id),
                       "downloadUrl": format!("{}/webclient/annotation/{}/", self.base, f.id)})
            })
            .collect()
    }

    fn dataset(&self, id: u64) -> Value {
        let w = self.world;
        let dataset = &w.datasets[&id];
        let pairs = w.key_values(Kind::Dataset, id);
        let fields = json!({
            "name": dataset.name, "description": dataset.description,
            "project": self.name_ref(Kind::Project, dataset.project),
            "treatment": values_of(&pairs, "treatment"),
        });
        self.object(Kind::Dataset, id, fields)
    }

    /// Images of a plate at one field, in the grid's row-major order.
    fn field_images(&self, plate: u64, field: u32) -> Vec<(u64, u64)> {
        let w = self.world;
        let mut wells = w.plates[&plate].wells.clone();
        wells.sort_by_key(|id| (w.wells[id].row, w.wells[id].column));
        wells
            .into_iter()
            .filter_map(|well| Some((well, (*w.wells[&well].images.get(field as usize)?)?)))
            .collect()
    }
}

/// Runs aliased root fields in chunks: `items` are (alias, selection, expected value).
async fn check_aliased(g: &Generated, m: &mut Mismatches, items: Vec<(String, String, Value)>) {
    for chunk in items.chunks(60) {
        let body: String =
            chunk.iter().map(|(alias, field, _)| format!("{alias}: {field}\n")).collect();
        let data = g.data(&format!("{{\n{body}}}")).await;
        for (alias, _, want) in chunk {
            m.compare(alias, &data[alias], want);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Every field, however the object is reached.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_from_the_root() {
    for g in worlds() {
        let (t, w) = (g.truth(), &g.world);
        let mut m = g.mismatches();
        let mut items = Vec::new();
        // Big worlds by a stride that still reaches every plate, field and dataset.
        let stride = w.images.len().div_ceil(900);
        for id in w.images.keys().step_by(stride) {
            items.push((
                format!("image_{id}"),
                format!("image(id: \"{id}\") {{ ...Img }}"),
                t.image(*id),
            ));
        }
        for id in w.wells.keys().step_by(stride) {
            let field = format!("well(id: \"{id}\") {{ ...Wel images {{ id name }} }}");
            items.push((format!("well_{id}"), field, t.well_alone(*id)));
        }
        for id in w.plates.keys() {
            items.push((
                format!("plate_{id}"),
                format!("plate(id: \"{id}\") {{ ...Pla }}"),
                t.plate(*id),
            ));
        }
        for id in w.screens.keys() {
            items.push((
                format!("screen_{id}"),
                format!("screen(id: \"{id}\") {{ ...Scr }}"),
                t.screen(*id),
            ));
        }
        for id in w.projects.keys() {
            let field = format!("project(id: \"{id}\") {{ ...Pro }}");
            items.push((format!("project_{id}"), field, t.project(*id)));
        }
        for id in w.datasets.keys() {
            let field = format!("dataset(id: \"{id}\") {{ ...Dat }}");
            items.push((format!("dataset_{id}"), field, t.dataset(*id)));
        }
        // Ids IDR does not have are null, without an error.
        for (root, id) in
            [("image", 1), ("well", 2), ("plate", 3), ("screen", 4), ("project", 5), ("dataset", 6)]
        {
            items.push((
                format!("missing_{root}"),
                format!("{root}(id: \"{id}\") {{ id }}"),
                Value::Null,
            ));
        }
        check_aliased(&g, &mut m, items).await;
        m.finish();
    }
}

/// `nodes(ids:)` and the plural lookups give every object as its own lookup does: in the
/// order asked, a repeated id repeated, `null` in the place of an id IDR does not have (of
/// every type), and each distinct object fetched once, in as many batches as kinds of record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_through_node_and_the_plural_lookups() {
    const ANY: &str = "__typename ... on Image { ...Img } ... on Well { ...Wel images { id name } }
        ... on Plate { ...Pla } ... on Screen { ...Scr } ... on Project { ...Pro } ... on Dataset { ...Dat }";
    for g in worlds() {
        let (t, w) = (g.truth(), &g.world);
        let mut m = g.mismatches();
        let typed = |kind: Kind, want: Value| {
            let mut want = want;
            want["__typename"] = json!(kind.class().trim_end_matches('I'));
            want
        };
        // Every kind interleaved, by a stride that keeps each list in one request.
        let stride = |n: usize| n.div_ceil(12).max(1);
        let mut asked: Vec<(Value, Value)> = Vec::new();
        let images: Vec<u64> = w.images.keys().step_by(stride(w.images.len())).copied().collect();
        let wells: Vec<u64> = w.wells.keys().step_by(stride(w.wells.len())).copied().collect();
        for (i, image) in images.iter().enumerate() {
            asked.push((gid(Kind::Image, *image), typed(Kind::Image, t.image(*image))));
            if let Some(well) = wells.get(i) {
                asked.push((gid(Kind::Well, *well), typed(Kind::Well, t.well_alone(*well))));
            }
        }
        for id in w.plates.keys() {
            asked.push((gid(Kind::Plate, *id), typed(Kind::Plate, t.plate(*id))));
        }
        for id in w.screens.keys() {
            asked.push((gid(Kind::Screen, *id), typed(Kind::Screen, t.screen(*id))));
        }
        for id in w.projects.keys() {
            asked.push((gid(Kind::Project, *id), typed(Kind::Project, t.project(*id))));
        }
        for id in w.datasets.keys() {
            asked.push((gid(Kind::Dataset, *id), typed(Kind::Dataset, t.dataset(*id))));
        }
        // A repeat, and an id of each type that IDR does not have, in the middle.
        asked.insert(1, asked[0].clone());
        for (n, kind) in
            [Kind::Image, Kind::Well, Kind::Plate, Kind::Screen, Kind::Project, Kind::Dataset]
                .into_iter()
                .enumerate()
        {
            asked.insert(2 + 3 * n, (gid(kind, n as u64 + 1), Value::Null));
        }
        let list = |items: &[(Value, Value)]| -> String {
            items.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(", ")
        };
        let want: Vec<Value> = asked.iter().map(|(_, v)| v.clone()).collect();
        let response = g
            .response(
                &document(&format!("{{ nodes(ids: [{}]) {{ {ANY} }} }}", list(&asked))),
                json!({}),
            )
            .await;
        assert!(response.get("errors").is_none(), "[{}] {response:#}", g.label);
        m.compare("nodes", &response["data"]["nodes"], &json!(want));
        // One at a time, `node` gives the same.
        let items = asked
            .iter()
            .enumerate()
            .step_by(5)
            .map(|(i, (id, want))| {
                (format!("node_{i}"), format!("node(id: {id}) {{ {ANY} }}"), want.clone())
            })
            .collect();
        check_aliased(&g, &mut m, items).await;
        // Each typed list takes IDR's numbers and global ids alike.
        for (field, kind, fragment, ids) in [
            ("images", Kind::Image, "...Img", images.clone()),
            ("wells", Kind::Well, "...Wel images { id name }", wells.clone()),
            ("plates", Kind::Plate, "...Pla", w.plates.keys().copied().collect()),
        ] {
            let text: Vec<String> = ids
                .iter()
                .enumerate()
                .map(
                    |(i, id)| {
                        if i % 2 == 0 {
                            format!("\"{id}\"")
                        } else {
                            gid(kind, *id).to_string()
                        }
                    },
                )
                .chain(["\"7\"".to_owned()])
                .collect();
            let data = g
                .data(&format!("{{ {field}(ids: [{}]) {{ {fragment} }} }}", text.join(", ")))
                .await;
            let mut want: Vec<Value> = ids
                .iter()
                .map(|id| match kind {
                    Kind::Image => t.image(*id),
                    Kind::Well => t.well_alone(*id),
                    _ => t.plate(*id),
                })
                .collect();
            want.push(Value::Null);
            m.compare(field, &data[field], &json!(want));
        }
        m.finish();
    }
}

/// A cold `nodes(ids:)` of images and containers loads the whole list at once: each distinct
/// id once (a repeat and a missing id included), and no dataloader batch, which is what
/// waits a delay for more keys (as a plate priming its wells, issue 9): every key is known.
#[tokio::test]
async fn nodes_load_a_whole_list_in_one_batch_per_kind_of_record() {
    let g = Generated::start("nodes batches", 23, Size::small(), Settings::default());
    let w = &g.world;
    let images: Vec<u64> = w.images.keys().take(30).copied().collect();
    let mut ids: Vec<Value> = images.iter().map(|id| gid(Kind::Image, *id)).collect();
    ids.extend(w.plates.keys().map(|id| gid(Kind::Plate, *id)));
    ids.extend(w.screens.keys().map(|id| gid(Kind::Screen, *id)));
    ids.extend(w.datasets.keys().map(|id| gid(Kind::Dataset, *id)));
    let distinct = ids.len() + 1;
    ids.push(ids[0].clone());
    ids.push(ids[ids.len() / 2].clone());
    ids.push(gid(Kind::Well, 1));
    let list: Vec<String> = ids.iter().map(Value::to_string).collect();
    let query = format!("{{ nodes(ids: [{}]) {{ id }} }}", list.join(", "));
    let response = g.response(&query, json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    let got = response["data"]["nodes"].as_array().expect("a list");
    assert_eq!(got.len(), ids.len());
    assert_eq!(got.last(), Some(&Value::Null));
    let cost = &response["extensions"]["cost"];
    assert_eq!(cost["batches"], 0, "{cost}");
    assert_eq!(cost["upstreamCalls"].as_u64(), Some(distinct as u64), "{cost}");
    let routes = g.server.calls_by_route();
    assert_eq!(
        routes.get("/webclient/imgData/{id}/").copied(),
        Some(images.len() as u64),
        "{routes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_through_parents() {
    for g in worlds() {
        let (t, w) = (g.truth(), &g.world);
        let mut m = g.mismatches();
        let mut items = Vec::new();
        for (n, (id, image)) in w.images.iter().enumerate() {
            // Every image of the projects, and a third of the plates' (all plates and
            // fields among them).
            if image.well.is_some() && n % 3 != 0 {
                continue;
            }
            let field = format!(
                "image(id: \"{id}\") {{ id
                   upWell: well {{ ...Wel images {{ id name }} plate {{ ...Pla screen {{ ...Scr }} }} }}
                   upPlate: plate {{ ...Pla screen {{ ...Scr }} }} upScreen: screen {{ ...Scr }}
                   upDataset: dataset {{ ...Dat project {{ ...Pro }} }} upProject: project {{ ...Pro }} }}"
            );
            let hcs = w.hcs_parents(*id);
            let plate_up = |plate: u64| {
                let mut p = t.plate(plate);
                p["screen"] = t.screen(w.plates[&plate].screen);
                p
            };
            let well_up = hcs.map(|(_, plate, well)| {
                let mut v = t.well_alone(well);
                v["plate"] = plate_up(plate);
                v
            });
            let dataset_up = image.dataset.map(|d| {
                let mut v = t.dataset(d);
                v["project"] = t.project(w.datasets[&d].project);
                v
            });
            let want = json!({
                "id": gid(Kind::Image, *id),
                "upWell": well_up,
                "upPlate": hcs.map(|(_, plate, _)| plate_up(plate)),
                "upScreen": hcs.map(|(screen, _, _)| t.screen(screen)),
                "upDataset": dataset_up,
                "upProject": image.dataset.map(|d| t.project(w.datasets[&d].project)),
            });
            items.push((format!("image_{id}"), field, want));
        }
        for (id, well) in &w.wells {
            let field =
                format!("well(id: \"{id}\") {{ id plate {{ ...Pla screen {{ ...Scr }} }} }}");
            let mut plate = t.plate(well.plate);
            plate["screen"] = t.screen(w.plates[&well.plate].screen);
            items.push((
                format!("well_{id}"),
                field,
                json!({"id": gid(Kind::Well, *id), "plate": plate}),
            ));
        }
        for (id, plate) in &w.plates {
            let field = format!("plate(id: \"{id}\") {{ id screen {{ ...Scr }} }}");
            items.push((
                format!("plate_{id}"),
                field,
                json!({"id": gid(Kind::Plate, *id), "screen": t.screen(plate.screen)}),
            ));
        }
        for (id, dataset) in &w.datasets {
            let field = format!("dataset(id: \"{id}\") {{ id project {{ ...Pro }} }}");
            let want =
                json!({"id": gid(Kind::Dataset, *id), "project": t.project(dataset.project)});
            items.push((format!("dataset_{id}"), field, want));
        }
        check_aliased(&g, &mut m, items).await;
        m.finish();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_through_children() {
    for g in worlds() {
        let (t, w) = (g.truth(), &g.world);
        let mut m = g.mismatches();
        let fields = w.plates.values().map(|p| p.fields).max().unwrap_or(1);
        // Screens → plates → wells of each field → images.
        for (screen_id, screen) in &w.screens {
            let per_field: String = (0..fields)
                .map(|f| {
                    format!(
                        "wells{f}: wells(field: {f}) {{ ...Wel images {{ ...Img }} }} images{f}: images(field: {f}) {{ id name }}\n"
                    )
                })
                .collect();
            let body = format!(
                "{{ screen(id: \"{screen_id}\") {{ ...Scr plates(first: 100) {{ totalCount nodes {{ ...Pla {per_field} }} }} }} }}"
            );
            let data = g.data(&body).await;
            let mut want = t.screen(*screen_id);
            let plates: Vec<Value> = screen
                .plates
                .iter()
                .map(|plate| {
                    let mut p = t.plate(*plate);
                    for f in 0..fields {
                        let cells = t.field_images(*plate, f);
                        p[format!("wells{f}")] = cells
                            .iter()
                            .map(|(well, image)| {
                                let mut v = t.well(*well);
                                v["images"] = json!([t.image(*image)]);
                                v
                            })
                            .collect();
                        p[format!("images{f}")] = cells
                            .iter()
                            .map(|(_, image)| t.name_ref(Kind::Image, *image))
                            .collect();
                    }
                    p
                })
                .collect();
            want["plates"] = json!({"totalCount": plates.len(), "nodes": plates});
            m.compare(&format!("screen_{screen_id}"), &data["screen"], &want);
        }
        // Projects → datasets → images.
        for (project_id, project) in &w.projects {
            let body = format!(
                "{{ project(id: \"{project_id}\") {{ ...Pro datasets(first: 100) {{ totalCount nodes {{ ...Dat images(first: 100) {{ totalCount nodes {{ ...Img }} }} }} }} }} }}"
            );
            let data = g.data(&body).await;
            let mut want = t.project(*project_id);
            let datasets: Vec<Value> = project
                .datasets
                .iter()
                .map(|d| {
                    let mut v = t.dataset(*d);
                    let images: Vec<Value> =
                        w.datasets[d].images.iter().map(|i| t.image(*i)).collect();
                    v["images"] = json!({"totalCount": images.len(), "nodes": images});
                    v
                })
                .collect();
            want["datasets"] = json!({"totalCount": datasets.len(), "nodes": datasets});
            m.compare(&format!("project_{project_id}"), &data["project"], &want);
        }
        // The top-level lists.
        let data = g
            .data(
                "{ screens(first: 100) { totalCount nodes { ...Scr plates(first: 100) { nodes { ...Pla } } } }
                   projects(first: 100) { totalCount nodes { ...Pro datasets(first: 100) { nodes { ...Dat } } } } }",
            )
            .await;
        let screens: Vec<Value> = w
            .screens_in_order()
            .iter()
            .map(|s| {
                let mut v = t.screen(s.id);
                v["plates"] =
                    json!({"nodes": s.plates.iter().map(|p| t.plate(*p)).collect::<Vec<_>>()});
                v
            })
            .collect();
        let projects: Vec<Value> = w
            .projects_in_order()
            .iter()
            .map(|p| {
                let mut v = t.project(p.id);
                v["datasets"] =
                    json!({"nodes": p.datasets.iter().map(|d| t.dataset(*d)).collect::<Vec<_>>()});
                v
            })
            .collect();
        let want = json!({
            "screens": {"totalCount": screens.len(), "nodes": screens},
            "projects": {"totalCount": projects.len(), "nodes": projects},
        });
        m.compare("lists", &data, &want);
        m.finish();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_as_a_search_hit() {
    for g in worlds() {
        let (t, w) = (g.truth(), &g.world);
        let mut m = g.mismatches();
        // Every gene, as stored (case and spaces kept), everywhere and in the first screen.
        let genes: BTreeSet<String> = w
            .vocabulary(Kind::Image)
            .values
            .get("Gene Symbol")
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect();
        let first_screen = *w.screens.keys().next().expect("a screen");
        let (mut scoped, mut scoped_found) = (0, 0);
        for (n, gene) in genes.iter().enumerate() {
            let scopes: &[Scope] = if n % 4 == 0 {
                &[Scope::Everywhere, Scope::Screen(first_screen)]
            } else {
                &[Scope::Everywhere]
            };
            for scope in scopes {
                let filter = Filter::cond("Gene Symbol", Op::Equals, gene);
                let want: Vec<Value> =
                    w.search(&filter, scope).into_iter().map(|id| t.image(id)).collect();
                if *scope != Scope::Everywhere {
                    scoped += 1;
                    scoped_found += usize::from(!want.is_empty());
                }
                let got = match search_pages(&g, &filter, scope, 100, "...Img").await {
                    Ok(pages) => pages.nodes,
                    Err(e) => {
                        m.push(format!("{} in {scope:?}: {e}", filter.graphql()));
                        continue;
                    }
                };
                m.compare(
                    &format!("search {gene:?} in {scope:?}"),
                    &Value::from(got),
                    &Value::from(want),
                );
            }
        }
        m.check(
            format!("{scoped_found} of {scoped} scoped searches found hits"),
            scoped_found * 2 >= scoped,
        );
        m.finish();
    }
}

// ---------------------------------------------------------------------------------------
// Connections.

/// What paging a connection to its end gave.
struct Pages {
    nodes: Vec<Value>,
    /// `totalCount` of every page.
    totals: Vec<Value>,
    /// `hasNextPage` and `hasPreviousPage` of every page.
    flags: Vec<(bool, bool)>,
    /// Nodes per page.
    sizes: Vec<usize>,
    /// Where `edges` and the cursors disagree with `nodes` (when edges were asked for).
    problems: Vec<String>,
}

/// Runs `document` (which takes `$first` and `$after`) page after page, following
/// `endCursor`, and collects the connection at `path`.
async fn pages(
    g: &Generated,
    document: &str,
    path: &[&str],
    first: usize,
) -> Result<Pages, String> {
    let document = self::document(document);
    let mut out = Pages {
        nodes: Vec::new(),
        totals: Vec::new(),
        flags: Vec::new(),
        sizes: Vec::new(),
        problems: Vec::new(),
    };
    let mut after = Value::Null;
    let mut cursors = BTreeSet::new();
    for page in 0..2_000 {
        let response = g.response(&document, json!({"first": first, "after": after})).await;
        if let Some(errors) = response.get("errors") {
            return Err(errors[0]["message"].as_str().unwrap_or("?").to_owned());
        }
        let mut connection = &response["data"];
        for key in path {
            connection = &connection[*key];
        }
        let nodes = connection["nodes"].as_array().cloned().unwrap_or_default();
        let info = &connection["pageInfo"];
        // Edges hold the nodes, each with a cursor of its own; the page's start and end
        // cursors are its first and last edges'.
        if let Some(edges) = connection["edges"].as_array() {
            let ids: Vec<&Value> = edges.iter().map(|e| &e["node"]["id"]).collect();
            let node_ids: Vec<&Value> = nodes.iter().map(|n| &n["id"]).collect();
            if ids != node_ids {
                out.problems.push(format!("page {page}: edges {ids:?} but nodes {node_ids:?}"));
            }
            for edge in edges {
                if !cursors.insert(edge["cursor"].to_string()) {
                    out.problems.push(format!("page {page}: cursor {} again", edge["cursor"]));
                }
            }
            let ends = (edges.first().map(|e| &e["cursor"]), edges.last().map(|e| &e["cursor"]));
            let want = (ends.0.unwrap_or(&Value::Null), ends.1.unwrap_or(&Value::Null));
            if (&info["startCursor"], &info["endCursor"]) != want {
                out.problems.push(format!(
                    "page {page}: start/end cursors {} {}, edges' {} {}",
                    info["startCursor"], info["endCursor"], want.0, want.1
                ));
            }
        }
        out.sizes.push(nodes.len());
        out.nodes.extend(nodes);
        out.totals.push(connection["totalCount"].clone());
        let next = info["hasNextPage"] == json!(true);
        out.flags.push((next, info["hasPreviousPage"] == json!(true)));
        if !next {
            return Ok(out);
        }
        after = info["endCursor"].clone();
        if after.is_null() {
            return Err("hasNextPage without an endCursor".to_owned());
        }
    }
    Err("more than 2,000 pages".to_owned())
}

/// Checks a paged connection against the ids it must list, in order.
fn check_pages(m: &mut Mismatches, what: &str, first: usize, pages: &Pages, want: &[u64]) {
    for problem in &pages.problems {
        m.push(format!("{what} (first {first}) {problem}"));
    }
    let got: Vec<Value> = pages.nodes.iter().map(|n| json!(number_of(&n["id"]))).collect();
    let want_ids: Vec<Value> = want.iter().map(|id| json!(id)).collect();
    m.compare(&format!("{what} (first {first}) ids"), &Value::from(got), &Value::from(want_ids));
    for (i, total) in pages.totals.iter().enumerate() {
        m.check(
            format!("{what} (first {first}) page {i}: totalCount {total}, want {}", want.len()),
            total.as_u64() == Some(want.len() as u64),
        );
    }
    let mut seen = 0;
    for (i, (size, (next, previous))) in pages.sizes.iter().zip(&pages.flags).enumerate() {
        let expected = first.min(want.len().saturating_sub(seen));
        m.check(
            format!("{what} (first {first}) page {i}: {size} nodes, want {expected}"),
            *size == expected,
        );
        seen += size;
        m.check(
            format!(
                "{what} (first {first}) page {i}: hasNextPage {next}, want {}",
                seen < want.len()
            ),
            *next == (seen < want.len()),
        );
        m.check(
            format!("{what} (first {first}) page {i}: hasPreviousPage {previous}"),
            *previous == (i > 0),
        );
    }
}

const PAGE_INFO: &str = "totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_page_to_the_end_with_exact_counts() {
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        let screen = w.screens.values().next().expect("a screen");
        let project = w.projects.values().next().expect("a project");
        let dataset = &w.datasets[&project.datasets[0]];
        let gene = Filter::cond("Gene Symbol", Op::In, "ade8");
        let gene = match gene {
            Filter::Cond { key, op, .. } => {
                Filter::Cond { key, op, values: vec!["ade8".into(), "krt19".into()] }
            }
            other => other,
        };
        // A search the engine cannot run whole: checked here on each hit.
        let filtered = Filter::All(vec![
            gene.clone(),
            Filter::Not(Box::new(Filter::cond("Phenotype", Op::Contains, "mitosis"))),
        ]);
        let mut cases: Vec<(String, String, Vec<&str>, Vec<u64>)> = vec![
            (
                "screens".into(),
                format!("query($first: Int, $after: String) {{ screens(first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }}"),
                vec!["screens"],
                w.screens_in_order().iter().map(|s| s.id).collect(),
            ),
            (
                "projects".into(),
                format!("query($first: Int, $after: String) {{ projects(first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }}"),
                vec!["projects"],
                w.projects_in_order().iter().map(|p| p.id).collect(),
            ),
            (
                "screen.plates".into(),
                format!("query($first: Int, $after: String) {{ screen(id: \"{}\") {{ plates(first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }} }}", screen.id),
                vec!["screen", "plates"],
                screen.plates.clone(),
            ),
            (
                "project.datasets".into(),
                format!("query($first: Int, $after: String) {{ project(id: \"{}\") {{ datasets(first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }} }}", project.id),
                vec!["project", "datasets"],
                project.datasets.clone(),
            ),
            (
                "dataset.images".into(),
                format!("query($first: Int, $after: String) {{ dataset(id: \"{}\") {{ images(first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }} }}", dataset.id),
                vec!["dataset", "images"],
                dataset.images.clone(),
            ),
        ];
        for (label, filter) in [("exact search", &gene), ("filtered search", &filtered)] {
            cases.push((
                label.into(),
                format!("query($first: Int, $after: String) {{ searchImages(where: {}, first: $first, after: $after) {{ {PAGE_INFO} nodes {{ id }} }} }}", filter.graphql()),
                vec!["searchImages"],
                w.search(filter, &Scope::Everywhere),
            ));
        }
        for (label, document, path, want) in &cases {
            for first in [1, 2, 3, 7, 10, 100] {
                // Single steps through a long search are the slow part and prove nothing new.
                if first == 1 && want.len() > 60 {
                    continue;
                }
                match pages(&g, document, path, first).await {
                    Ok(pages) => check_pages(&mut m, label, first, &pages, want),
                    Err(e) => m.push(format!("{label} (first {first}): {e}")),
                }
            }
        }
        m.finish();
    }
}

// ---------------------------------------------------------------------------------------
// Searches against the reference evaluation.

/// `searchImages` with `filter` in `scope`, paged to the end, each node selected by
/// `selection`.
async fn search_pages(
    g: &Generated,
    filter: &Filter,
    scope: &Scope,
    first: usize,
    selection: &str,
) -> Result<Pages, String> {
    let scope = match scope {
        Scope::Everywhere => String::new(),
        Scope::Screen(id) => format!(", screen: \"{id}\""),
        Scope::Project(id) => format!(", project: \"{id}\""),
        Scope::Study(name) => {
            format!(", study: {}", serde_json::to_string(name).unwrap_or_default())
        }
    };
    let document = format!(
        "query($first: Int, $after: String) {{ searchImages(where: {}{scope}, first: $first, after: $after) {{ {PAGE_INFO} nodes {{ {selection} }} }} }}",
        filter.graphql()
    );
    pages(g, &document, &["searchImages"], first).await
}

fn random_scope(rng: &mut fastrand::Rng, w: &World) -> Scope {
    let screens: Vec<u64> = w.screens.keys().copied().collect();
    let projects: Vec<u64> = w.projects.keys().copied().collect();
    match rng.u32(..6) {
        0 => Scope::Screen(screens[rng.usize(..screens.len())]),
        1 => Scope::Project(projects[rng.usize(..projects.len())]),
        2 => Scope::Study(w.screens[&screens[rng.usize(..screens.len())]].name.clone()),
        3 => Scope::Study(w.projects[&projects[rng.usize(..projects.len())]].name.clone()),
        _ => Scope::Everywhere,
    }
}

/// Errors a search may end with instead of an answer, each the documented bound of a
/// filter the engine cannot narrow (never for one it can).
const BOUNDS: [&str; 3] =
    ["needs at least one condition it can run", "no match in the next", "too many images to count"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_match_the_reference_for_every_operator_tree_and_scope() {
    const CASES: usize = 90;
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        let vocabulary = w.vocabulary(Kind::Image);
        let mut rng = fastrand::Rng::with_seed(g.seed * 1_000 + 7);
        let (mut verified, mut bounded, mut nonempty) = (0, 0, 0);
        let mut operators = BTreeSet::new();
        for case in 0..CASES {
            // Half are narrowed by a condition the engine runs as it is, so that no bound
            // may excuse them; the others are any tree at all.
            let anchored = case % 2 == 0;
            let tree = vocabulary.filter(&mut rng, 3);
            let filter =
                if anchored { Filter::All(vec![vocabulary.anchor(&mut rng), tree]) } else { tree };
            let scope = random_scope(&mut rng, w);
            let first = [5, 20, 100][rng.usize(..3)];
            let want = w.search(&filter, &scope);
            let what = format!("case {case}: {} in {scope:?}", filter.graphql());
            match search_pages(&g, &filter, &scope, first, "id").await {
                Ok(pages) => {
                    verified += 1;
                    nonempty += usize::from(!want.is_empty());
                    collect_ops(&filter, &mut operators);
                    check_pages(&mut m, &what, first, &pages, &want);
                }
                Err(e) if !anchored && BOUNDS.iter().any(|b| e.contains(b)) => bounded += 1,
                Err(e) => m.push(format!("{what}: {e}")),
            }
        }
        m.check(
            format!("only {verified} of {CASES} searches answered ({bounded} bounded)"),
            verified * 4 >= CASES * 3,
        );
        m.check(format!("only {nonempty} searches found something"), nonempty * 3 >= verified);
        m.check(format!("operators verified: {operators:?}"), operators.len() == Op::ALL.len());
        m.finish();
    }
}

fn collect_ops(filter: &Filter, out: &mut BTreeSet<&'static str>) {
    match filter {
        Filter::Cond { op, .. } => {
            out.insert(op.engine_name());
        }
        Filter::All(items) | Filter::Any(items) => items.iter().for_each(|f| collect_ops(f, out)),
        Filter::Not(inner) => collect_ops(inner, out),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_match_the_reference() {
    const CASES: usize = 25;
    for g in worlds() {
        let w = &g.world;
        let t = g.truth();
        let mut m = g.mismatches();
        let mut rng = fastrand::Rng::with_seed(g.seed * 1_000 + 11);
        // How many lists the filters split (kept some, not all): a filter that keeps
        // everything or nothing proves little.
        let (lists, split) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
        let keep = |kind: Kind, ids: &[u64], filter: &Filter| -> Value {
            let kept: Vec<Value> = ids
                .iter()
                .filter(|id| w.object_matches(kind, **id, filter))
                .map(|id| json!({"id": gid(kind, *id)}))
                .collect();
            lists.set(lists.get() + 1);
            split.set(split.get() + usize::from(!kept.is_empty() && kept.len() < ids.len()));
            Value::from(kept)
        };
        let vocabulary: BTreeMap<Kind, _> =
            [Kind::Screen, Kind::Project, Kind::Plate, Kind::Well, Kind::Image, Kind::Dataset]
                .into_iter()
                .map(|k| (k, w.vocabulary(k)))
                .collect();
        for case in 0..CASES {
            let f: BTreeMap<Kind, Filter> =
                vocabulary.iter().map(|(k, v)| (*k, v.filter(&mut rng, 2))).collect();
            let mut body = format!(
                "{{ screens(first: 100, where: {}) {{ totalCount nodes {{ id }} }}\n projects(first: 100, where: {}) {{ totalCount nodes {{ id }} }}\n",
                f[&Kind::Screen].graphql(),
                f[&Kind::Project].graphql()
            );
            let screens: Vec<u64> = w.screens_in_order().iter().map(|s| s.id).collect();
            let projects: Vec<u64> = w.projects_in_order().iter().map(|p| p.id).collect();
            let kept_screens = keep(Kind::Screen, &screens, &f[&Kind::Screen]);
            let kept_projects = keep(Kind::Project, &projects, &f[&Kind::Project]);
            let mut want = json!({
                "screens": {"totalCount": kept_screens.as_array().map_or(0, Vec::len), "nodes": kept_screens},
                "projects": {"totalCount": kept_projects.as_array().map_or(0, Vec::len), "nodes": kept_projects},
            });
            for (id, screen) in &w.screens {
                body.push_str(&format!(
                    "screen_{id}: screen(id: \"{id}\") {{ plates(first: 100, where: {}) {{ nodes {{ id }} }} }}\n",
                    f[&Kind::Plate].graphql()
                ));
                want[format!("screen_{id}")] = json!({"plates": {"nodes": keep(Kind::Plate, &screen.plates, &f[&Kind::Plate])}});
            }
            for id in w.plates.keys() {
                body.push_str(&format!(
                    "plate_{id}: plate(id: \"{id}\") {{ wells(where: {}) {{ id }} images(where: {}) {{ id }} }}\n",
                    f[&Kind::Well].graphql(),
                    f[&Kind::Image].graphql()
                ));
                let cells = t.field_images(*id, 0);
                let wells: Vec<u64> = cells.iter().map(|(well, _)| *well).collect();
                let images: Vec<u64> = cells.iter().map(|(_, image)| *image).collect();
                want[format!("plate_{id}")] = json!({
                    "wells": keep(Kind::Well, &wells, &f[&Kind::Well]),
                    "images": keep(Kind::Image, &images, &f[&Kind::Image]),
                });
            }
            for (id, project) in &w.projects {
                body.push_str(&format!(
                    "project_{id}: project(id: \"{id}\") {{ datasets(first: 100, where: {}) {{ nodes {{ id }} }} }}\n",
                    f[&Kind::Dataset].graphql()
                ));
                want[format!("project_{id}")] = json!({"datasets": {"nodes": keep(Kind::Dataset, &project.datasets, &f[&Kind::Dataset])}});
            }
            for (id, dataset) in &w.datasets {
                body.push_str(&format!(
                    "dataset_{id}: dataset(id: \"{id}\") {{ images(first: 100, where: {}) {{ nodes {{ id }} }} }}\n",
                    f[&Kind::Image].graphql()
                ));
                want[format!("dataset_{id}")] = json!({"images": {"nodes": keep(Kind::Image, &dataset.images, &f[&Kind::Image])}});
            }
            body.push('}');
            let data = g.data(&body).await;
            m.compare(&format!("case {case}"), &data, &want);
        }
        m.check(
            format!("the filters split {} of {} lists", split.get(), lists.get()),
            split.get() * 5 >= lists.get(),
        );
        m.finish();
    }
}

// ---------------------------------------------------------------------------------------
// The search engine's lists, and IDR-QL.

/// The objects of a search resource with their key/values.
fn resource_objects(w: &World, kind: Kind) -> Vec<Vec<(String, String)>> {
    w.ids(kind).into_iter().map(|id| w.key_values(kind, id)).collect()
}

/// `searchValues` as the truth has it: each lower-cased value of the key (spaces kept) and
/// how many objects carry it, sorted by value.
fn value_counts(w: &World, kind: Kind, key: &str) -> Vec<(String, u64)> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for pairs in resource_objects(w, kind) {
        let values: BTreeSet<String> = pairs
            .iter()
            .filter(|(k, _)| k.to_lowercase() == key.to_lowercase())
            .map(|(_, v)| v.to_lowercase())
            .collect();
        for value in values {
            *counts.entry(value).or_default() += 1;
        }
    }
    counts.into_iter().collect()
}

/// A `searchValues` answer as sorted `(value, count)` pairs.
fn sorted_counts(values: &Value) -> Vec<(String, u64)> {
    let mut got: Vec<(String, u64)> = values
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["value"].as_str().unwrap_or("?").to_owned(), v["count"].as_u64().unwrap_or(0)))
        .collect();
    got.sort();
    got
}

const RESOURCES: [(&str, Kind); 5] = [
    ("IMAGE", Kind::Image),
    ("SCREEN", Kind::Screen),
    ("PROJECT", Kind::Project),
    ("PLATE", Kind::Plate),
    ("WELL", Kind::Well),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_values_and_keys_match_the_truth() {
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        for (resource, kind) in RESOURCES {
            let keys: BTreeSet<String> =
                resource_objects(w, kind).into_iter().flatten().map(|(k, _)| k).collect();
            let mut body = format!("{{ keys: searchKeys(resource: {resource})\n");
            let asked: Vec<String> = keys
                .iter()
                .cloned()
                .chain(["ORGANISM".to_owned(), "No Such Key".to_owned()])
                .collect();
            for (i, key) in asked.iter().enumerate() {
                body.push_str(&format!(
                    "v{i}: searchValues(key: {}, resource: {resource}) {{ value count }}\n",
                    serde_json::to_string(key).unwrap_or_default()
                ));
            }
            body.push('}');
            let data = g.data(&body).await;
            m.compare(&format!("{resource} keys"), &data["keys"], &json!(keys));
            for (i, key) in asked.iter().enumerate() {
                let got = sorted_counts(&data[format!("v{i}")]);
                m.compare(
                    &format!("{resource} values of {key:?}"),
                    &json!(got),
                    &json!(value_counts(w, kind, key)),
                );
            }
        }
        m.finish();
    }
}

/// Runs IDR-QL in process: compiled by idr-ql, paged through the schema.
async fn run_idrql(g: &Generated, text: &str) -> Result<Vec<u64>, String> {
    let file = idr_ql::parse(text);
    let parsed = file.queries.first().ok_or("no query")?;
    if !parsed.diagnostics.is_empty() {
        return Err(format!("{:?}", parsed.diagnostics));
    }
    let ast = parsed.ast.as_ref().ok_or("no tree")?;
    let compiled = idr_ql::compile(ast).map_err(|e| format!("{e:?}"))?;
    let path: Vec<&str> = compiled.rows.iter().map(String::as_str).collect();
    let pages = pages(g, &compiled.graphql, &path, 100).await?;
    pages.nodes.iter().map(|n| number_of(&n["id"]).ok_or_else(|| format!("bad node {n}"))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idrql_matches_the_reference() {
    const CASES: usize = 40;
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        let vocabulary = w.vocabulary(Kind::Image);
        let mut rng = fastrand::Rng::with_seed(g.seed * 1_000 + 13);
        let (mut verified, mut found) = (0, 0);
        for case in 0..CASES {
            let tree = vocabulary.filter(&mut rng, 3);
            let filter = Filter::All(vec![vocabulary.anchor(&mut rng), tree]);
            let Some(condition) = filter.idrql() else { continue };
            // IDR-QL refuses `~ ""` and `!~ ""` (they match every or no value): tested in
            // its own fixtures.
            if condition.contains("~ \"\"") {
                continue;
            }
            let scope = random_scope(&mut rng, w);
            let scope_text = match &scope {
                Scope::Everywhere => String::new(),
                Scope::Screen(id) => format!("in screen {id} "),
                Scope::Project(id) => format!("in project {id} "),
                Scope::Study(name) => {
                    format!("in study {} ", serde_json::to_string(name).unwrap_or_default())
                }
            };
            let text = format!("images {scope_text}where {condition}");
            match run_idrql(&g, &text).await {
                Ok(got) => {
                    verified += 1;
                    found += usize::from(!got.is_empty());
                    m.compare(
                        &format!("case {case}: {text}"),
                        &json!(got),
                        &json!(w.search(&filter, &scope)),
                    );
                }
                Err(e) => m.push(format!("case {case}: {text}: {e}")),
            }
        }
        // Some generated conditions have no IDR-QL form (no key) or are refused by it
        // (`~ ""`); every other must run and match.
        m.check(format!("only {verified} IDR-QL queries ran"), verified * 2 >= CASES);
        m.check(
            format!("only {found} of {verified} IDR-QL queries found images"),
            found * 5 >= verified,
        );
        m.finish();
    }
}

// ---------------------------------------------------------------------------------------
// The defects of issue 7, one test each.

/// The ids of a connection's nodes, and its `totalCount`, over every page.
async fn search_ids(g: &Generated, filter: &Filter, scope: &Scope) -> (Vec<u64>, Vec<u64>) {
    let pages = search_pages(g, filter, scope, 50, "id")
        .await
        .unwrap_or_else(|e| panic!("[{}] {} in {scope:?}: {e}", g.label, filter.graphql()));
    let ids = pages.nodes.iter().filter_map(|n| number_of(&n["id"])).collect();
    let totals = pages.totals.iter().filter_map(Value::as_u64).collect();
    (ids, totals)
}

/// A gene stored on some images of `scope` (as stored, so with its case and spaces).
fn gene_in(w: &World, scope: &Scope) -> String {
    let images = w.search(
        &Filter::Cond { key: Some("Gene Symbol".into()), op: Op::NotIn, values: vec![] },
        scope,
    );
    let image = images.first().expect("the scope has images with genes");
    w.key_values(Kind::Image, *image)
        .into_iter()
        .find(|(k, _)| k == "Gene Symbol")
        .map(|(_, v)| v)
        .expect("a gene")
}

/// 1. A screen, project or study scope gives the same hits whichever of the engine's two
/// routes carries the search (GET `search` applies `study=` to projects only).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_gives_the_same_hits_through_either_engine_route() {
    let g = Generated::start("seed 4, small", 4, Size::small(), Settings::default());
    let w = &g.world;
    let mut m = g.mismatches();
    let mut scopes: Vec<(Scope, Scope, String)> = Vec::new();
    for screen in w.screens.values() {
        let ql = format!("in screen {}", screen.id);
        scopes.push((Scope::Screen(screen.id), Scope::Study(screen.name.clone()), ql));
    }
    for project in w.projects.values() {
        let ql = format!("in project {}", project.id);
        scopes.push((Scope::Project(project.id), Scope::Study(project.name.clone()), ql));
    }
    let mut unscoped_searched = std::collections::HashSet::new();
    for (by_id, by_name, ql_scope) in scopes {
        let gene = gene_in(w, &by_id);
        let want = w.search(&Filter::cond("Gene Symbol", Op::Equals, &gene), &by_id);
        m.check(format!("{by_id:?}: the reference finds {gene:?}"), !want.is_empty());
        // An EQUALS alone goes to GET `search`, an IN to POST `submitquery`; with a scope,
        // both must go to `submitquery` (GET's `study=` means a project name).
        let unscoped = Filter::cond("Gene Symbol", Op::Equals, &gene);
        let gets = g.calls(SEARCH_GET);
        search_ids(&g, &unscoped, &Scope::Everywhere).await;
        // A gene seen in an earlier scope was searched already, and is answered from cache.
        if unscoped_searched.insert(gene.to_lowercase()) {
            m.check("an unscoped EQUALS goes to GET search", g.calls(SEARCH_GET) > gets);
        }
        let gets = g.calls(SEARCH_GET);
        for filter in [
            Filter::cond("Gene Symbol", Op::Equals, &gene),
            Filter::Cond {
                key: Some("Gene Symbol".into()),
                op: Op::In,
                values: vec![gene.clone()],
            },
        ] {
            for scope in [&by_id, &by_name] {
                let (ids, totals) = search_ids(&g, &filter, scope).await;
                m.compare(&format!("{} in {scope:?}", filter.graphql()), &json!(ids), &json!(want));
                m.check(
                    format!("{scope:?}: totals {totals:?}"),
                    totals.iter().all(|t| *t == want.len() as u64),
                );
            }
        }
        let name = match &by_name {
            Scope::Study(name) => name.clone(),
            _ => unreachable!(),
        };
        // The engine ignores the case of a study's name.
        let shouted = Scope::Study(name.to_uppercase());
        let (ids, _) = search_ids(&g, &unscoped, &shouted).await;
        m.compare(&format!("in {shouted:?}"), &json!(ids), &json!(want));
        m.check(
            format!("{by_id:?}: {} scoped calls went to GET search", g.calls(SEARCH_GET) - gets),
            g.calls(SEARCH_GET) == gets,
        );
        for text in [
            format!(
                "images {ql_scope} where \"Gene Symbol\" = {}",
                serde_json::to_string(&gene).unwrap_or_default()
            ),
            format!(
                "images in study {} where \"Gene Symbol\" = {}",
                serde_json::to_string(&name).unwrap_or_default(),
                serde_json::to_string(&gene).unwrap_or_default()
            ),
        ] {
            match run_idrql(&g, &text).await {
                Ok(ids) => m.compare(&text, &json!(ids), &json!(want)),
                Err(e) => m.push(format!("{text}: {e}")),
            }
        }
    }
    // Scopes that exclude each other give nothing: a study and a screen of another name,
    // a screen and a project.
    let screens: Vec<&idr_test_support::Screen> = w.screens.values().collect();
    let project = w.projects.keys().next().copied().unwrap_or_default();
    let filter = Filter::cond("Phenotype Term Accession", Op::Equals, "CMPO_0000118");
    for (what, scope) in [
        (
            "another screen's study",
            format!(
                "screen: \"{}\", study: {}",
                screens[0].id,
                serde_json::to_string(&screens[1].name).unwrap_or_default()
            ),
        ),
        (
            "a screen and a project",
            format!("screen: \"{}\", project: \"{project}\"", screens[0].id),
        ),
    ] {
        let data = g
            .data(&format!(
                "{{ searchImages(where: {}, {scope}) {{ totalCount nodes {{ id }} }} }}",
                filter.graphql()
            ))
            .await;
        m.compare(what, &data["searchImages"], &json!({"totalCount": 0, "nodes": []}));
    }
    m.finish();
}

const SEARCH_GET: &str = "/searchengine/api/v{id}/resources/image/search/";

/// 2. Paging follows what the engine says (its bookmarks, `size`, pagination), whatever
/// its page size: every hit is reached, with exact page flags, and `totalCount` is the
/// number of hits, for a search the engine runs whole, for one checked here, and for both
/// within a screen. The answers span more than 50 engine pages at sizes 7 and 25.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_follows_the_engine_whatever_its_page_size() {
    let size = Size { screens: 3, plates: 3, rows: 16, columns: 24, fields: 1, ..Size::small() };
    for page_size in [7, 25, 1_000] {
        let label = format!("seed 5, engine pages of {page_size}");
        let settings = Settings { engine_page_size: page_size, ..Settings::default() };
        let g = Generated::start(&label, 5, size, settings);
        let w = &g.world;
        let mut m = g.mismatches();
        // Many hits: every image of a well; and a filter the engine cannot run whole.
        let broad = Filter::cond("Gene Identifier", Op::Contains, "ensg");
        let filtered = Filter::All(vec![
            broad.clone(),
            Filter::Not(Box::new(Filter::cond("Gene Symbol", Op::Contains, "a"))),
        ]);
        let screen = *w.screens.keys().next().expect("a screen");
        let superset = w.search(&broad, &Scope::Everywhere).len();
        m.check(
            format!("{superset} hits, not more than 50 engine pages"),
            page_size >= 1_000 || superset > 50 * page_size,
        );
        for scope in [Scope::Everywhere, Scope::Screen(screen)] {
            for filter in [&broad, &filtered] {
                let want = w.search(filter, &scope);
                for first in [13, 100] {
                    match search_pages(&g, filter, &scope, first, "id").await {
                        Ok(pages) => check_pages(
                            &mut m,
                            &format!("{} in {scope:?}", filter.graphql()),
                            first,
                            &pages,
                            &want,
                        ),
                        Err(e) => m.push(format!("{} in {scope:?}: {e}", filter.graphql())),
                    }
                }
            }
        }
        m.finish();
    }
}

/// 3. An object fetched by id has its containers, resolved from IDR, and so its inherited
/// annotations: the answer does not depend on the path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_fetched_directly_keep_their_containers() {
    let g = Generated::start("seed 6, small", 6, Size::small(), Settings::default());
    let (w, t) = (&g.world, g.truth());
    let mut m = g.mismatches();
    // An image of a plate with an annotation of its own, and an image of a dataset.
    let plate = w
        .plates
        .values()
        .find(|p| !w.key_values(Kind::Plate, p.id).is_empty())
        .expect("an annotated plate");
    let well = plate.wells[0];
    let hcs = w.wells[&well].images[0].expect("an image");
    let dataset = w.datasets.values().next().expect("a dataset");
    let other = dataset.images[0];
    let data = g
        .data(&format!(
            "{{ hcs: image(id: \"{hcs}\") {{ well {{ id }} plate {{ id name }} screen {{ id name }} inherited: annotations(inherited: true) {{ ...Ann }} }}
               other: image(id: \"{other}\") {{ dataset {{ id name }} project {{ id name }} inherited: annotations(inherited: true) {{ ...Ann }} }}
               plate(id: \"{}\") {{ screen {{ id name }} }}
               well(id: \"{well}\") {{ plate {{ id name }} }}
               dataset(id: \"{}\") {{ project {{ id name }} }} }}",
            plate.id, dataset.id
        ))
        .await;
    let screen = plate.screen;
    let inherited = |kinds: &[(Kind, u64)]| -> Value {
        kinds.iter().flat_map(|(k, i)| t.annotations(*k, *i)).collect()
    };
    let project = dataset.project;
    let want = json!({
        "hcs": {
            "well": {"id": gid(Kind::Well, well)},
            "plate": t.name_ref(Kind::Plate, plate.id),
            "screen": t.name_ref(Kind::Screen, screen),
            "inherited": inherited(&[(Kind::Image, hcs), (Kind::Well, well), (Kind::Plate, plate.id), (Kind::Screen, screen)]),
        },
        "other": {
            "dataset": t.name_ref(Kind::Dataset, dataset.id),
            "project": t.name_ref(Kind::Project, project),
            "inherited": inherited(&[(Kind::Image, other), (Kind::Dataset, dataset.id), (Kind::Project, project)]),
        },
        "plate": {"screen": t.name_ref(Kind::Screen, screen)},
        "well": {"plate": t.name_ref(Kind::Plate, plate.id)},
        "dataset": {"project": t.name_ref(Kind::Project, project)},
    });
    m.compare("data", &data, &want);
    // The screen's study annotation and the plate's own are among the image's.
    let sources: BTreeSet<String> = data["hcs"]["inherited"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["source"]["kind"].as_str().map(str::to_owned))
        .collect();
    m.check(
        format!("inherited sources {sources:?}"),
        sources.contains("SCREEN") && sources.contains("PLATE"),
    );
    // Batched: every image of a plate fetched by id, with its containers, costs one
    // `imgData` per image, one parent list per well and one for the plate, whatever the
    // number of fields that ask.
    let images: Vec<u64> = plate
        .wells
        .iter()
        .flat_map(|w_id| w.wells[w_id].images.iter().flatten().copied())
        .collect();
    let body: String = images
        .iter()
        .map(|i| format!("i{i}: image(id: \"{i}\") {{ plate {{ id }} screen {{ id }} well {{ plate {{ id }} }} inherited: annotations(inherited: true) {{ id }} }}\n"))
        .collect();
    let before = [
        g.calls("/webclient/imgData/{id}/"),
        g.calls("/api/v{id}/m/wells/{id}/plates/"),
        g.calls("/api/v{id}/m/plates/{id}/screens/"),
    ];
    let data = g.data(&format!("{{ {body} }}")).await;
    for i in &images {
        let (screen, plate, _) = w.hcs_parents(*i).expect("an HCS image");
        let got = (&data[format!("i{i}")]["plate"]["id"], &data[format!("i{i}")]["screen"]["id"]);
        m.check(
            format!("image {i}: containers {got:?}"),
            got == (&gid(Kind::Plate, plate), &gid(Kind::Screen, screen)),
        );
    }
    let after = [
        g.calls("/webclient/imgData/{id}/"),
        g.calls("/api/v{id}/m/wells/{id}/plates/"),
        g.calls("/api/v{id}/m/plates/{id}/screens/"),
    ];
    let spent: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    // The image and well asked first above are cached.
    let wells = plate.wells.len() as u64;
    m.check(
        format!("calls for {} images in {wells} wells: {spent:?} (imgData, well parents, plate parents)", images.len()),
        spent[0] <= images.len() as u64 && spent[1] <= wells && spent[2] <= 1 && spent[1] + 1 >= wells,
    );
    m.finish();
}

/// 4. Plates report their own rows and columns, not the web viewer's padded grid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plates_report_their_own_rows_and_columns() {
    let size = Size { screens: 1, plates: 3, rows: 16, columns: 24, ..Size::small() };
    let g =
        Generated::start("seed 7, 16 × 24, 4 × 6 and 8 × 24 plates", 7, size, Settings::default());
    let w = &g.world;
    let mut m = g.mismatches();
    let screen = w.screens.values().next().expect("a screen");
    let data = g
        .data(&format!(
            "{{ screen(id: \"{}\") {{ plates {{ nodes {{ id rowLabels columnLabels }} }} }} }}",
            screen.id
        ))
        .await;
    let mut sizes = BTreeSet::new();
    for (i, plate) in screen.plates.iter().enumerate() {
        let p = &w.plates[plate];
        sizes.insert((p.rows, p.columns));
        let rows: Vec<String> = (0..p.rows).map(row_label).collect();
        let columns: Vec<String> = (1..=p.columns).map(|c| c.to_string()).collect();
        let want =
            json!({"id": gid(Kind::Plate, *plate), "rowLabels": rows, "columnLabels": columns});
        m.compare(
            &format!("through the screen, plate {plate}"),
            &data["screen"]["plates"]["nodes"][i],
            &want,
        );
        let direct =
            g.data(&format!("{{ plate(id: \"{plate}\") {{ id rowLabels columnLabels }} }}")).await;
        m.compare(&format!("plate {plate} by id"), &direct["plate"], &want);
    }
    m.check(format!("plate sizes {sizes:?}"), sizes.contains(&(4, 6)) && sizes.contains(&(16, 24)));
    m.finish();
}

/// 5. Whatever `searchValues` lists, `searchImages` finds with exactly that value, as many
/// images as it counts, spaces around the value and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_value_is_found_as_often_as_counted() {
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        let mut spaced = 0;
        for key in ["Gene Symbol", "Phenotype", "Cell Line", "Control Type"] {
            let literal = serde_json::to_string(key).unwrap_or_default();
            let data =
                g.data(&format!("{{ searchValues(key: {literal}) {{ value count }} }}")).await;
            for listed in data["searchValues"].as_array().into_iter().flatten() {
                let value = listed["value"].as_str().unwrap_or_default();
                let count = listed["count"].as_u64().unwrap_or_default();
                spaced += usize::from(value.trim() != value);
                let filter = Filter::cond(key, Op::Equals, value);
                let want = w.search(&filter, &Scope::Everywhere);
                let (ids, totals) = search_ids(&g, &filter, &Scope::Everywhere).await;
                m.check(
                    format!("{key} = {value:?}: listed {count}, found {}", ids.len()),
                    ids.len() as u64 == count,
                );
                m.check(
                    format!("{key} = {value:?}: totals {totals:?}, listed {count}"),
                    totals.iter().all(|t| *t == count),
                );
                m.compare(&format!("{key} = {value:?}"), &json!(ids), &json!(want));
            }
        }
        m.check("no listed value has spaces around it", spaced > 0);
        m.finish();
    }
}

/// Issue 9: a plate's bulk-annotation rows cost one table query, however many wells it
/// has; a plate with more rows than the gateway sends falls back to the wells' own
/// queries in chunks (after the one refused call). The values are the truth either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_rows_cost_one_call_per_plate() {
    const TABLE: &str = "/webgateway/table/Screen.plateLinks.child.wells/{id}/query/";
    for (max_table_rows, label) in [(10_000, "IDR's row limit"), (100, "a row limit of 100")] {
        let settings = Settings { max_table_rows, ..Settings::default() };
        let g = Generated::start(label, 8, Size::full_plates(3, 16, 24, 1), settings);
        let (w, t) = (&g.world, g.truth());
        let mut m = g.mismatches();
        let screen = w.screens_in_order()[0];
        let data = g
            .data(&format!(
                "{{ screen(id: \"{}\") {{ plates {{ nodes {{ wells {{ id bulkAnnotation {{ columns values }} }} }} }} }} }}",
                screen.id
            ))
            .await;
        let mut checked = 0;
        for plate in data["screen"]["plates"]["nodes"].as_array().into_iter().flatten() {
            for well in plate["wells"].as_array().into_iter().flatten() {
                let id: u64 = number_of(&well["id"]).unwrap_or(0);
                let want = t.well(id)["bulkAnnotation"].clone();
                let got = json!({"columns": well["bulkAnnotation"]["columns"], "values": well["bulkAnnotation"]["values"]});
                let want = json!({"columns": want["columns"], "values": want["values"]});
                m.compare(&format!("well {id}"), &got, &want);
                checked += 1;
            }
        }
        m.check(format!("{checked} wells checked"), checked == 3 * 384);
        let rows_per_plate: Vec<usize> = screen
            .plates
            .iter()
            .map(|p| w.plates[p].wells.iter().filter(|well| w.bulk_row(**well).is_some()).count())
            .collect();
        // A refused plate costs its one call, then its wells in chunks of 100.
        let expected: u64 = screen
            .plates
            .iter()
            .zip(&rows_per_plate)
            .map(|(p, rows)| match *rows <= max_table_rows {
                true => 1,
                false => 1 + w.plates[p].wells.len().div_ceil(100) as u64,
            })
            .sum();
        m.check(
            format!("table calls: {} for plates of {rows_per_plate:?} rows", g.calls(TABLE)),
            g.calls(TABLE) == expected,
        );
        m.finish();
    }
}

/// Issue 9: a query over its budget of upstream calls starts no more of them: the fields
/// that needed more are `null` with `QUERY_TOO_EXPENSIVE`, everything else is answered,
/// and IDR sees exactly the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_its_budget_stops_with_partial_data() {
    const BUDGET: u64 = 40;
    let g = Generated::start_limited(
        "budget",
        8,
        Size::full_plates(1, 8, 12, 1),
        Settings::default(),
        |limits| SchemaLimits { query_budget: Some(BUDGET), ..limits },
    );
    let screen = g.world.screens_in_order()[0];
    // One `imgData` per image: 96 of them, more than the budget.
    let query = format!(
        "{{ screen(id: \"{}\") {{ name plates {{ nodes {{ wells {{ id images {{ id name width }} }} }} }} }} }}",
        screen.id
    );
    let response = g.response(&query, json!({})).await;
    let calls: u64 = g.server.calls_by_route().values().sum();
    assert_eq!(calls, BUDGET, "upstream calls");
    let cost = &response["extensions"]["cost"];
    assert_eq!((&cost["budget"], &cost["remaining"]), (&json!(BUDGET), &json!(0)), "{cost}");
    let errors = response["errors"].as_array().expect("errors");
    assert!(errors.iter().all(|e| e["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"), "{errors:#?}");
    // Partial data: the names and grid came first; each width is there or null.
    let data = &response["data"]["screen"];
    assert_eq!(data["name"], json!(screen.name));
    let images: Vec<&Value> = data["plates"]["nodes"][0]["wells"]
        .as_array()
        .expect("wells")
        .iter()
        .flat_map(|w| w["images"].as_array().expect("images"))
        .collect();
    assert_eq!(images.len(), 96);
    assert!(images.iter().all(|i| i["name"].is_string()), "every image keeps its name");
    let sized = images.iter().filter(|i| i["width"].is_number()).count();
    let unsized_ = images.iter().filter(|i| i["width"].is_null()).count();
    assert_eq!(sized + unsized_, 96);
    assert!(sized > 0 && unsized_ > 0, "{sized} sized, {unsized_} not");
    assert!(sized as u64 <= BUDGET, "{sized} widths from {BUDGET} calls");
    // An error per missing width, bounded by the report (with a summary for the rest).
    assert!(!errors.is_empty() && errors.len() <= 11, "{} errors", errors.len());
}

/// The fields of `type_name` in the schema, each as a selection that asks for it with
/// the least it needs: required arguments given, and `__typename` under an object.
fn minimal_selections(type_name: &str) -> Vec<(String, String)> {
    use async_graphql::parser::types::{TypeKind, TypeSystemDefinition};
    let sdl = crate::sdl();
    let document = async_graphql::parser::parse_schema(&sdl).expect("the schema's own SDL");
    let objects: BTreeSet<String> = document
        .definitions
        .iter()
        .filter_map(|d| match d {
            TypeSystemDefinition::Type(t) if matches!(t.node.kind, TypeKind::Object(_)) => {
                Some(t.node.name.node.to_string())
            }
            _ => None,
        })
        .collect();
    let mut out = Vec::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(t) = definition else { continue };
        let TypeKind::Object(object) = &t.node.kind else { continue };
        if t.node.name.node != type_name {
            continue;
        }
        for field in &object.fields {
            let field = &field.node;
            let arguments: Vec<String> = field
                .arguments
                .iter()
                .filter(|a| !a.node.ty.node.nullable && a.node.default_value.is_none())
                .map(|a| format!("{}: \"x\"", a.node.name.node))
                .collect();
            let mut selection = field.name.node.to_string();
            if !arguments.is_empty() {
                selection = format!("{selection}({})", arguments.join(", "));
            }
            if objects.contains(crate::shape::named(&field.ty.node)) {
                selection.push_str(" { __typename }");
            }
            out.push((field.name.node.to_string(), selection));
        }
    }
    out
}

/// What a plate's wells and images need comes with the plate: its grid, then the
/// images' and wells' key/values, bulk rows and details (`imgData`) primed at once. A
/// field that needed data the priming does not start would wait a dataloader's timer per
/// plate and start its calls only after the rest; so no field of a plate's wells or images
/// adds a batch to the plate's own. (`annotations(inherited: true)` reads the containers'
/// annotations too, by batch: the look-ahead does not see arguments, and priming them for
/// every `annotations` would cost calls the plain field does not need.)
#[tokio::test]
async fn no_well_or_image_field_of_a_plate_waits_for_a_batch_of_its_own() {
    let cost = |wrap: fn(&str) -> String, selection: &str| {
        let selection = wrap(selection);
        async move {
            let g = Generated::start(
                "plate fields",
                21,
                Size::full_plates(1, 2, 3, 1),
                Settings::default(),
            );
            let plate = g.world.plates.keys().next().copied().expect("a plate");
            let query = format!("{{ plate(id: {plate}) {{ {selection} }} }}");
            let response = g.response(&query, json!({})).await;
            assert!(response.get("errors").is_none(), "{query}: {response}");
            response["extensions"]["cost"]["batches"].as_u64().expect("batches")
        }
    };
    let in_images: fn(&str) -> String = |s| format!("wells {{ images {{ id {s} }} }}");
    let in_wells: fn(&str) -> String = |s| format!("wells {{ id {s} }}");
    let mut extra = Vec::new();
    for (type_name, wrap) in [("Image", in_images), ("Well", in_wells)] {
        let baseline = cost(wrap, "").await;
        let fields = minimal_selections(type_name);
        assert!(fields.len() > 10, "{fields:?}");
        for (name, selection) in &fields {
            if let n @ 1.. = cost(wrap, selection).await.saturating_sub(baseline) {
                extra.push(format!("{type_name}.{name}: {n}"));
            }
        }
    }
    assert!(extra.is_empty(), "fields with batches of their own: {extra:?}");
}

/// Under the cap, the images' details start with their key/values and bulk rows, not
/// after them: some `imgData` call starts before the last of the others has ended.
#[tokio::test]
async fn image_details_start_with_the_key_values_and_rows() {
    let g = Generated::start("pipelining", 22, Size::full_plates(1, 8, 12, 1), Settings::default());
    g.server
        .set_faults(Faults { latency: std::time::Duration::from_millis(20), ..Faults::default() });
    let plate = g.world.plates.keys().next().copied().expect("a plate");
    let query = format!(
        "{{ plate(id: {plate}) {{ wells {{ bulkAnnotation {{ columns }} images {{ width keyValues {{ key }} }} }} }} }}"
    );
    let response = g.response(&query, json!({})).await;
    assert!(response.get("errors").is_none(), "{response}");
    let timeline = g.server.timeline();
    let first_details = timeline
        .iter()
        .filter(|s| s.route.contains("imgData"))
        .map(|s| s.start)
        .min()
        .expect("imgData calls");
    let others_end = timeline
        .iter()
        .filter(|s| s.route.contains("annotations") || s.route.contains("/table/"))
        .map(|s| s.end)
        .max()
        .expect("annotation and row calls");
    assert!(
        first_details < others_end,
        "the first imgData started at {first_details:?}, after the key/values and rows ended at {others_end:?}"
    );
}

/// The rows an IDR-QL query gives (lists, or connections paged to the end), failing on
/// any diagnostic or error.
async fn idrql_rows(g: &Generated, text: &str) -> Vec<Value> {
    let file = idr_ql::parse(text);
    let parsed = file.queries.first().expect("a query");
    assert!(parsed.diagnostics.is_empty(), "{text}: {:?}", parsed.diagnostics);
    let compiled = idr_ql::compile(parsed.ast.as_ref().expect("a tree")).expect("compiles");
    let (mut rows, mut after) = (Vec::new(), Value::Null);
    loop {
        let response = g.response(&compiled.graphql, json!({"after": after})).await;
        assert!(response.get("errors").is_none(), "{text}: {response}");
        let mut at = &response["data"];
        for key in &compiled.rows {
            at = &at[key.as_str()];
        }
        let Some(nodes) = at.get("nodes") else {
            return at.as_array().cloned().unwrap_or_else(|| panic!("{text}: {response}"));
        };
        rows.extend(nodes.as_array().cloned().unwrap_or_default());
        if at["pageInfo"]["hasNextPage"] != json!(true) {
            return rows;
        }
        after = at["pageInfo"]["endCursor"].clone();
    }
}

/// Issue 12: IDR-QL shows the typed biology (`show genes, phenotypes, cellLine`) as the
/// schema gives it, and a condition on a phenotype's CMPO accession selects exactly the
/// wells and images that carry it, whatever the case it is written in, both on a plate
/// (filtered by the server) and through the search engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idrql_shows_typed_biology_and_filters_on_a_phenotype_accession() {
    let g = &worlds()[0];
    let (t, w) = (g.truth(), &g.world);
    let mut m = g.mismatches();
    let carries = |kind: Kind, id: u64| {
        w.map_annotations_of(kind, id).iter().any(|a| {
            a.ns.as_deref() == Some("openmicroscopy.org/mapr/phenotype")
                && a.pairs.iter().any(|(k, v)| {
                    k == "Phenotype Term Accession" && v.eq_ignore_ascii_case("CMPO_0000118")
                })
        })
    };
    let mut matched = 0;
    for plate in w.plates.keys() {
        let rows = idrql_rows(
            g,
            &format!(
                "wells in plate {plate} where \"Phenotype Term Accession\" = cmpo_0000118 show genes, phenotypes, cellLine"
            ),
        )
        .await;
        let want: Vec<Value> = t
            .field_images(*plate, 0)
            .iter()
            .map(|(well, _)| *well)
            .filter(|well| carries(Kind::Well, *well))
            .map(|well| {
                let bio = t.biology(Kind::Well, well);
                json!({"id": gql_id(well), "label": w.well_label(well), "genes": bio["typedGenes"],
                       "phenotypes": bio["typedPhenotypes"], "cellLine": bio["cellLine"]})
            })
            .collect();
        matched += want.len();
        m.compare(&format!("plate_{plate}.wells"), &json!(rows), &json!(want));
    }
    m.check(format!("only {matched} wells carry the accession"), matched > 3);
    let rows = idrql_rows(
        g,
        "images where \"Phenotype Term Accession\" = CMPO_0000118 show phenotypes limit 1000",
    )
    .await;
    let got: BTreeSet<u64> = rows.iter().filter_map(|r| r["id"].as_str()?.parse().ok()).collect();
    let want: BTreeSet<u64> =
        w.images.keys().copied().filter(|i| carries(Kind::Image, *i)).collect();
    m.check(
        format!("search: {} images, want {}", got.len(), want.len()),
        got == want && !want.is_empty(),
    );
    for row in &rows {
        let id = row["id"].as_str().and_then(|i| i.parse().ok()).expect("an id");
        m.compare(
            &format!("image_{id}.phenotypes"),
            &row["phenotypes"],
            &t.biology(Kind::Image, id)["typedPhenotypes"],
        );
    }
    m.finish();
}

/// IDR-QL's lookups by id and its catalog queries, compiled by idr-ql and run on the
/// generated IDR: each kind of object by id (a missing id in the middle gives `null` in
/// its place, order and repeats kept), a project's and a screen's files (which the
/// recordings hold only for screen 102), and `keys` / `values` for every resource with a
/// catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idrql_lookups_and_catalog_queries_match_the_truth() {
    const MISSING: u64 = 999_999_999;
    for g in worlds() {
        let w = &g.world;
        let t = g.truth();
        let mut m = g.mismatches();
        let g = &g;
        let run = |text: String| async move {
            let file = idr_ql::parse(&text);
            let ast = file.queries[0].ast.clone().unwrap_or_else(|| panic!("{text}"));
            let compiled = idr_ql::compile(&ast).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            let response = g.response(&compiled.graphql, json!({})).await;
            (text, compiled, response)
        };
        let kinds: [(Kind, Vec<u64>, &str); 6] = [
            (Kind::Screen, w.screens.keys().copied().collect(), "screens"),
            (Kind::Project, w.projects.keys().copied().collect(), "projects"),
            (Kind::Dataset, w.datasets.keys().copied().collect(), "datasets"),
            (Kind::Plate, w.plates.keys().copied().collect(), "plates"),
            (Kind::Well, w.wells.keys().copied().collect(), "wells"),
            (Kind::Image, w.images.keys().copied().collect(), "images"),
        ];
        let mut with_files = 0;
        for (kind, all, resource) in kinds {
            let mut ids: Vec<u64> =
                all.iter().copied().step_by((all.len() / 3).max(1)).take(3).collect();
            ids.insert(1.min(ids.len()), MISSING);
            ids.push(ids[0]);
            let list = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(", ");
            let files = matches!(kind, Kind::Screen | Kind::Project);
            let show = match kind {
                Kind::Well => "label",
                _ if files => "name, files",
                _ => "name",
            };
            let (text, compiled, response) = run(format!("{resource} {list} show {show}")).await;
            m.compare(&format!("{text}: errors"), &response["errors"], &Value::Null);
            assert_eq!(compiled.ids, ids.iter().map(u64::to_string).collect::<Vec<_>>());
            let want: Vec<Value> = ids
                .iter()
                .map(|&id| {
                    let name = w.name_of(kind, id)?;
                    let mut row = json!({"id": gql_id(id)});
                    if kind == Kind::Well {
                        row["label"] = t.well(id)["label"].clone();
                    } else {
                        row["name"] = json!(name);
                    }
                    if files {
                        let files: Vec<Value> = t
                            .files(kind, id)
                            .into_iter()
                            .map(|f| json!({"name": f["name"], "size": f["size"], "mimetype": f["mimetype"], "downloadUrl": f["downloadUrl"]}))
                            .collect();
                        with_files += usize::from(!files.is_empty());
                        row["fileAnnotations"] = json!(files);
                    }
                    Some(row)
                })
                .map(|row| row.unwrap_or(Value::Null))
                .collect();
            m.compare(&text, &response["data"][&compiled.rows[0]], &json!(want));
        }
        assert!(with_files >= 2, "some screens and projects have files");
        for (engine, kind, resource) in [
            ("IMAGE", Kind::Image, "images"),
            ("SCREEN", Kind::Screen, "screens"),
            ("PROJECT", Kind::Project, "projects"),
            ("PLATE", Kind::Plate, "plates"),
            ("WELL", Kind::Well, "wells"),
        ] {
            let keys: BTreeSet<String> =
                resource_objects(w, kind).into_iter().flatten().map(|(k, _)| k).collect();
            let (text, compiled, response) = run(format!("keys in {resource}")).await;
            assert!(compiled.graphql.contains(engine), "{}", compiled.graphql);
            m.compare(&text, &response["data"]["searchKeys"], &json!(keys));
            for key in keys.iter().take(3) {
                let quoted = format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""));
                let (text, _, response) = run(format!("values {quoted} in {resource}")).await;
                let got = sorted_counts(&response["data"]["searchValues"]);
                m.compare(&text, &json!(got), &json!(value_counts(w, kind, key)));
            }
        }
        m.finish();
    }
}

/// The study name of a container name: the part before the `/`.
fn study_of(name: &str) -> &str {
    name.split('/').next().unwrap_or(name)
}

/// A study's containers as the server orders them (by name without regard to case, then
/// id): screens, then projects.
fn study_containers(w: &World, study: &str) -> (Vec<u64>, Vec<u64>) {
    let pick = |items: Vec<(u64, &String)>| {
        let mut items: Vec<(u64, &String)> =
            items.into_iter().filter(|(_, n)| study_of(n).eq_ignore_ascii_case(study)).collect();
        items.sort_by(|a, b| a.1.to_lowercase().cmp(&b.1.to_lowercase()).then(a.0.cmp(&b.0)));
        items.into_iter().map(|(id, _)| id).collect::<Vec<_>>()
    };
    (
        pick(w.screens.values().map(|s| (s.id, &s.name)).collect()),
        pick(w.projects.values().map(|p| (p.id, &p.name)).collect()),
    )
}

/// What `study` gives for a study of the world, from its first container's study/info
/// annotation.
fn study_truth(w: &World, study: &str) -> Value {
    let (screens, projects) = study_containers(w, study);
    let containers: Vec<(Kind, u64)> = screens
        .iter()
        .map(|id| (Kind::Screen, *id))
        .chain(projects.iter().map(|id| (Kind::Project, *id)))
        .collect();
    let pairs: Vec<(String, String)> = containers
        .iter()
        .map(|(kind, id)| {
            w.map_annotations_of(*kind, *id)
                .into_iter()
                .filter(|a| a.ns.as_deref() == Some("idr.openmicroscopy.org/study/info"))
                .flat_map(|a| a.pairs.clone())
                .collect::<Vec<_>>()
        })
        .find(|pairs| !pairs.is_empty())
        .unwrap_or_default();
    let first = |key: &str| {
        pairs
            .iter()
            .find(|(k, v)| k == key && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let all = |key: &str| -> Vec<String> {
        pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.trim().to_owned()).collect()
    };
    // `id url`: the identifier and its link.
    let reference = |key: &str| {
        first(key).map(|v| match v.rsplit_once(' ') {
            Some((id, url)) => json!({"id": id, "url": url}),
            None => json!({"id": v, "url": null}),
        })
    };
    let description = containers.iter().find_map(|(kind, id)| match kind {
        Kind::Screen => w.screens[id].description.clone(),
        _ => w.projects[id].description.clone(),
    });
    let authors = first("Publication Authors");
    let publication = json!({
        "title": first("Publication Title"),
        "authors": authors,
        "authorList": authors.iter().flat_map(|a| a.split(", ")).collect::<Vec<_>>(),
        "doi": reference("Publication DOI"),
        "pubmed": reference("PubMed ID"),
        "pmc": reference("PMC ID"),
    });
    let mut want = json!({
        "accession": study.split('-').next(),
        "name": study,
        "title": first("Study Title"),
        "description": description,
        "publication": publication,
        "license": reference("License").map(|r| json!({"name": r["id"], "url": r["url"]})),
        "copyright": first("Copyright"),
        "releaseDate": first("Release Date"),
        "organisms": all("Organism"),
        "imagingMethods": all("Imaging Method"),
        "studyTypes": all("Study Type"),
        "keyValues": key_values(&pairs),
        "screens": screens.iter().map(|id| json!({"idrId": gql_id(*id)})).collect::<Vec<_>>(),
        "projects": projects.iter().map(|id| json!({"idrId": gql_id(*id)})).collect::<Vec<_>>(),
    });
    // The publication is `null` when IDR gives none of its fields.
    let p = &want["publication"];
    if ["title", "authors", "doi", "pubmed", "pmc"].iter().all(|k| p[*k].is_null()) {
        want["publication"] = Value::Null;
    }
    want
}

const STUDY_FIELDS: &str = "accession name title description publication { title authors authorList doi { id url } pubmed { id url } pmc { id url } } license { name url } copyright releaseDate organisms imagingMethods studyTypes keyValues { key value } screens { idrId } projects { idrId }";

/// `study(name:)` by a container's name, by the study's name and by its accession (one
/// study, or an `AMBIGUOUS` error naming them all), each field as the study/info
/// annotation of its first container says; `studies(where:)` as the reference search
/// grouped by study.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn studies_match_the_truth() {
    for g in worlds() {
        let w = &g.world;
        let mut m = g.mismatches();
        let mut studies: Vec<String> = w
            .screens
            .values()
            .map(|s| study_of(&s.name).to_owned())
            .chain(w.projects.values().map(|p| study_of(&p.name).to_owned()))
            .collect();
        studies.sort();
        studies.dedup();
        let mut with_publication = 0;
        for study in &studies {
            let want = study_truth(w, study);
            with_publication += usize::from(want["publication"]["doi"].is_object());
            let (screens, projects) = study_containers(w, study);
            let container = screens
                .first()
                .map(|id| w.screens[id].name.clone())
                .or_else(|| projects.first().map(|id| w.projects[id].name.clone()))
                .unwrap_or_default();
            for asked in [study.clone(), study.to_uppercase(), container] {
                let data = g
                    .data(&format!("{{ study(name: {}) {{ {STUDY_FIELDS} }} }}", json!(asked)))
                    .await;
                m.compare(&format!("study {asked:?}"), &data["study"], &want);
            }
        }
        assert!(with_publication > 0, "some studies carry a publication");
        // By accession: the study when it is the only one, else an error naming each.
        let mut accessions: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for study in &studies {
            accessions.entry(study.split('-').next().unwrap_or(study)).or_default().push(study);
        }
        for (accession, named) in &accessions {
            let response = g
                .response(&format!("{{ study(name: {}) {{ name }} }}", json!(accession)), json!({}))
                .await;
            if let [one] = named.as_slice() {
                m.compare(
                    &format!("accession {accession}"),
                    &response["data"]["study"]["name"],
                    &json!(one),
                );
            } else {
                let error = &response["errors"][0];
                m.compare(
                    &format!("accession {accession}: code"),
                    &error["extensions"]["code"],
                    &json!("AMBIGUOUS"),
                );
                let message = error["message"].as_str().unwrap_or_default();
                if !named.iter().all(|s| message.contains(s.as_str())) {
                    m.push(format!("accession {accession}: {message} does not name {named:?}"));
                }
            }
        }
        let data = g.data("{ study(name: \"idr9999-nothing\") { name } }").await;
        m.compare("an unknown study", &data["study"], &Value::Null);
        // `searchImages(study:)` with a study's name: its one container, or an error
        // naming them when it has several.
        let vocabulary = w.vocabulary(Kind::Image);
        let mut rng = fastrand::Rng::with_seed(g.seed * 11 + 3);
        for study in &studies {
            let (screens, projects) = study_containers(w, study);
            let names: Vec<String> = screens
                .iter()
                .map(|id| w.screens[id].name.clone())
                .chain(projects.iter().map(|id| w.projects[id].name.clone()))
                .collect();
            let filter = vocabulary.anchor(&mut rng);
            let response = g
                .response(
                    &format!(
                        "{{ searchImages(where: {}, study: {}, first: 100) {{ totalCount nodes {{ idrId }} }} }}",
                        filter.graphql(),
                        json!(study)
                    ),
                    json!({}),
                )
                .await;
            if let [one] = names.as_slice() {
                let got: Vec<u64> = response["data"]["searchImages"]["nodes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| n["idrId"].as_str()?.parse().ok())
                    .collect();
                let want = w.search(&filter, &Scope::Study(one.clone()));
                let total = &response["data"]["searchImages"]["totalCount"];
                m.compare(
                    &format!("images in study {study}: totalCount"),
                    total,
                    &json!(want.len()),
                );
                let first: Vec<u64> = want.into_iter().take(100).collect();
                m.compare(&format!("images in study {study}"), &json!(got), &json!(first));
            } else {
                let error = &response["errors"][0];
                m.compare(
                    &format!("images in study {study}: code"),
                    &error["extensions"]["code"],
                    &json!("BAD_USER_INPUT"),
                );
                let message = error["message"].as_str().unwrap_or_default();
                if !names.iter().all(|n| message.contains(n.as_str())) {
                    m.push(format!("images in study {study}: {message} does not name {names:?}"));
                }
            }
        }

        // studies(where:): the reference search's images, grouped by container and study.
        let mut rng = fastrand::Rng::with_seed(g.seed * 7 + 5);
        let mut found = 0;
        for case in 0..8 {
            let filter = vocabulary.anchor(&mut rng);
            let hits = w.search(&filter, &Scope::Everywhere);
            let mut per: BTreeMap<String, u64> = BTreeMap::new();
            let mut containers: BTreeMap<(String, &str, u64), u64> = BTreeMap::new();
            for image in &hits {
                let image = &w.images[image];
                let container = match (image.dataset, w.hcs_parents(image.id)) {
                    (Some(d), _) => {
                        let p = w.datasets[&d].project;
                        (w.projects[&p].name.clone(), "PROJECT", p)
                    }
                    (None, Some((s, _, _))) => (w.screens[&s].name.clone(), "SCREEN", s),
                    (None, None) => continue,
                };
                *containers.entry(container).or_default() += 1;
            }
            for ((name, _, _), n) in containers {
                *per.entry(study_of(&name).to_owned()).or_default() += n;
            }
            let mut want: Vec<(String, u64)> = per.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let data = g
                .data(&format!(
                    "{{ studies(where: {}) {{ imageCount study {{ {STUDY_FIELDS} }} containers {{ idrId name type imageCount }} }} }}",
                    filter.graphql()
                ))
                .await;
            let got: Vec<(String, u64)> = data["studies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    (
                        s["study"]["name"].as_str().unwrap_or("?").to_owned(),
                        s["imageCount"].as_u64().unwrap_or(0),
                    )
                })
                .collect();
            found += usize::from(!got.is_empty());
            m.compare(&format!("studies case {case}"), &json!(got), &json!(want));
            // Each match's study is the whole study, as `study(name:)` gives it, and its
            // containers add up to it.
            for s in data["studies"].as_array().into_iter().flatten() {
                let name = s["study"]["name"].as_str().unwrap_or_default();
                m.compare(
                    &format!("studies case {case}: {name}"),
                    &s["study"],
                    &study_truth(w, name),
                );
                let sum: u64 = s["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| c["imageCount"].as_u64().unwrap_or(0))
                    .sum();
                m.compare(
                    &format!("studies case {case}: containers of {}", s["study"]["name"]),
                    &json!(sum),
                    &s["imageCount"],
                );
            }
        }
        assert!(found > 0, "some searches find studies");
        // A filter the engine cannot run whole is refused, with the reason.
        let response = g
            .response("{ studies(where: {all: [{key: \"Gene Symbol\", value: \"x\"}, {key: \"name\", value: \"y\"}]}) { imageCount } }", json!({}))
            .await;
        m.compare(
            "a partly local filter",
            &response["errors"][0]["extensions"]["code"],
            &json!("BAD_USER_INPUT"),
        );
        m.finish();
    }
}
