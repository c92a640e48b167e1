//! Several real `idr serve` replicas sharing one real Redis (Debian's `redis-server`,
//! started here on a free loopback port with no persistence) in front of a generated IDR:
//! IDR sees one deployment's calls and concurrency, a client gets its rate once, and
//! Redis going away degrades each replica to working alone without failing a request.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use idr_test_support::Redis;
use idr_test_support::{Faults, ForcedStatus, ReplayServer, Settings, Size, World};
use serde_json::{json, Value};

use crate::Idr;

/// A generated IDR behind a replay server that waits `latency` per call.
pub(crate) fn idr_world(seed: u64, latency: Duration) -> (Arc<World>, ReplayServer) {
    let size = Size { screens: 1, plates: 1, projects: 1, datasets: 1, images: 4, ..Size::small() };
    let world = Arc::new(World::generate(seed, size, Settings::default()));
    let server = ReplayServer::start(world.clone(), Faults { latency, ..Faults::default() });
    (world, server)
}

/// A replica of `upstream` sharing through `redis`, once it has connected to it (a replica
/// serves at once and connects in the background).
pub(crate) fn replica(upstream: &str, redis: &Redis, extra: &[&str]) -> Idr {
    sharing(upstream, &redis.url(), extra)
}

/// A replica of `upstream` on the Redis at `url`, once `/readyz` says it shares.
fn sharing(upstream: &str, url: &str, extra: &[&str]) -> Idr {
    sharing_logged(upstream, url, extra, None)
}

/// [`sharing`], its log kept at `filter` for [`Idr::log`].
fn sharing_logged(upstream: &str, url: &str, extra: &[&str], filter: Option<&str>) -> Idr {
    let mut args = vec!["--upstream", upstream, "--redis", url];
    args.extend_from_slice(extra);
    let idr = match filter {
        Some(filter) => Idr::serve_logged(&args, filter),
        None => Idr::serve(&args),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ready_blocking(&idr)["redis"]["up"] != true {
        assert!(Instant::now() < deadline, "the replica never reached Redis at {url}");
        std::thread::sleep(Duration::from_millis(20));
    }
    idr
}

/// `/readyz`, from a test's async code or not.
fn ready_blocking(idr: &Idr) -> Value {
    let (status, head, body) =
        crate::raw(&idr.addr, &crate::request("GET", "/readyz", "text/plain", b""));
    assert_eq!(status, 200, "{head}");
    serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}: {head}"))
}

/// A query over a whole plate: its wells, their images and their key/values.
fn plate_query(world: &World) -> String {
    let plate = world.plates.keys().next().expect("a plate");
    format!("{{ plate(id: {plate}) {{ name wells {{ label images {{ name keyValues {{ key value }} }} }} }} }}")
}

