//! `study(name:)` and `studies(where:)`: finding studies among IDR's screens and projects,
//! and through the search engine's container search.

use std::sync::Arc;

use idr_client::endpoints::ApiObject;
use idr_client::model::{Container, StudyKind};
use idr_client::IdrClient;

use async_graphql::ErrorExtensions as _;

use crate::error::{bad_input, ResultExt};
use crate::inputs::ImageFilter;
use crate::objects::study::{accession, study_name};
use crate::objects::{ContainerMatch, ObjectType, Study, StudyMatch};

/// Every screen and every project, by name (two listings, cached like any other call).
async fn all_containers(
    client: &IdrClient,
) -> async_graphql::Result<(Vec<Arc<Container>>, Vec<Arc<Container>>)> {
    let (screens, projects, _) = listings(client).await?;
    Ok((screens, projects))
}

/// [`all_containers`], with how many screens and projects IDR says it has.
async fn listings(
    client: &IdrClient,
) -> async_graphql::Result<(Vec<Arc<Container>>, Vec<Arc<Container>>, [u64; 2])> {
    let mut out = Vec::new();
    let mut totals = [0; 2];
    for (i, object) in [ApiObject::Screen, ApiObject::Project].into_iter().enumerate() {
        let total = client.containers(object, 0, 1).await.gql()?.total_count;
        totals[i] = total;
        let mut all: Vec<Arc<Container>> = client
            .containers(object, 0, total)
            .await
            .gql()?
            .items
            .into_iter()
            .map(Arc::new)
            .collect();
        all.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
        out.push(all);
    }
    let projects = out.pop().unwrap_or_default();
    let screens = out.pop().unwrap_or_default();
    Ok((screens, projects, totals))
}

/// The study `name` means: a container's full name, a study's name, or an accession.
pub(crate) async fn find(client: &IdrClient, name: &str) -> async_graphql::Result<Option<Study>> {
    crate::args::study_name(name)?;
    let (screens, projects, totals) = listings(client).await?;
    let found = find_in(name.trim(), &screens, &projects)?;
    if found.is_none() {
        // Not there: only an answer when the listings are whole.
        for ((listed, what), total) in
            [(screens.len(), "screens"), (projects.len(), "projects")].into_iter().zip(totals)
        {
            if (listed as u64) < total {
                // Offline, the recorded listing was trimmed: the study is not recorded.
                let (message, code) = if client.is_recorded() {
                    (
                        format!(
                            "offline: the recorded list of {what} holds {listed} of IDR's {total}, and `{}` is not among them",
                            name.trim()
                        ),
                        "NOT_RECORDED",
                    )
                } else {
                    (
                        format!(
                            "IDR's list of {what} holds {listed} of its {total}, so `{}` may be among the others",
                            name.trim()
                        ),
                        "UPSTREAM_BAD_RESPONSE",
                    )
                };
                return Err(
                    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code))
                );
            }
        }
    }
    Ok(found)
}

/// [`find`] among listed screens and projects.
fn find_in(
    wanted: &str,
    screens: &[Arc<Container>],
    projects: &[Arc<Container>],
) -> async_graphql::Result<Option<Study>> {
    let names = || screens.iter().chain(projects).map(|c| c.name.as_str());
    let same = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    // The most specific reading that matches anything wins.
    let mut studies: Vec<&str> = names().filter(|n| same(n, wanted)).map(study_name).collect();
    if studies.is_empty() {
        studies = names().map(study_name).filter(|s| same(s, wanted)).collect();
    }
    if studies.is_empty() {
        studies = names().map(study_name).filter(|s| same(accession(s), wanted)).collect();
    }
    studies.sort_by_key(|s| s.to_lowercase());
    studies.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    let study = match studies.as_slice() {
        [] => return Ok(None),
        [one] => one.to_owned(),
        several => {
            return Err(async_graphql::Error::new(format!(
                "`{wanted}` names {} studies: {}; ask for one by its name",
                several.len(),
                several.join(", ")
            ))
            .extend_with(|_, e| e.set("code", "AMBIGUOUS")))
        }
    };
    let of = |list: &[Arc<Container>]| -> Vec<Arc<Container>> {
        list.iter().filter(|c| same(study_name(&c.name), study)).cloned().collect()
    };
    Ok(Some(Study { name: study.to_owned(), screens: of(screens), projects: of(projects) }))
}

