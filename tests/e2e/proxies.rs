//! Behind a proxy (`--trusted-proxies`): each client keeps its own rate-limit bucket
//! though every connection comes from the proxy, no client can choose its address, and
//! the proxy's connections are not held to the per-address cap. The nginx configuration
//! is README's, run as it is by Debian's nginx (only its ports changed).

use std::net::{IpAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue};
use idr_server::TrustedProxies;

use crate::lifecycle::{connect_from, get_from_with};
use crate::replicas::{idr_world, replica, Redis};
use crate::Idr;

/// The table of who a request is from: the peer, unless it is a trusted proxy; then
/// `X-Forwarded-For` read right to left, past the trusted proxies.
#[test]
fn the_client_behind_a_trusted_proxy_is_read_right_to_left() {
    let trusted =
        TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into(), "".into()]).unwrap();
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let client = |peer: &str, lines: &[&str]| {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        trusted.client(ip(peer), &headers).to_string()
    };
    let proxy = "127.0.0.1";
    // Not a trusted peer: its header is ignored, whatever it says.
    assert_eq!(client("192.0.2.7", &["203.0.113.9"]), "192.0.2.7");
    // A trusted proxy, with no header or an empty one: the proxy is the client.
    assert_eq!(client(proxy, &[]), proxy);
    assert_eq!(client(proxy, &[""]), proxy);
    // The address the proxy appended; what the client wrote to its left is not read.
    assert_eq!(client(proxy, &["192.0.2.7"]), "192.0.2.7");
    assert_eq!(client(proxy, &["203.0.113.9, 192.0.2.7"]), "192.0.2.7");
    assert_eq!(client(proxy, &["203.0.113.9", "192.0.2.7"]), "192.0.2.7", "header lines in order");
    // A chain of trusted proxies is walked past; only trusted ones: the first of them.
    assert_eq!(client(proxy, &["203.0.113.9, 192.0.2.7, 10.1.2.3, 10.9.9.9"]), "192.0.2.7");
    assert_eq!(client(proxy, &["10.1.2.3, 10.9.9.9"]), "10.1.2.3");
    // An entry that is no address stops the walk at the proxy that passed it on.
    assert_eq!(client(proxy, &["192.0.2.7, bogus"]), proxy);
    assert_eq!(client(proxy, &["192.0.2.7, bogus, 10.1.2.3"]), "10.1.2.3");
    assert_eq!(client(proxy, &["bogus, 192.0.2.7"]), "192.0.2.7");
    // Ports, brackets, IPv6, and IPv4 written as IPv6.
    assert_eq!(client(proxy, &["192.0.2.7:4711"]), "192.0.2.7");
    assert_eq!(client(proxy, &["[2001:db8::1]:4711"]), "2001:db8::1");
    assert_eq!(client(proxy, &["[2001:db8::1]"]), "2001:db8::1");
    assert_eq!(client(proxy, &[" 2001:db8::1 "]), "2001:db8::1");
    assert_eq!(client(proxy, &["::ffff:192.0.2.7"]), "192.0.2.7");
    assert_eq!(client("::ffff:127.0.0.1", &["192.0.2.7"]), "192.0.2.7", "a v4-mapped peer");
    // A chain longer than any real one is read no further than 32 entries.
    let long: Vec<String> = (0..40).map(|i| format!("10.0.0.{i}")).collect();
    let long = format!("192.0.2.7, {}", long.join(", "));
    assert_eq!(client(proxy, &[&long]), "10.0.0.8", "the 32nd entry from the right");
    // Bytes that are not text, in an entry of the client's, do not stop the walk before
    // the proxy's entry (a client could otherwise switch to the proxy's bucket at will).
    let mut headers = HeaderMap::new();
    headers.append("x-forwarded-for", HeaderValue::from_bytes(b"\xff\xfe, 192.0.2.7").unwrap());
    assert_eq!(trusted.client(ip(proxy), &headers).to_string(), "192.0.2.7");
    // Trusted proxies written as IPv6-mapped IPv4 match their IPv4 peers.
    let mapped =
        TrustedProxies::parse(&["::ffff:10.0.0.0/104".into(), "::ffff:127.0.0.1".into()]).unwrap();
    assert!(mapped.contains(ip("10.3.4.5")) && mapped.contains(ip("127.0.0.1")));
    assert!(!mapped.contains(ip("11.0.0.1")));
    // Ranges are taken whole; what is not an address or a range is refused, by value.
    let wide = TrustedProxies::parse(&["10.1.2.3/8".into()]).unwrap();
    assert!(wide.contains(ip("10.200.0.1")) && !wide.contains(ip("11.0.0.1")));
    for bad in ["10.0.0.0/33", "bogus", "10.0.0", "fe80::/129"] {
        let error = TrustedProxies::parse(&[bad.into()]).unwrap_err();
        assert!(error.contains(bad), "{error}");
    }
}

/// Debian's nginx on a loopback port, with README's configuration; stopped on drop.
struct Nginx {
    child: Child,
    addr: String,
    dir: PathBuf,
}

