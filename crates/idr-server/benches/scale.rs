//! idr-graph at IDR's scale: the real `idr serve` process in front of a generated IDR
//! (idr-test-support's `World`, served by `ReplayServer` with 10 ms of latency per call,
//! plus up to 2 ms of jitter), against a notebook-style walk of the same data.
//!
//! Run with `cargo bench -p idr-server --bench scale` (add `-- NAME…` to run only the
//! scenarios whose names contain one of the words). It prints one table and writes
//! `target/bench/summary.json`. Every figure of a run comes from that run, so ratios
//! compare like with like on whatever machine runs it.
//!
//! Per scenario: upstream calls by route, dependent rounds (the longest chain of calls
//! each of which started after the one before it ended, which counts the waves the
//! concurrency cap forces), the critical path (rounds × the mean latency), wall and
//! wall / critical path, the most calls in flight, the server's CPU time and its peak
//! RSS (VmHWM, reset before each scenario).

#![expect(clippy::print_stdout, reason = "a benchmark prints its report")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use idr_test_support::{CallSpan, Faults, Redis, ReplayServer, Settings, Size, World};
use serde_json::{json, Value};

/// Waited by the upstream before every answer, and the most it adds at random.
const LATENCY: Duration = Duration::from_millis(10);
const JITTER: Duration = Duration::from_millis(2);
/// `--max-concurrency` of the server under test.
const CAP: usize = 8;

fn main() {
    let filters: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut report = Report::default();
    runtime.block_on(async {
        let plate_scale = Bench::start("plate scale", Size::full_plates(4, 16, 24, 1));
        if wanted("naive") {
            report.push(plate_scale.naive_walk().await);
        }
        if wanted("plate") {
            let server = plate_scale.server();
            report.push(plate_scale.query(&server, "plate scale, cold", PLATES, 1).await);
            report.push(plate_scale.query(&server, "plate scale, warm", PLATES, 1).await);
            report
                .push(plate_scale.sequential(&server, "plate scale, warm × 20", PLATES, 20).await);
            let server = plate_scale.server();
            report.push(plate_scale.query(&server, "plate scale, cold + sizes", SIZES, 1).await);
            let server = plate_scale.server();
            report.push(
                plate_scale.query(&server, "plate scale, 100 at once, cold", PLATES, 100).await,
            );
        }
        if wanted("replicas") {
            match Redis::start() {
                Some(redis) => {
                    for row in replicas(&redis).await {
                        report.push(row);
                    }
                }
                None => eprintln!("replicas: skipped, no redis-server"),
            }
        }
        if wanted("small") {
            let small = Bench::start("one 96-well plate", Size::full_plates(1, 8, 12, 1));
            let server = small.server();
            report.push(small.query(&server, "96-well plate, cold", PLATES, 1).await);
            report.push(small.sequential(&server, "96-well plate, warm × 200", PLATES, 200).await);
            for clients in [1, 16, 64] {
                report.push(small.throughput(&server, clients, Duration::from_secs(2)).await);
            }
        }
        if wanted("screen") {
            let screen = Bench::start("screen scale", Size::full_plates(10, 16, 24, 2));
            let server = screen.server();
            report.push(screen.query(&server, "screen scale, cold", PLATES, 1).await);
            // Repeats on the same server: its memory must stay flat.
            for run in 2..=3 {
                let name = format!("screen scale, repeat {run}");
                report.push(screen.query(&server, &name, PLATES, 1).await);
            }
        }
    });
    report.finish();
}

/// The plate-scale query: every well of every plate of the screen, with its images'
/// key/values and its bulk-annotation row.
const PLATES: &str = "query($screen: ID!, $plates: Int!) { screen(id: $screen) { name plates(first: $plates) { nodes {
    id name wells { id label images { id name keyValues { key value } }
    bulkAnnotation { columns values } } } } } }";

/// The same, with each image's size (one `imgData` per image: IDR has no batch form).
const SIZES: &str = "query($screen: ID!, $plates: Int!) { screen(id: $screen) { name plates(first: $plates) { nodes {
    id name wells { id label images { id name width height sizeC keyValues { key value } }
    bulkAnnotation { columns values } } } } } }";

/// A well's id and its images' ids.
type WellImages = (u64, Vec<u64>);

