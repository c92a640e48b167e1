//! The vocabulary of IDR-QL: resources, scopes, `show` fields and operators, each with
//! its spelling, its documentation (for hover and completion) and what it maps to.

/// What a query lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// Images (searched through IDR's search engine, or listed from a plate or dataset).
    Images,
    /// Screens: high-content screening studies.
    Screens,
    /// Plates of a screen.
    Plates,
    /// Wells of a plate.
    Wells,
    /// Projects: non-HCS studies.
    Projects,
    /// Datasets of a project.
    Datasets,
}

impl Resource {
    /// Every resource, in documentation order.
    pub const ALL: [Resource; 6] = [
        Resource::Images,
        Resource::Screens,
        Resource::Plates,
        Resource::Wells,
        Resource::Projects,
        Resource::Datasets,
    ];

    /// The keyword, such as `images`.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Images => "images",
            Resource::Screens => "screens",
            Resource::Plates => "plates",
            Resource::Wells => "wells",
            Resource::Projects => "projects",
            Resource::Datasets => "datasets",
        }
    }

    /// The resource spelled `word` (case-insensitive).
    pub fn from_name(word: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(word))
    }

    /// One line for hover and completion.
    pub fn doc(self) -> &'static str {
        match self {
            Resource::Images => {
                "Images. Searched by key/value through IDR's search engine (`where` required), \
                 optionally in a study, screen or project; or listed from `in plate N` or \
                 `in dataset N`."
            }
            Resource::Screens => "Screens: high-content screening studies, such as `idr0002-heriche-condensation/screenA`.",
            Resource::Plates => "Plates of a screen: `plates in screen N`.",
            Resource::Wells => "Wells of a plate: `wells in plate N`.",
            Resource::Projects => "Projects: non-HCS studies, such as `idr0021-lawo-pericentriolarmaterial/experimentA`.",
            Resource::Datasets => "Datasets of a project: `datasets in project N`.",
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
            ],
            Resource::Screens => &[Id, Name, Description, KeyValues, Plates, Url],
            Resource::Projects => &[Id, Name, Description, KeyValues, Datasets, Url],
            Resource::Plates => &[Id, Name, RowLabels, ColumnLabels, Wells, Screen, Url],
            Resource::Wells => &[Id, Label, Row, Column, Images, KeyValues, Bulk, Plate],
            Resource::Datasets => &[Id, Name, Description, Images, KeyValues, Url],
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
            _ => &[Field::Name],
        }
    }
}

/// What `in …` restricts a query to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// `in study "name"`: a screen or project by its study name.
    Study,
    /// `in screen N`.
    Screen,
    /// `in plate N`.
    Plate,
    /// `in project N`.
    Project,
    /// `in dataset N`.
    Dataset,
    /// `in well N`: recognised so the checker can say it is not supported.
    Well,
}

impl ScopeKind {
    /// Every scope, in documentation order.
    pub const ALL: [ScopeKind; 6] = [
        ScopeKind::Study,
        ScopeKind::Screen,
        ScopeKind::Plate,
        ScopeKind::Project,
        ScopeKind::Dataset,
        ScopeKind::Well,
    ];

    /// The keyword, such as `screen`.
    pub fn name(self) -> &'static str {
        match self {
            ScopeKind::Study => "study",
            ScopeKind::Screen => "screen",
            ScopeKind::Plate => "plate",
            ScopeKind::Project => "project",
            ScopeKind::Dataset => "dataset",
            ScopeKind::Well => "well",
        }
    }

    /// The scope spelled `word` (case-insensitive).
    pub fn from_name(word: &str) -> Option<ScopeKind> {
        ScopeKind::ALL.into_iter().find(|s| s.name().eq_ignore_ascii_case(word))
    }

    /// Whether the scope names its object by numeric id (all but `study`).
    pub fn takes_id(self) -> bool {
        self != ScopeKind::Study
    }

    /// One line for hover and completion.
    pub fn doc(self) -> &'static str {
        match self {
            ScopeKind::Study => {
                "`in study \"name\"`: images of one study (a screen or project name)."
            }
            ScopeKind::Screen => "`in screen N`: images or plates of the screen with id N.",
            ScopeKind::Plate => "`in plate N`: images or wells of the plate with id N.",
            ScopeKind::Project => "`in project N`: images or datasets of the project with id N.",
            ScopeKind::Dataset => "`in dataset N`: images of the dataset with id N.",
            ScopeKind::Well => "`in well N`: not supported; use `wells in plate N show images`.",
        }
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
            Resource::Screens | Resource::Projects => &[],
        }
    }
}

