//! The MCP server, started as `idr mcp` and spoken to in MCP's JSON-RPC (one JSON object
//! a line) over its real stdin and stdout, as an agent's client does: offline on the
//! recordings, and against a generated IDR where the recordings are too small.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

use idr_test_support::{Faults, Kind, ReplayServer, Settings, Size, World};
use serde_json::{json, Value};

use crate::repo_root;

struct Mcp {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next_id: i64,
}

impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Mcp {
    /// `idr mcp ARGS…`, initialized as a client does it (protocol 2025-06-18).
    fn start(args: &[&str]) -> (Mcp, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .arg("mcp")
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("idr mcp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut mcp = Mcp { child, stdin, lines, next_id: 1 };
        let init = mcp.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "e2e", "version": "1"},
            }),
        );
        mcp.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        (mcp, init)
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Sends a request and returns its response (`result` or `error`), skipping
    /// notifications and logging on the way. Every line on stdout must be JSON-RPC.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = match self.lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method} in 60 s"),
                Err(RecvTimeoutError::Disconnected) => panic!("idr mcp exited during {method}"),
            };
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "{line}");
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// Calls a tool: its `structuredContent`, and whether it is an error.
    fn call(&mut self, tool: &str, arguments: Value) -> (Value, bool) {
        let response = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        let result = &response["result"];
        assert!(result.is_object(), "{tool}: {response}");
        // The text content is the same JSON, for clients that read only text.
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        let structured = result["structuredContent"].clone();
        assert_eq!(serde_json::from_str::<Value>(text).ok().as_ref(), Some(&structured));
        (structured, result["isError"] == json!(true))
    }
}

fn ids(rows: &Value) -> Vec<String> {
    rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn initialize_list_tools_and_run_idr_ql_offline() {
    let (mut mcp, init) = Mcp::start(&["--offline"]);
    let result = &init["result"];
    assert_eq!(result["serverInfo"]["name"], "idr-graph", "{init}");
    assert_eq!(result["protocolVersion"], "2025-06-18");
    assert!(
        result["capabilities"]["tools"].is_object()
            && result["capabilities"]["resources"].is_object()
    );
    assert!(result["instructions"]
        .as_str()
        .unwrap()
        .contains("images where \"Gene Symbol\" = ade8"));

    let tools = mcp.request("tools/list", json!({}));
    let tools = tools["result"]["tools"].as_array().unwrap();
    let names: BTreeSet<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["describe", "get_plate", "graphql", "run_idr_ql"]));
    for tool in tools {
        let description = tool["description"].as_str().unwrap();
        // Each teaches by example, and declares its arguments and that it only reads.
        assert!(description.contains('`') && description.len() > 200, "{tool}");
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert_eq!(tool["annotations"]["readOnlyHint"], true, "{tool}");
    }
    let run = tools.iter().find(|t| t["name"] == "run_idr_ql").unwrap();
    assert_eq!(run["inputSchema"]["required"], json!(["query"]));
    let max_rows = &run["inputSchema"]["properties"]["max_rows"];
    assert_eq!((max_rows["minimum"].as_u64(), max_rows["maximum"].as_u64()), (Some(1), Some(500)));
    assert!(run["description"].as_str().unwrap().contains("`images where \"Gene Symbol\" = ade8`"));

    // The 41 ade8 images of the recordings.
    let (answer, error) =
        mcp.call("run_idr_ql", json!({"query": "images where \"Gene Symbol\" = ade8"}));
    assert!(!error, "{answer}");
    assert_eq!(answer["rowCount"], 41, "{answer}");
    let all = ids(&answer["rows"]);
    assert_eq!(all.len(), 41);
    assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), 41);
    assert_eq!(all[0], "15573");
    assert!(answer.get("nextCursor").is_none(), "{answer}");
    assert_eq!(answer["columns"], json!(["id", "name"]));
    assert!(answer["graphql"].as_str().unwrap().contains("searchImages"));

    // A typo: the diagnostic, with its span and a did-you-mean, and no rows.
    let (answer, error) =
        mcp.call("run_idr_ql", json!({"query": "imagez where \"Gene Symbol\" = ade8"}));
    assert!(error, "{answer}");
    let d = &answer["diagnostics"][0];
    assert_eq!(d["code"], "unknown-resource", "{answer}");
    assert_eq!(d["span"], json!({"start": 0, "end": 6}));
    assert_eq!(d["help"], "did you mean `images`?");
    assert!(answer["rendered"].as_str().unwrap().contains("^^^^^^"), "{answer}");
    assert!(answer.get("rows").is_none());
    // An unknown key is a warning: the query still runs (and finds nothing).
    let (answer, error) =
        mcp.call("run_idr_ql", json!({"query": "images where \"Gene Symbl\" = ade8"}));
    assert!(answer["warnings"][0]["help"].as_str().unwrap().contains("Gene Symbol"), "{answer}");
    let _ = error;
    let (answer, error) = mcp.call("run_idr_ql", json!({"query": "  # nothing"}));
    assert!(error && answer["error"].as_str().unwrap().contains("empty"), "{answer}");
    // Two queries in one call are refused with a reason.
    let (answer, error) = mcp.call("run_idr_ql", json!({"query": "screens; plates in screen 102"}));
    assert!(error && answer["error"].as_str().unwrap().contains("one query per call"), "{answer}");
}

