//! The vocabulary of IDR-QL: resources, scopes, `show` fields and operators, each with
//! its spelling, its documentation (for hover and completion) and what it maps to.

/// Declares a word class from one table: each variant with its spelling and its line of
/// documentation (also the variant's rustdoc), so that a new word is added in one place.
/// It gives `ALL` (in the table's order, which is documentation order), `name`,
/// `from_name` (any case) and `doc`.
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($variant:ident = $word:literal: $doc:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $(#[doc = $doc] $variant,)+
        }

        impl $name {
            /// Every word, in documentation order.
            pub const ALL: [$name; [$($word),+].len()] = [$($name::$variant),+];

            /// How it is written.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            /// The word spelled `word` (case-insensitive).
            pub fn from_name(word: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.name().eq_ignore_ascii_case(word))
            }

            /// One line for hover and completion.
            pub fn doc(self) -> &'static str {
                match self {
                    $($name::$variant => $doc,)+
                }
            }
        }
    };
}

vocabulary! {
    /// What a query lists.
    pub enum Resource {
        Images = "images": "Images. Searched by key/value through IDR's search engine (`where` required), \
            optionally in a study, screen or project; or listed from `in plate N` or \
            `in dataset N`.",
        Screens = "screens": "Screens: high-content screening studies, such as `idr0002-heriche-condensation/screenA`.",
        Plates = "plates": "Plates of a screen: `plates in screen N`.",
        Wells = "wells": "Wells of a plate: `wells in plate N`.",
        Projects = "projects": "Projects: non-HCS studies, such as `idr0021-lawo-pericentriolarmaterial/experimentA`.",
        Datasets = "datasets": "Datasets of a project: `datasets in project N`.",
        Studies = "studies": "Studies (IDR's submissions, each one or more screens and projects) whose images match, \
            with how many, through the search engine: `studies where \"Gene Symbol\" = cdc20`.",
    }
}

impl Resource {
    /// The singular, which names objects by id: `image 122770`.
    pub fn singular(self) -> &'static str {
        match self {
            Resource::Images => "image",
            Resource::Screens => "screen",
            Resource::Plates => "plate",
            Resource::Wells => "well",
            Resource::Projects => "project",
            Resource::Datasets => "dataset",
            Resource::Studies => "study",
        }
    }

    /// The resource whose singular is `word` (case-insensitive). Studies are named, not
    /// numbered, so `study` is no lookup (it stays the scope kind of `in study "…"`).
    pub fn from_singular(word: &str) -> Option<Resource> {
        Resource::ALL
            .into_iter()
            .filter(|r| r.takes_ids())
            .find(|r| r.singular().eq_ignore_ascii_case(word))
    }

    /// Whether objects of this resource can be fetched by IDR id (all but studies).
    pub fn takes_ids(self) -> bool {
        self != Resource::Studies
    }

    /// The resource `word` names, plural or singular.
    pub fn from_any_name(word: &str) -> Option<Resource> {
        Resource::from_name(word).or_else(|| Resource::from_singular(word))
    }

    /// A real IDR id of an object of this resource, for examples in help and hover.
    pub(crate) fn example_id(self) -> &'static str {
        match self {
            Resource::Images => "122770",
            Resource::Screens => "102",
            Resource::Plates => "4554",
            Resource::Wells => "45217",
            Resource::Projects | Resource::Datasets => "51",
            Resource::Studies => "idr0002",
        }
    }

    /// Whether IDR's search engine has a catalog of keys and values for this resource
    /// (every resource but datasets).
    pub fn has_catalog(self) -> bool {
        self.search_resource().is_some()
    }

    /// The schema's `SearchResource` value for this resource's catalog, if it has one.
    pub fn search_resource(self) -> Option<&'static str> {
        match self {
            Resource::Images => Some("IMAGE"),
            Resource::Screens => Some("SCREEN"),
            Resource::Projects => Some("PROJECT"),
            Resource::Plates => Some("PLATE"),
            Resource::Wells => Some("WELL"),
            Resource::Datasets | Resource::Studies => None,
        }
    }

    /// The `show` fields this resource has, in documentation order.
    pub fn fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Resource::Images => &[
                Id,
                Name,
                Description,
                Thumbnail,
                KeyValues,
                Well,
                Plate,
                Screen,
                Dataset,
                Project,
                Size,
                Channels,
                Url,
                Viewer,
                Genes,
                Phenotypes,
                Sirnas,
                Compounds,
                Antibodies,
                Organism,
                CellLine,
            ],
            Resource::Screens => &[Id, Name, Description, KeyValues, Plates, Files, Url],
            Resource::Projects => &[Id, Name, Description, KeyValues, Datasets, Files, Url],
            Resource::Plates => &[Id, Name, RowLabels, ColumnLabels, Wells, Screen, Url],
            Resource::Wells => &[
                Id, Label, Row, Column, Images, KeyValues, Bulk, Plate, Genes, Phenotypes, Sirnas,
                Compounds, Antibodies, Organism, CellLine,
            ],
            Resource::Datasets => &[Id, Name, Description, Images, KeyValues, Url],
            Resource::Studies => &[
                Id,
                Name,
                Title,
                Description,
                ImageCount,
                Containers,
                Publication,
                License,
                ReleaseDate,
                Organism,
                KeyValues,
            ],
        }
    }

    /// Whether `field` can be shown for this resource.
    pub fn has_field(self, field: Field) -> bool {
        self.fields().contains(&field)
    }

    /// What is shown without a `show` clause (besides `id`).
    pub fn default_fields(self) -> &'static [Field] {
        match self {
            Resource::Wells => &[Field::Label],
            Resource::Studies => &[Field::Name, Field::Title, Field::ImageCount],
            _ => &[Field::Name],
        }
    }
}

