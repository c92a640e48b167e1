//! `idr mcp`: a Model Context Protocol server on stdio, for agents. Built on the official
//! Rust SDK (`rmcp`): its macros declare the tools and their JSON Schemas, and its stdio
//! transport speaks newline-delimited JSON-RPC. Logs go to stderr; stdout is the protocol.
//!
//! Every tool runs through the same schema, loaders, cache and limits as `idr serve`, so
//! an agent is as polite a client of IDR as any other. Answers are bounded: rows are
//! capped per call with a continuation cursor, and a GraphQL answer has a size cap.

use std::fmt::Write as _;
use std::time::Duration;

use idr_graphql::IdrSchema;
use idr_ql::{Catalog, Resource};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, Implementation, ListResourcesResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource as McpResource,
    ResourceContents, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{ql, rows};

/// Rows per `run_idr_ql` answer unless the call asks otherwise.
pub const DEFAULT_ROWS: usize = 50;
/// The most rows one answer may hold.
pub const MAX_ROWS: usize = 500;
/// How far a cursor may page into one query's rows.
pub const MAX_OFFSET: usize = 10_000;
/// The largest `graphql` answer, in bytes of JSON.
pub const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// How long one tool call may take.
const DEADLINE: Duration = Duration::from_secs(60);

const SDL_URI: &str = "idr://schema/idr.graphql";
const IDR_QL_URI: &str = "idr://docs/idr-ql.md";
const IDR_QL_DOC: &str = include_str!("../../../docs/idr-ql.md");

const INSTRUCTIONS: &str = "\
This server answers questions about the Image Data Resource (IDR, idr.openmicroscopy.org), \
the public archive of biological images: screens (high-content screening studies) hold \
plates, plates hold wells, wells hold images; projects hold datasets, datasets hold images. \
Objects carry key/value annotations such as \"Gene Symbol\", \"Phenotype\", \"Organism\".

Prefer run_idr_ql. IDR-QL is one line per question:
  images where \"Gene Symbol\" = ade8
  images where \"Gene Symbol\" in (CDK5RAP2, CETN2) and \"Cell Line\" = HeLa show name, thumbnail
  images where Phenotype ~ mitotic show genes, phenotypes limit 20
  plates in screen 102
  wells in plate 4554 show label, images
  image 122770 show size, channels, genes, phenotypes
  screen 102 show keyValues, files
  studies where \"Gene Symbol\" = cdc20 show title, imageCount, publication
  keys            (the keys the search engine knows)
  values \"Gene Symbol\"   (every value of a key, with counts)
Use describe to learn the keys and values before filtering, get_plate for a whole plate at a \
glance, and graphql for anything else (read idr://schema/idr.graphql first). The full \
language is the resource idr://docs/idr-ql.md.";

/// The MCP server: the tools over one schema.
#[derive(Clone)]
pub struct IdrMcp {
    schema: IdrSchema,
    catalog: Catalog,
    tool_router: ToolRouter<IdrMcp>,
}

/// Serves MCP on stdin and stdout until the client closes them.
pub async fn serve(schema: IdrSchema) -> anyhow::Result<()> {
    let server = IdrMcp::new(schema);
    let running = server
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| anyhow::anyhow!("starting MCP on stdio: {e}"))?;
    running.waiting().await.map_err(|e| anyhow::anyhow!("MCP: {e}"))?;
    Ok(())
}

/// `run_idr_ql`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunArgs {
    /// One IDR-QL query, such as `images where "Gene Symbol" = ade8 show name`.
    pub query: String,
    /// Rows in this answer: 1 to 500, 50 by default.
    #[schemars(range(min = 1, max = 500))]
    pub max_rows: Option<u32>,
    /// The `nextCursor` of the previous answer to the same query, to get the rows after it.
    pub cursor: Option<String>,
}

