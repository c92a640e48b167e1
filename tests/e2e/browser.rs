//! Real pages in a real browser: Debian's Chromium, headless, with every host but
//! 127.0.0.1 unreachable (`--host-resolver-rules`), so that a page that needs the
//! internet fails here as it would behind a firewall. `.ci/run` installs Chromium; on a
//! developer's machine without it these tests say so and pass, but under `CI` they fail.

use std::path::PathBuf;
use std::time::Duration;

use crate::Idr;

/// The browser, if it is installed (`IDR_CHROMIUM` overrides the path).
pub(crate) fn chromium() -> Option<PathBuf> {
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

pub(crate) fn tempfile_dir() -> PathBuf {
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
  const plate = answer.data.screen.plates.nodes.find(p => p.id === "Plate:4554");
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

/// Fails unless every request the page made went to `base` (or was inline data).
fn only_own_origin(page: &crate::cdp::Page<'_>, base: &str) {
    let requests = page.requests();
    assert!(!requests.is_empty(), "the page made no request at all");
    let foreign: Vec<&String> = requests
        .iter()
        .filter(|u| !u.starts_with(&format!("{base}/")) && !u.starts_with("data:"))
        .collect();
    assert!(foreign.is_empty(), "the page fetched from another origin: {foreign:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_runs_a_query_and_shows_the_result_with_no_internet() {
    let Some(browser) = crate::cdp::Browser::launch().await else { return };
    let idr = Idr::serve(&["--offline"]);
    let page = browser.open(&format!("{}/graphql", idr.base), 1280, 900).await;
    let editor = "document.querySelector('.graphiql-query-editor .CodeMirror')";
    page.wait_for(&format!("!!{editor}"), Duration::from_secs(60)).await;
    // The query a newcomer finds in the editor runs, whole, on the bundled recordings.
    page.click(".graphiql-execute-button").await;
    let first = page
        .wait_for(
            "(() => { const r = document.querySelector('.graphiql-response .CodeMirror'); \
             const v = r && r.CodeMirror.getValue(); return v && v.includes('columnLabels') && v; })()",
            Duration::from_secs(60),
        )
        .await;
    let first: serde_json::Value =
        serde_json::from_str(first.as_str().unwrap()).expect("GraphiQL shows JSON");
    assert!(first.get("errors").is_none(), "the default query failed offline: {first}");
    assert_eq!(first["data"]["plate"]["wells"].as_array().map(Vec::len), Some(96), "{first}");
    page.eval(&format!(
        "{editor}.CodeMirror.setValue('{{ screen(id: 102) {{ name plates {{ totalCount }} }} }}')"
    ))
    .await;
    page.click(".graphiql-execute-button").await;
    let response = page
        .wait_for(
            "(() => { const r = document.querySelector('.graphiql-response .CodeMirror'); \
             const v = r && r.CodeMirror.getValue(); return v && v.includes('totalCount') && v; })()",
            Duration::from_secs(60),
        )
        .await;
    let response: serde_json::Value =
        serde_json::from_str(response.as_str().unwrap()).expect("GraphiQL shows JSON");
    assert_eq!(response["data"]["screen"]["name"], "idr0002-heriche-condensation/screenA");
    assert_eq!(response["data"]["screen"]["plates"]["totalCount"], 12);
    // GraphiQL fetched the schema (its Docs pane needs it) from this server too.
    page.click(".graphiql-sidebar button[aria-label='Show Documentation Explorer']").await;
    page.wait_for(
        "document.querySelector('.graphiql-doc-explorer')?.textContent.includes('Query')",
        Duration::from_secs(30),
    )
    .await;
    only_own_origin(&page, &idr.base);
    assert_eq!(page.errors(), Vec::<String>::new(), "the page reported errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_shows_diagnostics_as_you_type_and_rows_when_run() {
    let Some(browser) = crate::cdp::Browser::launch().await else { return };
    let idr = Idr::serve(&["--offline"]);
    let page = browser.open(&format!("{}/playground", idr.base), 1280, 900).await;
    page.wait_for(
        "document.getElementById('status').textContent.includes('no problems')",
        Duration::from_secs(30),
    )
    .await;

    // Typing a misspelt key shows the warning, with the suggestion, without running it.
    page.click("#ql").await;
    page.eval("document.getElementById('ql').select()").await;
    page.insert_text("images where \"Gene Symbl\" = ade8").await;
    let diagnostic = page
        .wait_for(
            "document.querySelector('#diagnostics li.warning')?.textContent",
            Duration::from_secs(30),
        )
        .await;
    let diagnostic = diagnostic.as_str().unwrap();
    assert!(
        diagnostic.contains("1:14 warning[unknown-key]")
            && diagnostic.contains("help: did you mean \"Gene Symbol\"?"),
        "{diagnostic}"
    );
    // An error too: nothing compiles, and it says where.
    page.eval("document.getElementById('ql').select()").await;
    page.insert_text("imagse").await;
    let error = page
        .wait_for(
            "document.querySelector('#diagnostics li.error')?.textContent",
            Duration::from_secs(30),
        )
        .await;
    assert!(error.as_str().unwrap().contains("did you mean `images`?"), "{error}");

    // A good query, run: the compiled GraphQL and a table of the plate's 96 wells.
    page.eval("document.getElementById('ql').select()").await;
    page.insert_text("wells in plate 4554 show label, images").await;
    page.wait_for(
        "document.querySelectorAll('#diagnostics li').length === 0",
        Duration::from_secs(30),
    )
    .await;
    page.click("#run").await;
    let count = page
        .wait_for("document.querySelector('.row-count')?.textContent", Duration::from_secs(60))
        .await;
    assert_eq!(count, "96 row(s)");
    let first = page
        .eval(
            "[...document.querySelectorAll('table.rows thead th')].map(th => th.textContent).join(',') \
             + ' | ' + [...document.querySelector('table.rows tbody tr').cells].map(c => c.textContent).join(',')",
        )
        .await;
    assert!(first.as_str().unwrap().starts_with("id,label,"), "{first}");
    assert!(first.as_str().unwrap().contains(",A1,"), "{first}");
    assert_eq!(page.eval("document.querySelectorAll('table.rows tbody tr').length").await, 96);
    let graphql = page.eval("document.getElementById('graphql-text').textContent").await;
    assert!(graphql.as_str().unwrap().contains("plate(id: \"4554\")"), "{graphql}");
    only_own_origin(&page, &idr.base);
    assert_eq!(page.errors(), Vec::<String>::new(), "the page reported errors");
}

/// The `src` and `href` values of `html` that name this server's assets.
fn asset_paths(html: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            let value = &rest[..rest.find('"').unwrap_or(rest.len())];
            if value.starts_with("/assets/") {
                paths.push(value.to_owned());
            }
        }
    }
    paths
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_load_only_vendored_assets_cached_by_version() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let root = crate::repo_root();
    let vendored = std::fs::read_to_string(root.join("crates/idr-server/web/vendor/VENDORED.md"))
        .expect("VENDORED.md");
    let script =
        std::fs::read_to_string(root.join("crates/idr-server/web/vendor.sh")).expect("vendor.sh");
    for page in ["/graphql", "/playground", "/viewer/plate/4554"] {
        let response = client.get(format!("{}{page}", idr.base)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{page}");
        let csp = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{csp}");
        let html = response.text().await.unwrap();
        assert!(!html.contains("://"), "{page} names another origin: {html}");
        assert!(!html.contains('@'), "{page} has a part left unfilled: {html}");
        assert!(
            html.contains(r#"aria-current="page""#),
            "{page} does not mark itself in the navigation"
        );
        let paths = asset_paths(&html);
        assert!(paths.len() >= 2, "{page}: {paths:?}");
        for path in paths {
            let url = format!("{}{path}", idr.base);
            let response = client.get(&url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            let cache = response.headers()["cache-control"].to_str().unwrap().to_owned();
            let etag = response.headers()["etag"].clone();
            assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
            if let Some(rest) = path.strip_prefix("/assets/vendor/") {
                // Named by version, so cached for good; the version is the one vendored.
                assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
                let (package, version) = rest.split('/').next().unwrap().rsplit_once('-').unwrap();
                assert!(vendored.contains(&format!("`{package}@{version}`")), "{path}");
                let pin = if package == "graphiql" { "GRAPHIQL" } else { "REACT" };
                assert!(script.contains(&format!("{pin}={version}\n")), "{path}");
            } else {
                assert_eq!(cache, "public, no-cache", "{path}");
            }
            let again = client.get(&url).header("if-none-match", etag).send().await.unwrap();
            assert_eq!(again.status(), 304, "{path} revalidates");
        }
    }
    // The old async-graphql page loaded GraphiQL from a CDN; nothing is left of it.
    let missing =
        client.get(format!("{}/assets/vendor/nothing.js", idr.base)).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_of_idr_ql_runs_nothing_and_answers_with_its_diagnostics() {
    let idr = Idr::serve(&["--offline"]);
    let client = Idr::client();
    let check = |text: &'static str| {
        client
            .post(format!("{}/ql?run=false", idr.base))
            .header("content-type", "application/x-idr-ql")
            .body(text)
            .send()
    };
    let good = check("wells in plate 4554 show label").await.unwrap();
    assert_eq!(good.status(), 200);
    let good: serde_json::Value = good.json().await.unwrap();
    assert_eq!(good["diagnostics"], serde_json::json!([]));
    let query = &good["queries"][0];
    assert!(query["graphql"].as_str().unwrap().contains("plate(id: \"4554\")"), "{good}");
    assert!(query.get("rows").is_none(), "a check returned rows: {good}");
    let bad = check("imagse where name = x").await.unwrap();
    assert_eq!(bad.status(), 200, "a check that finds errors still succeeded");
    let bad: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(bad["diagnostics"][0]["code"], "unknown-resource");
    assert_eq!(bad["diagnostics"][0]["help"], "did you mean `images`?");
    let health: serde_json::Value =
        client.get(format!("{}/healthz", idr.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["upstreamCalls"], 0, "a check called the upstream: {health}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_gzipped_for_clients_that_accept_it() {
    let idr = Idr::serve(&["--offline"]);
    let path = format!("{}/graphql", idr.base);
    let html = Idr::client().get(&path).send().await.unwrap().text().await.unwrap();
    let script = asset_paths(&html)
        .into_iter()
        .find(|p| p.ends_with("graphiql.min.js"))
        .expect("GraphiQL's script");
    // reqwest is built without gzip: the body arrives as sent.
    let url = format!("{}{script}", idr.base);
    let plain = Idr::client().get(&url).send().await.unwrap().bytes().await.unwrap();
    let zipped = Idr::client().get(&url).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    let zipped = zipped.bytes().await.unwrap();
    assert!(zipped.starts_with(&[0x1f, 0x8b]), "not gzip");
    assert!(zipped.len() * 2 < plain.len(), "{} gzipped vs {} plain", zipped.len(), plain.len());
}

/// Where a test's screenshot goes: `IDR_SCREENSHOT_DIR` (`just screenshots` sets it to
/// `docs/`), else nowhere.
fn screenshot_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("IDR_SCREENSHOT_DIR").map(|dir| PathBuf::from(dir).join(name))
}

/// The ids of the images the page shows, by well label, in grid order.
async fn shown_wells(page: &crate::cdp::Page<'_>) -> Vec<(String, u64)> {
    let shown = page
        .eval("[...document.querySelectorAll('.well')].map(a => [a.dataset.label, Number(a.dataset.image)])")
        .await;
    serde_json::from_value(shown).expect("label and image pairs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plate_viewer_shows_every_well_with_its_thumbnail_from_one_query() {
    use idr_test_support::{Faults, Kind, ReplayServer, Settings, Size, World};
    let Some(browser) = crate::cdp::Browser::launch().await else { return };
    let size = Size {
        screens: 1,
        plates: 1,
        rows: 8,
        columns: 12,
        fields: 2,
        projects: 0,
        datasets: 0,
        images: 0,
        full: true,
    };
    let world = std::sync::Arc::new(World::generate(11, size, Settings::default()));
    let replay = ReplayServer::start(world.clone(), Faults::default());
    let idr = Idr::serve(&["--upstream", &replay.url()]);
    let (plate_id, plate) = world.plates.iter().next().expect("a plate");
    let at_field = |field: usize| -> Vec<(String, u64)> {
        plate
            .wells
            .iter()
            .filter_map(|w| {
                let well = &world.wells[w];
                let image = (*well.images.get(field)?)?;
                Some((
                    format!("{}{}", idr_test_support::row_label(well.row), well.column + 1),
                    image,
                ))
            })
            .collect()
    };

    let page = browser.open(&format!("{}/viewer/plate/{plate_id}", idr.base), 1400, 1000).await;
    page.wait_for(
        "document.getElementById('summary').dataset.ready === 'true'",
        Duration::from_secs(60),
    )
    .await;
    // Every well, where the world has it, with its own image, and every thumbnail decoded.
    assert_eq!(shown_wells(&page).await, at_field(0));
    page.wait_for(
        "[...document.querySelectorAll('.well')].every(a => { const i = a.querySelector('img'); \
         return i && i.complete && i.naturalWidth > 0; })",
        Duration::from_secs(30),
    )
    .await;
    let labels = page
        .eval("[...document.querySelectorAll('.row-label, .column-label')].map(e => e.textContent).join(' ')")
        .await;
    assert_eq!(labels, "1 2 3 4 5 6 7 8 9 10 11 12 A B C D E F G H");
    // Built from one GraphQL query, and the thumbnails from one batch request.
    let requests = page.requests();
    let count = |path: &str| requests.iter().filter(|u| u.contains(path)).count();
    assert_eq!((count("/graphql"), count("/thumbnails?ids=")), (1, 1), "{requests:?}");

    // Hovering a well shows its image's key/values.
    let (label, image) = at_field(0)[5].clone();
    let pairs = world.key_values(Kind::Image, image);
    assert!(!pairs.is_empty(), "the world gave image {image} no key/values");
    page.hover(&format!(".well[data-image='{image}']")).await;
    let details = page
        .wait_for(
            &format!("(() => {{ const t = document.getElementById('details').textContent; return t.includes('Well {label}') && t; }})()"),
            Duration::from_secs(10),
        )
        .await;
    for (key, value) in &pairs {
        assert!(
            details.as_str().unwrap().contains(&format!("{key}{value}")),
            "{key} = {value} not in {details}"
        );
    }

    // Clicking it opens the image in IDR's viewer.
    page.click(&format!(".well[data-image='{image}']")).await;
    let viewer = format!("{}/webclient/img_detail/{image}/", replay.url());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !page.opened_windows().contains(&viewer) {
        assert!(
            std::time::Instant::now() < deadline,
            "{viewer} not opened: {:?}",
            page.opened_windows()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An IDR-QL filter highlights exactly the wells whose image matches it.
    let (key, value) = pairs[0].clone();
    let expected: Vec<u64> = at_field(0)
        .into_iter()
        .filter(|(_, image)| {
            world
                .key_values(Kind::Image, *image)
                .iter()
                .any(|(k, v)| k.eq_ignore_ascii_case(&key) && v.eq_ignore_ascii_case(&value))
        })
        .map(|(_, image)| image)
        .collect();
    page.click("#ql-text").await;
    page.eval("document.getElementById('ql-text').select()").await;
    page.insert_text(&format!(
        "images in plate {plate_id} where {} = {}",
        serde_json::to_string(&key).unwrap(),
        serde_json::to_string(&value).unwrap()
    ))
    .await;
    page.click("#ql-form button[type=submit]").await;
    let status = page
        .wait_for(
            "(() => { const t = document.getElementById('ql-status').textContent; return t.includes('match') && t; })()",
            Duration::from_secs(30),
        )
        .await;
    let matched: Vec<u64> = serde_json::from_value(
        page.eval(
            "[...document.querySelectorAll('.well.match')].map(a => Number(a.dataset.image))",
        )
        .await,
    )
    .unwrap();
    assert_eq!(matched, expected, "{status}");
    assert_eq!(status, format!("{} of 96 wells match", expected.len()));
    // The picture for docs/: a filter highlighted, one well's key/values beside the grid.
    if let Some(path) = screenshot_path("viewer.png") {
        page.hover(&format!(".well[data-image='{}']", expected[0])).await;
        page.screenshot(&path).await;
    }

    // The field selector shows the other field's images.
    page.eval(
        "(() => { const s = document.getElementById('field'); s.value = '1'; \
         document.getElementById('summary').dataset.ready = ''; \
         s.dispatchEvent(new Event('change')); })()",
    )
    .await;
    page.wait_for(
        "document.getElementById('summary').dataset.ready === 'true'",
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(shown_wells(&page).await, at_field(1));
    assert!(page.eval("location.search").await == "?field=1");

    only_own_origin(&page, &idr.base);
    assert_eq!(page.errors(), Vec::<String>::new(), "the page reported errors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_the_viewer_shows_labelled_placeholders_not_broken_images() {
    let Some(browser) = crate::cdp::Browser::launch().await else { return };
    let idr = Idr::serve(&["--offline"]);
    let page = browser.open(&format!("{}/viewer/plate/4554", idr.base), 1400, 1000).await;
    page.wait_for(
        "document.getElementById('summary').dataset.ready === 'true'",
        Duration::from_secs(60),
    )
    .await;
    let wells = shown_wells(&page).await;
    assert_eq!(wells.len(), 96);
    assert_eq!(wells[0], ("A1".to_owned(), 1938559));
    // No thumbnail of plate 4554 is recorded: each well says so under its label, and not
    // one image element is broken.
    let placeholders = page
        .eval("[...document.querySelectorAll('.well')].map(a => a.querySelector('.placeholder')?.textContent ?? 'IMG').join(',')")
        .await;
    let expected: Vec<String> =
        wells.iter().map(|(label, _)| format!("{label}not recorded")).collect();
    assert_eq!(placeholders, expected.join(","));
    assert_eq!(page.eval("document.querySelectorAll('img').length").await, 0);
    let summary = page.eval("document.getElementById('summary').textContent").await;
    assert!(
        summary.as_str().unwrap().starts_with("96 wells with an image at field 1 of 1"),
        "{summary}"
    );
    only_own_origin(&page, &idr.base);
    assert_eq!(page.errors(), Vec::<String>::new(), "the page reported errors");
}
