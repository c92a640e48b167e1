//! The attack rows of FAULTS.md (A1–A21) against the real binary, with an IDR-shaped
//! upstream that counts its calls. Every row is one request (or a few) and what must
//! come back; every row is also held to what holds for all of them: the process stays up
//! and keeps answering, every error carries `extensions.code`, a GraphQL answer keeps the
//! schema's promises, and a refused request costs IDR no call.

use idr_test_support::{Faults, ForcedStatus, ReplayServer, ResponseChecker};
use proptest::prelude::*;
use serde_json::Value;

use crate::{raw, request, Idr};

struct Target {
    replay: ReplayServer,
    idr: Idr,
    checker: ResponseChecker,
}

impl Target {
    fn new(extra: &[&str]) -> Target {
        let replay = ReplayServer::start(idr_test_support::load_fixtures(), Faults::default());
        let url = replay.url();
        let mut args = vec!["--upstream", url.as_str(), "--rate-limit", "1000"];
        args.extend_from_slice(extra);
        let idr = Idr::serve(&args);
        Target { replay, idr, checker: ResponseChecker::new(&idr_graphql::sdl()) }
    }

    /// Sends raw bytes; checks the rules every row shares; gives status and body.
    fn send(&mut self, row: &str, bytes: &[u8], calls: Calls) -> (u16, Value) {
        let before = self.replay.calls();
        let (status, head, body) = raw(&self.idr.addr, bytes);
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if head.contains("application/json") {
            for error in json["errors"].as_array().into_iter().flatten() {
                assert!(error["extensions"]["code"].is_string(), "{row}: uncoded error {error}");
            }
        }
        if calls == Calls::None {
            assert_eq!(self.replay.calls(), before, "{row}: a refused request called IDR");
        }
        self.assert_alive(row);
        (status, json)
    }

    /// POSTs a GraphQL document; also checks the answer against the schema.
    fn graphql(&mut self, row: &str, query: &str, calls: Calls) -> (u16, Value) {
        let body = serde_json::json!({"query": query}).to_string();
        let (status, json) = self.send(
            row,
            &request("POST", "/graphql", "application/json", body.as_bytes()),
            calls,
        );
        let broken = self.checker.violations(query, None, &json);
        assert!(broken.is_empty(), "{row}: {broken:#?}");
        (status, json)
    }

    /// GETs a GraphQL document (`?query=`).
    fn graphql_get(&mut self, row: &str, query: &str, calls: Calls) -> (u16, Value) {
        let target = format!("/graphql?query={}", encode(query));
        self.send(row, &request("GET", &target, "application/json", b""), calls)
    }

