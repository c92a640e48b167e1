//! Biology as IDR curates it: map annotations under the mapr namespaces, read into typed
//! objects (a gene, a phenotype with its CMPO term, an siRNA, an organism, a cell line).
//! Each annotation of a namespace is one object, as IDR writes them; the raw key/values
//! stay available through `keyValues` and `annotations`.

use async_graphql::{Context, Object, Result, SimpleObject};
use idr_client::model::{Annotation, AnnotationBody, ObjectKind};

use super::map_annotations;

const GENE: &str = "openmicroscopy.org/mapr/gene";
const PHENOTYPE: &str = "openmicroscopy.org/mapr/phenotype";
const SIRNA: &str = "openmicroscopy.org/mapr/sirna";
const ORGANISM: &str = "openmicroscopy.org/mapr/organism";
const CELL_LINE: &str = "openmicroscopy.org/mapr/cell_line";
const COMPOUND: &str = "openmicroscopy.org/mapr/compound";
const ANTIBODY: &str = "openmicroscopy.org/mapr/antibody";

/// A gene an image (or well) is annotated with.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Gene {
    /// `Gene Symbol`, such as `ECT2`.
    pub(crate) symbol: Option<String>,
    /// `Gene Identifier`, such as `NM_018098` or an Ensembl id.
    pub(crate) identifier: Option<String>,
    /// `Gene Identifier URL`: the identifier's page (NCBI, Ensembl, …).
    pub(crate) url: Option<String>,
}

/// A phenotype scored for an image (or well), with its CMPO term when IDR gives one.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Phenotype {
    /// `Phenotype`: the study's own words, such as `increased cell size`.
    pub(crate) text: Option<String>,
    /// `Phenotype Term Name`: the CMPO term's name.
    pub(crate) term_name: Option<String>,
    /// `Phenotype Term Accession`, such as `CMPO_0000128`.
    pub(crate) accession: Option<String>,
    /// `Phenotype Term Accession URL`: the term's page.
    pub(crate) url: Option<String>,
}

/// An siRNA (or its pool) used on an image (or well).
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Sirna {
    /// `siRNA Identifier`.
    pub(crate) identifier: Option<String>,
    /// `siRNA Pool Identifier`.
    pub(crate) pool_identifier: Option<String>,
    /// `siRNA Catalog Number`.
    pub(crate) catalog_number: Option<String>,
    /// `Sense Sequence`.
    pub(crate) sense_sequence: Option<String>,
}

/// The organism imaged.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Organism {
    /// `Organism`, such as `Homo sapiens`.
    pub(crate) name: Option<String>,
    /// The NCBI Taxonomy id (`NCBITaxon_9606`), when the annotation gives it.
    pub(crate) ncbi_taxon: Option<String>,
}

/// The cell line imaged.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct CellLine {
    /// `Cell Line`, such as `HeLa`.
    pub(crate) name: Option<String>,
    /// An ontology accession of the line (`EFO_0001185`), when given.
    pub(crate) accession: Option<String>,
}

/// A compound an image (or well) was treated with.
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Compound {
    /// `Compound Name`.
    pub(crate) name: Option<String>,
    /// `Compound Name URL`: its page (PubChem, …).
    pub(crate) url: Option<String>,
    /// `PubChem CID`.
    pub(crate) pubchem_cid: Option<String>,
    /// `InChIKey`.
    pub(crate) inchi_key: Option<String>,
}

/// An antibody used to stain an image (or well).
#[derive(Clone, Debug, SimpleObject)]
pub(crate) struct Antibody {
    /// `Antibody`: its name.
    pub(crate) name: Option<String>,
    /// `Antibody Identifier`, such as an RRID or a catalogue number.
    pub(crate) identifier: Option<String>,
}

/// The pairs of each annotation of `namespace`, in order.
fn of_namespace<'a>(
    annotations: &'a [Annotation],
    namespace: &'a str,
) -> impl Iterator<Item = &'a [(String, String)]> {
    annotations.iter().filter(move |a| a.namespace.as_deref() == Some(namespace)).filter_map(|a| {
        match &a.body {
            AnnotationBody::Map(pairs) => Some(pairs.as_slice()),
            _ => None,
        }
    })
}

/// The first non-empty value of `key` (compared without regard to case) among `pairs`.
fn first(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, v)| idr_filter::same_key(k, key) && !v.trim().is_empty())
        .map(|(_, v)| v.clone())
}

pub(crate) fn genes(annotations: &[Annotation]) -> Vec<Gene> {
    of_namespace(annotations, GENE)
        .map(|p| Gene {
            symbol: first(p, "Gene Symbol"),
            identifier: first(p, "Gene Identifier"),
            url: first(p, "Gene Identifier URL"),
        })
        .filter(|g| g.symbol.is_some() || g.identifier.is_some())
        .collect()
}

