//! A generated IDR: a deterministic world of screens, plates, wells, images, projects
//! and datasets, with map annotations, bulk tables, file annotations and a search engine
//! over all of it, served over real HTTP in IDR's exact shapes and quirks (ENDPOINTS.md).
//!
//! [`World::generate`] makes the world from a seed and a [`Size`]; the world is also the
//! ground truth the tests read. [`World::answer`] (serve.rs) answers every request the
//! client makes, the way OMERO.web and the search engine would; give the world to
//! [`crate::ReplayServer::start`] to serve it, with call counting, latency and faults.
//!
//! What it reproduces, beyond the happy path:
//! - a missing image's `imgData` is 403 with an empty body; a missing plate's grid is HTTP
//!   500 JSON; a missing `api/v0` object is 404 `{"message"}`; unknown ids elsewhere give
//!   empty lists;
//! - the plate grid is padded to 8 × 12 (or a power-of-two multiple), as IDR's `expand`
//!   layout does, whatever the plate's real size;
//! - one map annotation is linked to many objects (a well and its images share their
//!   gene annotation), annotations sort by namespace with none last, keys repeat, and
//!   values differ only in case or in surrounding spaces;
//! - bulk tables hold `NaN` cells, and one screen's table is in the 2019 format;
//! - the search engine (engine.rs) lower-cases stored values but keeps their spaces,
//!   strips and lower-cases query values, applies `study=` on its GET route to project
//!   names only, pages by a configurable size with bookmarks, answers `results: []` when
//!   nothing matches, and writes some ids as integral floats.

mod engine;
mod reference;
mod serve;

use std::collections::BTreeMap;

pub use engine::EngineFilter;
pub use reference::{holds, Filter, Op, Scope, Vocabulary};
pub use serve::jpeg;

/// How big a world is.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub screens: usize,
    /// Plates per screen.
    pub plates: usize,
    /// The largest plates have this many rows and columns; others are smaller.
    pub rows: u32,
    pub columns: u32,
    /// Fields (images per well) of the plates with the most.
    pub fields: u32,
    pub projects: usize,
    /// Datasets per project.
    pub datasets: usize,
    /// Images per dataset.
    pub images: usize,
    /// Every plate at the full size, with every well and every field, as a benchmark
    /// wants; otherwise sizes vary and some wells and fields are missing, as on IDR.
    pub full: bool,
}

impl Size {
    /// A world small enough to check every object of.
    pub fn small() -> Size {
        Size {
            screens: 3,
            plates: 3,
            rows: 8,
            columns: 12,
            fields: 2,
            projects: 2,
            datasets: 3,
            images: 9,
            full: false,
        }
    }

    /// `plates` full plates of `rows` × `columns` wells with `fields` images each, in one
    /// screen, and one small project: the shape of a benchmark.
    pub fn full_plates(plates: usize, rows: u32, columns: u32, fields: u32) -> Size {
        Size {
            screens: 1,
            plates,
            rows,
            columns,
            fields,
            projects: 1,
            datasets: 1,
            images: 4,
            full: true,
        }
    }
}

/// Settings of the deployment the world imitates.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// The search engine's `PAGE_SIZE` (1,000 on IDR).
    pub engine_page_size: usize,
    /// OMERO.web's annotation list limit (`page_size × 100`, 50,000 on IDR).
    pub annotations_limit: usize,
    /// `omero.web.max_table_download_rows` (10,000 on IDR): a table query matching more
    /// rows is refused.
    pub max_table_rows: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings { engine_page_size: 1_000, annotations_limit: 50_000, max_table_rows: 10_000 }
    }
}

/// The kinds of object annotations link to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Project,
    Dataset,
    Image,
    Screen,
    Plate,
    Well,
}