vocabulary! {
    /// What `in …` restricts a query to.
    pub enum ScopeKind {
        Study = "study": "`in study \"name\"`: images of one study (a screen or project name).",
        Screen = "screen": "`in screen N`: images or plates of the screen with id N.",
        Plate = "plate": "`in plate N`: images or wells of the plate with id N.",
        Project = "project": "`in project N`: images or datasets of the project with id N.",
        Dataset = "dataset": "`in dataset N`: images of the dataset with id N.",
        Well = "well": "`in well N`: not supported; use `wells in plate N show images`.",
    }
}

impl ScopeKind {
    /// Whether the scope names its object by numeric id (all but `study`).
    pub fn takes_id(self) -> bool {
        self != ScopeKind::Study
    }

    /// The scopes that fit `resource`.
    pub fn fitting(resource: Resource) -> &'static [ScopeKind] {
        match resource {
            Resource::Images => &[
                ScopeKind::Study,
                ScopeKind::Screen,
                ScopeKind::Plate,
                ScopeKind::Project,
                ScopeKind::Dataset,
            ],
            Resource::Plates => &[ScopeKind::Screen],
            Resource::Wells => &[ScopeKind::Plate],
            Resource::Datasets => &[ScopeKind::Project],
            Resource::Screens | Resource::Projects | Resource::Studies => &[],
        }
    }
}

vocabulary! {
    /// A field that `show` can ask for. Which resources have it: [`Resource::fields`].
    pub enum Field {
        Id = "id": "IDR's numeric id (always shown).",
        Name = "name": "The object's name.",
        Description = "description": "The object's description.",
        Thumbnail = "thumbnail": "Absolute URL of the JPEG thumbnail.",
        KeyValues = "keyValues": "All key/value pairs of the object's map annotations.",
        Well = "well": "The well the image belongs to (id and label).",
        Plate = "plate": "The plate (id and name).",
        Screen = "screen": "The screen (id and name).",
        Dataset = "dataset": "The dataset (id and name).",
        Project = "project": "The project (id and name).",
        Size = "size": "Width, height and the Z, T and C sizes.",
        Channels = "channels": "The channels, with label and colour.",
        Url = "url": "The object in IDR's web client.",
        Viewer = "viewer": "The image in IDR's full-resolution viewer.",
        Plates = "plates": "The screen's plates (id and name, first 100).",
        Datasets = "datasets": "The project's datasets (id and name, first 100).",
        RowLabels = "rowLabels": "The plate's row labels, such as A…H.",
        ColumnLabels = "columnLabels": "The plate's column labels, such as 1…12.",
        Wells = "wells": "The plate's wells (id and label).",
        Label = "label": "The well's label, such as A1.",
        Row = "row": "The well's 0-based row.",
        Column = "column": "The well's 0-based column.",
        Images = "images": "The images (id and name; first 100 for datasets).",
        Bulk = "bulk": "The well's row of the screen's bulk-annotation table.",
        Genes = "genes": "The genes (symbol, identifier and its URL), from IDR's mapr gene annotations.",
        Phenotypes = "phenotypes": "The phenotypes (the study's text, the CMPO term name, accession and URL).",
        Sirnas = "sirnas": "The siRNAs (identifier and pool identifier).",
        Compounds = "compounds": "The compounds (name and PubChem CID).",
        Antibodies = "antibodies": "The antibodies (name and identifier).",
        Organism = "organism": "The organism (name, and NCBITaxon id where given); for studies, the organisms they name.",
        CellLine = "cellLine": "The cell line (name, and an ontology accession where given).",
        Files = "files": "The attached files (name, size, MIME type and download URL), such as a screen's bulk-annotation table.",
        Title = "title": "The study's title (`Study Title`).",
        ImageCount = "imageCount": "How many of the study's images match the condition.",
        Containers = "containers": "The study's screens and projects holding matching images, each with its count.",
        Publication = "publication": "The study's publication: title, authors, DOI and PubMed id with their links.",
        License = "license": "The study's licence (name and URL).",
        ReleaseDate = "releaseDate": "When IDR released the study.",
    }
}