pub(crate) fn phenotypes(annotations: &[Annotation]) -> Vec<Phenotype> {
    of_namespace(annotations, PHENOTYPE)
        .map(|p| Phenotype {
            text: first(p, "Phenotype"),
            term_name: first(p, "Phenotype Term Name"),
            accession: first(p, "Phenotype Term Accession"),
            url: first(p, "Phenotype Term Accession URL"),
        })
        .filter(|p| p.text.is_some() || p.accession.is_some())
        .collect()
}

pub(crate) fn sirnas(annotations: &[Annotation]) -> Vec<Sirna> {
    of_namespace(annotations, SIRNA)
        .map(|p| Sirna {
            identifier: first(p, "siRNA Identifier"),
            pool_identifier: first(p, "siRNA Pool Identifier"),
            catalog_number: first(p, "siRNA Catalog Number"),
            sense_sequence: first(p, "Sense Sequence"),
        })
        .filter(|s| s.identifier.is_some() || s.pool_identifier.is_some())
        .collect()
}

pub(crate) fn organism(annotations: &[Annotation]) -> Option<Organism> {
    of_namespace(annotations, ORGANISM)
        .map(|p| Organism {
            name: first(p, "Organism"),
            ncbi_taxon: p.iter().map(|(_, v)| v).find(|v| v.starts_with("NCBITaxon_")).cloned(),
        })
        .find(|o| o.name.is_some())
}

pub(crate) fn cell_line(annotations: &[Annotation]) -> Option<CellLine> {
    of_namespace(annotations, CELL_LINE)
        .map(|p| CellLine {
            name: first(p, "Cell Line"),
            accession: p
                .iter()
                .map(|(_, v)| v)
                .find(|v| v.starts_with("EFO_") || v.starts_with("CLO_") || v.starts_with("CVCL_"))
                .cloned(),
        })
        .find(|c| c.name.is_some())
}

pub(crate) fn compounds(annotations: &[Annotation]) -> Vec<Compound> {
    of_namespace(annotations, COMPOUND)
        .map(|p| Compound {
            name: first(p, "Compound Name"),
            url: first(p, "Compound Name URL"),
            pubchem_cid: first(p, "PubChem CID"),
            inchi_key: first(p, "InChIKey"),
        })
        .filter(|c| c.name.is_some() || c.pubchem_cid.is_some())
        .collect()
}

pub(crate) fn antibodies(annotations: &[Annotation]) -> Vec<Antibody> {
    of_namespace(annotations, ANTIBODY)
        .map(|p| Antibody {
            name: first(p, "Antibody"),
            identifier: first(p, "Antibody Identifier"),
        })
        .filter(|a| a.name.is_some() || a.identifier.is_some())
        .collect()
}

/// The typed biology of an image or a well, written once: both flatten it in. Each field
/// reads the object's map annotations, the same batch as `keyValues`.
#[derive(Clone, Copy)]
pub(crate) struct BiologyFields {
    kind: ObjectKind,
    id: u64,
}

impl BiologyFields {
    pub(crate) fn new(kind: ObjectKind, id: u64) -> BiologyFields {
        BiologyFields { kind, id }
    }
}

#[Object(visible = false)]
impl BiologyFields {
    /// The genes IDR annotates the object with (namespace `openmicroscopy.org/mapr/gene`),
    /// one per annotation.
    async fn genes(&self, ctx: &Context<'_>) -> Result<Option<Vec<Gene>>> {
        Ok(Some(genes(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The phenotypes scored for the object (`openmicroscopy.org/mapr/phenotype`), each
    /// with its CMPO term when given.
    async fn phenotypes(&self, ctx: &Context<'_>) -> Result<Option<Vec<Phenotype>>> {
        Ok(Some(phenotypes(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The siRNAs used (`openmicroscopy.org/mapr/sirna`).
    async fn sirnas(&self, ctx: &Context<'_>) -> Result<Option<Vec<Sirna>>> {
        Ok(Some(sirnas(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The compounds the object's cells were treated with (`openmicroscopy.org/mapr/compound`).
    async fn compounds(&self, ctx: &Context<'_>) -> Result<Option<Vec<Compound>>> {
        Ok(Some(compounds(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The antibodies used (`openmicroscopy.org/mapr/antibody`).
    async fn antibodies(&self, ctx: &Context<'_>) -> Result<Option<Vec<Antibody>>> {
        Ok(Some(antibodies(&map_annotations(ctx, self.kind, self.id).await?)))
    }
    /// The organism imaged (`openmicroscopy.org/mapr/organism`).
    async fn organism(&self, ctx: &Context<'_>) -> Result<Option<Organism>> {
        Ok(organism(&map_annotations(ctx, self.kind, self.id).await?))
    }
    /// The cell line imaged (`openmicroscopy.org/mapr/cell_line`).
    async fn cell_line(&self, ctx: &Context<'_>) -> Result<Option<CellLine>> {
        Ok(cell_line(&map_annotations(ctx, self.kind, self.id).await?))
    }
}
