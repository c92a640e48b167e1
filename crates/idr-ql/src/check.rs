//! Semantic checks on a parsed query: does the resource exist, does the scope fit it,
//! do the operators, fields and limit make sense, are the keys known.
//!
//! Checks that need no catalog decide whether a query can be compiled at all, so
//! `compile` runs them too. Checks against the catalog (unknown keys) only warn: IDR has
//! keys that a catalog snapshot does not know, and a condition on an unknown key simply
//! matches nothing.

use crate::ast::{Expr, KeyName, Operand, Query, ResourceName, ScopeName, ShowItem};
use crate::catalog::Catalog;
use crate::diagnostic::{suggest, Diagnostic, Span};
use idr_filter::limits::MAX_CONDITIONS;
use idr_filter::Exceeded;

use crate::model::{Field, Op, OpSyntax, Resource, ScopeKind};
use crate::parser::{SourceFile, MAX_DEPTH};

/// The lowest and highest `limit`.
pub const LIMIT_RANGE: std::ops::RangeInclusive<u64> = 1..=1000;

/// At most this many keys in one `show` (each becomes a GraphQL alias, and the server
/// accepts at most 30 aliases per document).
pub const MAX_SHOW_KEYS: usize = 20;

/// At most this many ids in one query (`images 1, 2, …`).
pub const MAX_IDS: usize = 100;

/// Every diagnostic of the file, syntax and semantic, in source order: the syntax
/// diagnostics of each query, then, for queries that parsed, the semantic ones.
pub fn check(file: &SourceFile, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for query in &file.queries {
        out.extend(query.diagnostics.iter().cloned());
        if let Some(ast) = &query.ast {
            out.extend(check_query(ast, catalog));
        }
    }
    out
}

/// The semantic diagnostics of one query.
pub fn check_query(query: &Query, catalog: &Catalog) -> Vec<Diagnostic> {
    let mut checker = Checker { catalog: Some(catalog), out: Vec::new(), suggestions: 0 };
    checker.query(query);
    sort(&mut checker.out);
    checker.out
}

/// The diagnostics that need no catalog: the ones that decide whether a query compiles.
pub(crate) fn check_structure(query: &Query) -> Vec<Diagnostic> {
    let mut checker = Checker { catalog: None, out: Vec::new(), suggestions: 0 };
    checker.query(query);
    sort(&mut checker.out);
    checker.out
}

fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end));
}

struct Checker<'a> {
    catalog: Option<&'a Catalog>,
    out: Vec<Diagnostic>,
    /// How many "did you mean" searches against the catalog this query made.
    suggestions: usize,
}

/// At most this many unknown keys per query get a "did you mean" suggestion.
const MAX_SUGGESTIONS: usize = 16;