impl Kind {
    /// OMERO.web's query key and the order in which it lists kinds.
    pub fn query_key(self) -> &'static str {
        match self {
            Kind::Project => "project",
            Kind::Dataset => "dataset",
            Kind::Image => "image",
            Kind::Screen => "screen",
            Kind::Plate => "plate",
            Kind::Well => "well",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Kind::Project => "ProjectI",
            Kind::Dataset => "DatasetI",
            Kind::Image => "ImageI",
            Kind::Screen => "ScreenI",
            Kind::Plate => "PlateI",
            Kind::Well => "WellI",
        }
    }

    const ALL: [Kind; 6] =
        [Kind::Project, Kind::Dataset, Kind::Image, Kind::Screen, Kind::Plate, Kind::Well];
}

#[derive(Clone, Debug)]
pub struct Screen {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// In OMERO.web's order: by lower-cased name, then id.
    pub plates: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Plate {
    pub id: u64,
    pub name: String,
    pub screen: u64,
    /// The plate's real size (the grid is padded beyond it).
    pub rows: u32,
    pub columns: u32,
    /// Field indexes run from 0 to `fields - 1`.
    pub fields: u32,
    /// Row-major.
    pub wells: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Well {
    pub id: u64,
    pub plate: u64,
    pub row: u32,
    pub column: u32,
    /// The image at each field; `None` where that field has no image.
    pub images: Vec<Option<u64>>,
}

#[derive(Clone, Debug)]
pub struct Channel {
    pub label: String,
    pub color: String,
    pub emission: Option<f64>,
    pub active: bool,
    /// min, max, start, end.
    pub window: [f64; 4],
}

#[derive(Clone, Debug)]
pub struct Image {
    pub id: u64,
    pub name: String,
    /// `""` when there is none.
    pub description: String,
    pub well: Option<u64>,
    pub field: u32,
    pub dataset: Option<u64>,
    /// width, height, z, t, c.
    pub size: [u64; 5],
    pub pixel_size: [Option<f64>; 3],
    pub pixels_type: String,
    pub channels: Vec<Channel>,
    /// Unix seconds.
    pub date: u64,
}

#[derive(Clone, Debug)]
pub struct Project {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    /// By lower-cased name, then id.
    pub datasets: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub id: u64,
    pub name: String,
    pub description: Option<String>,
    pub project: u64,
    /// By lower-cased name, then id.
    pub images: Vec<u64>,
}

#[derive(Clone, Debug)]
pub struct MapAnnotation {
    pub id: u64,
    pub ns: Option<String>,
    pub pairs: Vec<(String, String)>,
    /// The objects it is linked to, with each link's id.
    pub links: Vec<(Kind, u64, u64)>,
}

#[derive(Clone, Debug)]
pub struct FileAnnotation {
    pub id: u64,
    pub ns: Option<String>,
    pub description: Option<String>,
    pub file_id: u64,
    pub name: String,
    pub size: u64,
    pub mimetype: Option<String>,
    pub links: Vec<(Kind, u64, u64)>,
}

/// A cell of a bulk table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Int(u64),
    Text(String),
    /// May be `NaN`.
    Float(f64),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub struct Table {
    pub screen: u64,
    pub file_id: u64,
    pub annotation_id: u64,
    /// The 2019 format: no column types, no `meta`, and `descriptions`.
    pub legacy: bool,
    /// Name and OMERO.tables column class.
    pub columns: Vec<(String, &'static str)>,
    pub rows: Vec<Vec<Cell>>,
}

/// A generated IDR and its ground truth.
#[derive(Clone, Debug)]
pub struct World {
    pub settings: Settings,
    pub screens: BTreeMap<u64, Screen>,
    pub plates: BTreeMap<u64, Plate>,
    pub wells: BTreeMap<u64, Well>,
    pub images: BTreeMap<u64, Image>,
    pub projects: BTreeMap<u64, Project>,
    pub datasets: BTreeMap<u64, Dataset>,
    pub map_annotations: Vec<MapAnnotation>,
    pub file_annotations: Vec<FileAnnotation>,
    /// By screen.
    pub tables: BTreeMap<u64, Table>,
    /// Which annotations link to each object, so that serving a batch never scans them
    /// all (built once the world is made).
    links: Links,
}

/// For each object, its map and file annotations (by index) with the link ids; and the
/// search engine's index: each image's pairs, lower-cased, by id. The world is read-only
/// once made, so these stay true.
#[derive(Clone, Debug, Default)]
struct Links {
    map: BTreeMap<(Kind, u64), Vec<(usize, u64)>>,
    file: BTreeMap<(Kind, u64), Vec<(usize, u64)>>,
    engine: Vec<(u64, Vec<(String, String)>)>,
}

impl Links {
    fn of(world: &World) -> Links {
        let mut links = Links::default();
        for (i, a) in world.map_annotations.iter().enumerate() {
            for (kind, id, link) in &a.links {
                links.map.entry((*kind, *id)).or_default().push((i, *link));
            }
        }
        for (i, a) in world.file_annotations.iter().enumerate() {
            for (kind, id, link) in &a.links {
                links.file.entry((*kind, *id)).or_default().push((i, *link));
            }
        }
        links
    }
}

/// Gene symbols: some differ only in case, some carry spaces around them (as IDR's
/// really do: `" ciz1"`, `"krt19 "`).
const GENES: &[&str] = &[
    "ADE8",
    "ade8",
    "CDK5RAP2",
    "cdk5rap2",
    "CETN2",
    " ciz1",
    "krt19 ",
    "KRT19",
    "Pcnt",
    "pcnt",
    "TUBG1",
    "Ménière1",
    "x y",
];
const PHENOTYPES: &[&str] = &[
    "mitosis delayed",
    "Mitosis Delayed",
    "prophase shorter",
    "chromosome condensation defect",
    "GFP localization: cytosol",
    "",
];
const CELL_LINES: &[&str] = &["HeLa", "hela", "U2OS", "RPE-1 ", "HEK 293"];
const ORGANISMS: &[&str] = &["Homo sapiens", "homo sapiens", "Saccharomyces cerevisiae"];
const WORDS: &[&str] = &["alpha", "Beta", "gamma", "Delta", "epsilon", "Zeta", "eta", "theta"];

pub(crate) const NS_STUDY: &str = "idr.openmicroscopy.org/study/info";
pub(crate) const NS_GENE: &str = "openmicroscopy.org/mapr/gene";
pub(crate) const NS_PHENOTYPE: &str = "openmicroscopy.org/mapr/phenotype";
pub(crate) const NS_CELL_LINE: &str = "openmicroscopy.org/mapr/cell_line";
pub(crate) const NS_BULK: &str = "openmicroscopy.org/omero/bulk_annotations";

/// Hands out ids of one kind.
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

struct Gen {
    rng: fastrand::Rng,
    world: World,
    map_ids: Ids,
    link_ids: Ids,
    file_ids: Ids,
}

impl Gen {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.rng.usize(..from.len())]
    }

    fn annotate(
        &mut self,
        ns: Option<&str>,
        pairs: Vec<(String, String)>,
        targets: &[(Kind, u64)],
    ) {
        let links = targets.iter().map(|(k, id)| (*k, *id, self.link_ids.next())).collect();
        let id = self.map_ids.next();
        self.world.map_annotations.push(MapAnnotation {
            id,
            ns: ns.map(str::to_owned),
            pairs,
            links,
        });
    }

    fn pair(key: &str, value: &str) -> (String, String) {
        (key.to_owned(), value.to_owned())
    }

    fn study(&mut self, kind: Kind, id: u64, name: &str) {
        let organism = self.pick(ORGANISMS);
        let pairs = vec![
            Gen::pair("Study Title", &format!("A study of {name}")),
            Gen::pair(
                "Study Type",
                if kind == Kind::Screen { "high content screen" } else { "protein localization" },
            ),
            Gen::pair("Organism", organism),
            Gen::pair("Publication Authors", "Doe J, Roe R"),
        ];
        let mut pairs = pairs;
        // Every study names its publication, as IDR writes it: an identifier, a space, its
        // URL; half of them also their PubMed and PMC ids, licence and release date.
        pairs.extend([
            Gen::pair("Publication Title", &format!("What {name} shows")),
            Gen::pair(
                "Publication DOI",
                &format!("10.5555/idrg.{id} https://doi.org/10.5555/idrg.{id}"),
            ),
        ]);
        if id.is_multiple_of(2) {
            let pmid = 20_000_000 + id;
            pairs.extend([
                Gen::pair("Imaging Method", "fluorescence microscopy"),
                Gen::pair(
                    "PubMed ID",
                    &format!("{pmid} https://www.ncbi.nlm.nih.gov/pubmed/{pmid}"),
                ),
                Gen::pair(
                    "PMC ID",
                    &format!("PMC{id} https://www.ncbi.nlm.nih.gov/pmc/articles/PMC{id}"),
                ),
                Gen::pair("Release Date", "2020-01-31"),
                Gen::pair("License", "CC BY 4.0 https://creativecommons.org/licenses/by/4.0/"),
                Gen::pair("Copyright", "Doe et al"),
            ]);
        }
        self.annotate(Some(NS_STUDY), pairs, &[(kind, id)]);
    }

    fn image(
        &mut self,
        id: u64,
        name: String,
        well: Option<u64>,
        field: u32,
        dataset: Option<u64>,
    ) -> Image {
        let c = 1 + self.rng.u64(..3);
        let channels = (0..c)
            .map(|i| Channel {
                label: ["DAPI", "GFP", "mCherry"][i as usize].to_owned(),
                color: ["0000FF", "00FF00", "FF0000"][i as usize].to_owned(),
                emission: (i != 1).then_some(450.0 + 70.0 * i as f64),
                active: i != 2,
                window: [0.0, 4095.0, 100.0 + i as f64, 3000.5],
            })
            .collect();
        let px = [0.5, 0.25, 1.25][self.rng.usize(..3)];
        Image {
            id,
            name,
            description: if id.is_multiple_of(5) {
                format!("image {id} described")
            } else {
                String::new()
            },
            well,
            field,
            dataset,
            size: [
                64 + self.rng.u64(..4) * 64,
                48 + self.rng.u64(..4) * 32,
                1 + self.rng.u64(..3),
                1,
                c,
            ],
            pixel_size: [Some(px), Some(px), id.is_multiple_of(3).then_some(0.5)],
            pixels_type: ["uint8", "uint16", "float"][self.rng.usize(..3)].to_owned(),
            channels,
            date: 1_400_000_000 + id,
        }
    }
}

impl World {
    /// The world of `seed` at `size`: the same seed and size always give the same world.
    pub fn generate(seed: u64, size: Size, settings: Settings) -> World {
        let mut g = Gen {
            rng: fastrand::Rng::with_seed(seed),
            world: World {
                settings,
                screens: BTreeMap::new(),
                plates: BTreeMap::new(),
                wells: BTreeMap::new(),
                images: BTreeMap::new(),
                projects: BTreeMap::new(),
                datasets: BTreeMap::new(),
                map_annotations: Vec::new(),
                file_annotations: Vec::new(),
                tables: BTreeMap::new(),
                links: Links::default(),
            },
            map_ids: Ids(9_000_000),
            link_ids: Ids(10_000_000),
            file_ids: Ids(9_600_000),
        };
        let mut plate_ids = Ids(70_000);
        let mut well_ids = Ids(700_000);
        let mut image_ids = Ids(7_000_000);
        let mut file_annotation_ids = Ids(9_500_000);
        for s in 0..size.screens {
            let screen_id = 7_001 + s as u64;
            let word = g.pick(WORDS);
            let name = format!(
                "idrg{:04}-{word}-screen/screen{}",
                seed % 10_000,
                ['A', 'B', 'C', 'D'][s % 4]
            );
            g.study(Kind::Screen, screen_id, &name);
            let mut plates = Vec::new();
            for p in 0..size.plates {
                let plate_id = plate_ids.next();
                // Sizes vary: the full size, a small 4 × 6 plate, and one in between.
                let (rows, columns) = match p % 3 {
                    _ if size.full => (size.rows, size.columns),
                    0 => (size.rows, size.columns),
                    1 => (size.rows.min(4), size.columns.min(6)),
                    _ => (size.rows.div_ceil(2).max(1), size.columns),
                };
                let fields = if p % 2 == 0 || size.full { size.fields.max(1) } else { 1 };
                // Names sort as text: "Plate 1", "plate 10", "Plate 2".
                let name = format!(
                    "{} {}",
                    if p % 2 == 0 { "Plate" } else { "plate" },
                    [1, 10, 2, 11, 3, 20, 4][p % 7] + 100 * (p / 7)
                );
                let mut wells = Vec::new();
                for row in 0..rows {
                    for column in 0..columns {
                        // Some positions have no well.
                        if !size.full && (row * 7 + column * 3 + p as u32) % 11 == 5 {
                            continue;
                        }
                        let well_id = well_ids.next();
                        let label = format!("{}{}", row_label(row), column + 1);
                        let mut images = Vec::new();
                        for field in 0..fields {
                            // Some wells lack their last field.
                            if !size.full && field > 0 && (row + column) % 4 == 1 {
                                images.push(None);
                                continue;
                            }
                            let image_id = image_ids.next();
                            let image_name = format!("{name} [Well {label}, Field {}]", field + 1);
                            let image = g.image(image_id, image_name, Some(well_id), field, None);
                            g.world.images.insert(image_id, image);
                            images.push(Some(image_id));
                        }
                        let in_well: Vec<(Kind, u64)> = std::iter::once((Kind::Well, well_id))
                            .chain(images.iter().flatten().map(|i| (Kind::Image, *i)))
                            .collect();
                        // The gene annotation is shared by the well and its images.
                        let gene = g.pick(GENES);
                        g.annotate(
                            Some(NS_GENE),
                            vec![
                                Gen::pair("Gene Symbol", gene),
                                Gen::pair("Gene Identifier", &format!("ENSG{:08}", well_id)),
                            ],
                            &in_well,
                        );
                        // Phenotypes: zero to two annotations, so keys repeat.
                        for _ in 0..g.rng.usize(..3) {
                            let phenotype = g.pick(PHENOTYPES);
                            g.annotate(
                                Some(NS_PHENOTYPE),
                                vec![
                                    Gen::pair("Phenotype", phenotype),
                                    Gen::pair("Phenotype Term Accession", "CMPO_0000118"),
                                ],
                                &in_well,
                            );
                        }
                        // The bulk "others" map of the images, without the well.
                        let images_only: Vec<(Kind, u64)> = in_well[1..].to_vec();
                        if !images_only.is_empty() {
                            let control = if column == 0 { "positive control" } else { "" };
                            g.annotate(
                                Some(NS_BULK),
                                vec![
                                    Gen::pair("Control Type", control),
                                    Gen::pair(
                                        "Well Number",
                                        &(row * columns + column + 1).to_string(),
                                    ),
                                ],
                                &images_only,
                            );
                        }
                        if (row + column) % 5 == 0 {
                            g.annotate(
                                None,
                                vec![Gen::pair("Comment", "checked by hand")],
                                &[(Kind::Well, well_id)],
                            );
                        }
                        g.world.wells.insert(
                            well_id,
                            Well { id: well_id, plate: plate_id, row, column, images },
                        );
                        wells.push(well_id);
                    }
                }
                if p % 2 == 1 {
                    g.annotate(
                        Some(NS_BULK),
                        vec![Gen::pair("Plate Type", "384-well")],
                        &[(Kind::Plate, plate_id)],
                    );
                }
                g.world.plates.insert(
                    plate_id,
                    Plate { id: plate_id, name, screen: screen_id, rows, columns, fields, wells },
                );
                plates.push(plate_id);
            }
            let world = &g.world;
            plates.sort_by_key(|id| (world.plates[id].name.to_lowercase(), *id));
            // A bulk table on most screens; the second screen's is in the 2019 format.
            if s % 4 != 3 {
                let annotation_id = file_annotation_ids.next();
                let file_id = g.file_ids.next();
                let table = g.table(screen_id, &plates, file_id, annotation_id, s % 4 == 1);
                g.world.tables.insert(screen_id, table);
                let link = g.link_ids.next();
                g.world.file_annotations.push(FileAnnotation {
                    id: annotation_id,
                    ns: Some(NS_BULK.to_owned()),
                    description: Some("bulk_annotations".to_owned()),
                    file_id,
                    name: "bulk_annotations".to_owned(),
                    size: 20_000 + s as u64,
                    mimetype: Some("OMERO.tables".to_owned()),
                    links: vec![(Kind::Screen, screen_id, link)],
                });
            }
            if s % 2 == 0 {
                let link = g.link_ids.next();
                let file_id = g.file_ids.next();
                g.world.file_annotations.push(FileAnnotation {
                    id: file_annotation_ids.next(),
                    ns: None,
                    description: None,
                    file_id,
                    name: format!("screen{s}-features.h5"),
                    size: 1_065_853_300_065,
                    mimetype: Some("type/unknown".to_owned()),
                    links: vec![(Kind::Screen, screen_id, link)],
                });
            }
            let description =
                (s % 3 != 2).then(|| format!("Screen {s} of a generated study.\nSecond line."));
            g.world.screens.insert(screen_id, Screen { id: screen_id, name, description, plates });
        }
        let mut dataset_ids = Ids(80_000);
        for p in 0..size.projects {
            let project_id = 8_001 + p as u64;
            let word = g.pick(WORDS);
            let name = format!(
                "idrg{:04}-{word}-project/experiment{}",
                seed % 10_000,
                ['A', 'B', 'C'][p % 3]
            );
            g.study(Kind::Project, project_id, &name);
            let mut datasets = Vec::new();
            for d in 0..size.datasets {
                let dataset_id = dataset_ids.next();
                let name = format!("{}-{}", g.pick(WORDS), d);
                let mut images = Vec::new();
                for i in 0..size.images {
                    let image_id = image_ids.next();
                    let image_name =
                        format!("{} {i:03}.tif", if i % 3 == 0 { "Cell" } else { "cell" });
                    let image = g.image(image_id, image_name, None, 0, Some(dataset_id));
                    g.world.images.insert(image_id, image);
                    let gene = g.pick(GENES);
                    let line = g.pick(CELL_LINES);
                    g.annotate(
                        Some(NS_GENE),
                        vec![Gen::pair("Gene Symbol", gene)],
                        &[(Kind::Image, image_id)],
                    );
                    g.annotate(
                        Some(NS_CELL_LINE),
                        vec![Gen::pair("Cell Line", line)],
                        &[(Kind::Image, image_id)],
                    );
                    images.push(image_id);
                }
                if d % 2 == 0 {
                    g.annotate(
                        None,
                        vec![Gen::pair("Treatment", "none"), Gen::pair("Treatment", "DMSO ")],
                        &[(Kind::Dataset, dataset_id)],
                    );
                }
                let world = &g.world;
                images.sort_by_key(|id| (world.images[id].name.to_lowercase(), *id));
                let description = (d % 2 == 1).then(|| format!("dataset {d}"));
                g.world.datasets.insert(
                    dataset_id,
                    Dataset { id: dataset_id, name, description, project: project_id, images },
                );
                datasets.push(dataset_id);
            }
            let world = &g.world;
            datasets.sort_by_key(|id| (world.datasets[id].name.to_lowercase(), *id));
            // Supplementary files on every other project, as IDR's projects sometimes carry.
            if p % 2 == 1 {
                let link = g.link_ids.next();
                let file_id = g.file_ids.next();
                g.world.file_annotations.push(FileAnnotation {
                    id: file_annotation_ids.next(),
                    ns: None,
                    description: Some("supplementary data".to_owned()),
                    file_id,
                    name: format!("project{p}-supplementary.csv"),
                    size: 4_096 + p as u64,
                    mimetype: Some("text/csv".to_owned()),
                    links: vec![(Kind::Project, project_id, link)],
                });
            }
            let description = (p % 2 == 0).then(|| format!("Project {p}"));
            g.world
                .projects
                .insert(project_id, Project { id: project_id, name, description, datasets });
        }
        g.world.links = Links::of(&g.world);
        g.world.links.engine = g
            .world
            .images
            .keys()
            .map(|id| {
                let pairs = g.world.key_values(Kind::Image, *id);
                (
                    *id,
                    pairs.into_iter().map(|(k, v)| (k.to_lowercase(), v.to_lowercase())).collect(),
                )
            })
            .collect();
        g.world
    }