/// Rows come `max_rows` at a time; following `nextCursor` gives every row once, in order.
#[test]
fn rows_are_bounded_and_a_cursor_continues() {
    let (mut mcp, _) = Mcp::start(&["--offline"]);
    let query = "images where \"Gene Symbol\" = ade8";
    let (whole, _) = mcp.call("run_idr_ql", json!({"query": query, "max_rows": 500}));
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut calls = 0;
    loop {
        let (answer, error) =
            mcp.call("run_idr_ql", json!({"query": query, "max_rows": 10, "cursor": cursor}));
        assert!(!error, "{answer}");
        assert!(answer["rowCount"].as_u64().unwrap() <= 10);
        assert_eq!(answer["offset"], seen.len());
        seen.extend(ids(&answer["rows"]));
        calls += 1;
        match answer.get("nextCursor") {
            Some(next) => cursor = next.clone(),
            None => break,
        }
    }
    assert_eq!(calls, 5, "41 rows, 10 at a time");
    assert_eq!(seen, ids(&whole["rows"]));
    // A query's own limit is kept across pages.
    let (answer, _) =
        mcp.call("run_idr_ql", json!({"query": format!("{query} limit 12"), "max_rows": 10}));
    let next = answer["nextCursor"].clone();
    let (answer, _) = mcp.call(
        "run_idr_ql",
        json!({"query": format!("{query} limit 12"), "max_rows": 10, "cursor": next}),
    );
    assert_eq!(answer["rowCount"], 2, "{answer}");
    assert!(answer.get("nextCursor").is_none());
    // A cursor of another query, or not a cursor at all, is refused with the way out.
    for bad in [cursor_of(&mut mcp, query), json!("nonsense")] {
        let (answer, error) =
            mcp.call("run_idr_ql", json!({"query": "wells in plate 4554", "cursor": bad}));
        assert!(
            error && answer["error"].as_str().unwrap().starts_with("invalid cursor"),
            "{answer}"
        );
    }
    // max_rows is 1 to 500, as its schema says: another number is an error that says so,
    // not a silent clamp.
    for wrong in [0, 501, 100_000] {
        let (answer, error) =
            mcp.call("run_idr_ql", json!({"query": "wells in plate 4554", "max_rows": wrong}));
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(error && message.contains("max_rows is 1 to 500"), "{wrong}: {answer}");
    }
}

fn cursor_of(mcp: &mut Mcp, query: &str) -> Value {
    let (answer, _) = mcp.call("run_idr_ql", json!({"query": query, "max_rows": 1}));
    answer["nextCursor"].clone()
}

