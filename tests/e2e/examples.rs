//! Every `examples/idr-ql/*.idrql` runs through `idr query --offline --format json` (the
//! real binary, as a user would), and its rows and diagnostics are snapshotted with the
//! example text in the snapshot's description. Placeholder values of the recordings
//! (strings starting with `RECONSTRUCTED`, and the search engine's placeholder count 999,
//! see tests/fixtures/upstream/README.md) are redacted.

use std::process::Command;

use crate::repo_root;

#[test]
fn every_idr_ql_example_runs_offline() {
    let dir = repo_root().join("examples/idr-ql");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "idrql"));
    files.sort();
    assert!(files.len() >= 6, "the DESIGN.md examples live in {}", dir.display());
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        // Examples are kept in canonical layout, and formatting them again changes nothing.
        let formatted =
            idr_ql::format(&source).unwrap_or_else(|| panic!("{name} has syntax errors"));
        assert_eq!(formatted, source, "{name} is not formatted (run `idr fmt`)");
        assert_eq!(idr_ql::format(&formatted).as_deref(), Some(formatted.as_str()));
        let out = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(["query", "--offline", "--format", "json"])
            .arg(&path)
            .env_remove("RUST_LOG")
            .output()
            .unwrap();
        let redact = |bytes: &[u8]| {
            let text = String::from_utf8_lossy(bytes);
            text.lines()
                .map(|line| match line.find("\"RECONSTRUCTED") {
                    Some(i) => format!(
                        "{}\"[placeholder]\"{}",
                        &line[..i],
                        if line.ends_with(',') { "," } else { "" }
                    ),
                    None if line.trim_end_matches(',').ends_with("\"count\": 999") => {
                        line.replace("\"count\": 999", "\"count\": \"[placeholder]\"")
                    }
                    None => line.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let (stdout, stderr) = (redact(&out.stdout), redact(&out.stderr));
        check_expectations(&name, &stdout, &stderr, out.status.success());
        let report = format!(
            "## Exit\n{}\n\n## Rows\n{stdout}\n\n## Stderr\n{stderr}\n",
            out.status.code().unwrap_or(-1)
        );
        let mut settings = insta::Settings::clone_current();
        settings.set_description(source.trim());
        settings.set_omit_expression(true);
        settings.set_snapshot_suffix(name.clone());
        settings.bind(|| insta::assert_snapshot!("idr_ql_example", report));
    }
}

/// Facts beyond the snapshot, so a wrongly accepted snapshot still fails.
fn check_expectations(name: &str, stdout: &str, stderr: &str, ok: bool) {
    // The rows of every query (the output is a list of {query, rows}).
    let rows = |text: &str| {
        let answer = serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
        let queries = answer.as_array().map(Vec::as_slice).unwrap_or_default();
        queries.iter().map(|q| q["rows"].as_array().map_or(0, Vec::len)).sum::<usize>()
    };
    // The rows of each query, in order.
    let per_query = |text: &str| -> Vec<usize> {
        let answer = serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
        let queries = answer.as_array().map(Vec::as_slice).unwrap_or_default();
        queries.iter().map(|q| q["rows"].as_array().map_or(0, Vec::len)).collect()
    };
    match name {
        "notebook" => {
            assert!(ok, "{stderr}");
            // Steps 1 to 10: the screen; its 12 plates; the 96 wells of plate 4554; image
            // 122770 three times; 2 thumbnails; well 45217; the screen's files; 18 keys
            // and 5 values; the 41 ade8 images.
            assert_eq!(per_query(stdout), [1, 12, 96, 1, 1, 1, 2, 1, 1, 18, 5, 41], "{stdout}");
            let answer: serde_json::Value = serde_json::from_str(stdout).unwrap();
            let values = &answer[10]["rows"];
            let ade8 = values.as_array().unwrap().iter().find(|v| v["value"] == "ade8");
            assert_eq!(ade8.map(|v| &v["count"]), Some(&serde_json::json!(41)), "{values}");
            assert_eq!(answer[3]["rows"][0]["sizeC"], 3);
            assert_eq!(answer[5]["rows"][0]["genes"][0]["symbol"], "ECT2");
            assert_eq!(answer[5]["rows"][0]["phenotypes"].as_array().map(Vec::len), Some(13));
            assert_eq!(answer[7]["rows"][0]["label"], "O2");
            let files = answer[8]["rows"][0]["files"].as_array().unwrap();
            assert!(files.iter().any(|f| f["name"] == "bulk_annotations"), "{files:?}");
            assert!(answer[9]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["key"] == "Gene Symbol"));
        }
        "11-studies" => {
            assert!(ok, "{stderr}");
            let answer: serde_json::Value = serde_json::from_str(stdout).unwrap();
            let row = &answer[0]["rows"][0];
            assert_eq!(
                (row["id"].as_str(), row["imageCount"].as_u64()),
                (Some("idr0002"), Some(24))
            );
            assert_eq!(row["publication.doi.id"], "10.1091/mbc.E13-04-0221", "{row}");
            assert_eq!(row["license.name"], "CC BY 4.0");
        }
        "01-ade8" => assert_eq!((ok, rows(stdout)), (true, 41), "{stderr}"),
        "04-plates" => assert_eq!((ok, rows(stdout)), (true, 12), "{stderr}"),
        "05-wells" => assert_eq!((ok, rows(stdout)), (true, 96), "{stderr}"),
        "06-screens" => assert_eq!((ok, rows(stdout)), (true, 1), "{stderr}"),
        "07-ade8-without-dtt" => assert_eq!((ok, rows(stdout)), (true, 38), "{stderr}"),
        "09-plate-images" => assert_eq!((ok, rows(stdout)), (true, 1), "{stderr}"),
        _ => {}
    }
}