impl Checker<'_> {
    fn query(&mut self, query: &Query) {
        let resource = match &query.resource.value {
            ResourceName::Known(r) | ResourceName::One(r) => Some(*r),
            ResourceName::Keys | ResourceName::Values => {
                self.catalog_query(query);
                self.limit(query);
                return;
            }
            ResourceName::Unknown(word) => {
                let mut d = Diagnostic::error(
                    "unknown-resource",
                    query.resource.span,
                    format!("unknown resource `{word}`"),
                );
                let names = Resource::ALL.map(Resource::name);
                // `study`: the singular of a resource that takes no ids.
                let singular = Resource::ALL
                    .into_iter()
                    .find(|r| r.singular().eq_ignore_ascii_case(word))
                    .map(Resource::name);
                d = match suggest(word, names).or(singular) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                        format!("Replace with `{s}`"),
                        query.resource.span,
                        s,
                    ),
                    None => d.with_help(format!("the resources are {}", names.join(", "))),
                };
                self.out.push(d);
                None
            }
        };
        match (resource, &query.resource.value) {
            (Some(resource), _) if !query.ids.is_empty() => self.ids(query, resource),
            (Some(resource), ResourceName::One(_)) => self.missing_id(query, resource),
            (Some(resource), _) => self.scope(query, resource),
            (None, _) => {}
        }
        if let Some(filter) = &query.filter {
            // What the server gets: the same expression, with the same limits and plan.
            let lowered = crate::lower::lower(filter);
            let limits = lowered.check_limits();
            if filter.depth() > MAX_DEPTH || limits == Err(Exceeded::Depth) {
                self.out.push(
                    Diagnostic::error(
                        "too-deep",
                        filter.span(),
                        format!("conditions nest at most {MAX_DEPTH} levels deep (parentheses and `not`)"),
                    )
                    .with_help("simplify the condition"),
                );
            } else if let Err(Exceeded::Conditions(conditions)) = limits {
                self.out.push(
                    Diagnostic::error(
                        "too-long",
                        filter.span(),
                        format!("a condition may combine at most {MAX_CONDITIONS} comparisons; this one has {conditions}"),
                    )
                    .with_help("use `in (…)` to test many values of one key in one comparison"),
                );
            } else {
                self.expr(filter);
                let searched = resource == Some(Resource::Images)
                    && query.ids.is_empty()
                    && !matches!(
                        query.scope.as_ref().map(|s| &s.kind.value),
                        Some(ScopeName::Known(
                            ScopeKind::Plate | ScopeKind::Dataset | ScopeKind::Well
                        ))
                    );
                if searched {
                    self.searchable(filter, &lowered);
                }
                if resource == Some(Resource::Studies) {
                    self.engine_alone(filter, &lowered);
                }
            }
        }
        if let Some(resource) = resource {
            self.show(query, resource);
        }
        self.limit(query);
    }

    fn limit(&mut self, query: &Query) {
        if let Some(limit) = &query.limit {
            if !LIMIT_RANGE.contains(&limit.value) {
                self.out.push(
                    Diagnostic::error(
                        "limit-out-of-range",
                        limit.span,
                        format!(
                            "`limit` must be between {} and {}",
                            LIMIT_RANGE.start(),
                            LIMIT_RANGE.end()
                        ),
                    )
                    .with_help("leave `limit` out to get every row"),
                );
            }
        }
    }

    /// `image 122770`, `images 1, 2`: every id a positive number, not too many, and no
    /// scope or condition (the ids name the objects).
    fn ids(&mut self, query: &Query, resource: Resource) {
        if !resource.takes_ids() {
            let span = query.ids[0].span.cover(query.ids[query.ids.len() - 1].span);
            self.out.push(
                Diagnostic::error("unsupported", span, "studies are named, not numbered")
                    .with_help("find studies by their images, `studies where \"Gene Symbol\" = cdc20`; in GraphQL, `study(name: \"idr0002\")`"),
            );
            return;
        }
        let one = resource.singular();
        let article = if resource == Resource::Images { "an" } else { "a" };
        for id in &query.ids {
            if !is_positive_id(&id.value) {
                self.out.push(
                    Diagnostic::error(
                        "bad-id",
                        id.span,
                        format!("{article} {one} id is a whole number from 1 to {}", i64::MAX),
                    )
                    .with_help(format!("for example `{one} {}`", resource.example_id())),
                );
            }
        }
        if query.ids.len() > MAX_IDS {
            let span = query.ids[0].span.cover(query.ids[query.ids.len() - 1].span);
            self.out.push(
                Diagnostic::error(
                    "too-many-ids",
                    span,
                    format!(
                        "a query fetches at most {MAX_IDS} objects by id; this one names {}",
                        query.ids.len()
                    ),
                )
                .with_help("split the ids over several queries"),
            );
        }
        if let Some(scope) = &query.scope {
            self.out.push(
                Diagnostic::error(
                    "unsupported",
                    scope.span,
                    "objects fetched by id take no `in`: the ids already name them",
                )
                .with_help(format!("drop the `in …`, or list instead: `{} in …`", resource.name())),
            );
        }
        if let Some(filter) = &query.filter {
            self.out.push(
                Diagnostic::error(
                    "unsupported",
                    filter.span(),
                    "objects fetched by id take no `where`: the ids already name them",
                )
                .with_help(format!(
                    "use `show` to choose what is returned, or filter a listing: `{}`",
                    match resource {
                        Resource::Images => "images in plate 4554 where …",
                        Resource::Wells => "wells in plate 4554 where …",
                        _ => "images where …",
                    }
                )),
            );
        }
    }

    /// A singular resource without an id: `image` names objects by id.
    fn missing_id(&mut self, query: &Query, resource: Resource) {
        let one = resource.singular();
        self.out.push(
            Diagnostic::error(
                "missing-id",
                query.resource.span,
                format!("`{one}` fetches {one}s by id, and no id follows it"),
            )
            .with_help(format!(
                "add an id, `{one} {}`, or list {} with `{}`",
                resource.example_id(),
                resource.name(),
                resource.name()
            ))
            .with_fix(
                format!("Replace with `{}`", resource.name()),
                query.resource.span,
                resource.name(),
            ),
        );
    }

    /// `keys [in R]` and `values KEY [in R]`: a key for `values`, and a resource the
    /// search engine has a catalog of.
    fn catalog_query(&mut self, query: &Query) {
        let of = match &query.of {
            None => Some(Resource::Images),
            Some(of) => match &of.value {
                ResourceName::Known(r) if r.has_catalog() => Some(*r),
                ResourceName::Known(r) => {
                    self.out.push(
                        Diagnostic::error(
                            "unsupported",
                            of.span,
                            format!("IDR's search engine has no catalog of {}", r.name()),
                        )
                        .with_help("ask for images, screens, projects, plates or wells"),
                    );
                    None
                }
                other => {
                    let word = match other {
                        ResourceName::Unknown(w) => w.as_str(),
                        _ => "",
                    };
                    let names =
                        Resource::ALL.into_iter().filter(|r| r.has_catalog()).map(Resource::name);
                    let mut d = Diagnostic::error(
                        "unknown-resource",
                        of.span,
                        format!("unknown resource `{word}`"),
                    );
                    d = match suggest(word, names.clone()) {
                        Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                            format!("Replace with `{s}`"),
                            of.span,
                            s,
                        ),
                        None => d.with_help(format!(
                            "the search engine knows {}",
                            names.collect::<Vec<_>>().join(", ")
                        )),
                    };
                    self.out.push(d);
                    None
                }
            },
        };
        if query.resource.value != ResourceName::Values {
            return;
        }
        match &query.key {
            None => self.out.push(
                Diagnostic::error("missing-key", query.resource.span, "`values` needs a key")
                    .with_help("name the key whose values you want: `values \"Gene Symbol\"`"),
            ),
            Some(key) if key.value.trim().is_empty() => self.out.push(
                Diagnostic::error("unknown-key", key.span, "a key cannot be empty")
                    .with_help("name a key, such as \"Gene Symbol\""),
            ),
            // The catalog holds the keys of images.
            Some(key) if of == Some(Resource::Images) => self.known_key(&key.value, key.span, None),
            Some(_) => {}
        }
    }

    fn scope(&mut self, query: &Query, resource: Resource) {
        let fitting = ScopeKind::fitting(resource);
        let list = |kinds: &[ScopeKind]| {
            kinds.iter().map(|k| format!("`in {}`", k.name())).collect::<Vec<_>>().join(", ")
        };
        let Some(scope) = &query.scope else {
            match resource {
                Resource::Plates | Resource::Wells | Resource::Datasets => {
                    let parent = match resource {
                        Resource::Plates => "screen",
                        Resource::Wells => "plate",
                        _ => "project",
                    };
                    self.out.push(
                        Diagnostic::error(
                            "missing-scope",
                            query.resource.span,
                            format!("{} are listed per {parent}", resource.name()),
                        )
                        .with_help(format!(
                            "add `in {parent} N`, for example `{} in {parent} {}`",
                            resource.name(),
                            example_parent_id(resource)
                        )),
                    );
                }
                Resource::Images | Resource::Studies if query.filter.is_none() => {
                    self.missing_condition(query, resource)
                }
                _ => {}
            }
            return;
        };
        let kind = match &scope.kind.value {
            ScopeName::Known(k) => *k,
            ScopeName::Unknown(word) => {
                let names = ScopeKind::ALL.map(ScopeKind::name);
                let mut d = Diagnostic::error(
                    "unknown-scope",
                    scope.kind.span,
                    format!("unknown scope `{word}`"),
                );
                d = match suggest(word, names) {
                    Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                        format!("Replace with `{s}`"),
                        scope.kind.span,
                        s,
                    ),
                    None if fitting.is_empty() => {
                        d.with_help(format!("{} take no scope", resource.name()))
                    }
                    None => d.with_help(format!(
                        "{} can be scoped with {}",
                        resource.name(),
                        list(fitting)
                    )),
                };
                self.out.push(d);
                return;
            }
        };
        if resource == Resource::Images && kind == ScopeKind::Well {
            self.out.push(
                Diagnostic::error("unsupported", scope.span, "`images in well` is not supported")
                    .with_help("list the well's plate instead: `wells in plate N show images`"),
            );
            return;
        }
        if !fitting.contains(&kind) {
            let help = match resource {
                Resource::Studies => "studies take no scope: the condition finds them, such as `studies where \"Gene Symbol\" = cdc20`".to_owned(),
                Resource::Screens | Resource::Projects => format!(
                    "{} take no scope; filter by name instead: `{} where name ~ …`",
                    resource.name(),
                    resource.name()
                ),
                _ => format!("{} can be scoped with {}", resource.name(), list(fitting)),
            };
            self.out.push(
                Diagnostic::error(
                    "scope-mismatch",
                    scope.span,
                    format!("{} cannot be listed `in {}`", resource.name(), kind.name()),
                )
                .with_help(help),
            );
            return;
        }
        let target = &scope.target;
        if kind.takes_id() {
            if !is_positive_id(&target.value) {
                self.out.push(
                    Diagnostic::error(
                        "bad-id",
                        target.span,
                        format!("a {} id is a whole number from 1 to {}", kind.name(), i64::MAX),
                    )
                    .with_help(format!(
                        "for example `in {} {}`",
                        kind.name(),
                        example_scope_id(kind)
                    )),
                );
            }
        } else if target.value.trim().is_empty() {
            self.out.push(
                Diagnostic::error("bad-id", target.span, "a study name cannot be empty")
                    .with_help("for example `in study \"idr0002-heriche-condensation/screenA\"`"),
            );
        }
        let searched = matches!(kind, ScopeKind::Study | ScopeKind::Screen | ScopeKind::Project);
        if resource == Resource::Images && searched && query.filter.is_none() {
            self.missing_condition(query, resource);
        }
    }

    /// A search must give IDR's search engine something to run: the server refuses a
    /// filter of which the plan gives the engine nothing ([`idr_filter::Plan::engine`]).
    fn searchable(&mut self, filter: &Expr, lowered: &idr_filter::Expr) {
        if lowered.plan().engine.is_some() {
            return;
        }
        self.out.push(
            Diagnostic::error(
                "unsupported",
                filter.span(),
                "IDR's search engine cannot run this condition: it needs at least one key condition that is not under `not`, not on `name`, and not on a value of spaces only (nor negated on a value with spaces around it)",
            )
            .with_help(
                "add a key condition with `and`, such as `and \"Gene Symbol\" = ade8`, or list the images of a plate or dataset, which the server filters itself: `images in plate N where …`",
            ),
        );
    }

    fn missing_condition(&mut self, query: &Query, resource: Resource) {
        let span =
            query.scope.as_ref().map_or(query.resource.span, |s| query.resource.span.cover(s.span));
        let d = match resource {
            Resource::Studies => Diagnostic::error(
                "missing-condition",
                span,
                "finding studies needs a `where` condition on their images",
            )
            .with_help("add a condition, such as `studies where \"Gene Symbol\" = cdc20`"),
            _ => Diagnostic::error(
                "missing-condition",
                span,
                "searching images needs a `where` condition",
            )
            .with_help("add a condition, such as `where \"Gene Symbol\" = ade8`, or list the images of one plate or dataset: `images in plate N`"),
        };
        self.out.push(d);
    }

    /// Studies are found by the search engine alone: the whole condition must be one it
    /// runs (`studies(where:)` refuses the rest).
    fn engine_alone(&mut self, filter: &Expr, lowered: &idr_filter::Expr) {
        let plan = lowered.plan();
        if plan.engine.is_none() {
            return self.searchable(filter, lowered);
        }
        if plan.exact {
            return;
        }
        self.out.push(
            Diagnostic::error(
                "unsupported",
                filter.span(),
                "studies are found by IDR's search engine alone, which cannot run all of this condition",
            )
            .with_help("leave out conditions on `name`, conditions that only hold under `not`, and values with spaces at their start or end; `images where …` can filter those"),
        );
    }

    fn expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Or { items, .. } | Expr::And { items, .. } => {
                items.iter().for_each(|e| self.expr(e));
            }
            Expr::Not { inner, .. } | Expr::Group { inner, .. } => self.expr(inner),
            Expr::Compare(c) => {
                let op = c.op.value;
                match (&c.operand, op.takes_list()) {
                    (Operand::One(v), true) => self.out.push(
                        Diagnostic::error(
                            "bad-operator",
                            c.op.span,
                            format!("`{}` takes a list in parentheses", op.symbol()),
                        )
                        .with_label(v.span, "not a list")
                        .with_help(format!(
                            "write `{} ({})`",
                            op.symbol(),
                            shown(&v.value)
                        )),
                    ),
                    (Operand::List { span, items }, false) => {
                        let alternative = match op {
                            Op::Equals => "use `in (…)` to match any of several values",
                            Op::NotEquals => "use `not in (…)` to exclude several values",
                            _ => "combine several conditions with `or`",
                        };
                        let _ = items;
                        self.out.push(
                            Diagnostic::error(
                                "bad-operator",
                                c.op.span,
                                format!("`{}` compares with one value, not a list", op.symbol()),
                            )
                            .with_label(*span, "a list")
                            .with_help(alternative),
                        );
                    }
                    (Operand::List { span, items }, true) if items.is_empty() => self.out.push(
                        Diagnostic::error(
                            "empty-list",
                            *span,
                            format!("`{}` needs at least one value", op.symbol()),
                        )
                        .with_help("list the values: `in (CDK5RAP2, CETN2)`"),
                    ),
                    (Operand::One(v), false)
                        if matches!(op, Op::Contains | Op::NotContains) && v.value.is_empty() =>
                    {
                        // Every value contains "": `~ ""` holds for any value of the
                        // key, `!~ ""` for none.
                        let (meaning, help) = match op {
                            Op::Contains => {
                                ("matches every value", "to test for an empty value use `= \"\"`")
                            }
                            _ => (
                                "matches no value",
                                "to test for a value that is not empty use `!= \"\"`",
                            ),
                        };
                        self.out.push(
                            Diagnostic::error(
                                "bad-operator",
                                c.op.span,
                                format!("`{}` with an empty value {meaning}", op.symbol()),
                            )
                            .with_label(v.span, "empty")
                            .with_help(help),
                        );
                    }
                    _ => {}
                }
                match &c.key.value {
                    KeyName::Key(k) if k.trim().is_empty() => self.out.push(
                        Diagnostic::error("unknown-key", c.key.span, "a key cannot be empty")
                            .with_help("name a key, such as \"Gene Symbol\", or `name`"),
                    ),
                    KeyName::Key(k) => self.known_key(k, c.key.span, None),
                    KeyName::Name => {}
                }
            }
        }
    }

    /// Warns about a key the catalog does not know (nothing without a catalog, or with
    /// an empty one).
    fn known_key(&mut self, key: &str, span: Span, resource: Option<Resource>) {
        let Some(catalog) = self.catalog.filter(|c| !c.is_empty()) else { return };
        if catalog.key(key).is_some() {
            return;
        }
        let mut d = Diagnostic::warning("unknown-key", span, format!("unknown key \"{key}\""));
        // Suggestions cost an edit distance per known key; a handful per query is plenty.
        self.suggestions += 1;
        let suggestion = if self.suggestions <= MAX_SUGGESTIONS {
            suggest(key, catalog.keys().map(|k| k.name.as_str()))
        } else {
            None
        };
        if let Some(s) = suggestion {
            // The suggestion leads the help, as for fields and resources: a near miss is a
            // typo far more often than a key IDR knows and the catalog does not.
            let mut written = String::new();
            crate::ast::write_text(&mut written, s);
            d = d.with_help(format!("did you mean \"{s}\"?")).with_fix(
                format!("Replace with {written}"),
                span,
                written,
            );
        } else if let Some(resource) = resource {
            d = d.with_help(format!(
                "not a field of {} nor a key in the catalog; the fields are {}",
                resource.name(),
                field_list(resource)
            ));
        } else {
            d = d.with_help("IDR may know keys the catalog does not; a condition on a key that no object carries matches nothing");
        }
        self.out.push(d);
    }

    fn show(&mut self, query: &Query, resource: Resource) {
        let mut seen: Vec<String> = Vec::new();
        let mut keys = 0usize;
        for item in &query.show {
            let label = match &item.value {
                ShowItem::Field(f) => {
                    if !resource.has_field(*f) {
                        let names = resource.fields().iter().map(|f| f.name());
                        let mut d = Diagnostic::error(
                            "unknown-field",
                            item.span,
                            format!("{} have no field `{}`", resource.name(), f.name()),
                        );
                        d = match suggest(f.name(), names) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")).with_fix(
                                format!("Replace with `{s}`"),
                                item.span,
                                s,
                            ),
                            None => d.with_help(format!(
                                "the fields of {} are {}",
                                resource.name(),
                                field_list(resource)
                            )),
                        };
                        self.out.push(d);
                        continue;
                    }
                    format!("`{}`", f.name())
                }
                ShowItem::Key(k) if resource == Resource::Studies => {
                    self.out.push(
                        Diagnostic::error(
                            "unknown-field",
                            item.span,
                            format!("studies have no field `{k}`"),
                        )
                        .with_help(format!(
                            "the fields of studies are {}; `keyValues` gives every study key/value",
                            field_list(resource)
                        )),
                    );
                    continue;
                }
                ShowItem::Key(k) => {
                    keys += 1;
                    if k.trim().is_empty() {
                        self.out.push(
                            Diagnostic::error("unknown-field", item.span, "a key cannot be empty")
                                .with_help(format!(
                                    "the fields of {} are {}",
                                    resource.name(),
                                    field_list(resource)
                                )),
                        );
                        continue;
                    }
                    // A near miss of a field name is taken as a typo, whatever the catalog
                    // says, so that whether a query compiles never depends on the catalog.
                    let names = resource.fields().iter().map(|f| f.name());
                    let near_miss = suggest(k, names).filter(|_| {
                        Field::from_name(k).is_none() && !crate::model::is_curated_key(k)
                    });
                    if let Some(s) = near_miss {
                        self.out.push(
                            Diagnostic::error(
                                "unknown-field",
                                item.span,
                                format!("{} have no field `{k}`", resource.name()),
                            )
                            .with_help(format!("did you mean `{s}`? (to show a key this close to a field name, use `keyValues`)"))
                            .with_fix(format!("Replace with `{s}`"), item.span, s),
                        );
                        continue;
                    }
                    self.known_key(k, item.span, Some(resource));
                    format!("\"{}\"", k.to_lowercase())
                }
            };
            if seen.contains(&label) {
                self.out.push(Diagnostic::warning(
                    "duplicate-field",
                    item.span,
                    format!("{label} is already shown"),
                ));
            } else {
                seen.push(label);
            }
        }
        if keys > MAX_SHOW_KEYS {
            let span = query
                .show
                .first()
                .map_or(query.span, |f| query.show.last().map_or(f.span, |l| f.span.cover(l.span)));
            self.out.push(
                Diagnostic::error(
                    "too-many-keys",
                    span,
                    format!("`show` can ask for at most {MAX_SHOW_KEYS} keys"),
                )
                .with_help("use `show keyValues` to get every key"),
            );
        }
    }
}

fn field_list(resource: Resource) -> String {
    resource.fields().iter().map(|f| f.name()).collect::<Vec<_>>().join(", ")
}

fn shown(value: &str) -> String {
    let mut out = String::new();
    crate::ast::write_text(&mut out, value);
    out
}

/// A real IDR id to use in examples for the container of `resource`.
fn example_parent_id(resource: Resource) -> &'static str {
    match resource {
        Resource::Plates => "102",
        Resource::Wells => "4554",
        _ => "51",
    }
}

/// Whether `text` is an id IDR can have: digits only, a positive `i64`.
fn is_positive_id(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<i64>().is_ok_and(|n| n > 0)
}

/// A real IDR id of the kind of container `kind` names.
fn example_scope_id(kind: ScopeKind) -> &'static str {
    match kind {
        ScopeKind::Screen => "102",
        ScopeKind::Plate => "4554",
        ScopeKind::Well => "45217",
        _ => "51",
    }
}