/// Waits until `done`, at most `within`; fails saying `what` did not happen.
async fn eventually(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A query's whole answer, its cost included.
async fn post_raw(idr: &Idr, query: &str) -> Value {
    idr.post_body(&json!({"query": query})).await.1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_of_one_replica_costs_the_next_no_upstream_call() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(41, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    let b = replica(&server.url(), &redis, &[]);
    let query = plate_query(&world);
    let first = post_raw(&a, &query).await;
    let calls = server.calls();
    assert!(calls > 0 && first.get("errors").is_none(), "{first}");
    let second = post_raw(&b, &query).await;
    assert_eq!(server.calls(), calls, "B asked IDR again");
    assert_eq!(second["extensions"]["cost"]["upstreamCalls"], 0, "{second}");
    // Answers from Redis cost none of the request's budget of upstream calls.
    let cost = &second["extensions"]["cost"];
    assert_eq!(cost["remaining"], cost["budget"], "{second}");
    assert_eq!(second["data"], first["data"]);
    let ready: Value =
        Idr::client().get(format!("{}/readyz", b.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["redis"]["up"], true, "{ready}");
}

/// 3 replicas × 30 identical cold queries at once: IDR answers what one query needs, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_cold_queries_on_three_replicas_cost_one_query() {
    let Some(redis) = Redis::start() else { return };
    // What one query costs, on a replica of its own.
    let (world, solo_server) = idr_world(42, Duration::from_millis(20));
    let query = plate_query(&world);
    let solo = Idr::serve(&["--upstream", &solo_server.url()]);
    let one = post_raw(&solo, &query).await;
    assert!(one.get("errors").is_none(), "{one}");
    let one_query = solo_server.calls();
    drop(solo);

    let (_, server) = idr_world(42, Duration::from_millis(20));
    let replicas: Vec<Idr> = (0..3).map(|_| replica(&server.url(), &redis, &[])).collect();
    // (Waiting for each replica to reach Redis, `/readyz` asked IDR for its versions.)
    let before = server.calls();
    let answers =
        futures_util::future::join_all((0..30).map(|i| post_raw(&replicas[i % 3], &query))).await;
    for answer in &answers {
        assert_eq!(answer["data"], one["data"]);
    }
    let requests = server.requests();
    assert_eq!(
        server.calls() - before,
        one_query,
        "IDR saw more than one query's calls: {:?}",
        &requests[before as usize..]
    );
}

/// 3 replicas, each capped at 3 upstream calls in flight, under queries that need one call
/// per image: IDR never sees more than 3 at once, the deployment's cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_cap_holds_across_replicas() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(43, Duration::from_millis(40));
    let ids: Vec<String> = world.images.keys().take(24).map(|id| format!("\"{id}\"")).collect();
    let replicas: Vec<Idr> =
        (0..3).map(|_| replica(&server.url(), &redis, &["--max-concurrency", "3"])).collect();
    // Each replica asks for different images, so that nothing is shared but the cap.
    let queries: Vec<String> = ids
        .chunks(8)
        .map(|chunk| format!("{{ images(ids: [{}]) {{ name sizeX: width }} }}", chunk.join(", ")))
        .collect();
    let answers =
        futures_util::future::join_all(queries.iter().zip(&replicas).map(|(q, r)| post_raw(r, q)))
            .await;
    for answer in &answers {
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let peak = server.max_in_flight();
    assert!(peak <= 3, "IDR saw {peak} calls in flight at once");
    assert!(peak >= 2, "the replicas did work at once ({peak})");
}

/// A client's rate is its rate on the deployment: its bucket is one, whichever replica it
/// reaches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_across_replicas() {
    let Some(redis) = Redis::start() else { return };
    let (_, server) = idr_world(44, Duration::ZERO);
    // 1 a second with bursts of 6 (`--rate-limit` × 6): 6 requests, then 429 but for
    // what the bucket refills meanwhile; alone, each replica would let 6 through.
    let replicas: Vec<Idr> =
        (0..2).map(|_| replica(&server.url(), &redis, &["--rate-limit", "1"])).collect();
    let started = Instant::now();
    let mut allowed = 0;
    for i in 0..12 {
        let status = Idr::client()
            .post(format!("{}/graphql", replicas[i % 2].base))
            .json(&json!({"query": "{ __typename }"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        match status {
            200 => allowed += 1,
            429 => {}
            other => panic!("status {other}"),
        }
    }
    let refilled = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(
        (6..=6 + refilled).contains(&allowed) && allowed < 12,
        "one burst for the deployment, not one per replica: {allowed} of 12 in {:?}",
        started.elapsed()
    );
}

/// Redis killed mid-test: every request is still answered (each replica alone); Redis back:
/// the replicas share again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_degrades_and_its_return_recovers() {
    let Some(mut redis) = Redis::start() else { return };
    let (world, server) = idr_world(45, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    let b = replica(&server.url(), &redis, &[]);
    let query = plate_query(&world);
    assert!(post_raw(&a, &query).await.get("errors").is_none());

    redis.kill();
    let plate = world.plates.keys().next().unwrap();
    for (i, replica) in [&a, &b, &a, &b].into_iter().enumerate() {
        let started = Instant::now();
        let answer = post_raw(replica, &format!("{{ plate(id: {plate}) {{ n{i}: name }} }}")).await;
        assert!(answer.get("errors").is_none(), "without Redis: {answer}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }
    let ready = |idr: &Idr| {
        let url = format!("{}/readyz", idr.base);
        async move { Idr::client().get(url).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let down = ready(&b).await;
    assert_eq!(down["redis"]["up"], false, "{down}");
    assert_eq!(down["ready"], true, "a replica without Redis still serves: {down}");

    redis.restart();
    // Back: within a few seconds, an answer of A is again B's for free.
    let deadline = Instant::now() + Duration::from_secs(20);
    // A question neither replica asked before (the plate's answers sat in the Redis
    // that died, and stay in each replica's own cache).
    let fresh = "{ screens(first: 5) { nodes { name } } projects(first: 5) { nodes { name } } }";
    loop {
        let _ = post_raw(&a, "{ __typename }").await;
        if ready(&a).await["redis"]["up"] == true && ready(&b).await["redis"]["up"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "the replicas did not reconnect to Redis");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = post_raw(&a, fresh).await;
    let calls = server.calls();
    let answer = post_raw(&b, fresh).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let requests = server.requests();
    assert_eq!(
        server.calls(),
        calls,
        "after Redis came back, B shares A's answers again; B asked {:?}",
        &requests[calls as usize..]
    );
}

/// Sends `idr` a query whose two image calls hang (the upstream hangs `imgData`), and
/// waits until they hold both permits of a cap of 2; the request's task.
async fn hold_two_permits(idr: &Idr, world: &World, redis: &Redis) -> tokio::task::JoinHandle<()> {
    let ids: Vec<String> = world.images.keys().take(2).map(|id| format!("\"{id}\"")).collect();
    let hung = format!("{{ images(ids: [{}]) {{ name }} }}", ids.join(", "));
    let base = idr.base.clone();
    let pending = tokio::spawn(async move {
        let _ = Idr::client()
            .post(format!("{base}/graphql"))
            .json(&json!({"query": hung}))
            .send()
            .await;
    });
    eventually(Duration::from_secs(10), "the replica never held its permits", || {
        redis.cli(&["ZCARD", "idr:v1:permits"]) == "2"
    })
    .await;
    pending
}

/// A replica killed while it holds permits of the shared cap: they come back when their
/// lease ends (the upstream deadline plus 5 s), so the others are not starved for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permits_of_a_killed_replica_come_back_after_their_lease() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(46, Duration::ZERO);
    // Every imgData call hangs: A's calls hold both permits of the cap until A dies.
    server.set_faults(Faults { hang: Some("/imgData/".to_owned()), ..Faults::default() });
    let mut a =
        replica(&server.url(), &redis, &["--max-concurrency", "2", "--upstream-timeout", "1"]);
    let pending = hold_two_permits(&a, &world, &redis).await;
    a.signal("KILL");
    let _ = a.wait_exit(Duration::from_secs(5));
    pending.abort();
    let left: u32 = redis.cli(&["ZCARD", "idr:v1:permits"]).parse().unwrap_or(0);
    assert!(left >= 1, "the dead replica left permits behind");

    server.set_faults(Faults::default());
    let b = replica(&server.url(), &redis, &["--max-concurrency", "2", "--upstream-timeout", "1"]);
    let plate = world.plates.keys().next().unwrap();
    let answer = post_raw(&b, &format!("{{ plate(id: {plate}) {{ name }} }}")).await;
    assert!(answer.get("errors").is_none(), "B waited for the leases to end: {answer}");
    // The permits B took are given back; none of A's are left.
    eventually(Duration::from_secs(10), "permits left behind", || {
        redis.cli(&["ZCARD", "idr:v1:permits"]) == "0"
    })
    .await;
}

/// A Redis that stops answering (busy for 5 s) does not hold a request for as long: each
/// call gives up after its deadline, and the replica answers alone meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_does_not_hold_requests() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(47, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    assert!(post_raw(&a, "{ __typename }").await.get("errors").is_none());
    // Every client of Redis is held for 5 s (Redis 7 refuses `DEBUG SLEEP` by default).
    assert_eq!(redis.cli(&["CLIENT", "PAUSE", "5000", "ALL"]), "OK");
    let started = Instant::now();
    let answer = post_raw(&a, &plate_query(&world)).await;
    let took = started.elapsed();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert!(took < Duration::from_secs(3), "the request waited for Redis ({took:?})");
    let ready = ready_blocking(&a);
    assert_eq!(ready["redis"]["up"], false, "the stall was seen: {ready}");
}

/// A Redis that asks for a password: the right one in the URL shares; a wrong one is a
/// Redis that does not answer (each replica alone), and `/readyz` says so without the
/// password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_the_url_authenticates() {
    if !Redis::installed() {
        return;
    }
    let Some(redis) = Redis::start_with(Some("s3cret")) else { return };
    let (world, server) = idr_world(48, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    let b = replica(&server.url(), &redis, &[]);
    let query = plate_query(&world);
    let _ = post_raw(&a, &query).await;
    let calls = server.calls();
    let _ = post_raw(&b, &query).await;
    assert_eq!(server.calls(), calls, "shared through the authenticated Redis");
    // An ACL user, named in the URL, authenticates as that user.
    assert_eq!(redis.cli(&["ACL", "SETUSER", "idr", "on", ">pw2", "~idr:*", "+@all"]), "OK");
    let acl = format!("redis://idr:pw2@127.0.0.1:{}", redis.port);
    let d = sharing(&server.url(), &acl, &[]);
    let calls = server.calls();
    let _ = post_raw(&d, &query).await;
    assert_eq!(server.calls(), calls, "shared through Redis as the ACL user");

    let wrong = format!("redis://:nope@127.0.0.1:{}", redis.port);
    let c = Idr::serve(&["--upstream", &server.url(), "--redis", &wrong]);
    let answer = post_raw(&c, "{ __typename }").await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let ready: Value =
        Idr::client().get(format!("{}/readyz", c.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["redis"]["up"], false, "{ready}");
    assert!(!ready.to_string().contains("nope"), "no credentials in {ready}");
}

/// A request that gives up while its replica fetches for everyone (its deadline passes)
/// gives the claim back at once: another replica then fetches the answer itself instead of
/// waiting out the claim's lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_fetch_gives_its_claim_back() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(49, Duration::ZERO);
    let plate = *world.plates.keys().next().unwrap();
    server.set_faults(Faults { hang: Some("/webgateway/plate/".to_owned()), ..Faults::default() });
    let a = replica(&server.url(), &redis, &["--request-timeout", "1"]);
    let query = format!("{{ plate(id: {plate}) {{ wells {{ label }} }} }}");
    let claims = || redis.cli(&["--scan", "--pattern", "idr:v1:resp:*:claim"]);
    let (answer, ()) = tokio::join!(post_raw(&a, &query), async {
        eventually(Duration::from_secs(5), "the hung fetch never held a claim", || {
            !claims().is_empty()
        })
        .await;
    });
    assert!(answer["errors"].is_array(), "the hung call timed out: {answer}");
    // The claim is gone soon after, not after its 35 s lease.
    eventually(Duration::from_secs(5), "the claim outlived its cancelled fetch", || {
        claims().is_empty()
    })
    .await;
    server.set_faults(Faults::default());
    let b = replica(&server.url(), &redis, &[]);
    let answer = post_raw(&b, &query).await;
    assert!(answer.get("errors").is_none(), "B fetched it itself: {answer}");
}

/// An answer taken from Redis lives in a replica's own cache no longer than it had left in
/// Redis: shared answers age once, not twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_answer_keeps_its_age() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(50, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    let b = replica(&server.url(), &redis, &[]);
    let plate = *world.plates.keys().next().unwrap();
    let query = format!("{{ plate(id: {plate}) {{ name }} }}");
    let _ = post_raw(&a, &query).await;
    // Near the end of their TTL in Redis.
    for key in redis.cli(&["--scan", "--pattern", "idr:v1:resp:*"]).lines() {
        if !key.contains(":claim") && !key.contains(":end:") {
            redis.cli(&["PEXPIRE", key, "1500"]);
        }
    }
    let calls = server.calls();
    let _ = post_raw(&b, &query).await;
    assert_eq!(server.calls(), calls, "B read A's answers from Redis");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let _ = post_raw(&b, &query).await;
    assert!(server.calls() > calls, "B kept an answer past the TTL it had in Redis");
}

/// A replica stopped with SIGTERM while its calls hold permits and claims gives them back
/// when the drain ends, not when their leases do: the other replicas neither wait for
/// permits nor for answers that nobody is fetching any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_replica_gives_its_permits_and_claims_back() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(51, Duration::ZERO);
    server.set_faults(Faults { hang: Some("/imgData/".to_owned()), ..Faults::default() });
    let mut a = replica(
        &server.url(),
        &redis,
        &["--max-concurrency", "2", "--upstream-timeout", "30", "--drain-timeout", "1"],
    );
    let pending = hold_two_permits(&a, &world, &redis).await;
    let claims = || redis.cli(&["--scan", "--pattern", "idr:v1:resp:*:claim"]);
    assert_eq!(claims().lines().count(), 2, "each hung call holds its claim");
    a.signal("TERM");
    let exited = a.wait_exit(Duration::from_secs(10));
    assert!(exited.is_some(), "A drained and exited");
    pending.abort();
    assert_eq!(redis.cli(&["ZCARD", "idr:v1:permits"]), "0", "permits left behind after the drain");
    assert_eq!(claims(), "", "claims left behind after the drain");
}

/// A fetch that fails (IDR answers 500, slowly) while the other replicas wait for it: they
/// answer with its error, as the waiters of one call in a replica do, instead of asking
/// IDR in turn. The next request, after the failure, asks IDR again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_the_failure_of_the_fetch_they_waited_for() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(52, Duration::ZERO);
    let failing = "/webgateway/plate/";
    server.set_faults(Faults {
        latency: Duration::from_millis(300),
        status: Some(ForcedStatus { path_contains: failing.to_owned(), status: 500, times: None }),
        ..Faults::default()
    });
    let replicas: Vec<Idr> = (0..3).map(|_| replica(&server.url(), &redis, &[])).collect();
    let plate = *world.plates.keys().next().unwrap();
    let query = format!("{{ plate(id: {plate}) {{ name wells {{ label }} }} }}");
    let asked = || server.requests().iter().filter(|r| r.contains(failing)).count();
    let answers =
        futures_util::future::join_all((0..30).map(|i| post_raw(&replicas[i % 3], &query))).await;
    for answer in &answers {
        assert_eq!(answer["errors"][0]["extensions"]["code"], "UPSTREAM_UNAVAILABLE", "{answer}");
        assert!(answer["data"]["plate"]["name"].is_string(), "partial data: {answer}");
    }
    assert_eq!(asked(), 1, "the replicas asked IDR in turn: {:?}", server.requests());
    // The failure was that fetch's outcome, not an answer: a later request tries again.
    let again = post_raw(&replicas[1], &query).await;
    assert!(again["errors"].is_array(), "{again}");
    assert_eq!(asked(), 2, "a failure is not cached");
}

/// A Redis that speaks only TLS (`rediss://`), its certificate signed by a private CA:
/// replicas given the CA (`--redis-ca`) share through it; one without it does not trust
/// the certificate, and runs alone (and says so) rather than share over an unverified
/// connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_redis_is_trusted_through_its_ca() {
    let Some(redis) = Redis::start_tls() else { return };
    assert_eq!(redis.cli(&["PING"]), "PONG", "redis-cli reaches the TLS port");
    let (world, server) = idr_world(53, Duration::ZERO);
    let ca = redis.tls_file("ca.crt");
    let a = replica(&server.url(), &redis, &["--redis-ca", &ca]);
    let b = replica(&server.url(), &redis, &["--redis-ca", &ca]);
    let query = plate_query(&world);
    let first = post_raw(&a, &query).await;
    assert!(first.get("errors").is_none(), "{first}");
    let calls = server.calls();
    let second = post_raw(&b, &query).await;
    assert_eq!(server.calls(), calls, "B read A's answers from Redis over TLS");
    assert_eq!(second["data"], first["data"]);
    assert!(redis.cli(&["DBSIZE"]).parse::<u32>().unwrap_or(0) > 0);

    // Without the CA, the system's roots do not vouch for the certificate.
    let c = Idr::serve(&["--upstream", &server.url(), "--redis", &redis.url()]);
    let answer = post_raw(&c, &query).await;
    assert_eq!(answer["data"], first["data"], "C answers alone");
    let ready: Value =
        Idr::client().get(format!("{}/readyz", c.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["redis"]["up"], false, "{ready}");

    // A CA that cannot be used stops the replica before it listens, saying why.
    let refused = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(["serve", "--offline", "--listen", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("idr runs");
        assert!(!out.status.success(), "{args:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let url = redis.url();
    let key = redis.tls_file("redis.key");
    let plain = url.replace("rediss://", "redis://");
    assert!(refused(&["--redis", &url, "--redis-ca", &key]).contains("no PEM certificate"));
    assert!(refused(&["--redis", &url, "--redis-ca", "/nonexistent.pem"]).contains("cannot read"));
    assert!(refused(&["--redis", &plain, "--redis-ca", &ca]).contains("rediss://"));
    assert!(refused(&["--redis-ca", &ca]).contains("needs --redis"));
}

/// Redis answering every call with an error (here an ACL that forbids the keys): nothing is
/// shared, every request is still answered, and `/readyz` and the metrics say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_refuses_calls_is_reported() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(54, Duration::ZERO);
    assert_eq!(redis.cli(&["ACL", "SETUSER", "other", "on", ">pw", "~other:*", "+@all"]), "OK");
    let url = format!("redis://other:pw@127.0.0.1:{}", redis.port);
    let a = sharing(&server.url(), &url, &[]);
    let answer = post_raw(&a, &plate_query(&world)).await;
    assert!(answer.get("errors").is_none(), "{answer}");
    let ready = ready_blocking(&a);
    assert_eq!(ready["redis"]["refusing"], "NOPERM", "{ready}");
    assert_eq!(ready["ready"], true, "{ready}");
    let metrics = reqwest::get(format!("{}/metrics", a.base)).await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with("idr_redis_refusals_total{code=\"NOPERM\"}")),
        "{metrics}"
    );
    assert_eq!(redis.cli(&["DBSIZE"]), "0", "nothing was written");
}

/// A claim whose fetch ends while its replica is leaving a slow Redis alone (the quiet
/// second after a call timed out) is still given back once Redis answers, instead of
/// waiting out its 35 s lease; so are its permits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_ended_while_redis_was_slow_are_given_back() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(55, Duration::ZERO);
    let a = replica(&server.url(), &redis, &[]);
    server.set_faults(Faults { latency: Duration::from_millis(1000), ..Faults::default() });
    let plate = *world.plates.keys().next().unwrap();
    let claims = || redis.cli(&["--scan", "--pattern", "idr:v1:resp:*:claim"]);
    let query = format!("{{ plate(id: {plate}) {{ name }} }}");
    let slow = post_raw(&a, &query);
    let stall = async {
        eventually(Duration::from_secs(5), "the fetch never held a claim", || !claims().is_empty())
            .await;
        // Redis stalls for 600 ms; a call of A's meanwhile times out, and A leaves Redis
        // alone for a second, during which the plate's fetch ends.
        assert_eq!(redis.cli(&["CLIENT", "PAUSE", "600", "ALL"]), "OK");
        let other = post_raw(&a, "{ screens(first: 1) { nodes { name } } }").await;
        assert!(other.get("errors").is_none(), "{other}");
    };
    let (answer, ()) = tokio::join!(slow, stall);
    assert!(answer.get("errors").is_none(), "{answer}");
    eventually(Duration::from_secs(5), "claims or permits were left to their leases", || {
        claims().is_empty() && redis.cli(&["ZCARD", "idr:v1:permits"]) == "0"
    })
    .await;
}

/// A Redis out of memory (no eviction) serves the answers it holds and refuses every
/// write: the replica keeps answering, says once that Redis refuses calls (however reads
/// and refused writes alternate), and `/readyz` says so throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_out_of_memory_is_reported_once() {
    let Some(redis) = Redis::start() else { return };
    let (world, server) = idr_world(56, Duration::ZERO);
    let a = sharing_logged(&server.url(), &redis.url(), &[], Some("idr_server::shared=info"));
    let plates: Vec<u64> = world.plates.keys().copied().collect();
    let stored = format!("{{ plate(id: {}) {{ name }} }}", plates[0]);
    assert!(post_raw(&a, &stored).await.get("errors").is_none());
    // Full: a value larger than the bound, then no eviction.
    assert_eq!(redis.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]), "OK");
    assert_eq!(redis.cli(&["SETRANGE", "ballast", "70000000", "x"]), "70000001");
    let b = replica(&server.url(), &redis, &[]);
    for i in 0..6 {
        // B reads A's stored answer (a call Redis serves) and asks for new ones (claims,
        // which Redis refuses), in turns.
        let answer = post_raw(&b, &stored).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let fresh = format!("{{ screens(first: {}) {{ nodes {{ name }} }} }}", i + 1);
        let answer = post_raw(&a, &fresh).await;
        assert!(answer.get("errors").is_none(), "{answer}");
        let answer = post_raw(&a, &stored).await;
        assert!(answer.get("errors").is_none(), "{answer}");
    }
    let ready = ready_blocking(&a);
    assert_eq!(ready["redis"]["refusing"], "OOM", "{ready}");
    let log = a.log();
    let said = log.matches("Redis refuses calls").count();
    assert_eq!(said, 1, "said once, not at every turn: {log}");
    assert!(!log.contains("refused no call"), "{log}");
}

