//! A real `redis-server` (Debian's) on a free loopback port, with no persistence, for the
//! replica tests and the benchmark: plain, with a password, or speaking only TLS.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `redis-server` on a loopback port, stopped on drop.
pub struct Redis {
    child: Option<Child>,
    /// Its loopback port.
    pub port: u16,
    /// `requirepass`, if the server has one.
    password: Option<String>,
    /// The directory of `ca.crt`, `redis.crt` and `redis.key` when it speaks only TLS.
    tls: Option<std::path::PathBuf>,
}

impl Redis {
    /// Starts Redis, or `None` (with a note) where it is not installed; under `CI` its
    /// absence fails the test (`.ci/run` installs it).
    pub fn start() -> Option<Redis> {
        Redis::installed().then(|| Redis::start_with(None)).flatten()
    }

    /// Whether `redis-server` is there; under `CI` it must be.
    pub fn installed() -> bool {
        let installed = Command::new("redis-server").arg("--version").output().is_ok();
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI needs redis-server (.ci/run installs it)"
            );
            eprintln!("skipped: no redis-server (apt-get install redis-server)");
        }
        installed
    }

    /// [`Redis::start`], asking for `password` (`requirepass`) when given.
    pub fn start_with(password: Option<&str>) -> Option<Redis> {
        let installed = Command::new("redis-server").arg("--version").output().is_ok();
        if !installed {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis =
            Redis { child: None, port, password: password.map(str::to_owned), tls: None };
        redis.restart();
        Some(redis)
    }

    /// A Redis that speaks only TLS, with a certificate for 127.0.0.1 signed by a CA
    /// generated here (with `openssl`, as `.ci/run` installs it).
    pub fn start_tls() -> Option<Redis> {
        if !Redis::installed() {
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let dir = std::env::temp_dir().join(format!("idr-redis-tls-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a directory for the certificates");
        let script = r#"set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.crt -days 1 -subj "/CN=idr e2e CA" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
openssl req $key -keyout redis.key -out redis.csr -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1\n' > san.ext
openssl x509 -req -in redis.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
  -extfile san.ext -out redis.crt
"#;
        let out = Command::new("sh").args(["-c", script]).current_dir(&dir).output();
        let out = out.expect("sh runs");
        assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
        let mut redis = Redis { child: None, port, password: None, tls: Some(dir) };
        redis.restart();
        Some(redis)
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "rediss" } else { "redis" };
        match &self.password {
            Some(password) => format!("{scheme}://:{password}@127.0.0.1:{}", self.port),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// A file of the TLS directory.
    pub fn tls_file(&self, name: &str) -> String {
        self.tls.as_ref().expect("a TLS Redis").join(name).display().to_string()
    }

    /// The server's port arguments: plain, or TLS only.
    fn port_args(&self) -> Vec<String> {
        let port = self.port.to_string();
        if self.tls.is_none() {
            return vec!["--port".into(), port];
        }
        let mut args = vec!["--port".into(), "0".into(), "--tls-port".into(), port];
        for (flag, file) in [
            ("--tls-cert-file", "redis.crt"),
            ("--tls-key-file", "redis.key"),
            ("--tls-ca-cert-file", "ca.crt"),
        ] {
            args.extend([flag.to_owned(), self.tls_file(file)]);
        }
        args.extend(["--tls-auth-clients".to_owned(), "no".to_owned()]);
        args
    }

    /// (Re)starts the server on its port, and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(self.port_args())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxmemory", "64mb"])
            .args(["--maxmemory-policy", "allkeys-lru"])
            .args(self.password.iter().flat_map(|p| ["--requirepass", p.as_str()]))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// One command through `redis-cli`, its output trimmed.
    pub fn cli(&self, args: &[&str]) -> String {
        let tls = match &self.tls {
            Some(_) => vec!["--tls".to_owned(), "--cacert".to_owned(), self.tls_file("ca.crt")],
            None => Vec::new(),
        };
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(tls)
            .args(self.password.iter().flat_map(|p| ["-a", p.as_str(), "--no-auth-warning"]))
            .args(args)
            .output()
            .expect("redis-cli runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = &self.tls {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
