//! Studies: what IDR publishes as one submission (`idr0002-heriche-condensation`), made of
//! one or more screens and projects (`…/screenA`, `…/experimentB`). Their study-level
//! information is the `idr.openmicroscopy.org/study/info` map annotation on each of them,
//! read here as typed fields.

use super::*;

/// The namespace of IDR's study-level key/values.
pub(crate) const STUDY_NS: &str = "idr.openmicroscopy.org/study/info";

/// A study: its screens and projects (the containers whose names share the part before
/// the `/`), and its study-level information, typed.
#[derive(Clone)]
pub struct Study {
    pub(crate) name: String,
    pub(crate) screens: Vec<Arc<Container>>,
    pub(crate) projects: Vec<Arc<Container>>,
}

/// An identifier with its link, as IDR writes them: `24943848 https://…/pubmed/24943848`.
#[derive(Clone, Debug, PartialEq, SimpleObject)]
pub struct Reference {
    /// The identifier: a DOI, a PubMed id, a PMC id.
    pub id: String,
    /// Its URL, where IDR gives one.
    pub url: Option<String>,
}

/// A licence: its name and the URL of its text.
#[derive(Clone, Debug, PartialEq, SimpleObject)]
pub struct License {
    /// Such as `CC BY 4.0`.
    pub name: String,
    pub url: Option<String>,
}

/// The publication a study comes with.
#[derive(Clone, Debug, PartialEq, SimpleObject)]
pub struct Publication {
    pub title: Option<String>,
    /// The authors as IDR lists them: `Hériché JK, Lees JG, …`.
    pub authors: Option<String>,
    /// The authors one by one (the list split at its commas).
    pub author_list: Vec<String>,
    pub doi: Option<Reference>,
    pub pubmed: Option<Reference>,
    pub pmc: Option<Reference>,
}

/// A study found by `studies(where:)`: the study (whole, as `study(name:)` gives it), how
/// many of its images match, and which of its screens and projects hold them.
#[derive(SimpleObject)]
pub struct StudyMatch {
    pub study: Study,
    /// Matching images over all its screens and projects.
    pub image_count: u64,
    /// The containers holding matching images, with their counts.
    pub containers: Vec<ContainerMatch>,
}

/// One screen or project of a study match.
#[derive(SimpleObject)]
pub struct ContainerMatch {
    /// IDR's id of the screen or project.
    pub idr_id: ID,
    pub name: String,
    /// `SCREEN` or `PROJECT`.
    #[graphql(name = "type")]
    pub kind: ObjectType,
    /// Its matching images.
    pub image_count: u64,
}

/// The study name of a container name: the part before the `/`.
pub(crate) fn study_name(container: &str) -> &str {
    container.split('/').next().unwrap_or(container)
}

/// The accession of a study name: the part before the first `-` (`idr0002`).
pub(crate) fn accession(study: &str) -> &str {
    study.split('-').next().unwrap_or(study)
}

/// The description section of IDR's container description: the paragraph under a
/// `… Description` heading line, or the whole text when it has none.
fn description_section(text: &str) -> String {
    let mut lines = text.lines();
    let heading = |l: &str| {
        let l = l.trim();
        l.ends_with(" Description") && l.split_whitespace().count() == 2
    };
    if lines.by_ref().any(heading) {
        let section: Vec<&str> = lines.take_while(|l| !l.trim().is_empty()).collect();
        if !section.is_empty() {
            return section.join("\n").trim().to_owned();
        }
    }
    text.trim().to_owned()
}

/// `value url` split at the last space when what follows is a URL.
fn reference(value: &str) -> Reference {
    let value = value.trim();
    match value.rsplit_once(char::is_whitespace) {
        Some((id, url)) if url.starts_with("http://") || url.starts_with("https://") => {
            Reference { id: id.trim().to_owned(), url: Some(url.to_owned()) }
        }
        _ if value.starts_with("http://") || value.starts_with("https://") => {
            Reference { id: value.to_owned(), url: Some(value.to_owned()) }
        }
        _ => Reference { id: value.to_owned(), url: None },
    }
}

/// The study/info pairs of a study: those of its first container (by name, screens
/// first) that has them.
struct Info {
    pairs: Vec<(String, String)>,
}

impl Info {
    fn all(&self, key: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(k, v)| k.eq_ignore_ascii_case(key) && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    fn first(&self, key: &str) -> Option<String> {
        self.all(key).into_iter().next()
    }
}

impl Study {
    fn containers(&self) -> impl Iterator<Item = (ObjectKind, &Arc<Container>)> {
        let screens = self.screens.iter().map(|c| (ObjectKind::Screen, c));
        screens.chain(self.projects.iter().map(|c| (ObjectKind::Project, c)))
    }