/// `describe`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DescribeArgs {
    /// `images` (the default), `screens`, `projects`, `plates` or `wells`.
    pub resource: Option<String>,
    /// A key, such as `Gene Symbol`: its values with counts instead of the list of keys.
    pub key: Option<String>,
    /// The most values to return, most frequent first: 1 to 1000, 100 by default.
    #[schemars(range(min = 1, max = 1000))]
    pub max_values: Option<u32>,
}

/// `get_plate`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlateArgs {
    /// The plate: IDR's id (4554 or "4554") or its global id ("Plate:4554").
    pub plate_id: PlateId,
    /// The first well to list, for plates with more wells than one answer holds
    /// (the answer's `nextWellOffset`); 0 by default.
    pub well_offset: Option<u32>,
}

/// A plate id as a number or as text.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PlateId {
    Number(u64),
    Text(String),
}

impl PlateId {
    /// As the caller wrote it, for a message: a number, or text as a JSON string.
    fn shown(&self) -> String {
        match self {
            PlateId::Number(n) => n.to_string(),
            PlateId::Text(text) => Value::String(text.clone()).to_string(),
        }
    }

    fn number(&self) -> Option<u64> {
        match self {
            PlateId::Number(n) => Some(*n),
            PlateId::Text(text) => {
                let text = text.trim();
                let digits = text.strip_prefix("Plate:").unwrap_or(text);
                digits.parse().ok().filter(|n| *n > 0)
            }
        }
    }
}

/// The most wells one `get_plate` answer lists (a 384-well plate in one answer).
pub const MAX_WELLS: usize = 384;

/// `graphql`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GraphqlArgs {
    /// A GraphQL query for the idr-graph schema (resource idr://schema/idr.graphql).
    pub query: String,
    /// Its variables, as a JSON object.
    pub variables: Option<Map<String, Value>>,
    /// The operation to run when the document holds several.
    pub operation_name: Option<String>,
}

#[tool_router]
impl IdrMcp {
    /// A server over `schema`, with the bundled catalog for checking IDR-QL.
    pub fn new(schema: IdrSchema) -> IdrMcp {
        IdrMcp { schema, catalog: Catalog::bundled(), tool_router: IdrMcp::tool_router() }
    }

