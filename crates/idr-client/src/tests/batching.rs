//! `IdrClient::annotations` over many ids: how many upstream calls it makes, that every
//! call respects IDR's limits, that results are split back per object by `link.parent`,
//! and that a page exactly as long as the server's limit makes it fetch the next page.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::fake::{Fake, Reply};
use crate::endpoints::{MAX_ANNOTATION_IDS, MAX_REQUEST_LINE};
use crate::model::{AnnotationBody, AnnotationType, ObjectKind};
use crate::{ClientConfig, IdrClient, Request, Response};

/// The object whose first page is full (exactly the server's limit long).
const FULL_PAGE: u64 = 7;

/// One map annotation linked to `image`, as OMERO.web writes it (built as text: the
/// full-page tests make 50,000 of these).
fn annotation(id: u64, image: u64) -> String {
    format!(
        r#"{{"id": {id}, "ns": "openmicroscopy.org/mapr/gene", "class": "MapAnnotationI", "values": [["image", "{image}"]], "link": {{"id": {}, "parent": {{"id": {image}, "class": "ImageI", "name": "image {image}"}}}}}}"#,
        id + 1
    )
}

/// Like OMERO.web: every requested image has its own map annotation, and annotation 1 is
/// shared by all of them (one entry per link). Image `FULL_PAGE` has so many that the
/// first page is exactly full, and three more on page 2.
fn annotations_upstream(req: &Request) -> Reply {
    let images: Vec<u64> = req.values("image").map(|v| v.parse().unwrap()).collect();
    let page: u32 = req.values("page").next().map_or(1, |p| p.parse().unwrap());
    // OMERO.web pages by the `limit` asked for, else by its deployment's default.
    let limit: usize = req.values("limit").next().map_or(50_000, |l| l.parse().unwrap());
    let mut list = Vec::new();
    match page {
        1 => {
            for image in &images {
                list.push(annotation(10 * image, *image));
                list.push(annotation(1, *image));
            }
            if images.contains(&FULL_PAGE) {
                let padding = limit - list.len();
                list.extend((0..padding as u64).map(|i| annotation(1_000_000_000 + i, FULL_PAGE)));
            }
        }
        2 if images.contains(&FULL_PAGE) => {
            list.extend((0..3).map(|i| annotation(2_000_000_000 + i, FULL_PAGE)));
        }
        _ => {}
    }
    let body = format!(
        r#"{{"annotations": [{}], "experimenters": [{{"id": 2, "omeName": "demo"}}]}}"#,
        list.join(", ")
    );
    Reply::Respond(Response::json(200, body))
}

/// Fetches the map annotations of `ids` and summarises the upstream calls and the result.
/// Checks along the way that no request breaks IDR's limits and that every annotation
/// landed on the object it is linked to.
async fn check(ids: &[u64], expect: &str) {
    let fake = Arc::new(Fake::with(annotations_upstream));
    let client = IdrClient::new(fake.clone(), ClientConfig::default());
    let result = client.annotations(AnnotationType::Map, ObjectKind::Image, ids).await.unwrap();

    for req in fake.requests() {
        assert!(req.values("image").count() <= MAX_ANNOTATION_IDS, "{req}");
        assert!(req.request_line_len() < MAX_REQUEST_LINE, "{req}");
    }
    let wanted: BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(result.keys().map(|(_, id)| *id).collect::<BTreeSet<_>>(), wanted);
    let mut total = 0;
    for ((kind, id), list) in &result {
        assert_eq!(*kind, ObjectKind::Image);
        for a in list.iter() {
            assert_eq!((a.parent.kind, a.parent.id), (Some(ObjectKind::Image), *id));
            let AnnotationBody::Map(pairs) = &a.body else { panic!("not a map: {a:?}") };
            assert_eq!(pairs, &[("image".to_owned(), id.to_string())]);
        }
        assert!(list.iter().any(|a| a.id == 1), "shared annotation missing on image {id}");
        total += list.len();
    }
    let summary = format!("{} calls, {} objects, {total} annotations", fake.calls(), result.len());
    assert_eq!(summary, expect);
}

/// `n` image ids of 8 digits.
fn images(n: u64) -> Vec<u64> {
    (0..n).map(|i| 12_000_000 + i * 37).collect()
}

#[tokio::test]
async fn ninety_six_ids_make_one_call() {
    check(&images(96), "1 calls, 96 objects, 192 annotations").await;
}

#[tokio::test]
async fn thousand_ids_make_five_calls() {
    check(&images(1_000), "5 calls, 1000 objects, 2000 annotations").await;
}

#[tokio::test]
async fn duplicate_ids_are_fetched_once() {
    check(&[3, 1, 3, 2, 1], "1 calls, 3 objects, 6 annotations").await;
}

#[tokio::test]
async fn no_ids_make_no_call() {
    check(&[], "0 calls, 0 objects, 0 annotations").await;
}

#[tokio::test]
async fn a_full_page_fetches_page_two() {
    check(&[FULL_PAGE], "2 calls, 1 objects, 10003 annotations").await;
}

#[tokio::test]
async fn only_the_batch_with_a_full_page_fetches_page_two() {
    check(&(1..=300).collect::<Vec<_>>(), "3 calls, 300 objects, 10203 annotations").await;
}