/// A generated IDR behind a replay server, and what the benchmark needs to know of it.
struct Bench {
    what: &'static str,
    upstream: Arc<ReplayServer>,
    screen: u64,
    /// Every plate of the screen with its wells' (well, first image) ids.
    plates: Vec<(u64, Vec<WellImages>)>,
    images: usize,
}

impl Bench {
    fn start(what: &'static str, size: Size) -> Bench {
        let world = World::generate(9, size, Settings::default());
        let screen = world.screens_in_order()[0].id;
        let plates = world.screens[&screen]
            .plates
            .iter()
            .map(|p| {
                let wells = world.plates[p]
                    .wells
                    .iter()
                    .map(|w| (*w, world.wells[w].images.iter().flatten().copied().collect()))
                    .collect();
                (*p, wells)
            })
            .collect::<Vec<(u64, Vec<WellImages>)>>();
        let images = plates.iter().flat_map(|(_, w)| w).map(|(_, i)| i.len()).sum();
        let faults = Faults { latency: LATENCY, jitter: JITTER, ..Faults::default() };
        let upstream = Arc::new(ReplayServer::start(world, faults));
        Bench { what, upstream, screen, plates, images }
    }

    fn server(&self) -> Server {
        Server::start(&self.upstream.url())
    }

    fn begin(&self, server: Option<&Server>) -> Mark {
        self.upstream.reset_max_in_flight();
        if let Some(server) = server {
            server.reset_peak_rss();
        }
        Mark {
            at: Instant::now(),
            routes: self.upstream.calls_by_route(),
            spans: self.upstream.timeline().len(),
            cpu: server.map(Server::cpu),
        }
    }