/// A field that `show` can ask for. Which resources have it: [`Resource::fields`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
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
    Plates,
    Datasets,
    RowLabels,
    ColumnLabels,
    Wells,
    Label,
    Row,
    Column,
    Images,
    Bulk,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 24] = [
        Field::Id,
        Field::Name,
        Field::Description,
        Field::Thumbnail,
        Field::KeyValues,
        Field::Well,
        Field::Plate,
        Field::Screen,
        Field::Dataset,
        Field::Project,
        Field::Size,
        Field::Channels,
        Field::Url,
        Field::Viewer,
        Field::Plates,
        Field::Datasets,
        Field::RowLabels,
        Field::ColumnLabels,
        Field::Wells,
        Field::Label,
        Field::Row,
        Field::Column,
        Field::Images,
        Field::Bulk,
    ];

    /// The canonical spelling, such as `keyValues`.
    pub fn name(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Name => "name",
            Field::Description => "description",
            Field::Thumbnail => "thumbnail",
            Field::KeyValues => "keyValues",
            Field::Well => "well",
            Field::Plate => "plate",
            Field::Screen => "screen",
            Field::Dataset => "dataset",
            Field::Project => "project",
            Field::Size => "size",
            Field::Channels => "channels",
            Field::Url => "url",
            Field::Viewer => "viewer",
            Field::Plates => "plates",
            Field::Datasets => "datasets",
            Field::RowLabels => "rowLabels",
            Field::ColumnLabels => "columnLabels",
            Field::Wells => "wells",
            Field::Label => "label",
            Field::Row => "row",
            Field::Column => "column",
            Field::Images => "images",
            Field::Bulk => "bulk",
        }
    }

    /// The field spelled `word` (case-insensitive).
    pub fn from_name(word: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name().eq_ignore_ascii_case(word))
    }

    /// One line for hover and completion.
    pub fn doc(self) -> &'static str {
        match self {
            Field::Id => "IDR's numeric id (always shown).",
            Field::Name => "The object's name.",
            Field::Description => "The object's description.",
            Field::Thumbnail => "Absolute URL of the JPEG thumbnail.",
            Field::KeyValues => "All key/value pairs of the object's map annotations.",
            Field::Well => "The well the image belongs to (id and label).",
            Field::Plate => "The plate (id and name).",
            Field::Screen => "The screen (id and name).",
            Field::Dataset => "The dataset (id and name).",
            Field::Project => "The project (id and name).",
            Field::Size => "Width, height and the Z, T and C sizes.",
            Field::Channels => "The channels, with label and colour.",
            Field::Url => "The object in IDR's web client.",
            Field::Viewer => "The image in IDR's full-resolution viewer.",
            Field::Plates => "The screen's plates (id and name, first 100).",
            Field::Datasets => "The project's datasets (id and name, first 100).",
            Field::RowLabels => "The plate's row labels, such as A…H.",
            Field::ColumnLabels => "The plate's column labels, such as 1…12.",
            Field::Wells => "The plate's wells (id and label).",
            Field::Label => "The well's label, such as A1.",
            Field::Row => "The well's 0-based row.",
            Field::Column => "The well's 0-based column.",
            Field::Images => "The images (id and name; first 100 for datasets).",
            Field::Bulk => "The well's row of the screen's bulk-annotation table.",
        }
    }

    /// The GraphQL selection the field compiles to, for `resource`.
    pub(crate) fn selection(self, resource: Resource) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Name => "name",
            Field::Description => "description",
            Field::Thumbnail => "thumbnailUrl",
            Field::KeyValues => "keyValues { key value }",
            Field::Well => "well { id label }",
            Field::Plate => "plate { id name }",
            Field::Screen => "screen { id name }",
            Field::Dataset => "dataset { id name }",
            Field::Project => "project { id name }",
            Field::Size => "width height sizeZ sizeT sizeC",
            Field::Channels => "channels { label color }",
            Field::Url => "webclientUrl",
            Field::Viewer => "viewerUrl",
            Field::Plates => "plates(first: 100) { nodes { id name } }",
            Field::Datasets => "datasets(first: 100) { nodes { id name } }",
            Field::RowLabels => "rowLabels",
            Field::ColumnLabels => "columnLabels",
            Field::Wells => "wells { id label }",
            Field::Label => "label",
            Field::Row => "row",
            Field::Column => "column",
            Field::Images => match resource {
                Resource::Datasets => "images(first: 100) { nodes { id name } }",
                _ => "images { id name }",
            },
            Field::Bulk => "bulkAnnotation { columns values }",
        }
    }

    /// The response keys the selection produces (one per top-level GraphQL field).
    pub(crate) fn response_keys(self) -> &'static [&'static str] {
        match self {
            Field::Id => &["id"],
            Field::Name => &["name"],
            Field::Description => &["description"],
            Field::Thumbnail => &["thumbnailUrl"],
            Field::KeyValues => &["keyValues"],
            Field::Well => &["well"],
            Field::Plate => &["plate"],
            Field::Screen => &["screen"],
            Field::Dataset => &["dataset"],
            Field::Project => &["project"],
            Field::Size => &["width", "height", "sizeZ", "sizeT", "sizeC"],
            Field::Channels => &["channels"],
            Field::Url => &["webclientUrl"],
            Field::Viewer => &["viewerUrl"],
            Field::Plates => &["plates"],
            Field::Datasets => &["datasets"],
            Field::RowLabels => &["rowLabels"],
            Field::ColumnLabels => &["columnLabels"],
            Field::Wells => &["wells"],
            Field::Label => &["label"],
            Field::Row => &["row"],
            Field::Column => &["column"],
            Field::Images => &["images"],
            Field::Bulk => &["bulkAnnotation"],
        }
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

/// One line for hover on a keyword.
pub(crate) fn keyword_doc(word: &str) -> Option<&'static str> {
    use crate::syntax::Keyword;
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
