//! Thumbnails for a whole plate: `GET /thumbnails?ids=…` against a generated IDR (50 ids a
//! call to `get_thumbnails`, cached per thumbnail within the cache's byte bound, charged
//! to the rate limit by what it costs IDR), and offline on the recordings.

use std::sync::Arc;

use base64::Engine as _;
use idr_test_support::{FaultKind, Faults, ReplayServer, Settings, Size, World};
use serde_json::Value;

use crate::Idr;

/// One full 16 × 24 plate, one field per well: 384 images.
fn plate_world() -> (Arc<World>, u64, Vec<u64>) {
    let size = Size {
        screens: 1,
        plates: 1,
        rows: 16,
        columns: 24,
        fields: 1,
        projects: 0,
        datasets: 0,
        images: 0,
        full: true,
    };
    let world = Arc::new(World::generate(7, size, Settings::default()));
    let (plate, p) = world.plates.iter().next().expect("a plate");
    let images: Vec<u64> = p.wells.iter().filter_map(|w| world.wells[w].images[0]).collect();
    assert_eq!(images.len(), 384);
    (world.clone(), *plate, images)
}

async fn get(idr: &Idr, path: &str) -> (u16, Value) {
    let response = Idr::client().get(format!("{}{path}", idr.base)).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn ids_param(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

fn data_uri(jpeg: &[u8]) -> String {
    format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_plate_of_thumbnails_costs_eight_calls_and_no_429() {
    let (world, plate, images) = plate_world();
    let replay = ReplayServer::start(world.clone(), Faults::default());
    // The default rate limit: 10 a second, bursts of 60.
    let idr = Idr::serve(&["--upstream", &replay.url()]);

    // The viewer's pattern: one GraphQL query for the grid, with each image's proxied URL…
    let (status, body) = idr
        .post(&format!(
            "{{ plate(id: {plate}) {{ wells {{ images {{ id thumbnailUrl(proxy: true) }} }} }} }}"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let proxied: Vec<String> = body["data"]["plate"]["wells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["images"][0]["thumbnailUrl"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(proxied.len(), 384);
    assert!(proxied.iter().zip(&images).all(|(url, id)| *url == format!("/thumbnails/{id}")));

    // …then every thumbnail in one request: 8 calls of at most 50 ids.
    let before = replay.calls_by_route();
    let (status, answer) = get(&idr, &format!("/thumbnails?ids={}", ids_param(&images))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["errors"], serde_json::json!([]));
    for id in &images {
        assert_eq!(answer["thumbnails"][id.to_string()], data_uri(&idr_test_support::jpeg(*id)));
    }
    let after = replay.calls_by_route();
    let thumbnail_calls: u64 = after
        .iter()
        .filter(|(route, _)| route.contains("thumbnail"))
        .map(|(route, n)| n - before.get(route).copied().unwrap_or(0))
        .sum();
    assert_eq!(thumbnail_calls, 8, "{after:?}");
    assert!(replay
        .requests()
        .iter()
        .filter(|r| r.contains("get_thumbnails"))
        .all(|r| r.matches("id=").count() <= 50));

    // Warm, the batch again (a viewer's reload, or another field and back): no call to
    // IDR, and a token per 50 thumbnails, so no 429 for a client that just loaded a plate.
    for _ in 0..3 {
        let (status, again) = get(&idr, &format!("/thumbnails?ids={}", ids_param(&images))).await;
        assert_eq!(status, 200);
        assert_eq!(again["thumbnails"], answer["thumbnails"]);
    }
    assert_eq!(replay.calls_by_route(), after, "warm thumbnails called IDR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_img_per_well_costs_a_tenth_of_a_token_once_the_batch_is_cached() {
    let (world, _, images) = plate_world();
    let replay = ReplayServer::start(world, Faults::default());
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (status, _) = get(&idr, &format!("/thumbnails?ids={}", ids_param(&images))).await;
    assert_eq!(status, 200);
    let after = replay.calls_by_route();
    // What a page of one <img src=thumbnailUrl(proxy: true)> per well loads: 384 × 0.1.
    for id in &images {
        let response =
            Idr::client().get(format!("{}/thumbnails/{id}", idr.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "image {id}");
        assert_eq!(response.headers()["content-type"], "image/jpeg");
        assert_eq!(response.bytes().await.unwrap(), idr_test_support::jpeg(*id));
    }
    assert_eq!(replay.calls_by_route(), after, "cached thumbnails called IDR");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_costing_more_than_a_burst_is_charged_in_full() {
    let (world, _, images) = plate_world();
    let replay = ReplayServer::start(world, Faults::default());
    // Bursts of 6 tokens; the cold plate needs 8 calls.
    let idr = Idr::serve(&["--upstream", &replay.url(), "--rate-limit", "1"]);
    let (status, _) = get(&idr, &format!("/thumbnails?ids={}", ids_param(&images))).await;
    assert_eq!(status, 200, "a full bucket lets any one request through");
    // It owes 2 tokens more than the bucket held: the next request waits them out.
    let next = Idr::client()
        .get(format!("{}/thumbnails?ids={}", idr.base, images[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 429);
    let wait: u64 = next.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 2, "Retry-After {wait}: the debt was not charged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thumbnails_stay_within_the_cache_bound() {
    let (world, _, images) = plate_world();
    let replay = ReplayServer::start(world, Faults::default());
    let idr = Idr::serve(&["--upstream", &replay.url(), "--cache-mib", "1"]);
    for size in ["", "&size=128", "&size=256"] {
        let (status, answer) =
            get(&idr, &format!("/thumbnails?ids={}{size}", ids_param(&images))).await;
        assert_eq!(status, 200);
        assert_eq!(answer["thumbnails"].as_object().unwrap().len(), 384);
    }
    let (_, health) = get(&idr, "/healthz").await;
    let bytes = health["cacheBytes"].as_u64().unwrap();
    assert!(bytes > 0 && bytes <= 1024 * 1024, "cache holds {bytes} bytes");
    // Within the bound, the latest plate's thumbnails are still served from it.
    let before = replay.calls();
    let (status, answer) =
        get(&idr, &format!("/thumbnails?ids={}&size=256", ids_param(&images))).await;
    assert_eq!(status, 200);
    assert_eq!(answer["thumbnails"].as_object().unwrap().len(), 384);
    assert_eq!(replay.calls(), before, "the last plate was evicted");
    // And the thumbnails count in the cache's weight: a default cache holds them all.
    let roomy = Idr::serve(&["--upstream", &replay.url()]);
    get(&roomy, &format!("/thumbnails?ids={}", ids_param(&images))).await;
    let (_, health) = get(&roomy, "/healthz").await;
    let jpegs: usize = images.iter().map(|id| idr_test_support::jpeg(*id).len()).sum();
    assert!(health["cacheBytes"].as_u64().unwrap() as usize >= jpegs, "{health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_names_its_ids_with_a_code() {
    let (world, _, images) = plate_world();
    let replay =
        ReplayServer::start(world, Faults::always("get_thumbnails", FaultKind::Status(503)));
    let idr = Idr::serve(&["--upstream", &replay.url(), "--upstream-timeout", "2"]);
    let (status, answer) =
        get(&idr, &format!("/thumbnails?ids={}", ids_param(&images[..60]))).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["thumbnails"], serde_json::json!({}));
    let errors = answer["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{answer}");
    assert_eq!(errors[0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
    assert_eq!(errors[0]["ids"].as_array().unwrap().len(), 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_thumbnail_requests_get_a_coded_400() {
    let idr = Idr::serve(&["--offline"]);
    let too_many = ids_param(&(1..=1537).collect::<Vec<_>>());
    for (query, says) in [
        ("", "give the image ids"),
        ("?ids=", "give the image ids"),
        ("?ids=1,x", "`x` is not an image id"),
        ("?ids=0", "`0` is not an image id"),
        ("?ids=1,,2", "`` is not an image id"),
        ("?ids=1&size=5", "`size` must be"),
        (&format!("?ids={too_many}"), "at most 1536 ids"),
    ] {
        let (status, body) = get(&idr, &format!("/thumbnails{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{query}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_recorded_thumbnails_are_served_and_the_rest_said_not_recorded() {
    let idr = Idr::serve(&["--offline"]);
    // Recorded as a batch of exactly these two.
    let (status, both) = get(&idr, "/thumbnails?ids=1884807,1884808").await;
    assert_eq!(status, 200);
    assert_eq!(both["errors"], serde_json::json!([]));
    let single =
        Idr::client().get(format!("{}/thumbnails/1884807", idr.base)).send().await.unwrap();
    let single = single.bytes().await.unwrap();
    assert_eq!(both["thumbnails"]["1884807"], data_uri(&single), "batch and single disagree");
    assert!(both["thumbnails"]["1884808"]
        .as_str()
        .unwrap()
        .starts_with("data:image/jpeg;base64,/9j/"));
    // A batch never recorded as such: each image is looked up on its own.
    let (status, mixed) = get(&idr, "/thumbnails?ids=1884807,1938578").await;
    assert_eq!(status, 200);
    assert_eq!(mixed["thumbnails"]["1884807"], data_uri(&single));
    assert!(mixed["thumbnails"].get("1938578").is_none(), "{mixed}");
    assert_eq!(mixed["errors"][0]["extensions"]["code"], "NOT_RECORDED");
    assert_eq!(mixed["errors"][0]["ids"], serde_json::json!(["1938578"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_string_that_cannot_be_read_gets_a_coded_json_400_on_every_route() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let requests = [
        client.get(format!("{}/thumbnails?ids=1&ids=2", idr.base)),
        client.get(format!("{}/thumbnails/1?size=1&size=2", idr.base)),
        client.get(format!("{}/graphql?query=a&query=b", idr.base)),
        client
            .post(format!("{}/ql?run=maybe", idr.base))
            .header("content-type", "application/x-idr-ql")
            .body("screens"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let url = response.url().to_string();
        assert_eq!(response.status(), 400, "{url}");
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{url}: not JSON: {e}"));
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{url}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("the query string is not understood"), "{url}: {message}");
    }
}
