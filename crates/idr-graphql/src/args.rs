//! Every argument of a document, checked before the first upstream call.
//!
//! Resolvers run lazily: a nested field's arguments would otherwise be looked at only
//! after its parent's upstream call, so `{ screen(id: 102) { plates(first: 0) { … } } }`
//! would cost IDR a call before failing. [`ArgumentRules`] is an extension that, once
//! async-graphql has validated the document, walks the operation that is about to run
//! (through fragments, with variables substituted and defaults applied) and runs each
//! field's argument checks. Any failure refuses the whole request with `BAD_USER_INPUT`,
//! and nothing is executed.
//!
//! The checks are the functions below; the resolvers call the same functions on the same
//! values, so the early check and the resolver can never disagree.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::Field;
use async_graphql::{InputType, ServerError, ValidationResult, Variables, ID};

use idr_client::model::SearchQuery;
use idr_filter::{Expr, Plan};

use crate::connection::PageArgs;
use crate::error::bad_input;
use crate::ids::{check_count, parse_global, parse_id_of};
use crate::inputs::ImageFilter;
use crate::operation::Operation;
use crate::shape::{named, Shape};

/// Thumbnail sizes IDR renders.
const THUMBNAIL_SIZES: std::ops::RangeInclusive<i32> = 16..=1024;

/// A thumbnail `size`: 16–1024 pixels.
pub(crate) fn thumbnail_size(size: Option<i32>) -> async_graphql::Result<Option<u32>> {
    match size {
        None => Ok(None),
        Some(size) if THUMBNAIL_SIZES.contains(&size) => Ok(Some(size as u32)),
        Some(size) => Err(bad_input(format!("thumbnail `size` must be 16–1024, not {size}"))),
    }
}

/// A plate's `field` (0-based).
pub(crate) fn field_index(field: i32) -> async_graphql::Result<u32> {
    u32::try_from(field).map_err(|_| bad_input("`field` must be 0 or more"))
}

/// A filter for `studies`: one the search engine runs whole, since the engine's answer
/// (containers and counts) cannot be checked here.
pub(crate) fn study_filter(filter: &ImageFilter) -> async_graphql::Result<SearchQuery> {
    let (_, query, exact) = search_filter(filter)?;
    if !exact {
        return Err(bad_input(
            "studies(where:) is answered by the search engine alone, which cannot run all of this filter: leave out conditions on `name`, conditions only under `not`, and values with spaces at their start or end",
        ));
    }
    Ok(query)
}

/// A `study(name:)` argument: not blank.
pub(crate) fn study_name(name: &str) -> async_graphql::Result<()> {
    if name.trim().is_empty() {
        return Err(bad_input("a study name cannot be empty; give an accession such as idr0002"));
    }
    Ok(())
}

/// A filter for `searchImages`: valid, and with at least one condition the engine can run.
/// Gives the tree, the engine's query and whether the engine's answer is exact.
pub(crate) fn search_filter(
    filter: &ImageFilter,
) -> async_graphql::Result<(Expr, SearchQuery, bool)> {
    let expr = filter.to_expr()?;
    let Plan { engine, exact } = expr.plan();
    let Some(query) = engine else {
        return Err(bad_input(
            "the search engine needs at least one condition it can run: a key/value condition that is not under `not`, not on `name`, and not on a value of spaces only (nor negated on a value with spaces around it)",
        ));
    };
    Ok((expr, SearchQuery { filter: query, study: None }, exact))
}

/// A `searchValues` key.
pub(crate) fn search_key(key: &str) -> async_graphql::Result<()> {
    if key.trim().is_empty() {
        return Err(bad_input("`key` must not be empty"));
    }
    Ok(())
}

/// The arguments of one field, with variables substituted.
struct Args<'a> {
    field: &'a Field,
    variables: &'a Variables,
}

impl Args<'_> {
    /// The argument `name` parsed as `T` (its default when absent). A value that does not
    /// parse has already been refused by validation, so it is treated as absent.
    fn get<T: InputType>(&self, name: &str) -> Option<T> {
        let value = self.field.get_argument(name).and_then(|v| {
            v.node.clone().into_const_with(|var| self.variables.get(&var).cloned().ok_or(())).ok()
        });
        T::parse(value).ok()
    }

    fn filter(&self) -> Option<ImageFilter> {
        self.get::<Option<ImageFilter>>("where").flatten()
    }

    fn page(&self) -> async_graphql::Result<()> {
        let first = self.get::<Option<i32>>("first").flatten();
        let after = self.get::<Option<String>>("after").flatten();
        PageArgs::new(first, after.as_deref()).map(drop)
    }
}

/// The kind of object a root lookup (`image`, `plate`, …) finds.
fn object_named(name: &str) -> idr_client::endpoints::ApiObject {
    use idr_client::endpoints::ApiObject as A;
    match name {
        "screen" => A::Screen,
        "plate" => A::Plate,
        "well" => A::Well,
        "image" => A::Image,
        "project" => A::Project,
        _ => A::Dataset,
    }
}

