//! Upstream requests and responses as plain data: what the client sends and what it gets back.
//!
//! A [`Request`] is canonical (query pairs sorted), so it doubles as the cache key, the
//! singleflight key and the key a recording is matched by.

use std::fmt;

use bytes::Bytes;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use url::Url;

/// Characters left as they are in a query component; everything else is percent-encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The HTTP method of an upstream request. IDR's read endpoints are GET, the search
/// engine's boolean queries are POST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One upstream request, independent of the base URL it is sent to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    pub method: Method,
    /// Absolute path on the upstream host, with OMERO's trailing slash.
    pub path: String,
    /// Query pairs, not percent-encoded, sorted by key then value.
    pub query: Vec<(String, String)>,
    /// A JSON body for POST requests, serialised compactly.
    pub body: Option<String>,
}

impl Request {
    pub fn get(path: impl Into<String>) -> Request {
        Request { method: Method::Get, path: path.into(), query: Vec::new(), body: None }
    }

    pub fn post_json(path: impl Into<String>, body: &serde_json::Value) -> Request {
        Request {
            method: Method::Post,
            path: path.into(),
            query: Vec::new(),
            body: Some(body.to_string()),
        }
    }

    /// Adds a query pair, keeping the pairs sorted.
    pub fn param(mut self, key: &str, value: impl ToString) -> Request {
        self.query.push((key.to_owned(), value.to_string()));
        self.query.sort();
        self
    }

    /// The path and encoded query, as it appears on the HTTP request line.
    pub fn path_and_query(&self) -> String {
        let mut out = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.extend(utf8_percent_encode(k, QUERY));
            out.push('=');
            out.extend(utf8_percent_encode(v, QUERY));
        }
        out
    }

    /// Length in bytes of the HTTP/1.1 request line (`GET /path?query HTTP/1.1`), which
    /// IDR's gunicorn caps at 4,094 bytes.
    pub fn request_line_len(&self) -> usize {
        self.method.as_str().len() + 1 + self.path_and_query().len() + " HTTP/1.1".len()
    }

    /// The absolute URL of this request on `base` (whose own path, if any, is kept as a prefix).
    pub fn url(&self, base: &Url) -> Url {
        let mut s = base.as_str().trim_end_matches('/').to_owned();
        s.push_str(&self.path_and_query());
        // The path and query are built from encoded parts, so parsing cannot fail unless the
        // base itself is odd; fall back to the base rather than panicking.
        Url::parse(&s).unwrap_or_else(|_| base.clone())
    }

    /// The values of every pair with this key, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path_and_query())?;
        if let Some(body) = &self.body {
            write!(f, " {body}")?;
        }
        Ok(())
    }
}

/// An upstream response with its body fully read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
}

impl Response {
    pub fn json(status: u16, body: impl Into<Bytes>) -> Response {
        Response { status, content_type: Some("application/json".to_owned()), body: body.into() }
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}
