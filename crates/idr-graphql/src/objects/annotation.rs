//! Annotations and key/values: what IDR curates about an object.

use super::*;

/// One key/value pair of a map annotation. Order is meaningful and keys may repeat.
#[derive(Clone, Debug, SimpleObject)]
pub struct KeyValue {
    /// The key, such as `Gene Symbol`.
    pub key: String,
    /// The value; may be empty, and often packs a URL after a space.
    pub value: String,
}

/// The kinds of OMERO object an annotation can be linked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "idr_client::model::ObjectKind")]
pub enum ObjectType {
    /// A non-HCS study container.
    Project,
    /// A set of images in a project.
    Dataset,
    /// An image.
    Image,
    /// An HCS study container.
    Screen,
    /// A multi-well plate.
    Plate,
    /// A run (plate acquisition) of a plate.
    Acquisition,
    /// A well of a plate.
    Well,
}

/// The object an annotation is linked to.
#[derive(Clone, Debug, SimpleObject)]
pub struct AnnotatedObject {
    /// `null` for kinds this API does not model.
    pub kind: Option<ObjectType>,
    /// The object's global id, such as `Screen:102` (as its own `id` gives it); IDR's id
    /// alone for a kind this API does not model.
    pub id: ID,
    /// IDR's numeric id of the object.
    pub idr_id: ID,
    /// The object's name (wells get one made from their plate labels, such as `A1`).
    pub name: Option<String>,
}

/// A map annotation: an ordered list of key/value pairs under a namespace, such as
/// `openmicroscopy.org/mapr/gene` or `idr.openmicroscopy.org/study/info`.
pub struct MapAnnotation(pub(super) Annotation);

/// A map annotation: an ordered list of key/value pairs under a namespace, such as
/// `openmicroscopy.org/mapr/gene` or `idr.openmicroscopy.org/study/info`.
#[Object]
impl MapAnnotation {
    /// The annotation's id. IDR links one annotation to many objects, so ids repeat.
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    /// The annotation's namespace, such as `openmicroscopy.org/mapr/gene`.
    async fn namespace(&self) -> Option<&str> {
        self.0.namespace.as_deref()
    }
    /// The pairs in their stored order.
    async fn key_values(&self) -> Vec<KeyValue> {
        key_values_of(std::slice::from_ref(&self.0))
    }
    /// The object this annotation is linked to (for inherited annotations, the container).
    async fn source(&self) -> AnnotatedObject {
        AnnotatedObject {
            kind: self.0.parent.kind.map(ObjectType::from),
            id: match self.0.parent.kind {
                Some(kind) => crate::ids::global_id_of(kind, self.0.parent.id),
                None => id(self.0.parent.id),
            },
            idr_id: id(self.0.parent.id),
            name: self.0.parent.name.clone(),
        }
    }
}

/// A file attached to an object: for screens, the bulk-annotation table and feature files;
/// for projects, supplementary files.
pub struct FileAnnotation {
    pub(super) annotation: Annotation,
    pub(super) public_base: String,
}

/// A file attached to an object: for screens, the bulk-annotation table and feature files;
/// for projects, supplementary files.
#[Object]
impl FileAnnotation {
    /// The annotation id (what the download URL uses).
    async fn id(&self) -> ID {
        id(self.annotation.id)
    }
    /// The annotation's namespace, such as `openmicroscopy.org/mapr/gene`.
    async fn namespace(&self) -> Option<&str> {
        self.annotation.namespace.as_deref()
    }
    /// `bulk_annotations` for the bulk table; often empty.
    async fn description(&self) -> Option<&str> {
        self.annotation.description.as_deref()
    }
    /// The file name.
    async fn name(&self) -> Option<&str> {
        match &self.annotation.body {
            AnnotationBody::File(f) => Some(&f.name),
            _ => None,
        }
    }
    /// Size in bytes. A Float because IDR's feature files exceed 2^31 bytes (some exceed a terabyte).
    async fn size(&self) -> Option<f64> {
        match &self.annotation.body {
            AnnotationBody::File(f) => f.size.map(|s| s as f64),
            _ => None,
        }
    }
    /// For example `OMERO.tables` for a bulk-annotation table (downloaded as HDF5, not CSV).
    async fn mimetype(&self) -> Option<&str> {
        match &self.annotation.body {
            AnnotationBody::File(f) => f.mimetype.as_deref(),
            _ => None,
        }
    }
    /// The OriginalFile id (the id of the table itself, used by table endpoints).
    async fn file_id(&self) -> Option<ID> {
        match &self.annotation.body {
            AnnotationBody::File(f) => Some(id(f.id)),
            _ => None,
        }
    }
    /// Absolute URL that downloads the file from IDR. Mind `size` before following it.
    async fn download_url(&self) -> String {
        format!("{}/webclient/annotation/{}/", self.public_base, self.annotation.id)
    }
}

/// The files attached to a screen or project, from one batch of `type=file` annotation
/// calls for every object of that kind in the request.
pub(super) async fn file_annotations(
    ctx: &Context<'_>,
    kind: ObjectKind,
    id: u64,
) -> Result<Option<Vec<FileAnnotation>>> {
    let annotations = load_one(&loaders(ctx).file_annotations, (kind, id)).await?;
    let public_base = client(ctx).public_url("");
    let public_base = public_base.trim_end_matches('/').to_owned();
    Ok(Some(
        annotations
            .iter()
            .flat_map(|list| list.iter())
            .filter(|a| matches!(a.body, AnnotationBody::File(_)))
            .map(|a| FileAnnotation { annotation: a.clone(), public_base: public_base.clone() })
            .collect(),
    ))
}

/// One row of a bulk-annotation table (the study's CSV as imported into OMERO.tables).
pub struct BulkAnnotationRow(pub(super) WellRow);

/// One row of a bulk-annotation table (the study's CSV as imported into OMERO.tables).
#[Object]
impl BulkAnnotationRow {
    /// Column names, in table order.
    async fn columns(&self) -> &[String] {
        &self.0.table.columns
    }
    /// Cell values as text, one per column; `null` for empty numeric cells (`NaN`).
    async fn values(&self) -> &[Option<String>] {
        self.0.values()
    }
    /// The value of one column (exact name first, then case-insensitive).
    async fn value(&self, column: String) -> Option<&str> {
        let i = self.0.table.column_index(&column)?;
        self.0.values().get(i)?.as_deref()
    }
}

/// How many objects carry one value of a key.
#[derive(Clone, Debug, SimpleObject)]
pub struct ValueCount {
    /// The value as the search engine indexes it: lower-cased, spaces kept.
    pub value: String,
    /// How many objects carry the value.
    pub count: u64,
}
