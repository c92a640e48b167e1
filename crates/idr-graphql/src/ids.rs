//! Ids: IDR's numeric ids and the global ids of the `Node` interface (`Image:122770`),
//! written and read in one place. See `node.rs` for what global ids are for.

use async_graphql::{Result, ID};
use idr_client::endpoints::ApiObject;

use crate::error::bad_input;

/// The most ids one `nodes(ids:)` or plural lookup takes.
pub(crate) const MAX_IDS: usize = 500;

/// The GraphQL type name of a kind of object, which starts its global id.
pub(crate) fn type_name(object: ApiObject) -> &'static str {
    match object {
        ApiObject::Screen => "Screen",
        ApiObject::Plate => "Plate",
        ApiObject::Well => "Well",
        ApiObject::Image => "Image",
        ApiObject::Project => "Project",
        ApiObject::Dataset => "Dataset",
    }
}

const KINDS: [ApiObject; 6] = [
    ApiObject::Screen,
    ApiObject::Plate,
    ApiObject::Well,
    ApiObject::Image,
    ApiObject::Project,
    ApiObject::Dataset,
];

/// The global id of an object: `Image:122770`.
pub(crate) fn global_id(object: ApiObject, id: u64) -> ID {
    ID(format!("{}:{id}", type_name(object)))
}

/// The global id of an object by its annotation kind (the kinds of the six node types).
pub(crate) fn global_id_of(kind: idr_client::model::ObjectKind, id: u64) -> ID {
    use idr_client::model::ObjectKind as K;
    let object = match kind {
        K::Screen => ApiObject::Screen,
        K::Plate => ApiObject::Plate,
        K::Well => ApiObject::Well,
        K::Image => ApiObject::Image,
        K::Project => ApiObject::Project,
        K::Dataset => ApiObject::Dataset,
        K::Acquisition => return ID(format!("Acquisition:{id}")),
    };
    global_id(object, id)
}

/// IDR's numeric id as written in an id: a positive whole number that fits in 63 bits.
fn number(text: &str) -> Option<u64> {
    match text.trim().parse::<u64>() {
        Ok(n) if n > 0 && n <= i64::MAX as u64 => Some(n),
        _ => None,
    }
}

fn shown(id: &str) -> String {
    idr_client::text::truncate(id, 40).to_string()
}

/// A global id: its kind and IDR's id.
pub(crate) fn parse_global(id: &ID) -> Result<(ApiObject, u64)> {
    let Some((kind, n)) = id.split_once(':') else {
        let help = match number(id) {
            Some(n) => format!(
                "; a bare number names no type, so write the type too, such as `Image:{n}` or `Screen:{n}`"
            ),
            None => String::new(),
        };
        return Err(bad_input(format!(
            "`{}` is not a global id: global ids look like `Image:122770`{help}",
            shown(id)
        )));
    };
    let Some(object) = KINDS.into_iter().find(|k| type_name(*k) == kind) else {
        return Err(bad_input(format!(
            "`{}` is not a global id: `{}` is not one of Screen, Plate, Well, Image, Project, Dataset",
            shown(id),
            shown(kind)
        )));
    };
    match number(n) {
        Some(n) => Ok((object, n)),
        None => Err(bad_input(format!(
            "`{}` is not a global id: after `{kind}:` comes IDR's id, a positive integer",
            shown(id)
        ))),
    }
}

/// The IDR id of an object of kind `object` given by its IDR id (`122770`) or its global
/// id (`Image:122770`); a global id of another type is refused.
pub(crate) fn parse_id_of(id: &ID, object: ApiObject) -> Result<u64> {
    if let Some(n) = number(id) {
        return Ok(n);
    }
    if !id.contains(':') {
        return Err(bad_input(format!(
            "`{}` is not an IDR id: ids are positive integers, or global ids such as `{}:1`",
            shown(id),
            type_name(object)
        )));
    }
    let (kind, n) = parse_global(id)?;
    if kind != object {
        return Err(bad_input(format!(
            "`{}` is the id of {}, not of {}",
            shown(id),
            with_article(&type_name(kind).to_lowercase()),
            with_article(&type_name(object).to_lowercase())
        )));
    }
    Ok(n)
}

/// `a screen`, `an image`.
fn with_article(noun: &str) -> String {
    let article = if noun.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {noun}")
}

/// A list of ids for `nodes(ids:)` or a plural lookup: at most [`MAX_IDS`].
pub(crate) fn check_count(ids: &[ID]) -> Result<()> {
    if ids.len() > MAX_IDS {
        return Err(bad_input(format!(
            "at most {MAX_IDS} ids at once, not {}; split the list",
            ids.len()
        )));
    }
    Ok(())
}
