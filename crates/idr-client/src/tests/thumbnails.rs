//! Thumbnails in batches: `get_thumbnails` requests of at most 50 ids, the decoding of its
//! data URIs per id, and the client's batch (cache per thumbnail, calls only for what it
//! lacks, a failed call failing its own ids only).

use std::sync::Arc;

use base64::Engine as _;

use super::fake::{Fake, Reply};
use super::{json, recorded};
use crate::endpoints::{self as ep, Thumbnail, MAX_REQUEST_LINE, MAX_THUMBNAIL_IDS};
use crate::{ClientConfig, Error, IdrClient, Request, Response};

/// A JPEG whose bytes name `id`.
fn jpeg(id: u64) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0];
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// Fails every batch that asks for this id (HTTP 500).
const BROKEN: u64 = 999;
/// IDR has no thumbnail of this one (`null`).
const NONE: u64 = 44;

/// Like OMERO.web's `get_thumbnails`: at most 50 ids, each a data URI or null.
fn thumbnails_upstream(req: &Request) -> Reply {
    let ids: Vec<u64> = req.values("id").map(|v| v.parse().unwrap()).collect();
    if ids.len() > MAX_THUMBNAIL_IDS {
        return Reply::Respond(json(500, "\"Max 50 thumbnails at a time.\""));
    }
    if ids.contains(&BROKEN) {
        return super::fake::status(500);
    }
    let map: serde_json::Map<String, serde_json::Value> = ids
        .iter()
        .map(|id| {
            let value = if *id == NONE {
                serde_json::Value::Null
            } else {
                let data = base64::engine::general_purpose::STANDARD.encode(jpeg(*id));
                format!("data:image/jpeg;base64,{data}").into()
            };
            (id.to_string(), value)
        })
        .collect();
    Reply::Respond(Response::json(200, serde_json::Value::Object(map).to_string()))
}

#[test]
fn a_batch_holds_at_most_fifty_ids_and_names_its_size() {
    let ids: Vec<u64> = (0..120).map(|i| 9_000_000_000_000_000_000 + i).collect();
    let requests = ep::thumbnails_requests(&ids, Some(96));
    let counts: Vec<usize> = requests.iter().map(|r| r.values("id").count()).collect();
    assert_eq!(counts, [50, 50, 20]);
    for req in &requests {
        assert_eq!(req.path, "/webgateway/get_thumbnails/96/");
        assert!(req.request_line_len() < MAX_REQUEST_LINE, "{req}");
    }
    let all: Vec<u64> =
        requests.iter().flat_map(|r| r.values("id")).map(|v| v.parse().unwrap()).collect();
    assert_eq!(all, ids);
    assert_eq!(
        ep::thumbnails_requests(&[1], None)[0].to_string(),
        "GET /webgateway/get_thumbnails/?id=1"
    );
    assert!(ep::thumbnails_requests(&[], None).is_empty());
}

#[test]
fn the_recorded_batch_decodes_to_the_same_jpeg_as_render_thumbnail() {
    let req = ep::thumbnails_requests(&[1884807, 1884808], None).remove(0);
    let batch = ep::decode_thumbnails(&req.to_string(), &recorded(&req), &[1884807, 1884808])
        .expect("a batch");
    let single = recorded(&ep::thumbnail_request(1884807, None)).body;
    assert_eq!(batch[&1884807], Ok(Thumbnail::Jpeg(single)));
    let Ok(Thumbnail::Jpeg(other)) = &batch[&1884808] else { panic!("{:?}", batch[&1884808]) };
    assert!(other.starts_with(&[0xFF, 0xD8, 0xFF]) && other.len() > 500);
}

#[test]
fn each_id_of_a_batch_is_judged_on_its_own() {
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n");
    let not_jpeg = base64::engine::general_purpose::STANDARD.encode(b"GIF89a");
    let body = format!(
        r#"{{"1": null, "2": "data:image/png;base64,{png}", "3": "data:image/jpeg;base64,!!", "5": "data:image/jpeg;base64,{not_jpeg}", "6": 7}}"#
    );
    let batch = ep::decode_thumbnails("u", &json(200, &body), &[1, 2, 3, 4, 5, 6]).unwrap();
    let summary: Vec<String> = batch
        .iter()
        .map(|(id, one)| match one {
            Ok(t) => format!("{id}: {t:?}"),
            Err(Error::Decode { path, message, .. }) => format!("{id}: {path} {message}"),
            Err(e) => format!("{id}: {e}"),
        })
        .collect();
    assert_eq!(
        summary.join("\n"),
        "1: Missing
2: $.2 expected a JPEG data URI
3: $.3 bad base64: Invalid symbol 33, offset 0.
4: $.4 the answer leaves this image out
5: $.5 the data URI does not hold a JPEG
6: $.6 expected a data URI or null"
    );
    // Not an object at all, or an error status, fails the whole batch.
    assert!(ep::decode_thumbnails("u", &json(200, "[]"), &[1]).is_err());
    assert!(
        ep::decode_thumbnails("u", &json(500, "\"Max 50 thumbnails at a time.\""), &[1]).is_err()
    );
}