    /// The map annotations of an object, in OMERO.web's order: by namespace, none last,
    /// then by id.
    pub fn map_annotations_of(&self, kind: Kind, id: u64) -> Vec<&MapAnnotation> {
        let mut out: Vec<&MapAnnotation> =
            self.map_links(kind, id).iter().map(|(a, _)| *a).collect();
        out.sort_by(|a, b| ns_order(&a.ns, &b.ns).then(a.id.cmp(&b.id)));
        out.dedup_by_key(|a| a.id);
        out
    }

    /// All key/value pairs of an object's own map annotations, in order.
    pub fn key_values(&self, kind: Kind, id: u64) -> Vec<(String, String)> {
        self.map_annotations_of(kind, id).iter().flat_map(|a| a.pairs.iter().cloned()).collect()
    }

    pub fn file_annotations_of(&self, kind: Kind, id: u64) -> Vec<&FileAnnotation> {
        let mut out: Vec<&FileAnnotation> =
            self.file_links(kind, id).iter().map(|(a, _)| *a).collect();
        out.sort_by(|a, b| ns_order(&a.ns, &b.ns).then(a.id.cmp(&b.id)));
        out.dedup_by_key(|a| a.id);
        out
    }

    /// The map annotations linked to an object, each with the link's id, in no order.
    pub(crate) fn map_links(&self, kind: Kind, id: u64) -> Vec<(&MapAnnotation, u64)> {
        let links = self.links.map.get(&(kind, id)).map_or(&[][..], Vec::as_slice);
        links.iter().map(|(i, link)| (&self.map_annotations[*i], *link)).collect()
    }