    fn assert_alive(&mut self, row: &str) {
        assert!(self.idr.alive(), "{row}: the server died");
        let (status, _, _) = raw(&self.idr.addr, &request("GET", "/healthz", "text/plain", b""));
        assert_eq!(status, 200, "{row}: the server stopped answering");
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Calls {
    /// A refused request: IDR sees nothing.
    None,
    /// The request may legitimately reach IDR.
    Any,
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn code(json: &Value) -> &str {
    json["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn refused(row: &str, target: &mut Target, query: &str, expect_code: &str) {
    for (status, json) in
        [target.graphql(row, query, Calls::None), target.graphql_get(row, query, Calls::None)]
    {
        if status == 414 || status == 431 {
            continue; // a GET over the URI cap, or over the head cap: refused before anything else
        }
        assert_eq!(code(&json), expect_code, "{row}: {status} {json}");
        assert_eq!(json["data"], Value::Null, "{row}: {json}");
    }
}

#[test]
fn attacks_on_the_graphql_endpoint() {
    let mut t = Target::new(&[]);
    // A1: one level deeper than the depth limit (15).
    let deep = format!(
        "{{ image(id: 122770) {{ {} name {} }} }}",
        "well { images { ".repeat(8),
        "} } ".repeat(8)
    );
    refused("A1", &mut t, &deep, "QUERY_TOO_DEEP");
    // A2: nested selections and inline fragments, and argument values nested 1,500 deep
    // (lists and input objects), which once overflowed the parser's stack.
    for n in [200, 1_000, 5_000] {
        let selections = format!("{}{}", "{a".repeat(n), "}".repeat(n));
        let code = if selections.len() > 16 * 1024 { "QUERY_TOO_LARGE" } else { "QUERY_TOO_DEEP" };
        refused("A2 selections", &mut t, &selections, code);
    }
    let inline = format!("{{ {} __typename {} }}", "... on Query { ".repeat(200), "} ".repeat(200));
    refused("A2 inline fragments", &mut t, &inline, "QUERY_TOO_DEEP");
    let lists = format!("{{ image(id: {}1{}) {{ id }} }}", "[".repeat(1_500), "]".repeat(1_500));
    refused("A2 lists", &mut t, &lists, "QUERY_TOO_DEEP");
    let objects = format!(
        "{{ searchImages(where: {}{{key: \"a\", value: \"b\"}}{}) {{ totalCount }} }}",
        "{not: ".repeat(1_500),
        "}".repeat(1_500)
    );
    refused("A2 objects", &mut t, &objects, "QUERY_TOO_DEEP");
    // A3: a fragment cycle.
    refused(
        "A3",
        &mut t,
        "fragment A on Screen { ...A } { screen(id: 102) { ...A } }",
        "GRAPHQL_VALIDATION_FAILED",
    );
    refused("A3 longer", &mut t, "fragment A on Screen { name ...B } fragment B on Screen { id ...A } { screen(id: 102) { ...A } }", "GRAPHQL_VALIDATION_FAILED");
    // A4: aliases of an upstream-backed field, also hidden in named fragments.
    let aliases = |n: usize| {
        (0..n).map(|i| format!("a{i}: image(id: 122770) {{ name }}")).collect::<Vec<_>>().join(" ")
    };
    refused("A4 1,000 aliases", &mut t, &format!("{{ {} }}", aliases(1_000)), "QUERY_TOO_LARGE");
    refused("A4 31 aliases", &mut t, &format!("{{ {} }}", aliases(31)), "QUERY_TOO_COMPLEX");
    let fields = (0..20).map(|i| format!("a{i}: name")).collect::<Vec<_>>().join(" ");
    let hidden = format!("fragment F on Image {{ {fields} }} {{ x: image(id: 122770) {{ ...F }} y: image(id: 122770) {{ ...F }} }}");
    refused("A4 in fragments", &mut t, &hidden, "QUERY_TOO_COMPLEX");
    // A5: field duplication ×4,000.
    refused("A5", &mut t, &format!("{{ {} }}", "__typename ".repeat(4_000)), "QUERY_TOO_LARGE");
    // A6: 5,000 directives; 11 directives under the size cap.
    refused(
        "A6 5,000",
        &mut t,
        &format!("{{ __typename {} }}", "@include(if: true) ".repeat(5_000)),
        "QUERY_TOO_LARGE",
    );
    refused(
        "A6 11",
        &mut t,
        &format!("{{ screen(id: 102) {{ name {} }} }}", "@include(if: true) ".repeat(11)),
        "GRAPHQL_VALIDATION_FAILED",
    );
    // A8: a typo gets no suggestion; introspection works (and is depth-limited).
    let (_, json) = t.graphql("A8 typo", "{ scren(id: 1) { name } }", Calls::None);
    assert!(!json.to_string().contains("Did you mean"), "A8: {json}");
    let (_, json) = t.graphql(
        "A8 introspection",
        "{ __schema { queryType { name } types { name } } }",
        Calls::None,
    );
    assert_eq!(json["data"]["__schema"]["queryType"]["name"], "Query");
    // A9: `first` far out of range, at the root and nested.
    refused("A9 root", &mut t, "{ screens(first: 1000000) { totalCount } }", "QUERY_TOO_COMPLEX");
    refused(
        "A9 nested",
        &mut t,
        "{ screen(id: 102) { plates(first: 101) { totalCount } } }",
        "BAD_USER_INPUT",
    );
    refused(
        "A9 zero",
        &mut t,
        "{ screen(id: 102) { plates(first: 0) { totalCount } } }",
        "BAD_USER_INPUT",
    );
    // A10: huge offsets (a forged cursor), negative ids, ids past i64.
    refused(
        "A10 offset",
        &mut t,
        r#"{ screens(after: "bzoyMDAwMDAwMDAw") { totalCount } }"#,
        "BAD_USER_INPUT",
    );
    refused("A10 negative", &mut t, r#"{ image(id: "-5") { name } }"#, "BAD_USER_INPUT");
    refused(
        "A10 huge",
        &mut t,
        r#"{ image(id: "99999999999999999999") { name } }"#,
        "BAD_USER_INPUT",
    );
    refused(
        "A10 nested",
        &mut t,
        r#"{ screen(id: 102) { plates { nodes { images { thumbnailUrl(size: 5000) } } } } }"#,
        "BAD_USER_INPUT",
    );
    // A14: GET runs queries only; the schema has no mutations.
    refused("A14 mutation over GET", &mut t, "mutation { x }", "GRAPHQL_VALIDATION_FAILED");
    // A20: an upstream 500 with a Python stack trace reaches the client as a generic,
    // coded message: no trace, no URL, no internal names.
    t.replay.set_faults(Faults {
        status: Some(ForcedStatus {
            path_contains: "/webclient/imgData/".to_owned(),
            status: 500,
            times: None,
        }),
        ..Faults::default()
    });
    let (_, json) = t.graphql("A20", "{ image(id: 122770) { name } }", Calls::Any);
    assert_eq!(code(&json), "UPSTREAM_UNAVAILABLE", "A20: {json}");
    let text = json.to_string();
    for leak in ["127.0.0.1", "imgData", "Traceback", "forced", "replay"] {
        assert!(!text.contains(leak), "A20: `{leak}` leaked: {text}");
    }
}

#[test]
fn attacks_on_the_http_layer() {
    let mut t = Target::new(&[]);
    // A7: a batch of 100 operations.
    let batch = format!("[{}]", vec![r#"{"query": "{ __typename }"}"#; 100].join(","));
    let (status, json) = t.send(
        "A7",
        &request("POST", "/graphql", "application/json", batch.as_bytes()),
        Calls::None,
    );
    assert_eq!((status, code(&json)), (400, "BAD_REQUEST"), "A7");
    // A11: a 10 MB body, and 1 MB of variables: 413 from the body limit.
    let big = vec![b'x'; 10 * 1024 * 1024];
    let (status, _) =
        t.send("A11 body", &request("POST", "/graphql", "application/json", &big), Calls::None);
    assert_eq!(status, 413, "A11 body");
    let variables = format!(
        r#"{{"query": "{{ __typename }}", "variables": {{"v": "{}"}}}}"#,
        "a".repeat(1024 * 1024)
    );
    let (status, _) = t.send(
        "A11 variables",
        &request("POST", "/graphql", "application/json", variables.as_bytes()),
        Calls::None,
    );
    assert_eq!(status, 413, "A11 variables");
    // A11b: variables nested deeper than any document may (before serde recurses).
    let deep = format!(
        r#"{{"query": "query($v: ID) {{ image(id: $v) {{ id }} }}", "variables": {{"v": {}{}}}}}"#,
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let (status, json) = t.send(
        "A11 deep variables",
        &request("POST", "/graphql", "application/json", deep.as_bytes()),
        Calls::None,
    );
    assert_eq!((status, code(&json)), (400, "QUERY_TOO_DEEP"), "A11 deep variables: {json}");
    let get = format!(
        "/graphql?query={}&variables={}",
        encode("query($v: ID) { image(id: $v) { id } }"),
        encode(&"[".repeat(1_000))
    );
    let (status, json) =
        t.send("A11 deep GET variables", &request("GET", &get, "text/plain", b""), Calls::None);
    assert_eq!((status, code(&json)), (400, "QUERY_TOO_DEEP"), "A11 deep GET variables: {json}");
    // A12: a 20 KB GET query string.
    let long = format!("/graphql?query={}", "a".repeat(20 * 1024));
    let (status, _) = t.send("A12", &request("GET", &long, "text/plain", b""), Calls::None);
    assert_eq!(status, 414, "A12");
    // A13: malformed JSON, bytes that are not UTF-8, an empty body, a wrong type.
    for (row, body) in [
        ("A13 malformed", &b"{not json"[..]),
        ("A13 non-UTF-8", b"{\"query\": \"\xff\xfe\"}"),
        ("A13 empty", b""),
    ] {
        let (status, json) =
            t.send(row, &request("POST", "/graphql", "application/json", body), Calls::None);
        assert_eq!((status, code(&json)), (400, "BAD_REQUEST"), "{row}: {json}");
    }
    let (status, json) =
        t.send("A13 number", &request("POST", "/graphql", "application/json", b"42"), Calls::None);
    assert_eq!((status, code(&json)), (400, "BAD_REQUEST"), "A13 number: {json}");
    // A14: a cross-site "simple" POST.
    let (status, json) = t.send(
        "A14",
        &request("POST", "/graphql", "text/plain", br#"{"query": "{ __typename }"}"#),
        Calls::None,
    );
    assert_eq!((status, code(&json)), (415, "BAD_REQUEST"), "A14");
    // A15: thumbnail ids that are not ids.
    for bad in [
        "..%2Fx",
        "1;2",
        "%2e%2e",
        "1000000000000000000000000000000",
        "-5",
        "0",
        "http:%2F%2Fevil",
        "1.0",
    ] {
        let (status, _) = t.send(
            "A15",
            &request("GET", &format!("/thumbnails/{bad}"), "text/plain", b""),
            Calls::None,
        );
        assert_eq!(status, 400, "A15 {bad}");
    }
    let (status, _) = t.send(
        "A15 size",
        &request("GET", "/thumbnails/1884807?size=5", "text/plain", b""),
        Calls::None,
    );
    assert_eq!(status, 400, "A15 size");
}

#[test]
fn attacks_through_idr_ql() {
    let mut t = Target::new(&[]);
    // A16: strings that try to break out of the compiled GraphQL.
    for text in [
        r#"images where "Gene Symbol" = "a\"} __schema { types { name } } #""#,
        "images where name = \"}}}}]]]\\\\\"",
        "images where \"Gene Symbol\" = \"ü\u{0}🧬\"",
    ] {
        let (status, json) = t.send(
            "A16",
            &request("POST", "/ql", "application/x-idr-ql", text.as_bytes()),
            Calls::Any,
        );
        assert!(status == 200 || status == 400, "A16 {text}: {status} {json}");
        assert!(!json.to_string().contains("__Type"), "A16: injected selection answered: {json}");
    }
    // A17: 100,000 `(`, and deep text through JSON.
    let deep = format!("images where {}", "(".repeat(100_000));
    let (status, json) = t.send(
        "A17",
        &request("POST", "/ql", "application/x-idr-ql", deep.as_bytes()),
        Calls::None,
    );
    assert_eq!(status, 400, "A17: {json}");
    assert!(
        json.to_string().contains("too-deep") || json.to_string().contains("too-long"),
        "A17: {json}"
    );
    let body = serde_json::json!({"query": format!("images where {}a = b{}", "(".repeat(3_000), ")".repeat(3_000))}).to_string();
    let (status, _) = t.send(
        "A17 JSON",
        &request("POST", "/ql", "application/json", body.as_bytes()),
        Calls::None,
    );
    assert_eq!(status, 400, "A17 JSON");
}

#[test]
fn deep_text_through_the_command_line_front_ends() {
    // `idr compile` and `idr query`: a diagnostic and exit 1, never a crash.
    // 3,000 levels: deep, yet inside the 8 KiB an IDR-QL query may have.
    let deep = format!("images where {}a = b{}", "(".repeat(3_000), ")".repeat(3_000));
    for args in [
        vec!["compile", deep.as_str()],
        vec!["query", deep.as_str(), "--offline"],
        vec!["check", "-"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            let _ = stdin.write_all(deep.as_bytes());
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{:?}: {}",
            &args[0],
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("too-deep"), "{:?}", &args[0]);
    }
}

#[test]
fn ansi_escapes_never_reach_the_log_raw() {
    // A21: a query carrying escape sequences, through to a failing upstream call whose
    // request (and so the log line) holds the text.
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults {
            status: Some(ForcedStatus {
                path_contains: "/searchengine/".to_owned(),
                status: 500,
                times: None,
            }),
            ..Faults::default()
        },
    );
    let idr = Idr::serve_logged(&["--upstream", &replay.url()], "debug");
    let query = "{ searchImages(where: {key: \"Gene Symbol\", value: \"\\u001b[31mred\\u001b]0;title\\u0007\"}) { totalCount } }";
    let body = serde_json::json!({"query": query}).to_string();
    let (status, _, _) =
        raw(&idr.addr, &request("POST", "/graphql", "application/json", body.as_bytes()));
    assert_eq!(status, 200);
    // Logged before the answer was sent.
    let log = idr.log();
    assert!(log.contains("upstream call failed"), "{log}");
    assert!(
        !log.contains('\u{1b}') && !log.contains('\u{7}'),
        "raw control characters in the log:\n{log}"
    );
}

/// GraphQL documents up to the size cap, in shapes that stress recursion: deep lists,
/// objects, selections, inline fragments, fragment chains, directives and strings full of
/// brackets. None may crash the server or cost an upstream call when refused.
fn hostile_document() -> impl Strategy<Value = String> {
    let depth = 1usize..3_000;
    prop_oneof![
        depth.clone().prop_map(|n| format!(
            "{{ image(id: {}1{}) {{ id }} }}",
            "[".repeat(n),
            "]".repeat(n)
        )),
        depth.clone().prop_map(|n| format!(
            "{{ searchImages(where: {}{{key: \"a\", value: \"b\"}}{}) {{ totalCount }} }}",
            "{any: [".repeat(n),
            "]}".repeat(n)
        )),
        depth.clone().prop_map(|n| format!("{}{}", "{a".repeat(n), "}".repeat(n))),
        depth.clone().prop_map(|n| format!(
            "{{ {} __typename {} }}",
            "... on Query { ".repeat(n),
            "} ".repeat(n)
        )),
        (1usize..600).prop_map(|n| {
            let chain: String =
                (0..n).map(|i| format!("fragment F{i} on Query {{ ...F{} }} ", i + 1)).collect();
            format!("{{ ...F0 }} {chain} fragment F{n} on Query {{ __typename }}")
        }),
        (1usize..2_000).prop_map(|n| format!("{{ __typename {} }}", "@skip(if: false) ".repeat(n))),
        // Fragments that each spread the next one twice: 2^n selections in n lines.
        (1usize..120).prop_map(|n| {
            let chain: String = (0..n)
                .map(|i| format!("fragment F{i} on Query {{ ...F{} ...F{} }} ", i + 1, i + 1))
                .collect();
            format!("{{ ...F0 }} {chain} fragment F{n} on Query {{ __typename }}")
        }),
        (depth, "[\\[\\]{}()\"\\\\]{0,40}").prop_map(|(n, noise)| format!(
            "{{ screen(id: \"{}{}\") {{ name }} }} # {noise}",
            "[{(".repeat(n / 3),
            noise.replace(['"', '\\'], "")
        )),
        "[\\[\\]{}()a-z: \"#\\\\\n]{0,4000}",
    ]
    .prop_map(|mut text| {
        // Every shape above is ASCII, so any byte is a character boundary.
        text.truncate(16 * 1024 + 100);
        text
    })
}

#[test]
fn generated_hostile_documents_never_crash_the_server() {
    let t = std::cell::RefCell::new(Target::new(&[]));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 48,
        ..ProptestConfig::default()
    });
    runner
        .run(&hostile_document(), |query| {
            let t = &mut *t.borrow_mut();
            let body = serde_json::json!({"query": query}).to_string();
            let bytes = request("POST", "/graphql", "application/json", body.as_bytes());
            let before = t.replay.calls();
            let (status, json) = t.send("generated", &bytes, Calls::Any);
            prop_assert!(status == 200 || status == 400, "{}: {}", status, json);
            if json["data"].is_null() {
                // Refused: IDR saw nothing of it.
                prop_assert_eq!(t.replay.calls(), before);
            }
            let (status, _) = t.graphql_get("generated GET", &query, Calls::Any);
            prop_assert!([200, 400, 414, 431].contains(&status), "GET: {}", status);
            Ok(())
        })
        .unwrap();
}