    fn end(&self, name: &str, mark: Mark, server: Option<&Server>, extra: Value) -> Row {
        let wall = mark.at.elapsed();
        let routes = self.upstream.calls_by_route();
        let by_route: BTreeMap<String, u64> = routes
            .iter()
            .map(|(route, n)| (route.clone(), n - mark.routes.get(route).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let spans = self.upstream.timeline().split_off(mark.spans);
        let rounds = rounds(&spans);
        if std::env::var_os("BENCH_SPANS").is_some() {
            let origin = spans.iter().map(|s| s.start).min().unwrap_or_default();
            for s in &spans {
                eprintln!(
                    "  {name}: {:>7.1} {:>7.1} {}",
                    ms(s.start - origin),
                    ms(s.end - origin),
                    s.route
                );
            }
            eprintln!("  {name}: wall {:.1}", ms(wall));
        }
        let mean_latency = LATENCY + JITTER / 2;
        Row {
            name: name.to_owned(),
            world: self.what,
            images: self.images,
            calls: by_route.values().sum(),
            by_route,
            rounds,
            critical_path: mean_latency * rounds as u32,
            wall,
            max_in_flight: self.upstream.max_in_flight(),
            cpu: server.and_then(|s| Some(s.cpu().saturating_sub(mark.cpu?))),
            peak_rss: server.map(Server::peak_rss),
            extra,
        }
    }

    /// A notebook's loop, one call after another: the screen, its plates, each plate's
    /// grid, and for each image its map annotations and its well's bulk-annotation row.
    async fn naive_walk(&self) -> Row {
        let http = http_client();
        let base = self.upstream.url();
        let get = |path: String| {
            let http = http.clone();
            let url = format!("{base}{path}");
            async move {
                let response = http.get(&url).send().await.expect("the upstream answers");
                response.bytes().await.expect("a whole body")
            }
        };
        let mark = self.begin(None);
        get(format!("/api/v0/m/screens/{}/", self.screen)).await;
        get(format!("/webclient/api/plates/?id={}&page=0", self.screen)).await;
        for (plate, wells) in &self.plates {
            let grid: Value =
                serde_json::from_slice(&get(format!("/webgateway/plate/{plate}/0/")).await)
                    .expect("a grid");
            assert!(grid["grid"].is_array(), "plate {plate} has a grid");
            for (well, images) in wells {
                for image in images {
                    get(format!("/webclient/api/annotations/?type=map&image={image}")).await;
                    get(format!(
                        "/webgateway/table/Screen.plateLinks.child.wells/{well}/query/?query=Well-{well}"
                    ))
                    .await;
                }
            }
        }
        self.end("plate scale, notebook-style walk", mark, None, json!({}))
    }

    /// `clients` identical requests at once; the row's wall is the last one's.
    async fn query(&self, server: &Server, name: &str, query: &str, clients: usize) -> Row {
        let body = json!({"query": query, "variables": {"screen": self.screen.to_string(), "plates": self.plates.len()}});
        let mark = self.begin(Some(server));
        let answers = futures_join(clients, || server.post(&body)).await;
        let mut row = self.end(name, mark, Some(server), json!({}));
        let first: Value = serde_json::from_slice(&answers[0]).expect("JSON");
        let errors = first.get("errors").map_or(0, |e| e.as_array().map_or(1, Vec::len));
        let wells: usize =
            first["data"]["screen"]["plates"]["nodes"].as_array().map_or(0, |plates| {
                plates.iter().map(|p| p["wells"].as_array().map_or(0, Vec::len)).sum()
            });
        let expected: usize = self.plates.iter().map(|(_, w)| w.len()).sum();
        assert_eq!(errors, 0, "{name}: the answer has errors: {}", first["errors"]);
        assert_eq!(wells, expected, "{name}: every well is in the answer");
        // Byte for byte: the server writes the same answer for the same query (its
        // `extensions.cost` is per execution, and identical requests share one).
        assert!(
            answers.iter().all(|a| a == &answers[0]),
            "{name}: identical queries, identical answers"
        );
        row.extra = json!({"answer_bytes": answers[0].len(), "clients": clients});
        row
    }

    /// The same request `times` times, one after another, on a warm server: the median
    /// wall of one, against the server CPU one used.
    async fn sequential(&self, server: &Server, name: &str, query: &str, times: usize) -> Row {
        let body = json!({"query": query, "variables": {"screen": self.screen.to_string(), "plates": self.plates.len()}});
        server.post(&body).await;
        let mark = self.begin(Some(server));
        let mut walls = Vec::with_capacity(times);
        for _ in 0..times {
            let at = Instant::now();
            server.post(&body).await;
            walls.push(at.elapsed());
        }
        let mut row = self.end(name, mark, Some(server), json!({}));
        walls.sort();
        let cpu_each = row.cpu.map(|c| c / times as u32);
        row.extra = json!({
            "median_ms": ms(walls[times / 2]),
            "cpu_each_ms": cpu_each.map(ms),
            "median_over_cpu": cpu_each.map(|c| ratio(walls[times / 2], c)),
        });
        row
    }

    /// A small cached query as fast as `clients` clients can send it, for `length`.
    async fn throughput(&self, server: &Server, clients: usize, length: Duration) -> Row {
        let (_, image) = self.plates[0].1[0].clone();
        let body = json!({"query": "query($id: ID!) { image(id: $id) { id name } }",
                          "variables": {"id": image[0].to_string()}});
        server.post(&body).await;
        let mark = self.begin(Some(server));
        let until = Instant::now() + length;
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let (http, url, body) = (server.http.clone(), server.graphql(), body.clone());
                tokio::spawn(async move {
                    let mut latencies = Vec::new();
                    while Instant::now() < until {
                        let at = Instant::now();
                        let response = http.post(&url).json(&body).send().await;
                        let ok = match response {
                            Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                            Err(_) => false,
                        };
                        assert!(ok, "the cached query is answered");
                        latencies.push(at.elapsed());
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("a client task"));
        }
        let name = format!("small cached query, {clients} clients");
        let mut row = self.end(&name, mark, Some(server), json!({}));
        latencies.sort();
        let pick = |q: f64| ms(latencies[((latencies.len() - 1) as f64 * q) as usize]);
        row.extra = json!({
            "requests": latencies.len(),
            "per_second": (latencies.len() as f64 / row.wall.as_secs_f64()).round(),
            "p50_ms": pick(0.5),
            "p99_ms": pick(0.99),
        });
        row
    }
}

/// Round trips clients made to `redis` so far: the calls of the commands a replica sends
/// (`INFO commandstats`; a script's own commands run inside Redis and are not round
/// trips, so only `EVALSHA`/`EVAL` count for it).
fn round_trips(redis: &Redis) -> u64 {
    let out = redis.cli(&["info", "commandstats"]);
    let sent = ["evalsha", "eval", "get", "set", "zrem", "ping"];
    out.lines()
        .filter_map(|l| {
            let (name, stats) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats.split(',').find_map(|f| f.strip_prefix("calls="))?;
            sent.contains(&name).then(|| calls.parse::<u64>().ok()).flatten()
        })
        .sum()
}

/// The plate-scale query on 1 replica, and on 3 replicas sharing one Redis: upstream
/// calls and wall, cold (3 clients at once, one per replica) and warm (the median of 20 on
/// one replica), and the Redis commands a warm query adds.
async fn replicas(redis: &Redis) -> Vec<Row> {
    let mut rows = Vec::new();
    let one = Bench::start("plate scale", Size::full_plates(4, 16, 24, 1));
    let server = one.server();
    rows.push(one.query(&server, "1 replica, cold", PLATES, 1).await);
    rows.push(one.sequential(&server, "1 replica, warm × 20", PLATES, 20).await);
    drop(server);

    // 3 replicas on their own: each asks IDR for everything.
    let alone = Bench::start("plate scale", Size::full_plates(4, 16, 24, 1));
    let servers: Vec<Server> = (0..3).map(|_| Server::start(&alone.upstream.url())).collect();
    let body = json!({"query": PLATES, "variables": {"screen": alone.screen.to_string(), "plates": alone.plates.len()}});
    let mark = alone.begin(Some(&servers[0]));
    futures_util::future::join_all(servers.iter().map(|s| s.post(&body))).await;
    rows.push(alone.end(
        "3 replicas alone, cold (one client each)",
        mark,
        Some(&servers[0]),
        json!({"clients": 3}),
    ));
    drop(servers);

    let three = Bench::start("plate scale", Size::full_plates(4, 16, 24, 1));
    let url = redis.url();
    let servers: Vec<Server> =
        (0..3).map(|_| Server::start_with(&three.upstream.url(), &["--redis", &url])).collect();
    let body = json!({"query": PLATES, "variables": {"screen": three.screen.to_string(), "plates": three.plates.len()}});
    // Let every replica connect to Redis before the clock starts.
    std::thread::sleep(Duration::from_millis(500));
    let mark = three.begin(Some(&servers[0]));
    let answers = futures_util::future::join_all(servers.iter().map(|s| s.post(&body))).await;
    let mut row =
        three.end("3 replicas + Redis, cold (one client each)", mark, Some(&servers[0]), json!({}));
    // The same data from every replica (each has its own `extensions.cost`).
    let data = |a: &Bytes| serde_json::from_slice::<Value>(a).expect("JSON")["data"].take();
    let first = data(&answers[0]);
    assert!(first["screen"]["plates"]["nodes"].is_array(), "an answer with plates");
    assert!(answers.iter().all(|a| data(a) == first), "every replica, the same data");
    row.extra = json!({"answer_bytes": answers[0].len(), "clients": 3});
    rows.push(row);
    let before = round_trips(redis);
    let mut warm = three.sequential(&servers[1], "3 replicas + Redis, warm × 20", PLATES, 20).await;
    // `sequential` sends one request first to warm up, then 20.
    let per_query = (round_trips(redis) - before) as f64 / 21.0;
    warm.extra["redis_round_trips_per_query"] = json!(per_query);
    rows.push(warm);
    rows
}

/// `n` requests made by `make` at once, their answers in order.
async fn futures_join<F, Fut>(n: usize, make: F) -> Vec<Bytes>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Bytes>,
{
    futures_util::future::join_all((0..n).map(|_| make())).await
}

/// The benchmark's own HTTP client, with a deadline so that a stuck server fails the run.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(300))
        .pool_max_idle_per_host(128)
        .build()
        .expect("an HTTP client")
}

/// What a scenario starts from.
struct Mark {
    at: Instant,
    routes: BTreeMap<String, u64>,
    spans: usize,
    cpu: Option<Duration>,
}

/// The longest chain of calls each of which started after the one before it ended.
fn rounds(spans: &[CallSpan]) -> usize {
    let mut by_start: Vec<&CallSpan> = spans.iter().collect();
    by_start.sort_by_key(|s| s.start);
    let mut by_end: Vec<(Duration, usize)> = Vec::new();
    let mut best = 0;
    for span in by_start {
        // The longest chain ending before this call started, among those seen.
        let before = by_end.iter().filter(|(end, _)| *end <= span.start).map(|(_, n)| *n).max();
        let chain = before.unwrap_or(0) + 1;
        best = best.max(chain);
        by_end.push((span.end, chain));
    }
    best
}

/// A running `idr serve` on a free loopback port.
struct Server {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Server {
    fn start(upstream: &str) -> Server {
        Server::start_with(upstream, &[])
    }

    fn start_with(upstream: &str, extra: &[&str]) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env!("CARGO_BIN_EXE_idr"))
            .args(["serve", "--listen", &listen, "--upstream", upstream])
            .args(["--max-concurrency", &CAP.to_string(), "--rate-limit", "1000000"])
            // Every client of the benchmark comes from one address.
            .args(["--max-connections-per-address", "1024"])
            .args(extra)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the idr binary starts");
        let server = Server { child, url: format!("http://{listen}"), http: http_client() };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&listen).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("idr serve did not listen on {listen}");
    }