    async fn info(&self, ctx: &Context<'_>) -> Result<Info> {
        for (kind, container) in self.containers() {
            let annotations = map_annotations(ctx, kind, container.id).await?;
            let pairs: Vec<(String, String)> = annotations
                .iter()
                .filter(|a| a.namespace.as_deref() == Some(STUDY_NS))
                .filter_map(|a| match &a.body {
                    AnnotationBody::Map(pairs) => Some(pairs.iter().cloned()),
                    _ => None,
                })
                .flatten()
                .collect();
            if !pairs.is_empty() {
                return Ok(Info { pairs });
            }
        }
        Ok(Info { pairs: Vec::new() })
    }
}

/// A study: its screens and projects, and its study-level information, typed.
#[Object]
impl Study {
    /// The accession, such as `idr0002`.
    async fn accession(&self) -> &str {
        accession(&self.name)
    }
    /// The study's name, such as `idr0002-heriche-condensation`: what its containers'
    /// names share before the `/`.
    async fn name(&self) -> &str {
        &self.name
    }
    /// Its screens (high-content screening parts), by name.
    async fn screens(&self) -> Vec<Screen> {
        self.screens.iter().cloned().map(Screen::loaded).collect()
    }
    /// Its projects (non-HCS parts), by name.
    async fn projects(&self) -> Vec<Project> {
        self.projects.iter().cloned().map(Project::loaded).collect()
    }
    /// `Study Title`.
    async fn title(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.info(ctx).await?.first("Study Title"))
    }
    /// `Study Description` where IDR gives one, else the description section of the
    /// first container's description (IDR writes `Publication Title\n…\n\nScreen
    /// Description\n…`: the part under `Screen Description` or `Experiment
    /// Description`), else that description whole.
    async fn description(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let described = self.info(ctx).await?.first("Study Description");
        Ok(described.or_else(|| {
            self.containers().find_map(|(_, c)| {
                c.description.as_deref().map(description_section).filter(|d| !d.is_empty())
            })
        }))
    }
    /// The publication: `Publication Title`, `Publication Authors`, `Publication DOI`,
    /// `PubMed ID` and `PMC ID`, each identifier with its link. `null` when IDR gives none
    /// of them.
    async fn publication(&self, ctx: &Context<'_>) -> Result<Option<Publication>> {
        let info = self.info(ctx).await?;
        let authors = info.first("Publication Authors");
        let publication = Publication {
            title: info.first("Publication Title"),
            author_list: authors
                .iter()
                .flat_map(|a| a.split(','))
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect(),
            authors,
            doi: info.first("Publication DOI").map(|v| reference(&v)),
            pubmed: info.first("PubMed ID").map(|v| reference(&v)),
            pmc: info.first("PMC ID").map(|v| reference(&v)),
        };
        let empty = publication.title.is_none()
            && publication.authors.is_none()
            && publication.doi.is_none()
            && publication.pubmed.is_none()
            && publication.pmc.is_none();
        Ok((!empty).then_some(publication))
    }
    /// `License`: its name and URL.
    async fn license(&self, ctx: &Context<'_>) -> Result<Option<License>> {
        Ok(self.info(ctx).await?.first("License").map(|v| {
            let Reference { id, url } = reference(&v);
            License { name: id, url }
        }))
    }
    /// `Copyright`.
    async fn copyright(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.info(ctx).await?.first("Copyright"))
    }
    /// `Release Date`, as IDR writes it (`2016-05-26`).
    async fn release_date(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.info(ctx).await?.first("Release Date"))
    }
    /// `Organism`: every one the study names.
    async fn organisms(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(self.info(ctx).await?.all("Organism"))
    }
    /// `Imaging Method`: every one the study names.
    async fn imaging_methods(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(self.info(ctx).await?.all("Imaging Method"))
    }
    /// `Study Type`: every one the study names.
    async fn study_types(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(self.info(ctx).await?.all("Study Type"))
    }
    /// Every study-level key/value, raw, in order.
    async fn key_values(&self, ctx: &Context<'_>) -> Result<Vec<KeyValue>> {
        let info = self.info(ctx).await?;
        Ok(info.pairs.into_iter().map(|(key, value)| KeyValue { key, value }).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_an_identifier_from_its_link() {
        assert_eq!(
            reference("24943848 https://www.ncbi.nlm.nih.gov/pubmed/24943848"),
            Reference {
                id: "24943848".to_owned(),
                url: Some("https://www.ncbi.nlm.nih.gov/pubmed/24943848".to_owned())
            }
        );
        assert_eq!(
            reference("CC BY 4.0 https://creativecommons.org/licenses/by/4.0/"),
            Reference {
                id: "CC BY 4.0".to_owned(),
                url: Some("https://creativecommons.org/licenses/by/4.0/".to_owned())
            }
        );
        assert_eq!(reference(" 10.1091/x "), Reference { id: "10.1091/x".to_owned(), url: None });
        assert_eq!(
            reference("https://doi.org/10.1/x"),
            Reference {
                id: "https://doi.org/10.1/x".to_owned(),
                url: Some("https://doi.org/10.1/x".to_owned())
            }
        );
        assert_eq!(
            study_name("idr0002-heriche-condensation/screenA"),
            "idr0002-heriche-condensation"
        );
        assert_eq!(accession("idr0002-heriche-condensation"), "idr0002");
        assert_eq!(study_name("plain"), "plain");
        assert_eq!(
            description_section(
                "Publication Title\nIntegration of data.\n\nScreen Description\nScreen of 100 genes.\nSecond line."
            ),
            "Screen of 100 genes.\nSecond line."
        );
        assert_eq!(
            description_section("Experiment Description\nHistopathology images."),
            "Histopathology images."
        );
        assert_eq!(description_section(" Just text. "), "Just text.");
    }
}