impl Field {
    /// The GraphQL selection the field compiles to, for `resource`.
    pub(crate) fn selection(self, resource: Resource) -> &'static str {
        match self {
            // IDR's own id, which the language reads and writes (`in plate 4554`), under
            // the key `id`; the schema's `id` is the global id (`Image:122770`).
            Field::Id => match resource {
                Resource::Studies => "id: accession",
                _ => "id: idrId",
            },
            Field::Name => "name",
            Field::Description => "description",
            Field::Thumbnail => "thumbnailUrl",
            Field::KeyValues => "keyValues { key value }",
            Field::Well => "well { id: idrId label }",
            Field::Plate => "plate { id: idrId name }",
            Field::Screen => "screen { id: idrId name }",
            Field::Dataset => "dataset { id: idrId name }",
            Field::Project => "project { id: idrId name }",
            Field::Size => "width height sizeZ sizeT sizeC",
            Field::Channels => "channels { label color }",
            Field::Url => "webclientUrl",
            Field::Viewer => "viewerUrl",
            Field::Plates => "plates(first: 100) { nodes { id: idrId name } }",
            Field::Datasets => "datasets(first: 100) { nodes { id: idrId name } }",
            Field::RowLabels => "rowLabels",
            Field::ColumnLabels => "columnLabels",
            Field::Wells => "wells { id: idrId label }",
            Field::Label => "label",
            Field::Row => "row",
            Field::Column => "column",
            Field::Images => match resource {
                Resource::Datasets => "images(first: 100) { nodes { id: idrId name } }",
                _ => "images { id: idrId name }",
            },
            Field::Bulk => "bulkAnnotation { columns values }",
            Field::Genes => "genes { symbol identifier url }",
            Field::Phenotypes => "phenotypes { text termName accession url }",
            Field::Sirnas => "sirnas { identifier poolIdentifier }",
            Field::Compounds => "compounds { name pubchemCid }",
            Field::Antibodies => "antibodies { name identifier }",
            Field::Organism => match resource {
                Resource::Studies => "organism: organisms",
                _ => "organism { name ncbiTaxon }",
            },
            Field::CellLine => "cellLine { name accession }",
            Field::Files => "fileAnnotations { name size mimetype downloadUrl }",
            Field::Title => "title",
            Field::ImageCount => "imageCount",
            Field::Containers => "containers { id: idrId name type imageCount }",
            Field::Publication => "publication { title authors doi { id url } pubmed { id url } }",
            Field::License => "license { name url }",
            Field::ReleaseDate => "releaseDate",
        }
    }

    /// The response keys the selection produces: its top-level field names or their
    /// aliases, such as `width height sizeZ sizeT sizeC` for `size` and `id` for
    /// `id: idrId`.
    pub(crate) fn response_keys(self, resource: Resource) -> Vec<&'static str> {
        let selection = self.selection(resource);
        let mut keys = Vec::new();
        let (mut depth, mut start, mut aliased) = (0usize, None, false);
        for (i, c) in selection.char_indices().chain([(selection.len(), ' ')]) {
            match c {
                c if c.is_ascii_alphanumeric() => {
                    if depth == 0 && start.is_none() {
                        start = Some(i);
                    }
                    continue;
                }
                '(' | '{' => depth += 1,
                ')' | '}' => depth = depth.saturating_sub(1),
                // The word before `:` is the alias (the key), and the field after it is not.
                ':' if depth == 0 => {
                    if let Some(from) = start.take() {
                        keys.push(&selection[from..i]);
                    }
                    aliased = true;
                    continue;
                }
                _ => {}
            }
            if let Some(from) = start.take() {
                let word = &selection[from..i];
                if selection[i..].trim_start().starts_with(':') {
                    // `alias : field`: the colon comes next.
                    keys.push(word);
                } else if !std::mem::take(&mut aliased) {
                    keys.push(word);
                }
            }
        }
        keys
    }
}