    fn graphql(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// The answer's body. Callers parse it after their clock stops: the benchmark shares
    /// the server's two cores, and parsing a hundred 3.6 MB answers while the server is
    /// still writing them would be measured as the server's time.
    async fn post(&self, body: &Value) -> Bytes {
        let response = self.http.post(self.graphql()).json(body).send().await.expect("an answer");
        response.bytes().await.expect("a whole answer")
    }

    /// User plus system CPU time so far.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .expect("/proc/<pid>/stat (the benchmark needs Linux)");
        // The fields after the command name, which is in parentheses.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
        let ticks: u64 =
            fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
        // USER_HZ, which Linux fixes at 100 for what /proc reports.
        Duration::from_millis(ticks * 10)
    }

    /// The most resident memory since the last reset, in bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    }

    fn reset_peak_rss(&self) {
        // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0 and later).
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One scenario's figures.
struct Row {
    name: String,
    world: &'static str,
    images: usize,
    calls: u64,
    by_route: BTreeMap<String, u64>,
    rounds: usize,
    critical_path: Duration,
    wall: Duration,
    max_in_flight: usize,
    cpu: Option<Duration>,
    peak_rss: Option<u64>,
    extra: Value,
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return f64::INFINITY;
    }
    (a.as_secs_f64() / b.as_secs_f64() * 100.0).round() / 100.0
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
}

impl Report {
    fn row(&self, name: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.name == name)
    }

