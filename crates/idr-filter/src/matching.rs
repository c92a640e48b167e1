//! Local matching, by the search engine's rules: keys and values compare without regard
//! to case, spaces in values count, and the negated operators hold for an object that
//! *has* the key with another value.

use crate::Op;

/// Whether two keys are the same without regard to case. The engine lower-cases keys with
/// a Unicode-aware normaliser, so `MÉNIÈRE STAGE` is `Ménière Stage` there and must be
/// here too (an ASCII-only comparison would make a search's answer depend on whether it
/// was filtered locally).
pub fn same_key(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
        || ((!a.is_ascii() || !b.is_ascii()) && a.to_lowercase() == b.to_lowercase())
}

/// Whether `actual` (one value the object carries) satisfies `op` with `wanted`.
pub fn holds(op: Op, actual: &str, wanted: &[String]) -> bool {
    let actual = actual.to_lowercase();
    let mut wanted = wanted.iter().map(|w| w.to_lowercase());
    match op {
        Op::Equals | Op::In => wanted.any(|w| actual == w),
        Op::NotEquals | Op::NotIn => wanted.all(|w| actual != w),
        Op::Contains => wanted.any(|w| actual.contains(&w)),
        Op::NotContains => wanted.all(|w| !actual.contains(&w)),
    }
}