impl Nginx {
    /// README's nginx block in front of `upstreams` (its three `127.0.0.1:808N`), or
    /// `None` (with a note) where nginx is not installed; under `CI` its absence fails the
    /// test (`.ci/run` installs it).
    fn start(upstreams: [&str; 3]) -> Option<Nginx> {
        let Some(binary) = ["nginx", "/usr/sbin/nginx"]
            .into_iter()
            .find(|b| Command::new(b).arg("-v").output().is_ok_and(|o| o.status.success()))
        else {
            assert!(std::env::var_os("CI").is_none(), "CI needs nginx (.ci/run installs it)");
            eprintln!("skipped: no nginx (apt-get install nginx-light)");
            return None;
        };
        let readme = include_str!("../../README.md");
        let block = readme
            .split("```nginx\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("README has an nginx block");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr = format!("127.0.0.1:{port}");
        let mut conf = block.replace("listen 80;", &format!("listen {addr};"));
        for (i, upstream) in upstreams.iter().enumerate() {
            conf = conf.replace(&format!("127.0.0.1:808{}", i + 1), upstream);
        }
        assert!(!conf.contains("listen 80;") && !conf.contains(":808"), "README's ports moved");
        let dir = crate::browser::tempfile_dir();
        let d = dir.display();
        let whole = format!(
            "worker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n    access_log off;\n    client_body_temp_path {d}/body;\n    \
             proxy_temp_path {d}/proxy;\n    fastcgi_temp_path {d}/fastcgi;\n    \
             uwsgi_temp_path {d}/uwsgi;\n    scgi_temp_path {d}/scgi;\n{conf}}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), whole).unwrap();
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { child, addr, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(&nginx.addr).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `n` queries through `nginx` from the loopback address `source`, with `headers`;
/// the statuses.
fn ask(nginx: &Nginx, source: [u8; 4], n: usize, headers: &str) -> Vec<u16> {
    (0..n)
        .map(|_| get_from_with(source, &nginx.addr, "/graphql?query=%7B__typename%7D", headers).0)
        .collect()
}

/// Two clients (two loopback addresses) behind README's nginx, in front of three
/// replicas sharing a Redis: one spending its burst does not limit the other, and a
/// header it forges does not buy it a fresh bucket. Without `--trusted-proxies`, the
/// proxy is one client, and the other is limited too.
#[test]
fn clients_behind_a_trusted_proxy_keep_their_own_rate() {
    let Some(redis) = Redis::start() else { return };
    let (_, server) = idr_world(61, Duration::ZERO);
    // 1 a second, bursts of 6.
    let args = ["--rate-limit", "1", "--trusted-proxies", "127.0.0.1"];
    let replicas: Vec<Idr> = (0..3).map(|_| replica(&server.url(), &redis, &args)).collect();
    let Some(nginx) = Nginx::start([&replicas[0].addr, &replicas[1].addr, &replicas[2].addr])
    else {
        return;
    };
    let (x, y) = ([127, 0, 0, 2], [127, 0, 0, 3]);
    let started = Instant::now();
    let statuses = ask(&nginx, x, 12, "");
    let allowed = statuses.iter().filter(|s| **s == 200).count();
    let refilled = started.elapsed().as_secs_f64().ceil() as usize;
    assert!(statuses.iter().all(|s| *s == 200 || *s == 429), "{statuses:?}");
    assert!(
        (6..=6 + refilled).contains(&allowed) && allowed < 12,
        "one burst for X over the three replicas: {statuses:?}"
    );
    // X claims to be someone else: the proxy appends X's address, which is what is read.
    assert_eq!(ask(&nginx, x, 1, "X-Forwarded-For: 203.0.113.9\r\n"), [429]);
    // Y has a bucket of its own.
    assert_eq!(ask(&nginx, y, 1, ""), [200]);

    // The same proxy in front of a replica that does not trust it: one bucket for all.
    let alone = Idr::serve(&["--upstream", &server.url(), "--rate-limit", "1"]);
    let Some(nginx) = Nginx::start([&alone.addr, &alone.addr, &alone.addr]) else { return };
    let _ = ask(&nginx, x, 12, "");
    assert_eq!(ask(&nginx, y, 1, ""), [429], "the proxy was one client");
}

/// A trusted proxy's connections carry many clients: the per-address cap does not close
/// them (the total cap still holds); another address is still held to it.
#[test]
fn a_trusted_proxy_is_not_held_to_the_per_address_cap() {
    let idr = Idr::serve(&[
        "--offline",
        "--max-connections-per-address",
        "2",
        "--trusted-proxies",
        "127.0.0.1",
    ]);
    let query = "/graphql?query=%7B__typename%7D";
    let _proxy_held: Vec<_> = (0..3).map(|_| connect_from([127, 0, 0, 1], &idr.addr)).collect();
    assert_eq!(get_from_with([127, 0, 0, 1], &idr.addr, query, "").0, 200);
    let _other_held: Vec<_> = (0..2).map(|_| connect_from([127, 0, 0, 2], &idr.addr)).collect();
    assert_eq!(
        get_from_with([127, 0, 0, 2], &idr.addr, query, "").0,
        0,
        "a third connection of an untrusted address is closed"
    );
}