/// IDR's curated keys: those of the mapr namespaces (gene, phenotype, siRNA, organism,
/// cell line, compound, antibody), which IDR spells the same way in every study. They are
/// part of the language, not of the catalog, so what a query means never depends on the
/// catalog: an unquoted `show` item spelled as one of them is that key and never a typo
/// of a field (`show Phenotype` is the key, `show phenotypes` the typed field), and where
/// the resource has no field of that name it is the key (`plates in screen 102 show
/// Organism`).
pub(crate) const CURATED_KEYS: &[&str] = &[
    "Gene Symbol",
    "Gene Identifier",
    "Gene Identifier URL",
    "Phenotype",
    "Phenotype Term Name",
    "Phenotype Term Accession",
    "Phenotype Term Accession URL",
    "siRNA Identifier",
    "siRNA Pool Identifier",
    "Organism",
    "Cell Line",
    "Compound Name",
    "PubChem CID",
    "InChIKey",
    "Antibody",
    "Antibody Identifier",
];

/// Whether `word` is one of [`CURATED_KEYS`] (compared without regard to case).
pub(crate) fn is_curated_key(word: &str) -> bool {
    CURATED_KEYS.iter().any(|k| k.eq_ignore_ascii_case(word))
}

/// The field an item of `show` names, or `None` for a key. A quoted item is always a key
/// (IDR has a `Channels` key); an unquoted one is a field when it is spelled as one (any
/// case), except a curated key the resource has no field for.
pub(crate) fn show_field(text: &str, quoted: bool, resource: Option<Resource>) -> Option<Field> {
    let field = Field::from_name(text).filter(|_| !quoted)?;
    // A study's own fields (`license`, `title`, …) are keys elsewhere, as IDR's study
    // key/values are: `screens show License` shows the key.
    let studies_only =
        Resource::ALL.into_iter().all(|r| r == Resource::Studies || !r.has_field(field));
    match resource {
        Some(r) if !r.has_field(field) && (is_curated_key(text) || studies_only) => None,
        _ => Some(field),
    }
}

/// How a condition compares a key's value: the filter algebra's operators.
pub use idr_filter::Op;

/// IDR-QL's spelling and documentation of an operator.
pub trait OpSyntax {
    /// How it is written.
    fn symbol(self) -> &'static str;
    /// One line for hover and completion.
    fn doc(self) -> &'static str;
}

impl OpSyntax for Op {
    fn symbol(self) -> &'static str {
        use crate::syntax::{Keyword, SYMBOL_OPERATORS};
        match self {
            Op::In => Keyword::In.text(),
            Op::NotIn => "not in",
            op => SYMBOL_OPERATORS.iter().find(|(_, o)| *o == op).map_or("", |(symbol, _)| symbol),
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Op::Equals => "Equals (case-insensitive).",
            Op::NotEquals => "Has the key with a value other than this one (objects without the key do not match; use `not K = v` for that).",
            Op::Contains => "Contains (case-insensitive).",
            Op::NotContains => "Has the key with a value that does not contain this (objects without the key do not match).",
            Op::In => "Equals one of the listed values.",
            Op::NotIn => "Has the key with a value that is none of the listed values.",
        }
    }
}

/// One line for hover on a keyword, or on `keys` and `values` where they start a query.
pub(crate) fn keyword_doc(word: &str) -> Option<&'static str> {
    use crate::syntax::{CatalogHead, Keyword};
    match CatalogHead::of(word) {
        Some(CatalogHead::Keys) => return Some("`keys` lists the keys IDR's search engine knows, for images or, with `in screens` (projects, plates, wells), for another resource."),
        Some(CatalogHead::Values) => return Some("`values KEY` lists every value of a key with how many objects carry it: `values \"Gene Symbol\"`, or `values Organism in screens`."),
        None => {}
    }
    // Every keyword has one: a new keyword without a line here does not compile.
    Some(match Keyword::of(word)? {
        Keyword::In => "`in` restricts the query to a container (`in screen 102`), or, after a key, tests a list of values.",
        Keyword::Where => "`where` starts the condition: `key op value`, combined with `and`, `or`, `not` and parentheses.",
        Keyword::And => "`and`: both conditions hold.",
        Keyword::Or => "`or`: at least one condition holds.",
        Keyword::Not => "`not`: the condition does not hold (objects without the key match too). `not in (…)` is the list operator.",
        Keyword::Show => "`show` picks the fields (or keys, quoted when they contain spaces) returned for each row. `id` is always shown.",
        Keyword::Limit => "`limit N` returns at most N rows (1–1000). Without it every row is returned.",
    })
}
