//! The web pages the binary serves, with everything they load, from memory: GraphiQL at
//! `GET /graphql`, the IDR-QL playground at `/playground`, the plate viewer at
//! `/viewer/plate/{id}`, and their scripts and styles under `/assets/`.
//!
//! Nothing a page loads comes from another origin, and a Content-Security-Policy says so
//! to the browser, so the pages work offline and behind a firewall and cannot be made to
//! load someone else's script. GraphiQL and React are production builds vendored from the
//! npm registry by `web/vendor.sh`, which records their versions and licences in
//! `web/vendor/VENDORED.md`. They are served under paths that name their version, and so
//! are cached as immutable; our own files are small and revalidated (`ETag`).

use std::hash::{Hash as _, Hasher as _};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The vendored versions; `web/vendor.sh` pins the same (a test checks VENDORED.md).
pub(crate) const GRAPHIQL_VERSION: &str = "4.1.2";
pub(crate) const REACT_VERSION: &str = "18.3.1";

/// One file a page may load.
struct Asset {
    /// Its path under `/assets/`.
    path: String,
    bytes: &'static [u8],
    content_type: &'static str,
    /// Named by version: cache for a year, never revalidate.
    immutable: bool,
    etag: HeaderValue,
}

macro_rules! web_file {
    ($name:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $name)).as_slice()
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let vendor = |name: &str, package_version: &str, bytes, content_type| {
        asset(format!("vendor/{package_version}/{name}"), bytes, content_type, true)
    };
    let graphiql = format!("graphiql-{GRAPHIQL_VERSION}");
    let react = format!("react-{REACT_VERSION}");
    vec![
        vendor("react.production.min.js", &react, web_file!("vendor/react.production.min.js"), JS),
        vendor(
            "react-dom.production.min.js",
            &react,
            web_file!("vendor/react-dom.production.min.js"),
            JS,
        ),
        vendor("graphiql.min.js", &graphiql, web_file!("vendor/graphiql.min.js"), JS),
        vendor("graphiql.min.css", &graphiql, web_file!("vendor/graphiql.min.css"), CSS),
        asset("app/icon.svg".to_owned(), web_file!("app/icon.svg"), SVG, false),
        asset("app/common.js".to_owned(), web_file!("app/common.js"), JS, false),
        asset("app/idr.css".to_owned(), web_file!("app/idr.css"), CSS, false),
        asset("app/graphiql.js".to_owned(), web_file!("app/graphiql.js"), JS, false),
        asset("app/playground.js".to_owned(), web_file!("app/playground.js"), JS, false),
        asset("app/viewer.js".to_owned(), web_file!("app/viewer.js"), JS, false),
        asset("app/viewer.css".to_owned(), web_file!("app/viewer.css"), CSS, false),
    ]
});

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const SVG: &str = "image/svg+xml";

fn asset(path: String, bytes: &'static [u8], content_type: &'static str, immutable: bool) -> Asset {
    let mut hasher = std::hash::DefaultHasher::new();
    bytes.hash(&mut hasher);
    // Weak: the same file goes out gzipped or not, and a strong tag names bytes.
    let etag = HeaderValue::from_str(&format!("W/\"{:016x}\"", hasher.finish()))
        .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
    Asset { path, bytes, content_type, immutable, etag }
}

/// The pages' shared parts, written into each: the stylesheet and icon (`@HEAD@`), and
/// the navigation with the page's own link marked (`@NAV@`); and the vendored versions in
/// the paths they load.
fn page(template: &'static str, current: &str) -> String {
    const LINKS: [(&str, &str, &str); 3] = [
        ("graphiql", "/graphql", "GraphiQL"),
        ("playground", "/playground", "IDR-QL playground"),
        ("viewer", "/viewer/plate/4554", "Plate viewer"),
    ];
    let links: String = LINKS
        .iter()
        .map(|(name, href, label)| {
            let mark = if *name == current { r#" aria-current="page""# } else { "" };
            format!(r#"<a href="{href}"{mark}>{label}</a>"#)
        })
        .collect();
    template
        .replace(
            "@HEAD@",
            r#"  <link rel="stylesheet" href="/assets/app/idr.css">
  <link rel="icon" href="/assets/app/icon.svg" type="image/svg+xml">"#,
        )
        .replace(
            "@NAV@",
            &format!(r#"<nav class="idr-nav"><strong>idr-graph</strong>{links}</nav>"#),
        )
        .replace("@GRAPHIQL@", &format!("graphiql-{GRAPHIQL_VERSION}"))
        .replace("@REACT@", &format!("react-{REACT_VERSION}"))
}

macro_rules! web_page {
    ($name:literal, $current:literal) => {
        LazyLock::new(|| {
            page(include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/web/", $name)), $current)
        })
    };
}

static GRAPHIQL_PAGE: LazyLock<String> = web_page!("graphiql.html", "graphiql");
static PLAYGROUND_PAGE: LazyLock<String> = web_page!("playground.html", "playground");
static VIEWER_PAGE: LazyLock<String> = web_page!("viewer.html", "viewer");

/// What every page may load: only this origin, and images and fonts also as `data:` URIs
/// (the batched thumbnails; GraphiQL's stylesheet embeds its fonts). Inline styles are
/// allowed because GraphiQL sets `style` attributes; inline scripts are not.
const CSP: &str = "default-src 'self'; img-src 'self' data:; font-src 'self' data:; \
                   style-src 'self' 'unsafe-inline'; \
                   script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// An HTML page, never cached (it names the assets, which are).
fn html(body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

/// GraphiQL, the page `GET /graphql` gives a browser.
pub(crate) fn graphiql() -> Response {
    html(GRAPHIQL_PAGE.as_str())
}

/// The routes of the pages and assets. They touch neither IDR nor the schema, so they
/// are not rate-limited: a page's dozen loads must not spend a client's GraphQL budget.
/// They are gzipped for clients that accept it (GraphiQL's 1.5 MB become about 0.4 MB).
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/playground", get(|| async { html(PLAYGROUND_PAGE.as_str()) }))
        .route("/viewer/plate/{id}", get(viewer))
        .route("/assets/{*path}", get(serve_asset))
        // Browsers ask for it whatever the page says.
        .route("/favicon.ico", get(|headers| serve_asset(Path("app/icon.svg".to_owned()), headers)))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The plate viewer for any well-formed id; the page itself asks for the plate, and says
/// so when IDR has none.
async fn viewer(Path(id): Path<String>) -> Response {
    if crate::http::parse_positive_id(&id).is_none() {
        return crate::http::plain(StatusCode::NOT_FOUND, "a plate id is a positive integer");
    }
    html(VIEWER_PAGE.as_str())
}

async fn serve_asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.path == path) else {
        return crate::http::plain(StatusCode::NOT_FOUND, "no such asset");
    };
    let cache =
        if asset.immutable { "public, max-age=31536000, immutable" } else { "public, no-cache" };
    let fresh =
        headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|tags| {
            let etag = asset.etag.to_str().unwrap_or_default();
            tags.split(',').any(|t| crate::http::weak_eq(t, etag))
        });
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::ETAG, asset.etag.clone()),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (headers, asset.bytes).into_response()
}