    /// The file annotations linked to an object, each with the link's id, in no order.
    pub(crate) fn file_links(&self, kind: Kind, id: u64) -> Vec<(&FileAnnotation, u64)> {
        let links = self.links.file.get(&(kind, id)).map_or(&[][..], Vec::as_slice);
        links.iter().map(|(i, link)| (&self.file_annotations[*i], *link)).collect()
    }

    /// An object's name as IDR gives it (a well's is its label, such as `A1`), which is
    /// also what a `where:` on `name` compares.
    pub fn name_of(&self, kind: Kind, id: u64) -> Option<String> {
        match kind {
            Kind::Screen => self.screens.get(&id).map(|s| s.name.clone()),
            Kind::Plate => self.plates.get(&id).map(|p| p.name.clone()),
            Kind::Well => self.wells.contains_key(&id).then(|| self.well_label(id)),
            Kind::Image => self.images.get(&id).map(|i| i.name.clone()),
            Kind::Project => self.projects.get(&id).map(|p| p.name.clone()),
            Kind::Dataset => self.datasets.get(&id).map(|d| d.name.clone()),
        }
    }

    /// The screen, plate and well an image sits in (HCS images).
    pub fn hcs_parents(&self, image: u64) -> Option<(u64, u64, u64)> {
        let well = self.images.get(&image)?.well?;
        let plate = self.wells[&well].plate;
        Some((self.plates[&plate].screen, plate, well))
    }

