//! Real pages in a real browser: Debian's Chromium, headless, with every host but
//! 127.0.0.1 unreachable (`--host-resolver-rules`), so that a page that needs the
//! internet fails here as it would behind a firewall. `.ci/run` installs Chromium; on a
//! developer's machine without it these tests say so and pass, but under `CI` they fail.

use std::path::PathBuf;
use std::time::Duration;

use crate::Idr;

/// The browser, if it is installed (`IDR_CHROMIUM` overrides the path).
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("IDR_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs Chromium at {} (.ci/run installs Debian's package)",
        path.display()
    );
    eprintln!("skipped: no Chromium at {} (apt-get install chromium)", path.display());
    None
}

/// The page's DOM once its scripts have run (fetches included), as Chromium prints it.
async fn rendered(browser: &PathBuf, url: &str) -> String {
    let profile = tempfile_dir();
    let run = tokio::process::Command::new(browser)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1")
        // Virtual time runs only while nothing is loading: the page's fetches finish first.
        .arg("--virtual-time-budget=20000")
        .args(["--dump-dom", url])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("Chromium finishes within 90 s")
        .expect("Chromium runs");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(out.status.success(), "Chromium: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tempfile_dir() -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("idr-e2e-chromium-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a profile directory");
    dir
}

/// Serves `html` at `/` on a loopback port of its own: another origin than the API's.
async fn page(html: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let url = format!("http://{}/", listener.local_addr().expect("an address"));
    let router = axum::Router::new()
        .route("/", axum::routing::get(move || async move { axum::response::Html(html) }));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// A page on another origin that POSTs the nested walkthrough query to `api` and writes
/// what came back (or why nothing did) into `#out`.
fn calling_page(api: &str) -> String {
    let query = serde_json::to_string(&crate::server::nested_query()).expect("a JSON string");
    format!(
        r#"<!doctype html><html><body><pre id="out">pending</pre><script>
fetch("{api}/graphql", {{
  method: "POST",
  headers: {{"content-type": "application/json"}},
  body: JSON.stringify({{query: {query}}}),
}}).then(r => r.json()).then(answer => {{
  const plate = answer.data.screen.plates.nodes.find(p => p.id === "4554");
  document.getElementById("out").textContent =
    "wells " + plate.wells.length + " screen " + answer.data.screen.name;
}}).catch(error => {{
  document.getElementById("out").textContent = "failed: " + error;
}});
</script></body></html>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_another_origin_fetches_the_nested_plate_query() {
    let Some(browser) = chromium() else { return };
    let idr = Idr::serve(&["--offline"]);
    let dom = rendered(&browser, &page(calling_page(&idr.base)).await).await;
    assert!(
        dom.contains("wells 96 screen idr0002-heriche-condensation/screenA"),
        "the page did not get the plate: {dom}"
    );
    // The same page from an origin the server does not list is refused by the browser:
    // the headers are what let it through.
    let strict = Idr::serve(&["--offline", "--cors-origins", "https://viewer.example.org"]);
    let dom = rendered(&browser, &page(calling_page(&strict.base)).await).await;
    assert!(dom.contains("failed: TypeError"), "a page from another origin got through: {dom}");
}
