//! Every `examples/idr-ql/*.idrql` runs through `idr query --offline --format json` (the
//! real binary, as a user would), and its rows and diagnostics are snapshotted with the
//! example text in the snapshot's description. Placeholder values of the recordings
//! (strings starting with `RECONSTRUCTED`) are redacted.

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
    match name {
        "01-ade8" => assert_eq!((ok, rows(stdout)), (true, 41), "{stderr}"),
        "04-plates" => assert_eq!((ok, rows(stdout)), (true, 12), "{stderr}"),
        "05-wells" => assert_eq!((ok, rows(stdout)), (true, 96), "{stderr}"),
        "06-screens" => assert_eq!((ok, rows(stdout)), (true, 1), "{stderr}"),
        "07-ade8-without-dtt" => assert_eq!((ok, rows(stdout)), (true, 38), "{stderr}"),
        "09-plate-images" => assert_eq!((ok, rows(stdout)), (true, 1), "{stderr}"),
        _ => {}
    }
}
