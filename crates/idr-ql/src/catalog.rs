//! The catalog of known keys and values that completion, hover and the unknown-key check
//! use: a snapshot bundled with the crate, or one built from the live search engine.
//!
//! The bundled snapshot (`data/catalog.tsv`) is generated from the upstream recordings by
//! a test (`tests/catalog.rs`), which rewrites it when it is stale.

use std::collections::BTreeMap;

/// A key that map annotations carry, such as `Gene Symbol`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key as IDR writes it.
    pub name: String,
    /// The map-annotation namespace it was seen under, such as
    /// `openmicroscopy.org/mapr/gene`, when known.
    pub namespace: Option<String>,
    /// How many images carry the key, when known.
    pub images: Option<u64>,
}

/// A value of a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueInfo {
    /// The value as IDR writes it (the search engine's are lower-case).
    pub value: String,
    /// How many images carry it, when known.
    pub images: Option<u64>,
}

/// Known keys and, per key, known values. Lookups are case-insensitive, like IDR's
/// search engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// By lower-cased name.
    keys: BTreeMap<String, KeyInfo>,
    /// By lower-cased key; each list sorted by lower-cased value, without duplicates.
    values: BTreeMap<String, Vec<ValueInfo>>,
}

const BUNDLED: &str = include_str!("../data/catalog.tsv");

impl Catalog {
    /// A catalog that knows nothing: no completion of keys or values, and no
    /// unknown-key warnings.
    pub fn empty() -> Catalog {
        Catalog::default()
    }

    /// The snapshot bundled with the crate, built from the upstream recordings.
    pub fn bundled() -> Catalog {
        Catalog::from_tsv(BUNDLED)
    }

    /// A catalog from keys and values, for example fetched from the live search engine
    /// (`searchKeys`, `searchValues`). Keys that appear only among `values` are added.
    /// Duplicates (compared case-insensitively) are merged, keeping the first spelling
    /// and the first known namespace and counts.
    pub fn from_parts(
        keys: impl IntoIterator<Item = KeyInfo>,
        values: impl IntoIterator<Item = (String, Vec<ValueInfo>)>,
    ) -> Catalog {
        let mut by_key: BTreeMap<String, KeyInfo> = BTreeMap::new();
        for key in keys {
            merge_key(&mut by_key, key);
        }
        let mut by_value: BTreeMap<String, BTreeMap<String, ValueInfo>> = BTreeMap::new();
        for (key, list) in values {
            merge_key(&mut by_key, KeyInfo { name: key.clone(), namespace: None, images: None });
            let entry = by_value.entry(key.to_lowercase()).or_default();
            for value in list {
                match entry.get_mut(&value.value.to_lowercase()) {
                    Some(existing) => existing.images = existing.images.or(value.images),
                    None => {
                        entry.insert(value.value.to_lowercase(), value);
                    }
                }
            }
        }
        let values =
            by_value.into_iter().map(|(k, list)| (k, list.into_values().collect())).collect();
        Catalog { keys: by_key, values }
    }

    /// Every known key, sorted case-insensitively.
    pub fn keys(&self) -> impl Iterator<Item = &KeyInfo> {
        self.keys.values()
    }

    /// The key spelled `name` (case-insensitive).
    pub fn key(&self, name: &str) -> Option<&KeyInfo> {
        self.keys.get(&name.to_lowercase())
    }

    /// The known values of `key` (case-insensitive), sorted case-insensitively.
    pub fn values(&self, key: &str) -> &[ValueInfo] {
        self.values.get(&key.to_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// The known value of `key` spelled `value` (case-insensitive).
    pub fn value(&self, key: &str, value: &str) -> Option<&ValueInfo> {
        let lower = value.to_lowercase();
        let list = self.values(key);
        list.binary_search_by(|v| v.value.to_lowercase().cmp(&lower)).ok().and_then(|i| list.get(i))
    }

    /// Whether the catalog knows no key at all.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The catalog in the bundled file's format: one record per line, tab-separated,
    /// `key NAME NAMESPACE IMAGES` or `value KEY VALUE IMAGES`, with `-` for unknown and
    /// `\t`, `\n`, `\\` escaped.
    pub fn to_tsv(&self) -> String {
        let mut out = String::from(
            "# IDR-QL catalog: known keys and values. Generated from tests/fixtures/upstream by\n\
             # crates/idr-ql/src/tests/catalog.rs; do not edit by hand.\n",
        );
        let count = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
        for key in self.keys.values() {
            out.push_str(&format!(
                "key\t{}\t{}\t{}\n",
                escape(&key.name),
                key.namespace.as_deref().map_or_else(|| "-".to_owned(), escape),
                count(key.images)
            ));
            for value in self.values(&key.name) {
                out.push_str(&format!(
                    "value\t{}\t{}\t{}\n",
                    escape(&key.name),
                    escape(&value.value),
                    count(value.images)
                ));
            }
        }
        out
    }

    /// Reads [`Catalog::to_tsv`]'s format; malformed lines are skipped.
    pub fn from_tsv(text: &str) -> Catalog {
        let mut keys = Vec::new();
        let mut values: Vec<(String, Vec<ValueInfo>)> = Vec::new();
        let count = |s: &str| s.parse::<u64>().ok();
        for line in text.lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["key", name, namespace, images] => keys.push(KeyInfo {
                    name: unescape(name),
                    namespace: (*namespace != "-").then(|| unescape(namespace)),
                    images: count(images),
                }),
                ["value", key, value, images] => {
                    let key = unescape(key);
                    let info = ValueInfo { value: unescape(value), images: count(images) };
                    match values.last_mut() {
                        Some((k, list)) if *k == key => list.push(info),
                        _ => values.push((key, vec![info])),
                    }
                }
                _ => {}
            }
        }
        Catalog::from_parts(keys, values)
    }
}

fn merge_key(by_key: &mut BTreeMap<String, KeyInfo>, key: KeyInfo) {
    match by_key.get_mut(&key.name.to_lowercase()) {
        Some(existing) => {
            if existing.namespace.is_none() {
                existing.namespace = key.namespace;
            }
            existing.images = existing.images.or(key.images);
        }
        None => {
            by_key.insert(key.name.to_lowercase(), key);
        }
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    if out == "-" {
        // A lone dash means "unknown"; keep a real "-" distinguishable.
        return "\\-".to_owned();
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}