/// A Python 3 with `requests`, if there is one (`IDR_PYTHON` overrides the command).
fn python() -> Option<String> {
    let python = std::env::var("IDR_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let has_requests = Command::new(&python)
        .args(["-c", "import requests"])
        .output()
        .is_ok_and(|out| out.status.success());
    if has_requests {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs {python} with requests (.ci/run installs examples/python/requirements.txt)"
    );
    eprintln!(
        "skipped: no {python} with requests (pip install -r examples/python/requirements.txt)"
    );
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_walkthrough_prints_every_step_from_the_offline_server() {
    let Some(python) = python() else { return };
    let idr = crate::Idr::serve(&["--offline"]);
    let script = repo_root().join("examples/python/walkthrough.py");
    let out = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&idr.base)
        .output()
        .await
        .expect("the walkthrough runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Each step, in order, with real values of the recordings (never their placeholders).
    let expected = [
        "1. Study information",
        "idr0002-heriche-condensation/screenA (screen 102)",
        "Publication DOI: 10.1091/mbc.E13-04-0221",
        "2. The plates of the screen",
        "12 plates",
        "plate 4554: plate3_8_010",
        "3. The plate's grid",
        "plate3_8_010: 8 rows x 12 columns, 96 wells",
        "A1: 1938559",
        "4. Image details",
        "696 x 520 pixels, 1 z, 1 t, 3 channels, uint16",
        "channel DAPI",
        "5. The image's key/values",
        "Gene Symbol: ECT2",
        "Phenotype Term Accession: CMPO_0000294",
        "6. Thumbnails",
        "https://idr.openmicroscopy.org/webgateway/render_thumbnail/122770/",
        "image 1884807: 96 x 96 JPEG, 879 bytes",
        "image 1884808: 96 x 96 JPEG",
        "7. The well's bulk-annotation row",
        "well 45217 (O2): 150 columns",
        "8. The screen's file annotations",
        "bulk_annotations (795,820 bytes, OMERO.tables): https://idr.openmicroscopy.org/webclient/annotation/6621611/",
        "9. Every value of 'Gene Symbol'",
        "'ade8': 41 images",
        "10. Images whose Gene Symbol is ade8",
        "41 images",
        "image 15573: https://idr.openmicroscopy.org/webclient/?show=image-15573",
    ];
    let mut rest = stdout.as_ref();
    for line in expected {
        let at = rest
            .find(line)
            .unwrap_or_else(|| panic!("{line:?} missing, or out of order, in:\n{stdout}"));
        rest = &rest[at + line.len()..];
    }
    assert!(!stdout.contains("  ! "), "the walkthrough met errors:\n{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_walkthrough_says_when_the_server_is_unreachable() {
    let Some(python) = python() else { return };
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = tokio::process::Command::new(&python)
        .arg(repo_root().join("examples/python/walkthrough.py"))
        .arg(format!("http://127.0.0.1:{port}"))
        .output()
        .await
        .expect("the walkthrough runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: ") && !stderr.contains("Traceback"), "{stderr}");
}

/// `.graphqlrc.yml` names the schema and the examples that exist, so GraphQL editor
/// tooling finds them.
#[test]
fn the_graphql_config_points_at_the_schema_and_the_examples() {
    let root = repo_root();
    let config = std::fs::read_to_string(root.join(".graphqlrc.yml")).expect(".graphqlrc.yml");
    let field = |name: &str| {
        config
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in .graphqlrc.yml"))
    };
    let schema = field("schema");
    assert!(root.join(&schema).is_file(), "{schema}");
    let documents = field("documents");
    let dir = documents.split("/**").next().unwrap();
    let examples = std::fs::read_dir(root.join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "graphql")))
        .count();
    assert!(examples >= 10, "{documents} matches {examples} files");
}