    #[tool(
        description = "Run one IDR-QL query against IDR and get its rows as JSON. IDR-QL reads like English: \
RESOURCE [in SCOPE] [where CONDITION] [show FIELD, ...] [limit N]. Resources: images, screens, plates, wells, projects, datasets, studies. \
Examples: `images where \"Gene Symbol\" = ade8` (41 images); `images where \"Gene Symbol\" in (CDK5RAP2, CETN2) and \"Cell Line\" = HeLa show name, thumbnail`; \
`images where Phenotype ~ mitotic show genes, phenotypes limit 20`; `images in study idr0002 where \"Gene Symbol\" = cdc20`; \
`plates in screen 102`; `wells in plate 4554 show label, images`; `screens where name ~ idr0002`. \
By id: `image 122770 show size, channels, genes, phenotypes`; `screen 102 show keyValues, files`; `well 45217 show bulk`. \
Studies whose images match, with counts and publications: `studies where \"Gene Symbol\" = cdc20 show title, imageCount, publication`. \
The search engine's catalog: `keys`, `values \"Gene Symbol\"` (with counts). Operators: = != ~ (contains) !~ in (a, b) not in (a, b); combine with and, or, not, parentheses. \
Quote keys and values with spaces. On a mistake the answer is the diagnostics, each with its span, message and help (often a 'did you mean'): fix the query and call again. \
At most max_rows rows come back; when there are more, call again with the same query and the answer's nextCursor.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn run_idr_ql(&self, Parameters(args): Parameters<RunArgs>) -> CallToolResult {
        self.run(args).await.unwrap_or_else(CallToolResult::structured_error)
    }

    #[tool(
        description = "Describe what can be asked of a resource: its IDR-QL show fields and the keys IDR's search engine knows for it, \
or, with `key`, that key's values and how many objects carry each (most frequent first). \
Use it before filtering: `describe {\"key\": \"Gene Symbol\"}` lists genes with their image counts; `describe {\"resource\": \"screens\"}` lists screen keys.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn describe(&self, Parameters(args): Parameters<DescribeArgs>) -> CallToolResult {
        self.describe_resource(args).await.unwrap_or_else(CallToolResult::structured_error)
    }

    #[tool(
        description = "A plate at a glance: its size, and for every well its label, position, image ids, genes and phenotypes \
(from the well's and its images' curated annotations), with a grid of phenotype counts and the most frequent phenotypes. \
Example: `get_plate {\"plate_id\": 4554}`. Plate ids come from `plates in screen N`.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn get_plate(&self, Parameters(args): Parameters<PlateArgs>) -> CallToolResult {
        let Some(id) = args.plate_id.number() else {
            return CallToolResult::structured_error(failure(
                format!("{} is not a plate id: give IDR's number (4554) or a global id (\"Plate:4554\")", args.plate_id.shown()),
                json!({}),
            ));
        };
        let offset = args.well_offset.unwrap_or(0) as usize;
        self.plate(id, offset).await.unwrap_or_else(CallToolResult::structured_error)
    }

    #[tool(
        description = "Run a read-only GraphQL query against the idr-graph schema (read the resource idr://schema/idr.graphql), \
under the server's limits (depth, complexity, 16 KiB documents, 30 aliases, an upstream-call budget) and with answers capped at 256 KiB. \
Example: `{ screen(id: 102) { name plates(first: 5) { nodes { idrId name } } } }`. Ids are global (`Screen:102`) and `idrId` is IDR's number; \
numbers are accepted where an id is asked for. Prefer run_idr_ql when IDR-QL can say it.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn graphql(&self, Parameters(args): Parameters<GraphqlArgs>) -> CallToolResult {
        self.run_graphql(args).await
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for IdrMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("idr-graph", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(ListResourcesResult::with_all_items(vec![
            McpResource::new(SDL_URI, "idr.graphql")
                .with_title("The idr-graph GraphQL schema (SDL)")
                .with_description(
                    "Every type and field the graphql tool can ask for, with their documentation.",
                )
                .with_mime_type("application/graphql"),
            McpResource::new(IDR_QL_URI, "idr-ql.md")
                .with_title("IDR-QL, the query language of run_idr_ql")
                .with_description(
                    "The grammar, resources, fields, operators, diagnostics and examples.",
                )
                .with_mime_type("text/markdown"),
        ]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let (text, mime) = match request.uri.as_str() {
            SDL_URI => (idr_graphql::sdl(), "application/graphql"),
            IDR_QL_URI => (IDR_QL_DOC.to_owned(), "text/markdown"),
            other => {
                return Err(ErrorData::resource_not_found(
                    format!("no resource {other}; the resources are {SDL_URI} and {IDR_QL_URI}"),
                    None,
                ))
            }
        };
        let contents = ResourceContents::TextResourceContents {
            uri: request.uri,
            mime_type: Some(mime.to_owned()),
            text,
            meta: None,
        };
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// A tool's failure as the structured answer the model reads.
fn failure(message: impl Into<String>, details: Value) -> Value {
    let mut answer = json!({"error": message.into()});
    if let (Value::Object(out), Value::Object(more)) = (&mut answer, details) {
        out.extend(more);
    }
    answer
}

impl IdrMcp {
    fn deadline() -> tokio::time::Instant {
        tokio::time::Instant::now() + DEADLINE
    }

    async fn run(&self, args: RunArgs) -> Result<CallToolResult, Value> {
        let text = args.query;
        let analysis = idr_ql::analyze(&text, &self.catalog);
        let diagnostics: Vec<Value> =
            analysis.diagnostics().map(|d| ql::diagnostic_json(&text, d)).collect();
        if analysis.has_errors() {
            let all: Vec<idr_ql::Diagnostic> = analysis.diagnostics().cloned().collect();
            let rendered = idr_ql::render(&all, "<query>", &text);
            return Err(failure(
                "the query has errors; fix them (each has a span, a message and usually help) and call again",
                json!({"diagnostics": diagnostics, "rendered": rendered}),
            ));
        }
        let [query] = analysis.queries.as_slice() else {
            let message = match analysis.queries.len() {
                0 => "the query is empty: write one, such as `images where \"Gene Symbol\" = ade8`"
                    .to_owned(),
                n => {
                    format!("one query per call, and this text holds {n}; send them one at a time")
                }
            };
            return Err(failure(message, json!({})));
        };
        let Some(compiled) = &query.compiled else {
            return Err(failure("the query did not compile", json!({"diagnostics": diagnostics})));
        };
        let page = match args.max_rows {
            None => DEFAULT_ROWS,
            Some(n) if (1..=MAX_ROWS).contains(&(n as usize)) => n as usize,
            Some(n) => {
                let message = format!("max_rows is 1 to {MAX_ROWS} (rows in one answer), not {n}; page with nextCursor for more");
                return Err(failure(message, json!({})));
            }
        };
        let offset = match &args.cursor {
            None => 0,
            Some(cursor) => decode_cursor(cursor, &text)?,
        };
        // One row past the page says whether there are more.
        let wanted = offset + page + 1;
        let rows = ql::run(&self.schema, compiled, wanted, Some(IdrMcp::deadline()), |_| {}).await;
        let columns = ql::columns(compiled, &rows.rows);
        let found = rows.rows.len();
        let shown: Vec<Value> =
            rows.rows.into_iter().skip(offset).take(page).map(Value::Object).collect();
        let more = found > offset + page;
        let mut answer = json!({
            "query": text.trim(),
            "columns": columns,
            "rowCount": shown.len(),
            "offset": offset,
            "rows": shown,
            "graphql": compiled.graphql,
        });
        if more {
            if offset + page >= MAX_OFFSET {
                answer["note"] = json!(format!(
                    "more rows exist past {MAX_OFFSET}, further than a cursor pages; narrow the query"
                ));
            } else {
                answer["nextCursor"] = json!(encode_cursor(offset + page, &text));
            }
        }
        if !diagnostics.is_empty() {
            answer["warnings"] = json!(diagnostics);
        }
        if !rows.errors.is_empty() {
            let nothing = answer["rowCount"] == 0;
            answer["errors"] = json!(rows::dedup_errors(&rows.errors));
            if nothing {
                return Err(failure("IDR could not answer this query", answer));
            }
        }
        Ok(CallToolResult::structured(answer))
    }

    async fn describe_resource(&self, args: DescribeArgs) -> Result<CallToolResult, Value> {
        let word = args.resource.as_deref().unwrap_or("images").trim();
        let names: Vec<&str> = Resource::ALL.iter().map(|r| r.name()).collect();
        let resource = Resource::from_any_name(word).ok_or_else(|| {
            failure(
                format!("`{word}` is not a resource; the resources are {}", names.join(", ")),
                json!({}),
            )
        })?;
        let fields: Vec<Value> =
            resource.fields().iter().map(|f| json!({"name": f.name(), "doc": f.doc()})).collect();
        // Datasets and studies have no catalog of their own: their fields, and why.
        let Some(engine) = resource.search_resource() else {
            if args.key.is_some() {
                return Err(failure(
                    format!("IDR's search engine has no catalog of {}; describe images (the default), screens, projects, plates or wells for a key's values", resource.name()),
                    json!({}),
                ));
            }
            return Ok(CallToolResult::structured(json!({
                "resource": resource.name(),
                "about": resource.doc(),
                "showFields": fields,
                "example": example(resource),
                "note": format!("the search engine keeps no keys for {}: {}", resource.name(), match resource {
                    Resource::Studies => "they are found by their images' keys (describe images)",
                    _ => "filter their images, or their project's",
                }),
            })));
        };
        match args.key.as_deref().map(str::trim) {
            Some(key) => {
                let max = args.max_values.map_or(100, |n| n as usize).clamp(1, 1000);
                let graphql = format!(
                    "{{ searchValues(key: {}, resource: {engine}) {{ value count }} }}",
                    idr_ql::graphql_string(key)
                );
                let (data, errors) = self.query(&graphql, Map::new()).await;
                let mut values: Vec<Value> =
                    data["searchValues"].as_array().cloned().unwrap_or_default();
                if !errors.is_empty() && values.is_empty() {
                    return Err(failure(
                        "IDR could not list the values",
                        json!({"errors": rows::dedup_errors(&errors)}),
                    ));
                }
                // Most frequent first; the engine's own order (by value) breaks ties.
                values.sort_by_key(|v| std::cmp::Reverse(v["count"].as_u64().unwrap_or(0)));
                let total = values.len();
                values.truncate(max);
                let mut answer = json!({
                    "resource": resource.name(),
                    "key": key,
                    "valueCount": total,
                    "values": values,
                    "note": "values are lower-cased by the search engine; compare them with = (case-insensitive) in IDR-QL",
                });
                if total > max {
                    answer["truncated"] = json!(format!("the {max} most frequent of {total}"));
                }
                if total == 0 {
                    answer["note"] = json!(
                        "no object carries this key; `describe` without `key` lists the known keys"
                    );
                }
                Ok(CallToolResult::structured(answer))
            }
            None => {
                let graphql = format!("{{ searchKeys(resource: {engine}) }}");
                let (data, errors) = self.query(&graphql, Map::new()).await;
                let mut answer = json!({
                    "resource": resource.name(),
                    "about": resource.doc(),
                    "keys": data["searchKeys"],
                    "showFields": fields,
                    "example": example(resource),
                });
                if !errors.is_empty() {
                    answer["errors"] = json!(rows::dedup_errors(&errors));
                }
                Ok(CallToolResult::structured(answer))
            }
        }
    }

    async fn plate(&self, plate_id: u64, well_offset: usize) -> Result<CallToolResult, Value> {
        let graphql = "query($id: ID!) { plate(id: $id) { idrId name rowLabels columnLabels \
            screen { idrId name } wells { label row column \
            genes { symbol } phenotypes { termName accession } \
            images { idrId genes { symbol } phenotypes { termName accession } } } } }";
        let mut variables = Map::new();
        variables.insert("id".to_owned(), json!(plate_id.to_string()));
        let (data, errors) = self.query(graphql, variables).await;
        let plate = &data["plate"];
        if plate.is_null() {
            let message = if errors.is_empty() {
                format!("IDR has no plate {plate_id}")
            } else {
                format!("IDR could not give plate {plate_id}")
            };
            return Err(failure(message, json!({"errors": rows::dedup_errors(&errors)})));
        }
        let rows = plate["rowLabels"].as_array().map_or(0, Vec::len);
        let columns = plate["columnLabels"].as_array().map_or(0, Vec::len);
        let mut counts = vec![vec![None::<usize>; columns]; rows];
        let mut frequent: Vec<(String, String, usize)> = Vec::new();
        let mut wells = Vec::new();
        for well in plate["wells"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let images: Vec<&Value> =
                well["images"].as_array().map(|i| i.iter().collect()).unwrap_or_default();
            let mut genes: Vec<String> = Vec::new();
            let mut phenotypes: Vec<(String, String)> = Vec::new();
            for source in std::iter::once(well).chain(images.iter().copied()) {
                for gene in source["genes"].as_array().into_iter().flatten() {
                    if let Some(symbol) = gene["symbol"].as_str().filter(|s| !s.is_empty()) {
                        if !genes.iter().any(|g| g.eq_ignore_ascii_case(symbol)) {
                            genes.push(symbol.to_owned());
                        }
                    }
                }
                for p in source["phenotypes"].as_array().into_iter().flatten() {
                    let term = p["termName"].as_str().unwrap_or_default().to_owned();
                    let accession = p["accession"].as_str().unwrap_or_default().to_owned();
                    if (!term.is_empty() || !accession.is_empty())
                        && !phenotypes.contains(&(term.clone(), accession.clone()))
                    {
                        phenotypes.push((term, accession));
                    }
                }
            }
            for (term, accession) in &phenotypes {
                match frequent.iter_mut().find(|(t, a, _)| t == term && a == accession) {
                    Some(entry) => entry.2 += 1,
                    None => frequent.push((term.clone(), accession.clone(), 1)),
                }
            }
            let (row, column) = (well["row"].as_u64(), well["column"].as_u64());
            if let (Some(r), Some(c)) = (row, column) {
                if let Some(cell) = counts.get_mut(r as usize).and_then(|l| l.get_mut(c as usize)) {
                    *cell = Some(phenotypes.len());
                }
            }
            wells.push(json!({
                "well": well["label"],
                "row": row,
                "column": column,
                "images": images.iter().map(|i| i["idrId"].clone()).collect::<Vec<_>>(),
                "genes": genes,
                "phenotypes": phenotypes
                    .iter()
                    .map(|(term, accession)| json!({"term": term, "accession": accession}))
                    .collect::<Vec<_>>(),
            }));
        }
        frequent.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        // The grid and the summary cover the whole plate; the well list is bounded.
        let well_count = wells.len();
        let listed: Vec<Value> = wells.iter().skip(well_offset).take(MAX_WELLS).cloned().collect();
        let next = (well_offset + listed.len() < well_count).then(|| well_offset + listed.len());
        let mut answer = json!({
            "plate": {
                "id": plate["idrId"],
                "name": plate["name"],
                "screen": plate["screen"],
                "rows": rows,
                "columns": columns,
                "wells": well_count,
            },
            "phenotypeGrid": grid(plate, &counts),
            "wellsWithGenes": wells.iter().filter(|w| w["genes"].as_array().is_some_and(|g| !g.is_empty())).count(),
            "wellsWithPhenotypes": wells.iter().filter(|w| w["phenotypes"].as_array().is_some_and(|p| !p.is_empty())).count(),
            "frequentPhenotypes": frequent
                .iter()
                .take(10)
                .map(|(term, accession, wells)| json!({"term": term, "accession": accession, "wells": wells}))
                .collect::<Vec<_>>(),
            "wellOffset": well_offset,
            "wells": listed,
        });
        if let Some(next) = next {
            answer["nextWellOffset"] = json!(next);
        }
        if !errors.is_empty() {
            answer["errors"] = json!(rows::dedup_errors(&errors));
            answer["note"] = json!("some annotations could not be read (see errors); the genes and phenotypes shown are those IDR gave");
        }
        Ok(CallToolResult::structured(answer))
    }

    async fn run_graphql(&self, args: GraphqlArgs) -> CallToolResult {
        let mut request = async_graphql::Request::new(args.query).variables(
            async_graphql::Variables::from_json(Value::Object(args.variables.unwrap_or_default())),
        );
        if let Some(name) = args.operation_name {
            request = request.operation_name(name);
        }
        let response = idr_graphql::execute_until(&self.schema, request, IdrMcp::deadline()).await;
        let answer = serde_json::to_value(&response).unwrap_or(Value::Null);
        let size = answer.to_string().len();
        if size > MAX_ANSWER_BYTES {
            return CallToolResult::structured_error(failure(
                format!("the answer is {size} bytes, over the {MAX_ANSWER_BYTES}-byte cap; ask for fewer fields or page with first/after"),
                json!({"errors": answer["errors"]}),
            ));
        }
        let failed = answer["data"].is_null() && answer.get("errors").is_some();
        if failed {
            CallToolResult::structured_error(answer)
        } else {
            CallToolResult::structured(answer)
        }
    }

    /// Runs a document; its `data` and its errors.
    async fn query(&self, graphql: &str, variables: Map<String, Value>) -> (Value, Vec<Value>) {
        let request = async_graphql::Request::new(graphql)
            .variables(async_graphql::Variables::from_json(Value::Object(variables)));
        let response = idr_graphql::execute_until(&self.schema, request, IdrMcp::deadline()).await;
        let mut answer = serde_json::to_value(&response).unwrap_or(Value::Null);
        let errors = answer["errors"].as_array().cloned().unwrap_or_default();
        (answer["data"].take(), errors)
    }
}

/// A grid of the plate, a line per row: each well's number of phenotypes (`.` for none,
/// `+` for ten or more, a space where there is no well).
fn grid(plate: &Value, counts: &[Vec<Option<usize>>]) -> Vec<String> {
    let label = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    let row_labels: Vec<String> =
        plate["rowLabels"].as_array().into_iter().flatten().map(label).collect();
    let column_labels: Vec<String> =
        plate["columnLabels"].as_array().into_iter().flatten().map(label).collect();
    let width = row_labels.iter().map(String::len).max().unwrap_or(1);
    let mut lines = Vec::with_capacity(counts.len() + 1);
    let mut header = " ".repeat(width);
    for c in &column_labels {
        let _ = write!(header, " {c:>2}");
    }
    lines.push(header);
    for (r, row) in counts.iter().enumerate() {
        let mut line = format!("{:<width$}", row_labels.get(r).map_or("?", String::as_str));
        for cell in row {
            let mark = match cell {
                None => " ".to_owned(),
                Some(0) => ".".to_owned(),
                Some(n) if *n >= 10 => "+".to_owned(),
                Some(n) => n.to_string(),
            };
            let _ = write!(line, " {mark:>2}");
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// An IDR-QL example for a resource.
fn example(resource: Resource) -> &'static str {
    match resource {
        Resource::Images => "images where \"Gene Symbol\" = ade8 show name, phenotypes",
        Resource::Screens => "screens where name ~ idr0002 show keyValues",
        Resource::Projects => "projects where name ~ idr0021 show datasets",
        Resource::Plates => "plates in screen 102 show rowLabels, columnLabels",
        Resource::Wells => "wells in plate 4554 where \"Gene Symbol\" = ade8 show images",
        Resource::Datasets => "datasets in project 51 show images",
        Resource::Studies => "studies where \"Gene Symbol\" = cdc20 show title, publication",
    }
}

/// A cursor: the offset of the next row, and a hash of the query it belongs to.
fn encode_cursor(offset: usize, query: &str) -> String {
    format!("{offset}.{:016x}", fnv1a(query.trim()))
}

fn decode_cursor(cursor: &str, query: &str) -> Result<usize, Value> {
    let bad = |why: &str| {
        failure(
            format!("invalid cursor: {why}; use the nextCursor of an answer to this same query, or leave cursor out to start again"),
            json!({"cursor": cursor}),
        )
    };
    let (offset, hash) =
        cursor.split_once('.').ok_or_else(|| bad("not a cursor of this server"))?;
    let offset: usize = offset.parse().map_err(|_| bad("not a cursor of this server"))?;
    if hash != format!("{:016x}", fnv1a(query.trim())) {
        return Err(bad("it belongs to another query"));
    }
    if offset > MAX_OFFSET {
        return Err(bad("past the furthest a cursor pages"));
    }
    Ok(offset)
}

/// FNV-1a, 64 bits: stable across runs and builds, which a cursor needs.
fn fnv1a(text: &str) -> u64 {
    text.bytes()
        .fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