    /// The targets (of issues 9 and 13) that this run's scenarios can judge, each with its
    /// figures.
    fn targets(&self) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        let mb = |r: &Row| r.peak_rss.unwrap_or(0) / 1_000_000;
        let cpu = |r: &Row| r.cpu.unwrap_or_default();
        if let (Some(naive), Some(cold)) =
            (self.row("plate scale, notebook-style walk"), self.row("plate scale, cold"))
        {
            let ratio = naive.calls as f64 / cold.calls.max(1) as f64;
            out.push((format!("naive / cold upstream calls ≥ 150 ({ratio:.0})"), ratio >= 150.0));
        }
        if let Some(cold) = self.row("plate scale, cold") {
            let bound = cold.critical_path.mul_f64(1.3) + Duration::from_millis(30);
            out.push((
                format!(
                    "cold wall ≤ 1.3 × critical path + 30 ms ({} ms ≤ {} ms)",
                    ms(cold.wall),
                    ms(bound)
                ),
                cold.wall <= bound,
            ));
            out.push((
                format!(
                    "server CPU ≤ 10 % of cold wall ({} of {} ms)",
                    ms(cpu(cold)),
                    ms(cold.wall)
                ),
                cpu(cold) <= cold.wall / 10,
            ));
        }
        if let Some(warm) = self.row("96-well plate, warm × 200") {
            let ratio = warm.extra["median_over_cpu"].as_f64().unwrap_or(f64::INFINITY);
            out.push((format!("warm 96-well plate wall ≤ 1.5 × its CPU ({ratio})"), ratio <= 1.5));
        }
        if let (Some(one), Some(many)) =
            (self.row("plate scale, cold"), self.row("plate scale, 100 at once, cold"))
        {
            out.push((
                format!("100 at once: calls equal one query's ({} and {})", many.calls, one.calls),
                many.calls == one.calls,
            ));
            out.push((
                format!(
                    "100 at once: wall ≤ 3 × one query's ({} and {} ms)",
                    ms(many.wall),
                    ms(one.wall)
                ),
                many.wall <= one.wall * 3,
            ));
            out.push((format!("100 at once: peak RSS ≤ 300 MB ({})", mb(many)), mb(many) <= 300));
        }
        let screen: Vec<&Row> =
            self.rows.iter().filter(|r| r.name.starts_with("screen scale")).collect();
        if !screen.is_empty() {
            let peak = screen.iter().map(|r| mb(r)).max().unwrap_or(0);
            let first = mb(screen[0]);
            out.push((format!("screen scale: peak RSS ≤ 200 MB ({peak})"), peak <= 200));
            out.push((
                format!("screen scale: RSS flat over repeats (within 10 %: {first} → {peak})"),
                peak as f64 <= first as f64 * 1.1,
            ));
        }
        if let Some(r) = self.row("small cached query, 16 clients") {
            let rate = r.extra["per_second"].as_f64().unwrap_or(0.0);
            out.push((
                format!("small cached query ≥ 20,000 req/s at 16 clients ({rate})"),
                rate >= 20_000.0,
            ));
        }
        if let (Some(one), Some(shared)) =
            (self.row("1 replica, cold"), self.row("3 replicas + Redis, cold (one client each)"))
        {
            out.push((
                format!(
                    "3 replicas + Redis: calls equal one replica's ({} and {})",
                    shared.calls, one.calls
                ),
                shared.calls == one.calls,
            ));
        }
        // Replicas without Redis are the contrast: each has its own cap.
        let peak = self
            .rows
            .iter()
            .filter(|r| !r.name.contains("alone"))
            .map(|r| r.max_in_flight)
            .max()
            .unwrap_or(0);
        out.push((
            format!("peak in flight ≤ cap ({peak} ≤ {CAP}; replicas alone aside)"),
            peak <= CAP,
        ));
        out
    }

    fn push(&mut self, row: Row) {
        eprintln!("  {}: {} calls, {:.0} ms", row.name, row.calls, ms(row.wall));
        self.rows.push(row);
    }

    fn finish(self) {
        let mut table = String::new();
        let _ = writeln!(
            table,
            "| scenario | images | upstream calls | rounds | critical path | wall | wall / path | peak in flight | server CPU | peak RSS |"
        );
        let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.rows {
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {} ms | {} ms | {} | {} | {} | {} |",
                r.name,
                r.images,
                r.calls,
                r.rounds,
                ms(r.critical_path),
                ms(r.wall),
                ratio(r.wall, r.critical_path),
                r.max_in_flight,
                r.cpu.map_or("–".to_owned(), |c| format!("{} ms", ms(c))),
                r.peak_rss.map_or("–".to_owned(), |b| format!("{} MB", b / 1_000_000)),
            );
        }
        println!("{table}");
        for r in &self.rows {
            println!("{}: {}", r.name, serde_json::to_string(&r.by_route).unwrap_or_default());
            if r.extra.as_object().is_some_and(|o| !o.is_empty()) {
                println!("  {}", r.extra);
            }
        }
        let targets = self.targets();
        println!("\ntargets (issues 9 and 13), judged on this run:");
        for (what, ok) in &targets {
            println!("  [{}] {what}", if *ok { "met" } else { "NOT MET" });
        }
        let summary: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "scenario": r.name, "world": r.world, "images": r.images,
                    "upstream_calls": r.calls, "by_route": r.by_route, "rounds": r.rounds,
                    "critical_path_ms": ms(r.critical_path), "wall_ms": ms(r.wall),
                    "wall_over_critical_path": ratio(r.wall, r.critical_path),
                    "peak_in_flight": r.max_in_flight, "server_cpu_ms": r.cpu.map(ms),
                    "peak_rss_bytes": r.peak_rss, "extra": r.extra,
                })
            })
            .collect();
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
            })
            .join("bench");
        let written = std::fs::create_dir_all(&dir).and_then(|()| {
            let text = serde_json::to_string_pretty(&json!({
                "latency_ms": ms(LATENCY), "jitter_ms": ms(JITTER), "cap": CAP, "scenarios": summary,
                "targets": targets.iter().map(|(what, ok)| json!({"target": what, "met": ok})).collect::<Vec<_>>(),
            }))
            .unwrap_or_default();
            std::fs::write(dir.join("summary.json"), text)
        });
        match written {
            Ok(()) => println!("written: {}", dir.join("summary.json").display()),
            Err(e) => eprintln!("cannot write {}: {e}", dir.display()),
        }
    }
}