#[test]
fn resources_describe_get_plate_and_graphql_offline() {
    let (mut mcp, _) = Mcp::start(&["--offline"]);
    let list = mcp.request("resources/list", json!({}));
    let uris: Vec<&str> = list["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(uris, ["idr://schema/idr.graphql", "idr://docs/idr-ql.md"]);
    let read = |mcp: &mut Mcp, uri: &str| {
        let answer = mcp.request("resources/read", json!({"uri": uri}));
        answer["result"]["contents"][0].clone()
    };
    let sdl = read(&mut mcp, "idr://schema/idr.graphql");
    let fresh = std::fs::read_to_string(repo_root().join("schema/idr.graphql")).unwrap();
    assert_eq!(sdl["text"].as_str(), Some(fresh.as_str()));
    assert_eq!(sdl["mimeType"], "application/graphql");
    let doc = read(&mut mcp, "idr://docs/idr-ql.md");
    let docs = std::fs::read_to_string(repo_root().join("docs/idr-ql.md")).unwrap();
    assert_eq!(doc["text"].as_str(), Some(docs.as_str()));
    let missing = mcp.request("resources/read", json!({"uri": "idr://nothing"}));
    assert!(
        missing["error"]["message"].as_str().unwrap().contains("idr://docs/idr-ql.md"),
        "{missing}"
    );

    // describe: the keys and fields of images, and a key's values with counts.
    let (keys, error) = mcp.call("describe", json!({}));
    assert!(!error, "{keys}");
    assert!(keys["keys"].as_array().unwrap().contains(&json!("Gene Symbol")), "{keys}");
    let fields: Vec<&str> = keys["showFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"genes") && fields.contains(&"phenotypes"), "{fields:?}");
    let (values, error) = mcp.call("describe", json!({"key": "Gene Symbol", "max_values": 3}));
    assert!(!error, "{values}");
    // (How many values the recording holds is a placeholder: only that there are more.)
    assert!(values["valueCount"].as_u64().unwrap() > 3, "{values}");
    assert_eq!(values["values"].as_array().unwrap().len(), 3);
    assert!(values["truncated"].is_string());
    let (all, _) = mcp.call("describe", json!({"key": "Gene Symbol"}));
    let ade8 = all["values"].as_array().unwrap().iter().find(|v| v["value"] == "ade8").cloned();
    assert_eq!(ade8, Some(json!({"value": "ade8", "count": 41})));
    // Datasets and studies have no catalog of keys: their fields, and why; a key's values
    // there is an error that says where to ask instead.
    let (answer, error) = mcp.call("describe", json!({"resource": "studies"}));
    assert!(!error && answer.get("keys").is_none(), "{answer}");
    assert!(answer["showFields"].as_array().unwrap().iter().any(|f| f["name"] == "publication"));
    let (answer, error) = mcp.call("describe", json!({"resource": "datasets", "key": "x"}));
    assert!(error && answer["error"].as_str().unwrap().contains("no catalog"), "{answer}");
    let (answer, error) = mcp.call("describe", json!({"resource": "cells"}));
    assert!(error && answer["error"].as_str().unwrap().contains("not a resource"), "{answer}");

    // get_plate: the 8 × 12 grid of plate 4554, each well with its image. The recordings
    // hold no well annotations: that is said, once, and the grid is still there.
    let (plate, error) = mcp.call("get_plate", json!({"plate_id": 4554}));
    assert!(!error, "{plate}");
    assert_eq!(plate["plate"]["name"], "plate3_8_010");
    assert_eq!(
        (plate["plate"]["rows"].clone(), plate["plate"]["columns"].clone()),
        (json!(8), json!(12))
    );
    assert_eq!(plate["wells"].as_array().unwrap().len(), 96);
    assert_eq!(plate["wells"][0]["well"], "A1");
    assert_eq!(plate["wells"][0]["images"], json!(["1938559"]));
    assert!(plate.get("nextWellOffset").is_none(), "96 wells fit one answer");
    // The id as text or as a global id is the same plate; anything else is refused.
    for id in [json!("4554"), json!("Plate:4554")] {
        let (same, error) = mcp.call("get_plate", json!({"plate_id": id}));
        assert!(!error && same["plate"]["name"] == "plate3_8_010", "{same}");
    }
    let (answer, error) = mcp.call("get_plate", json!({"plate_id": "Screen:102"}));
    assert!(error && answer["error"].as_str().unwrap().contains("not a plate id"), "{answer}");
    // The id as it was given, not as Rust sees it.
    let (answer, _) = mcp.call("get_plate", json!({"plate_id": "abc"}));
    assert!(answer["error"].as_str().unwrap().starts_with("\"abc\" is not a plate id"), "{answer}");
    // Past the first wells: the rest of the list, the grid still whole.
    let (rest, _) = mcp.call("get_plate", json!({"plate_id": 4554, "well_offset": 90}));
    assert_eq!(rest["wells"].as_array().unwrap().len(), 6);
    assert_eq!(rest["wells"][0]["well"], plate["wells"][90]["well"]);
    assert_eq!(rest["phenotypeGrid"], plate["phenotypeGrid"]);
    let grid = plate["phenotypeGrid"].as_array().unwrap();
    assert_eq!(grid.len(), 9);
    assert_eq!(grid[1], "A  .  .  .  .  .  .  .  .  .  .  .  .");
    // Not recorded: the plate's screen, and the wells' annotations, said once for all wells.
    let errors = plate["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors.iter().all(|e| e["extensions"]["code"] == "NOT_RECORDED"), "{errors:?}");
    let wells =
        errors.iter().find(|e| e["message"].as_str().unwrap().contains("well=1046853")).unwrap();
    assert!(wells["times"].as_u64().unwrap() >= 96, "{wells}");
    // Offline, a plate not recorded cannot be known missing: the error says which.
    let (missing, error) = mcp.call("get_plate", json!({"plate_id": 999999999}));
    assert!(error && missing["error"] == "IDR could not give plate 999999999", "{missing}");
    assert_eq!(missing["errors"][0]["extensions"]["code"], "NOT_RECORDED");

    // graphql: read-only, under the server's limits.
    let (answer, error) =
        mcp.call("graphql", json!({"query": "{ screen(id: 102) { idrId name } }"}));
    assert!(!error, "{answer}");
    assert_eq!(
        answer["data"]["screen"],
        json!({"idrId": "102", "name": "idr0002-heriche-condensation/screenA"})
    );
    let (answer, error) = mcp.call(
        "graphql",
        json!({"query": "query($id: ID!) { plate(id: $id) { name } }", "variables": {"id": "4554"}}),
    );
    assert!(!error && answer["data"]["plate"]["name"] == "plate3_8_010", "{answer}");
    let (answer, error) = mcp.call("graphql", json!({"query": "mutation { x }"}));
    assert!(error, "{answer}");
    let deep = format!(
        "{{ screen(id: 102) {{ {}name{} }} }}",
        "plates { nodes { screen { ".repeat(10),
        " } } }".repeat(10)
    );
    let (answer, error) = mcp.call("graphql", json!({"query": deep}));
    assert!(error, "{answer}");
    // Refused by the server's limits before any upstream call.
    let code = answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default();
    assert!(["QUERY_TOO_DEEP", "QUERY_TOO_COMPLEX"].contains(&code), "{answer}");
    assert_eq!(answer["extensions"]["cost"]["upstreamCalls"], 0);
}

/// Against a generated IDR (the recordings hold no gene or phenotype on a plate's wells):
/// `get_plate` gives every well the genes and phenotype accessions of its own and its
/// images' curated annotations, and `run_idr_ql` the rows the binary's `--upstream` finds.
#[test]
fn get_plate_summarises_genes_and_phenotypes_per_well() {
    let size = Size { screens: 1, plates: 1, projects: 1, datasets: 1, images: 4, ..Size::small() };
    let world = Arc::new(World::generate(31, size, Settings::default()));
    let server = ReplayServer::start(world.clone(), Faults::default());
    let (mut mcp, _) = Mcp::start(&["--upstream", &server.url()]);
    let (&plate_id, plate) = world.plates.iter().next().unwrap();
    let (answer, error) = mcp.call("get_plate", json!({"plate_id": plate_id}));
    assert!(!error && answer.get("errors").is_none(), "{answer}");
    assert_eq!(answer["plate"]["wells"], plate.wells.len());
    let curated = |kind: Kind, id: u64, ns: &str, key: &str| -> Vec<String> {
        world
            .map_annotations_of(kind, id)
            .into_iter()
            .filter(|a| a.ns.as_deref() == Some(ns))
            .flat_map(|a| {
                a.pairs
                    .iter()
                    .filter(|(k, v)| k == key && !v.is_empty())
                    .map(|(_, v)| v.to_lowercase())
            })
            .collect()
    };
    let mut with_genes = 0;
    let mut with_phenotypes = 0;
    for well in answer["wells"].as_array().unwrap() {
        let label = well["well"].as_str().unwrap();
        let id = plate
            .wells
            .iter()
            .copied()
            .find(|w| {
                let w = &world.wells[w];
                well["row"] == w.row && well["column"] == w.column
            })
            .unwrap_or_else(|| panic!("no well at {label}"));
        let sources: Vec<(Kind, u64)> = std::iter::once((Kind::Well, id))
            .chain(world.wells[&id].images.iter().flatten().map(|i| (Kind::Image, *i)))
            .collect();
        let want = |ns: &str, key: &str| -> BTreeSet<String> {
            sources.iter().flat_map(|(k, i)| curated(*k, *i, ns, key)).collect()
        };
        let got_genes: BTreeSet<String> = well["genes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g.as_str().unwrap().to_lowercase())
            .collect();
        assert_eq!(got_genes, want("openmicroscopy.org/mapr/gene", "Gene Symbol"), "{label}");
        let got_accessions: BTreeSet<String> = well["phenotypes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["accession"].as_str().unwrap().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        assert_eq!(
            got_accessions,
            want("openmicroscopy.org/mapr/phenotype", "Phenotype Term Accession"),
            "{label}"
        );
        with_genes += usize::from(!got_genes.is_empty());
        with_phenotypes += usize::from(!got_accessions.is_empty());
    }
    assert!(with_genes > 0 && with_phenotypes > 0, "the world has biology to find");
    assert_eq!(answer["wellsWithGenes"], with_genes);
    assert_eq!(answer["wellsWithPhenotypes"], with_phenotypes);
    let (missing, error) = mcp.call("get_plate", json!({"plate_id": 999_999_999}));
    assert!(error && missing["error"] == "IDR has no plate 999999999", "{missing}");
    // The grid counts each well's phenotypes where the well is.
    let grid = answer["phenotypeGrid"].as_array().unwrap();
    assert_eq!(grid.len() as u64, answer["plate"]["rows"].as_u64().unwrap() + 1);
}