    /// The well's label from its plate's naming (letters for rows, numbers for columns).
    pub fn well_label(&self, well: u64) -> String {
        let well = &self.wells[&well];
        format!("{}{}", row_label(well.row), well.column + 1)
    }

    /// The table row of a well, if its screen has a table with one.
    pub fn bulk_row(&self, well: u64) -> Option<(&Table, &Vec<Cell>)> {
        let plate = self.wells.get(&well)?.plate;
        let table = self.tables.get(&self.plates[&plate].screen)?;
        let well_column = table.columns.iter().position(|(name, _)| name == "Well")?;
        let row = table.rows.iter().find(|r| r[well_column] == Cell::Int(well))?;
        Some((table, row))
    }

    /// Screens in the order of `api/v0` lists (case-insensitive name, then id).
    pub fn screens_in_order(&self) -> Vec<&Screen> {
        let mut screens: Vec<&Screen> = self.screens.values().collect();
        screens.sort_by_key(|s| (s.name.to_lowercase(), s.id));
        screens
    }

    pub fn projects_in_order(&self) -> Vec<&Project> {
        let mut projects: Vec<&Project> = self.projects.values().collect();
        projects.sort_by_key(|p| (p.name.to_lowercase(), p.id));
        projects
    }
}

impl Gen {
    fn table(
        &mut self,
        screen: u64,
        plates: &[u64],
        file_id: u64,
        annotation_id: u64,
        legacy: bool,
    ) -> Table {
        let columns = vec![
            ("Plate".to_owned(), "PlateColumn"),
            ("Well".to_owned(), "WellColumn"),
            ("Well Number".to_owned(), "StringColumn"),
            ("Gene Symbol".to_owned(), "StringColumn"),
            ("Score".to_owned(), "DoubleColumn"),
            ("Replicate".to_owned(), "LongColumn"),
            ("Hit".to_owned(), "BoolColumn"),
        ];
        let mut rows = Vec::new();
        for plate in plates {
            let (plate_id, columns, wells) = {
                let plate = &self.world.plates[plate];
                (plate.id, plate.columns, plate.wells.clone())
            };
            for well in &wells {
                let (row, column) = (self.world.wells[well].row, self.world.wells[well].column);
                // Some wells have no row.
                if (row + column) % 6 == 4 {
                    continue;
                }
                let n = row * columns + column + 1;
                let score = match n % 5 {
                    0 => f64::NAN,
                    1 => n as f64,
                    _ => n as f64 / 4.0,
                };
                rows.push(vec![
                    Cell::Int(plate_id),
                    Cell::Int(*well),
                    Cell::Text(n.to_string()),
                    Cell::Text(self.pick(GENES).to_owned()),
                    Cell::Float(score),
                    Cell::Int(u64::from(n % 3)),
                    Cell::Bool(n % 2 == 0),
                ]);
            }
        }
        Table { screen, file_id, annotation_id, legacy, columns, rows }
    }
}

/// PostgreSQL's order of namespaces: ascending, with none last.
fn ns_order(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// `A`…`Z`, then `AA`, `AB`…, as the gateway labels rows.
pub fn row_label(row: u32) -> String {
    let mut n = row as usize + 1;
    let mut label = Vec::new();
    while n > 0 {
        n -= 1;
        label.push(b'A' + (n % 26) as u8);
        n /= 26;
    }
    label.reverse();
    String::from_utf8(label).unwrap_or_default()
}

/// The grid's size as IDR's `expand` layout pads it: 8 × 12, or the smallest
/// power-of-two multiple of it that holds the plate.
pub fn padded(rows: u32, columns: u32) -> (u32, u32) {
    let mut k = 1;
    while 8 * k < rows || 12 * k < columns {
        k *= 2;
    }
    (8 * k, 12 * k)
}
