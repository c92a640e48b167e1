//! `endpoints::annotations_requests` over many ids: IDR's limits (≤ 200 ids and a request
//! line under 4,000 bytes per call) hold, ids are sorted and de-duplicated, and together
//! the requests ask for exactly the ids given.

use std::collections::BTreeSet;

use crate::endpoints::{
    annotations_requests, ANNOTATIONS_PAGE, MAX_ANNOTATION_IDS, MAX_REQUEST_LINE,
};
use crate::model::{AnnotationType, ObjectKind};

/// Checks the invariants and compares a summary: number of requests, ids per request,
/// longest request line.
fn check(kind: ObjectKind, ids: &[u64], expect: &str) {
    let requests = annotations_requests(AnnotationType::Map, kind, ids, ANNOTATIONS_PAGE);
    let mut union = BTreeSet::new();
    let mut previous_last = None;
    for req in &requests {
        assert!(
            req.request_line_len() < MAX_REQUEST_LINE,
            "{} bytes: {req}",
            req.request_line_len()
        );
        let chunk: Vec<u64> = req.values(kind.query_key()).map(|v| v.parse().unwrap()).collect();
        assert!(chunk.len() <= MAX_ANNOTATION_IDS);
        assert!(chunk.windows(2).all(|w| w[0] < w[1]), "not sorted or duplicated: {req}");
        assert!(previous_last < chunk.first().copied(), "chunks overlap or are out of order");
        previous_last = chunk.last().copied();
        union.extend(chunk);
    }
    assert_eq!(union, ids.iter().copied().collect::<BTreeSet<_>>());
    let sizes: Vec<usize> = requests.iter().map(|r| r.values(kind.query_key()).count()).collect();
    let longest = requests.iter().map(|r| r.request_line_len()).max().unwrap_or(0);
    assert_eq!(
        format!("{} requests of {sizes:?} ids, longest line {longest} bytes", requests.len()),
        expect
    );
}

/// `n` distinct 8-digit ids in a scrambled order, with every tenth one repeated.
fn ids(n: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = (0..n).map(|i| 10_000_000 + (i * 7_919) % 89_999_999).rev().collect();
    ids.extend(ids.clone().iter().step_by(10));
    ids
}

#[test]
fn thousand_images() {
    check(
        ObjectKind::Image,
        &ids(1_000),
        "5 requests of [200, 200, 200, 200, 200] ids, longest line 3061 bytes",
    );
}

#[test]
fn thousand_acquisitions_are_limited_by_line_length() {
    check(
        ObjectKind::Acquisition,
        &ids(1_000),
        "6 requests of [187, 187, 187, 187, 187, 65] ids, longest line 3988 bytes",
    );
}

#[test]
fn two_hundred_and_one_wells() {
    check(ObjectKind::Well, &ids(201), "2 requests of [200, 1] ids, longest line 2861 bytes");
}

#[test]
fn short_ids() {
    check(ObjectKind::Image, &[3, 1, 2, 1], "1 requests of [3] ids, longest line 85 bytes");
}
