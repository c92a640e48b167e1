//! Text helpers shared by the crates that show IDR's text to people.

/// `text` cut to at most `max` characters, with `…` added when it was cut (never inside
/// a character).
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cuts_at_characters_and_marks_the_cut() {
        assert_eq!(super::truncate("abcdef", 3), "abc…");
        assert_eq!(super::truncate("abc", 3), "abc");
        assert_eq!(super::truncate("ééé", 2), "éé…");
        assert_eq!(super::truncate("", 0), "");
    }
}