/// The checks of one field's arguments, by parent type and field name. Fields not listed
/// accept every value their types allow.
fn check_field(parent: &str, args: &Args<'_>) -> async_graphql::Result<()> {
    let filter = || args.filter().as_ref().map(ImageFilter::to_expr).transpose().map(drop);
    match (parent, args.field.name.node.as_str()) {
        ("Query", name @ ("screen" | "plate" | "well" | "image" | "project" | "dataset")) => {
            parse_id_of(&args.get::<ID>("id").unwrap_or_default(), object_named(name)).map(drop)
        }
        ("Query", "node") => parse_global(&args.get::<ID>("id").unwrap_or_default()).map(drop),
        ("Query", "nodes") => {
            let ids = args.get::<Vec<ID>>("ids").unwrap_or_default();
            check_count(&ids)?;
            ids.iter().try_for_each(|id| parse_global(id).map(drop))
        }
        ("Query", name @ ("images" | "plates" | "wells")) => {
            let ids = args.get::<Vec<ID>>("ids").unwrap_or_default();
            check_count(&ids)?;
            let object = object_named(name.trim_end_matches('s'));
            ids.iter().try_for_each(|id| parse_id_of(id, object).map(drop))
        }
        ("Query", "screens" | "projects")
        | ("Screen", "plates")
        | ("Project", "datasets")
        | ("Dataset", "images") => {
            args.page()?;
            filter()
        }
        ("Query", "searchImages") => {
            let first = args.get::<Option<i32>>("first").flatten();
            PageArgs::new(first, None)?;
            if let Some(after) = args.get::<Option<String>>("after").flatten() {
                crate::connection::decode_cursor(&after)?;
            }
            for scope in ["screen", "project"] {
                if let Some(id) = args.get::<Option<ID>>(scope).flatten() {
                    parse_id_of(&id, object_named(scope))?;
                }
            }
            match args.get::<ImageFilter>("where") {
                Some(filter) => search_filter(&filter).map(drop),
                None => Ok(()),
            }
        }
        ("Query", "searchValues") => search_key(&args.get::<String>("key").unwrap_or_default()),
        ("Query", "studies") => match args.get::<ImageFilter>("where") {
            Some(filter) => study_filter(&filter).map(drop),
            None => Ok(()),
        },
        ("Query", "study") => study_name(&args.get::<String>("name").unwrap_or_default()),
        ("Plate", "wells" | "images") => {
            field_index(args.get::<i32>("field").unwrap_or_default())?;
            filter()
        }
        ("Image", "thumbnailUrl") => {
            thumbnail_size(args.get::<Option<i32>>("size").flatten()).map(drop)
        }
        _ => Ok(()),
    }
}

/// Checks every field's arguments of the operation about to run; see the module docs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ArgumentRules;

impl ExtensionFactory for ArgumentRules {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ArgumentRules)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ArgumentRules {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        // The request's variables against the types the operation declares: left to
        // async-graphql, some would be refused as a wrong argument that does not name the
        // variable, and the others would reach execution as a missing argument or fail a
        // field as an internal error.
        let variables = |operation: &Operation| {
            let registry = &ctx.schema_env.registry;
            let errors = crate::variables::check_variables(registry, operation);
            if errors.is_empty() {
                crate::variables::check_positions(registry, operation)
            } else {
                errors
            }
        };
        let operation = ctx.data_opt::<Arc<Operation>>();
        let result = match next.run(ctx).await {
            Ok(result) => result,
            // A document refused by validation: when a variable is the mistake, that is
            // said (in its words) rather than validation's view of it.
            Err(errors) => {
                let ours = operation.map(|operation| variables(operation)).unwrap_or_default();
                return Err(if ours.is_empty() { errors } else { ours });
            }
        };
        if let Some(operation) = operation {
            let errors = variables(operation);
            if !errors.is_empty() {
                return Err(errors);
            }
        }
        let (Some(operation), Some(shape)) = (operation, ctx.data_opt::<Shape>()) else {
            return Ok(result);
        };
        let errors = check_operation(operation, shape);
        if errors.is_empty() {
            Ok(result)
        } else {
            Err(errors)
        }
    }
}

/// Every argument error of the selected operation (at most one per field).
pub(crate) fn check_operation(operation: &Operation, shape: &Shape) -> Vec<ServerError> {
    let mut errors = Vec::new();
    let child = |parent: &str, field: &Field| {
        shape.field(parent, field.name.node.as_str()).map(|ty| named(ty).to_owned())
    };
    operation.visit_fields("Query", &child, &mut |parent, field| {
        let args = Args { field: &field.node, variables: &operation.variables };
        if let Err(error) = check_field(parent, &args) {
            errors.push(error.into_server_error(field.pos));
        }
    });
    errors
}