/// The container name that `searchImages(study:)` sends the engine for `name`: the name
/// itself when a screen or project has it; the study's one container for a study's name
/// or accession; an error naming them when the study has several (the engine scopes by
/// one container name). A name IDR has nothing by is sent as it is, and finds nothing.
pub(crate) async fn scope_name(client: &IdrClient, name: &str) -> async_graphql::Result<String> {
    let wanted = name.trim();
    let (screens, projects) = all_containers(client).await?;
    let all: Vec<&Arc<Container>> = screens.iter().chain(&projects).collect();
    if all.iter().any(|c| c.name.eq_ignore_ascii_case(wanted)) {
        return Ok(name.to_owned());
    }
    let Some(study) = find_in(wanted, &screens, &projects)? else { return Ok(name.to_owned()) };
    let containers: Vec<&str> =
        study.screens.iter().chain(&study.projects).map(|c| c.name.as_str()).collect();
    match containers.as_slice() {
        [one] => Ok((*one).to_owned()),
        several => Err(bad_input(format!(
            "study `{}` has {} screens and projects; search one at a time: {}",
            study.name,
            several.len(),
            several.join(", ")
        ))),
    }
}

/// The studies whose images match: the engine's containers, grouped by study.
pub(crate) async fn matching(
    client: &IdrClient,
    filter: &ImageFilter,
) -> async_graphql::Result<Vec<StudyMatch>> {
    let query = crate::args::study_filter(filter)?;
    let hits = client.search_containers(&query).await.gql()?;
    if hits.is_empty() {
        return Ok(Vec::new());
    }
    // Each study whole, as `study(name:)` gives it: every screen and project, with their
    // descriptions (the listings are cached); `containers` keeps those that match.
    let (screens, projects) = all_containers(client).await?;
    let mut studies: Vec<StudyMatch> = Vec::new();
    for hit in hits.iter() {
        let name = study_name(&hit.name).to_owned();
        let at = match studies.iter().position(|s| s.study.name.eq_ignore_ascii_case(&name)) {
            Some(at) => at,
            None => {
                let of = |list: &[Arc<Container>]| -> Vec<Arc<Container>> {
                    list.iter()
                        .filter(|c| study_name(&c.name).eq_ignore_ascii_case(&name))
                        .cloned()
                        .collect()
                };
                studies.push(StudyMatch {
                    study: Study { screens: of(&screens), projects: of(&projects), name },
                    image_count: 0,
                    containers: Vec::new(),
                });
                studies.len() - 1
            }
        };
        let entry = &mut studies[at];
        // A container the listings do not hold (IDR added it since) still belongs.
        let listed =
            entry.study.screens.iter().chain(&entry.study.projects).any(|c| c.id == hit.id);
        let container = Arc::new(Container {
            id: hit.id,
            name: hit.name.clone(),
            description: None,
            child_count: None,
        });
        let kind = match hit.kind {
            StudyKind::Project => {
                if !listed {
                    entry.study.projects.push(container);
                }
                ObjectType::Project
            }
            _ => {
                if !listed {
                    entry.study.screens.push(container);
                }
                ObjectType::Screen
            }
        };
        entry.image_count += hit.image_count;
        entry.containers.push(ContainerMatch {
            idr_id: async_graphql::ID(hit.id.to_string()),
            name: hit.name.clone(),
            kind,
            image_count: hit.image_count,
        });
    }
    studies.sort_by(|a, b| {
        b.image_count.cmp(&a.image_count).then_with(|| a.study.name.cmp(&b.study.name))
    });
    Ok(studies)
}