/// Requests cut at random moments (their clients hang up) on three replicas: once all
/// is quiet, no claim and no permit is left in Redis for others to wait out. Whatever the
/// moment of the cut (while a claim or permit is being asked for, while held, while given
/// back), nothing is left to its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_cut_at_any_moment_leave_nothing_behind() {
    let Some(redis) = Redis::start() else { return };
    // Enough images that each request asks IDR something of its own.
    let size = Size { images: 240, ..Size::small() };
    let world = Arc::new(World::generate(57, size, Settings::default()));
    let faults = Faults {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(20),
        ..Faults::default()
    };
    let server = ReplayServer::start(world.clone(), faults);
    let replicas: Vec<Idr> = (0..3)
        .map(|_| {
            replica(&server.url(), &redis, &["--max-concurrency", "4", "--rate-limit", "1000"])
        })
        .collect();
    let images: Vec<String> = world.images.keys().map(|id| id.to_string()).collect();
    let mut rng = fastrand::Rng::with_seed(57);
    let cuts = (0..240).map(|i| {
        let image = &images[i % images.len()];
        // Different fields, so that many claims and permits are at stake at once.
        let query = format!("{{ image(id: {image}) {{ name f{i}: width keyValues {{ key }} }} }}");
        let base = replicas[i % 3].base.clone();
        let cut = Duration::from_micros(rng.u64(0..600_000));
        async move {
            let send =
                Idr::client().post(format!("{base}/graphql")).json(&json!({"query": query})).send();
            tokio::time::timeout(cut, send).await.is_err()
        }
    });
    let cut = futures_util::future::join_all(cuts).await.into_iter().filter(|c| *c).count();
    // Some were cut and some answered, and IDR was asked: the moments were varied.
    assert!((10..=235).contains(&cut), "{cut} of 240 cut");
    assert!(server.calls() > 20, "{} calls, {cut} cut", server.calls());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let claims = redis.cli(&["--scan", "--pattern", "idr:v1:resp:*:claim"]);
        let permits = redis.cli(&["ZCARD", "idr:v1:permits"]);
        if claims.is_empty() && permits == "0" {
            break;
        }
        assert!(Instant::now() < deadline, "left behind: claims {claims:?}, permits {permits}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
