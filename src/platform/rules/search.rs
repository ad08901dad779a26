//! Text search (`q=`): the bound on what a person may type, the `LIKE` pattern that matches
//! it as a substring, and the phrase a trigram index (PostgreSQL `pg_trgm`, SQLite FTS5)
//! answers from the index.
//!
//! A trigram index finds a substring of three characters or more; a shorter one (a
//! two-character Chinese word such as 石灰) has no trigram of its own, so the stores match
//! it with a plain scan, which they keep away from the index.

/// The longest search text accepted, in characters.
pub const MAX_CHARS: usize = 100;

/// The fewest characters a trigram index can answer.
pub const INDEXED_MIN_CHARS: usize = 3;

/// The trimmed text, `None` when blank; an error message when it is too long or holds a
/// control character (nothing a person types into a search box).
pub fn query(raw: Option<&str>) -> Result<Option<&str>, String> {
    let Some(text) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_CHARS {
        return Err(format!("搜索词不能超过 {MAX_CHARS} 个字"));
    }
    if text.chars().any(char::is_control) {
        return Err("搜索词不能含换行或控制字符".into());
    }
    Ok(Some(text))
}

/// `%text%` with `\`, `%` and `_` escaped (for `LIKE … ESCAPE '\'`).
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Whether a trigram index can answer `text`.
pub fn indexed(text: &str) -> bool {
    text.chars().count() >= INDEXED_MIN_CHARS
}

/// The FTS5 query matching `text` as one phrase (a substring, under the trigram
/// tokenizer): quoted, with its quotes doubled, so no character is read as syntax.
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_and_bounded() {
        assert_eq!(query(None), Ok(None));
        assert_eq!(query(Some("  ")), Ok(None));
        assert_eq!(query(Some(" 石灰岩 ")), Ok(Some("石灰岩")));
        assert!(query(Some(&"矿".repeat(MAX_CHARS))).is_ok());
        assert!(query(Some(&"矿".repeat(MAX_CHARS + 1))).is_err());
        assert!(query(Some("a\u{0}b")).is_err());
    }

    #[test]
    fn patterns_escape_their_wildcards() {
        assert_eq!(like_pattern("石灰"), "%石灰%");
        assert_eq!(like_pattern(r"50%_a\b"), r"%50\%\_a\\b%");
        assert_eq!(fts_phrase(r#"a"b OR c*"#), r#""a""b OR c*""#);
    }

    #[test]
    fn three_characters_reach_the_index() {
        assert!(!indexed("石灰"));
        assert!(indexed("石灰岩"));
        assert!(indexed("abc"));
        assert!(!indexed("ab"));
    }
}
