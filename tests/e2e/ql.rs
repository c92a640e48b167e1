//! The IDR-QL command-line front ends and `POST /ql`, run as the real binary.

use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::Idr;

fn idr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idr"))
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("idr runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A scratch file, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str, contents: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("idr-e2e-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Scratch(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_graphql_runs_on_the_server() {
    let out = idr(&["compile", r#"images where "Gene Symbol" = ade8"#]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let graphql = text(&out.stdout);
    assert!(graphql.contains("searchImages"), "{graphql}");
    let server = Idr::serve(&["--offline"]);
    let resp = Idr::client()
        .post(format!("{}/graphql", server.base))
        .json(&json!({"query": graphql, "variables": {"after": null}}))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["searchImages"]["totalCount"], 41, "{body}");
    assert_eq!(body["data"]["searchImages"]["nodes"].as_array().unwrap().len(), 41);
}

#[test]
fn compile_errors_go_to_stderr_with_a_position() {
    let out = idr(&["compile", r#"images where "Gene Symbol" = "#]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error[expected-value]") && stderr.contains("<query>:1:"), "{stderr}");
    assert!(!stderr.contains("\x1b["), "no colour when not on a terminal");
}

#[test]
fn check_reports_every_query_of_a_file() {
    let file = Scratch::new("check.idrql", "plates in screen 102\nimages where \"Gene Symbol\" =\nscreens in plate 4\nwells in plate 4554 show label\n");
    let out = idr(&["check", file.path()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{}:2:", file.path())), "{stderr}");
    assert!(stderr.contains(&format!("{}:3:", file.path())), "{stderr}");
    assert!(
        !stderr.contains(&format!("{}:1:", file.path()))
            && !stderr.contains(&format!("{}:4:", file.path())),
        "{stderr}"
    );
    let clean = Scratch::new("clean.idrql", "plates in screen 102\n");
    assert!(idr(&["check", clean.path()]).status.success());
}

#[test]
fn fmt_is_idempotent_and_check_mode_reports() {
    let file =
        Scratch::new("fmt.idrql", "IMAGES   where \"Gene Symbol\"=ade8  show name,thumbnail\n");
    assert_eq!(idr(&["fmt", "--check", file.path()]).status.code(), Some(1));
    assert!(idr(&["fmt", file.path()]).status.success());
    let once = std::fs::read_to_string(&file.0).unwrap();
    assert!(idr(&["fmt", file.path()]).status.success());
    assert_eq!(std::fs::read_to_string(&file.0).unwrap(), once);
    assert!(idr(&["fmt", "--check", file.path()]).status.success());
}

#[test]
fn query_prints_rows_offline() {
    let out = idr(&[
        "query",
        r#"images where "Gene Symbol" = ade8 show "Gene Symbol" limit 3"#,
        "--offline",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["id,Gene Symbol", "15573,ADE8", "15574,ADE8", "15575,ADE8"]
    );
    let out = idr(&["query", "wells in plate 4554 show label", "--offline", "--format", "json"]);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = &answer[0]["rows"];
    assert_eq!(answer[0]["query"], "wells in plate 4554 show label");
    assert_eq!(rows.as_array().unwrap().len(), 96);
    assert_eq!(rows[95], json!({"id": "1046872", "label": "H12"}));
}

/// Objects by id: the query may follow `--offline` directly; the objects found are
/// printed and every id that names none is an error of its own, never silently dropped.
#[test]
fn lookups_print_what_was_found_and_name_what_was_not() {
    let out = idr(&["query", "--offline", "image 122770 show size"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.lines().any(|l| l.starts_with("122770") && l.contains("696")), "{table}");

    let out = idr(&["query", "--offline", "--format", "json", "images 122770, 999999999, 122770"]);
    assert!(!out.status.success());
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&Value> = answer[0]["rows"].as_array().unwrap().iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, [&json!("122770"), &json!("122770")], "order and repeats kept");
    let errors = answer[0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["extensions"], json!({"code": "NOT_FOUND", "id": "999999999"}));
    assert!(text(&out.stderr).contains("error[NOT_FOUND]: IDR has no image 999999999"));

    // An entry IDR could not give (image 5 is not recorded) fails its place only, with
    // its own error at its index, and is not also called missing.
    let out = idr(&["query", "--offline", "--format", "json", "images 5, 122770"]);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids_of(&answer[0]["rows"]), ["122770"]);
    let errors = answer[0]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["path"], json!(["images", 0]));
    assert_eq!(errors[0]["extensions"]["code"], "NOT_RECORDED");

    // Screens, projects and datasets go through `nodes`: the same for them.
    let out = idr(&["query", "--offline", "--format", "json", "screens 102, 999999999"]);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer[0]["rows"],
        json!([{"id": "102", "name": "idr0002-heriche-condensation/screenA"}])
    );
    assert_eq!(answer[0]["errors"][0]["message"], "IDR has no screen 999999999");
}

/// The same failure of every row is said once, with how many fields met it, not once a row.
#[test]
fn a_failure_of_every_row_is_reported_once() {
    let out = idr(&["query", "--offline", "wells in plate 4554 show genes"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error[")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("error[NOT_RECORDED]") && lines[0].ends_with("fields)"),
        "{stderr}"
    );
}

fn ids_of(rows: &Value) -> Vec<&str> {
    rows.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect()
}

/// JSON output has one shape, a list of `{query, rows}`, for one query or several; lists
/// stay lists (never joined into text, which `;` in IDR's values would make ambiguous).
#[test]
fn json_output_has_one_shape_and_keeps_lists() {
    let one = "wells in plate 4554 show label, images limit 2";
    let out = idr(&["query", one, "--offline", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer.as_array().unwrap().len(), 1);
    let images = &answer[0]["rows"][0]["images"];
    assert!(images.is_array(), "a list stays a list: {images}");
    assert_eq!(images[0]["name"], "plate3_8_010 [Well 1, Field 1 (Spot 1)]");
    let two = format!("{one}; screens limit 1");
    let out = idr(&["query", &two, "--offline", "--format", "json"]);
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let queries: Vec<&Value> = answer.as_array().unwrap().iter().map(|q| &q["query"]).collect();
    assert_eq!(queries, [&json!(one), &json!("screens limit 1")]);
    // The table writes the same list as text.
    let table = text(&idr(&["query", one, "--offline"]).stdout);
    assert!(table.contains("1938559 plate3_8_010 [Well 1, Field 1 (Spot 1)]"), "{table}");
}

#[test]
fn csv_refuses_two_tables_in_one_stream() {
    let out = idr(&[
        "query",
        "screens limit 1; wells in plate 4554 limit 1",
        "--offline",
        "--format",
        "csv",
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("one query per call") && stderr.contains("--format json"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

/// Piped, a table is never cut: a long value (a URL) comes out whole.
#[test]
fn a_piped_table_is_not_truncated() {
    let out = idr(&["query", "images in plate 4554 show name, thumbnail limit 1", "--offline"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(!table.contains('…'), "{table}");
    assert!(
        table.lines().any(|l| l.contains("https://") && l.contains("/render_thumbnail/")),
        "{table}"
    );
}

/// A query that fails writes nothing to stdout (no `[]`, no header) and exits non-zero.
#[test]
fn a_failed_query_writes_nothing_to_stdout() {
    // Offline, an image that is not recorded fails with NOT_RECORDED.
    for format in ["table", "json", "csv"] {
        let out = idr(&["query", "image 999999999 show name", "--offline", "--format", format]);
        let out = if out.status.success() {
            idr(&["query", "images in plate 999999999", "--offline", "--format", format])
        } else {
            out
        };
        assert!(!out.status.success(), "{format}: {}", text(&out.stdout));
        assert!(out.stdout.is_empty(), "{format}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains("error"), "{format}: {}", text(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ql_endpoint_answers_rows_or_diagnostics() {
    let server = Idr::serve(&["--offline"]);
    let post = |body: &'static str, content_type: &'static str| {
        Idr::client()
            .post(format!("{}/ql", server.base))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let resp =
        post(r#"images where "Gene Symbol" = ade8 show "Gene Symbol""#, "application/x-idr-ql")
            .await
            .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let query = &body["queries"][0];
    assert!(query["graphql"].as_str().unwrap().contains("searchImages"));
    assert_eq!(query["rows"].as_array().unwrap().len(), 41);
    // A key's values are a list (an object may carry a key more than once).
    assert_eq!(query["rows"][0], json!({"id": "15573", "Gene Symbol": ["ADE8"]}));

    let resp = post(r#"images where "Gene Symbol" = "#, "application/x-idr-ql").await.unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    let diagnostic = &body["diagnostics"][0];
    assert_eq!(
        (diagnostic["code"].clone(), diagnostic["line"].clone()),
        (json!("expected-value"), json!(1))
    );
    assert!(diagnostic["span"]["start"].as_u64().unwrap() <= 29);

    let resp = post("plates in screen 102", "text/plain").await.unwrap();
    assert_eq!(resp.status().as_u16(), 415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_query_does_not_hide_the_others() {
    let file = Scratch::new(
        "mixed.idrql",
        "plates in screen 102\nimages where \"Gene Symbol\" =\nscreens where name ~ idr0002\n",
    );
    let out = idr(&["query", file.path(), "--offline", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        answer
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["rows"].as_array().unwrap().len())
            .collect::<Vec<_>>(),
        [12, 1]
    );
    assert!(text(&out.stderr).contains(":2:"), "{}", text(&out.stderr));

    let server = Idr::serve(&["--offline"]);
    let resp = Idr::client()
        .post(format!("{}/ql", server.base))
        .json(&json!({"query": "plates in screen 102\nimages where \"Gene Symbol\" =\nscreens where name ~ idr0002\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["queries"].as_array().unwrap().len(), 2);
    assert_eq!(body["diagnostics"][0]["line"], 2);
}

#[test]
fn a_missing_file_is_named_as_missing() {
    for command in ["query", "compile", "check"] {
        for missing in ["missing.idrql", "queries/none.idrql", "./nowhere"] {
            let mut args = vec![command, missing];
            if command == "query" {
                args.push("--offline");
            }
            let out = idr(&args);
            assert!(!out.status.success(), "{command} {missing}");
            assert!(out.stdout.is_empty(), "{command} {missing}: {}", text(&out.stdout));
            let stderr = text(&out.stderr);
            assert!(
                stderr.contains(&format!("{missing}: no such file")),
                "{command} {missing}: {stderr}"
            );
            assert!(!stderr.contains("unknown resource"), "{command} {missing}: {stderr}");
        }
    }
}

#[test]
fn fmt_reads_standard_input_and_writes_standard_output() {
    use std::io::Write as _;
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("idr runs");
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().expect("idr finishes")
    };
    let messy = "IMAGES   where \"Gene Symbol\"=ade8  show name\n";
    let out = run(&["fmt", "-"], messy);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let formatted = text(&out.stdout);
    assert!(formatted.starts_with("images where \"Gene Symbol\" = ade8"), "{formatted}");
    // Formatting is idempotent through the pipe too, and --check tells without writing.
    assert_eq!(text(&run(&["fmt", "-"], &formatted).stdout), formatted);
    let check = run(&["fmt", "--check", "-"], messy);
    assert_eq!(check.status.code(), Some(1));
    assert!(check.stdout.is_empty());
    assert!(run(&["fmt", "--check", "-"], &formatted).status.success());
    // Text that does not parse: its diagnostics, nothing on stdout, failure.
    let broken = run(&["fmt", "-"], "images where\n");
    assert!(!broken.status.success());
    assert!(broken.stdout.is_empty());
    assert!(text(&broken.stderr).contains("<stdin>"), "{}", text(&broken.stderr));
}

/// For every query of every example (the notebook's included), `POST /ql`'s `columns` are
/// exactly the keys its rows hold, a nested field's as `parent.child`: a client that builds
/// its table from `columns` finds every value. Before, `columns` were the `show` headers
/// (`publication`), while the rows held `publication.title`, `publication.doi.url`, ….
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ql_columns_are_the_keys_the_rows_hold() {
    let server = Idr::serve(&["--offline", "--rate-limit", "1000"]);
    let dir = crate::repo_root().join("examples/idr-ql");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let body: Value = Idr::client()
            .post(format!("{}/ql", server.base))
            .header("content-type", "application/x-idr-ql")
            .body(text)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for query in body["queries"].as_array().unwrap() {
            let columns: Vec<&str> =
                query["columns"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            let rows = query["rows"].as_array().unwrap();
            let mut held: Vec<&str> = Vec::new();
            for row in rows {
                for key in row.as_object().unwrap().keys() {
                    if !held.contains(&key.as_str()) {
                        held.push(key);
                    }
                }
            }
            if rows.is_empty() {
                assert!(!columns.is_empty(), "{}: no columns at all", path.display());
                continue;
            }
            let mut sorted_columns = columns.clone();
            sorted_columns.sort_unstable();
            held.sort_unstable();
            assert_eq!(sorted_columns, held, "{}: {}", path.display(), query["graphql"]);
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} queries with rows");
}

/// A query that finds nothing still says what it would have held: CSV and the table print
/// their header, so a script reading the CSV gets an empty table, not an empty file.
#[test]
fn no_rows_still_print_the_header() {
    let nothing = r#"images where "Gene Symbol" = nosuchgene show "Gene Symbol""#;
    let out = idr(&["query", "--offline", nothing, "--format", "csv"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "id,Gene Symbol\n");
    let out = idr(&["query", "--offline", nothing, "--format", "table"]);
    assert_eq!(text(&out.stdout).lines().next(), Some("id  Gene Symbol"));
}