#[tokio::test]
async fn a_plate_of_thumbnails_costs_one_call_per_fifty_and_then_none() {
    let fake = Arc::new(Fake::with(thumbnails_upstream));
    let client = IdrClient::new(fake.clone(), ClientConfig::default());
    let plate: Vec<u64> = (1..=384).collect();
    assert_eq!(client.thumbnail_plan(&plate, None), (8, 0));
    let first = client.thumbnails(&plate, None).await;
    assert_eq!(fake.calls(), 8);
    assert_eq!(first.len(), 384);
    for (id, one) in &first {
        let expected =
            if *id == NONE { Thumbnail::Missing } else { Thumbnail::Jpeg(jpeg(*id).into()) };
        assert_eq!(one, &Ok(expected), "image {id}");
    }
    for req in fake.requests() {
        assert!(req.values("id").count() <= MAX_THUMBNAIL_IDS, "{req}");
    }

    // Warm: the whole plate, any one of it, and any neighbourhood of it cost nothing.
    assert_eq!(client.thumbnail_plan(&plate, None), (0, 384));
    assert_eq!(client.thumbnails(&plate, None).await, first);
    assert_eq!(client.thumbnail(7, None).await, Ok(Some(jpeg(7).into())));
    assert_eq!(client.thumbnail(NONE, None).await, Ok(None));
    assert_eq!(fake.calls(), 8);

    // Overlapping: only the 116 new ids are asked for, in three calls; another size is
    // another thumbnail.
    let overlap: Vec<u64> = (300..=500).collect();
    assert_eq!(client.thumbnail_plan(&overlap, None), (3, 85));
    client.thumbnails(&overlap, None).await;
    assert_eq!(fake.calls(), 11);
    let asked: Vec<u64> = fake.requests()[8..]
        .iter()
        .flat_map(|r| r.values("id"))
        .map(|v| v.parse().unwrap())
        .collect();
    assert_eq!(asked, (385..=500).collect::<Vec<_>>());
    assert_eq!(client.thumbnail_plan(&[1, 2], Some(256)), (1, 0));
}

#[tokio::test]
async fn a_failed_call_fails_its_own_ids_and_is_not_cached() {
    let fake = Arc::new(Fake::with(thumbnails_upstream));
    let client = IdrClient::new(fake.clone(), ClientConfig::default());
    // 100 ids in two calls; the second holds BROKEN.
    let mut ids: Vec<u64> = (1..=99).collect();
    ids.push(BROKEN);
    let answer = client.thumbnails(&ids, None).await;
    let failed: Vec<u64> = answer.iter().filter(|(_, r)| r.is_err()).map(|(id, _)| *id).collect();
    assert_eq!(failed, (51..=99).chain([BROKEN]).collect::<Vec<_>>());
    assert!(answer[&1].is_ok());
    // The failed half is asked again next time (and only it).
    let calls = fake.calls();
    assert_eq!(client.thumbnail_plan(&ids, None), (1, 50));
    client.thumbnails(&ids, None).await;
    assert!(fake.calls() > calls);
    assert!(fake.requests().last().unwrap().values("id").all(|id| id.parse::<u64>().unwrap() > 50));
}

/// Answers like `thumbnails_upstream`, but leaves `LEFT_OUT` out of every answer.
const LEFT_OUT: u64 = 13;

#[tokio::test]
async fn a_bad_part_of_a_good_batch_is_asked_for_again_not_served_from_the_cache() {
    let fake = Arc::new(Fake::with(|req: &Request| {
        let Reply::Respond(resp) = thumbnails_upstream(req) else { unreachable!() };
        let mut map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&resp.body).unwrap();
        map.remove(&LEFT_OUT.to_string());
        Reply::Respond(Response::json(200, serde_json::Value::Object(map).to_string()))
    }));
    let client = IdrClient::new(fake.clone(), ClientConfig::default());
    let ids: Vec<u64> = (1..=20).collect();
    let first = client.thumbnails(&ids, None).await;
    assert!(matches!(&first[&LEFT_OUT], Err(Error::Decode { .. })), "{:?}", first[&LEFT_OUT]);
    assert_eq!(first.values().filter(|r| r.is_ok()).count(), 19);
    // The 19 good ones are cached; the left-out one is a miss, asked for on its own.
    assert_eq!(client.thumbnail_plan(&ids, None), (1, 19));
    let calls = fake.calls();
    let again = client.thumbnails(&ids, None).await;
    assert_eq!(fake.calls(), calls + 1);
    assert_eq!(
        fake.requests().last().unwrap().to_string(),
        format!("GET /webgateway/get_thumbnails/?id={LEFT_OUT}")
    );
    assert!(again[&LEFT_OUT].is_err());
    // And again: an answer that failed an id is never kept as the answer for it.
    client.thumbnails(&ids, None).await;
    assert_eq!(fake.calls(), calls + 2);
}

#[tokio::test]
async fn none_is_kept_only_as_long_as_any_not_found() {
    // With no time to keep a "not found", IDR's `null` is asked again; a JPEG is not.
    let config =
        ClientConfig { negative_ttl: std::time::Duration::ZERO, ..ClientConfig::default() };
    let fake = Arc::new(Fake::with(thumbnails_upstream));
    let client = IdrClient::new(fake.clone(), config);
    client.thumbnails(&[NONE, 7], None).await;
    assert_eq!(client.thumbnail_plan(&[NONE, 7], None), (1, 1));
}
