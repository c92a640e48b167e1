//! The server's life as a public service: connections that send nothing or dawdle
//! (FAULTS.md A18), per-address fairness, the rate limit (A19) and the probes exempt from
//! it, readiness, and a graceful stop on SIGTERM and SIGINT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use idr_test_support::{FaultKind, Faults, ReplayServer};
use serde_json::Value;

use crate::{raw, request, Idr};

/// A connection from another loopback address than the silent ones (all of 127/8 is
/// loopback on Linux).
pub(crate) fn connect_from(source: [u8; 4], addr: &str) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stream = runtime.block_on(socket.connect(addr)).unwrap().into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

fn get_from(source: [u8; 4], addr: &str, path: &str) -> (u16, String) {
    get_from_with(source, addr, path, "")
}

/// [`get_from`] with more header lines (each ending in `\r\n`).
pub(crate) fn get_from_with(
    source: [u8; 4],
    addr: &str,
    path: &str,
    headers: &str,
) -> (u16, String) {
    let mut stream = connect_from(source, addr);
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // A connection closed on accept may refuse the write: its status is then 0.
    let _ =
        write!(stream, "GET {path} HTTP/1.1\r\nHost: idr\r\n{headers}Connection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

/// Waits until every stream in `streams` is closed by the server, up to `within`; gives
/// how many are still open then.
fn wait_closed(streams: &[TcpStream], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        let open = streams.iter().filter(|s| !closed(s)).count();
        if open == 0 || Instant::now() >= deadline {
            return open;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether the server has closed `stream` (a read gives end-of-file or an error).
fn closed(mut stream: &TcpStream) -> bool {
    stream.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => {
            !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        }
    }
}

#[test]
fn silent_sockets_from_one_address_lock_nobody_out() {
    let idr = Idr::serve(&["--offline", "--header-timeout", "2"]);
    // 1,100 connections from 127.0.0.1 that never send a byte: more than the global cap
    // of 1,024 would hold, were it the only cap. (The test process needs that many file
    // descriptors: .ci/run raises `ulimit -n`.)
    let opened = Instant::now();
    let silent: Vec<TcpStream> = (0..1_100)
        .map(|_| {
            TcpStream::connect(&idr.addr)
                .unwrap_or_else(|e| panic!("{e}: raise the open-files limit (ulimit -n 4096)"))
        })
        .collect();
    // Another client is answered at once.
    let started = Instant::now();
    let (status, body) = get_from([127, 0, 0, 2], &idr.addr, "/graphql?query=%7B__typename%7D");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Query\""), "{body}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered only after {:?}",
        started.elapsed()
    );
    // The silent ones past the per-address cap were closed on accept; the 64 held are
    // closed once the header deadline (2 s from accept) passes, and none much later.
    assert!(wait_closed(&silent, Duration::from_secs(1)) <= 64, "more than 64 held");
    assert_eq!(
        wait_closed(&silent, Duration::from_secs(20)),
        0,
        "silent connections outlived the header deadline"
    );
    assert!(opened.elapsed() >= Duration::from_millis(1_900), "closed before the deadline");
    // And the address that sent them is served again.
    let (status, _, _) = raw(&idr.addr, &request("GET", "/healthz", "text/plain", b""));
    assert_eq!(status, 200);
}

#[test]
fn slow_headers_and_idle_keep_alives_are_cut() {
    let idr = Idr::serve(&["--offline", "--header-timeout", "1", "--idle-timeout", "1"]);
    // Slowloris: headers started, never finished.
    let mut slow = TcpStream::connect(&idr.addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").unwrap();
    // A kept-alive connection that asks once and then idles.
    let mut idle = TcpStream::connect(&idr.addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut first = [0u8; 15];
    idle.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    assert_eq!(wait_closed(&[slow], Duration::from_secs(20)), 0, "a slow header was not cut");
    let mut rest = Vec::new();
    idle.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let _ = idle.read_to_end(&mut rest);
    assert_eq!(
        wait_closed(&[idle], Duration::from_secs(20)),
        0,
        "an idle keep-alive was not closed"
    );
}

#[test]
fn the_rate_limit_spares_the_probes() {
    let idr = Idr::serve(&["--offline", "--rate-limit", "0.1"]);
    let query = request("GET", "/graphql?query=%7B__typename%7D", "text/plain", b"");
    assert_eq!(raw(&idr.addr, &query).0, 200);
    let (status, head, _) = raw(&idr.addr, &query);
    assert_eq!(status, 429, "{head}");
    let retry_after: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After in {head}"));
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    // A busy client's health and readiness probes still get through.
    for _ in 0..20 {
        assert_eq!(raw(&idr.addr, &request("GET", "/healthz", "text/plain", b"")).0, 200);
        assert_eq!(raw(&idr.addr, &request("GET", "/readyz", "text/plain", b"")).0, 200);
    }
}

#[test]
fn aliases_cost_rate_limit_tokens() {
    // A19: one request every 2 s, bursts of 3. Charged by request only, a second request
    // would pass; one with 20 aliased root fields drains the bucket.
    let idr = Idr::serve(&["--offline", "--rate-limit", "0.5"]);
    let aliases: Vec<String> =
        (0..20).map(|i| format!("a{i}: screen(id: 102) {{ name }}")).collect();
    let body = serde_json::json!({"query": format!("{{ {} }}", aliases.join(" "))}).to_string();
    assert_eq!(
        raw(&idr.addr, &request("POST", "/graphql", "application/json", body.as_bytes())).0,
        200
    );
    let body = serde_json::json!({"query": "{ screen(id: 102) { name } }"}).to_string();
    assert_eq!(
        raw(&idr.addr, &request("POST", "/graphql", "application/json", body.as_bytes())).0,
        429
    );
}

fn readyz(idr: &Idr) -> (u16, Value) {
    let (status, _, body) = raw(&idr.addr, &request("GET", "/readyz", "text/plain", b""));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[test]
fn readiness_follows_the_upstream() {
    // Offline: always ready.
    let offline = Idr::serve(&["--offline"]);
    assert_eq!(readyz(&offline).0, 200);
    // Online and healthy: ready after one probe of IDR, then without asking again.
    let replay = ReplayServer::start(idr_test_support::load_fixtures(), Faults::default());
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (status, json) = readyz(&idr);
    assert_eq!(status, 200, "{json}");
    assert_eq!(replay.requests(), ["GET /api/"]);
    assert_eq!(readyz(&idr).0, 200);
    assert_eq!(replay.calls(), 1, "a recent success needs no probe");
    // IDR down: once the breaker opens, not ready, and the JSON says why.
    replay.set_faults(Faults::always("/", FaultKind::Status(503)));
    for _ in 0..4 {
        let body = serde_json::json!({"query": "{ image(id: 122770) { name } }"}).to_string();
        raw(&idr.addr, &request("POST", "/graphql", "application/json", body.as_bytes()));
    }
    let (status, json) = readyz(&idr);
    assert_eq!(status, 503, "{json}");
    assert!(json["reason"].as_str().unwrap().contains("circuit breaker"), "{json}");
    assert_eq!(json["ready"], false);
}

#[test]
fn a_probe_that_fails_says_not_ready() {
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults::always("/api/", FaultKind::Html),
    );
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (status, json) = readyz(&idr);
    assert_eq!(status, 503, "{json}");
    assert!(json["reason"].as_str().unwrap().contains("no upstream call succeeded"), "{json}");
}

/// Waits until the server's log holds `text`.
fn wait_log(idr: &Idr, text: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !idr.log().contains(text) {
        assert!(Instant::now() < deadline, "no `{text}` in the log:\n{}", idr.log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM (and SIGINT) stop accepting, let the request in flight finish, and exit 0.
fn drains_on(signal: &str) {
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { latency: Duration::from_millis(1_500), ..Faults::default() },
    );
    let mut idr =
        Idr::serve_logged(&["--upstream", &replay.url(), "--drain-timeout", "20"], "info");
    let addr = idr.addr.clone();
    let in_flight = std::thread::spawn(move || {
        let body = serde_json::json!({"query": "{ image(id: 122770) { name } }"}).to_string();
        raw(&addr, &request("POST", "/graphql", "application/json", body.as_bytes()))
    });
    std::thread::sleep(Duration::from_millis(400));
    idr.signal(signal);
    // The listener closes as soon as the signal is handled.
    wait_log(&idr, "shutting down", Duration::from_secs(10));
    // Stopped accepting: a new connection is refused (or closed unanswered).
    let refused = match TcpStream::connect(&idr.addr) {
        Err(_) => true,
        Ok(mut stream) => {
            let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
            stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let _ = stream.read_to_end(&mut buf);
            buf.is_empty()
        }
    };
    assert!(refused, "a new connection was served after {signal}");
    // The request in flight is answered in full.
    let (status, _, body) = in_flight.join().unwrap();
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["data"]["image"]["name"], "Plate8_Actinome1 [Well O02 Field #1]", "{json}");
    let exit = idr.wait_exit(Duration::from_secs(10)).expect("the server exits");
    assert_eq!(exit.code(), Some(0), "{}", idr.log());
    assert!(idr.log().contains("drained"), "{}", idr.log());
}

#[test]
fn sigterm_drains_requests_in_flight_and_exits_0() {
    drains_on("TERM");
}

#[test]
fn sigint_drains_requests_in_flight_and_exits_0() {
    drains_on("INT");
}

#[test]
fn the_drain_deadline_bounds_the_stop() {
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults { hang: Some("/webclient/imgData/".to_owned()), ..Faults::default() },
    );
    let mut idr = Idr::serve(&["--upstream", &replay.url(), "--drain-timeout", "1"]);
    let addr = idr.addr.clone();
    let _hanging = std::thread::spawn(move || {
        let body = serde_json::json!({"query": "{ image(id: 122770) { name } }"}).to_string();
        raw(&addr, &request("POST", "/graphql", "application/json", body.as_bytes()))
    });
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    idr.signal("TERM");
    let exit = idr.wait_exit(Duration::from_secs(10)).expect("the server exits");
    assert_eq!(exit.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn connections_over_the_global_cap_are_shed() {
    let idr = Idr::serve(&["--offline", "--max-connections", "2", "--header-timeout", "30"]);
    let _held = [TcpStream::connect(&idr.addr).unwrap(), TcpStream::connect(&idr.addr).unwrap()];
    let third = TcpStream::connect(&idr.addr).unwrap();
    // Closed on accept, long before its 30 s header deadline.
    assert_eq!(wait_closed(&[third], Duration::from_secs(10)), 0, "the third connection was held");
}

#[test]
fn readiness_returns_when_idr_does() {
    // The breaker opens on a dead upstream and /readyz says so; once the breaker's open
    // time (5 s) has passed, /readyz probes IDR itself, so a replica that gets no traffic
    // (because it was unready) still becomes ready again.
    let replay = ReplayServer::start(
        idr_test_support::load_fixtures(),
        Faults::always("/", FaultKind::Status(503)),
    );
    let idr = Idr::serve(&["--upstream", &replay.url(), "--cache-mib", "0"]);
    for _ in 0..3 {
        let body = serde_json::json!({"query": "{ image(id: 122770) { name } }"}).to_string();
        raw(&idr.addr, &request("POST", "/graphql", "application/json", body.as_bytes()));
    }
    assert_eq!(readyz(&idr).0, 503);
    replay.set_faults(Faults::default());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, json) = readyz(&idr);
        if status == 200 {
            assert_eq!(json["ready"], true);
            break;
        }
        assert!(Instant::now() < deadline, "never ready again: {json}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
