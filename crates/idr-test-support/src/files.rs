//! Files the tests read or keep fresh: the upstream recordings, generated files such as the
//! SDL, and text with a `<CURSOR>` marker.

use std::path::{Path, PathBuf};

use idr_client::recording::RecordingStore;

/// The marker a completion test puts where the cursor is.
pub const CURSOR: &str = "<CURSOR>";

/// The repository's `tests/fixtures/upstream` directory (one JSON recording per request).
pub fn fixtures_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/upstream");
    dir.canonicalize().unwrap_or(dir)
}

/// Every recording in [`fixtures_dir`]; panics, naming the bad file, if one does not load.
pub fn load_fixtures() -> RecordingStore {
    let dir = fixtures_dir();
    RecordingStore::from_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot load the recordings in {}: {e}", dir.display()))
}

/// Checks that a generated file that lives in the repository (the SDL, for example) has
/// the content it is generated with.
///
/// When it differs, the file is rewritten and the test fails, telling the developer to
/// look at the change and commit it. When the `CI` environment variable is set, the file
/// is left alone and the test only fails: CI must not pass with a stale file.
pub fn check_file_fresh(path: &Path, expected: &str) {
    check_fresh(path, expected, std::env::var_os("CI").is_some());
}

pub(crate) fn check_fresh(path: &Path, expected: &str, ci: bool) {
    let actual = std::fs::read_to_string(path).ok();
    if actual.as_deref() == Some(expected) {
        return;
    }
    let what = if actual.is_some() { "is stale" } else { "is missing" };
    if ci {
        panic!(
            "{} {what}. Run `cargo test` locally to regenerate it, then commit it.",
            path.display()
        );
    }
    if let Some(parent) = path.parent() {
        // A failure here shows up as the write error below.
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(path, expected)
        .unwrap_or_else(|e| panic!("{} {what} and cannot be rewritten: {e}", path.display()));
    panic!(
        "{} {what} and has been updated. Review the change, commit it and run the tests again.",
        path.display()
    );
}

/// Removes the one [`CURSOR`] marker from `text` and returns the text and the byte offset
/// where the marker was. Panics if there is no marker or more than one.
pub fn split_cursor(text: &str) -> (String, usize) {
    let offset = text.find(CURSOR).unwrap_or_else(|| panic!("no {CURSOR} marker in {text:?}"));
    let rest = &text[offset + CURSOR.len()..];
    assert!(!rest.contains(CURSOR), "more than one {CURSOR} marker in {text:?}");
    (format!("{}{rest}", &text[..offset]), offset)
}
