//! Chinese text prepared for full-text search on SQLite FTS5 and PostgreSQL.
//!
//! Neither backend can split Chinese into words: FTS5's `unicode61` tokenizer keeps a whole
//! unspaced CJK run as one token, and PostgreSQL's `simple` configuration does the same. So the
//! text is segmented here with jieba and stored with single spaces between words; both backends
//! then split on those spaces (see `stack-and-style.md` §2.3).
//!
//! - Index side: [`segment_for_index`] uses jieba's search mode, which adds the shorter words
//!   inside long ones (停车难 → 停车, 停车难), so a query for either finds the row.
//! - Query side: [`segment_for_query`] uses the ordinary cut and drops particles, then
//!   [`fts5_match_expr`] or [`pg_tsquery_text`] turn the words into a safe query string.

use std::sync::LazyLock;

use jieba_rs::Jieba;

/// The one jieba instance of the process; loading the dictionary takes about 100 ms.
pub(crate) static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

/// Single characters that carry no meaning on their own in a query (structural particles,
/// aspect markers, sentence-final particles, conjunctions). Other single characters such as
/// 难 or 路 are kept because they often are the point of the query.
const QUERY_STOP_CHARS: &[char] = &[
    '的', '地', '得', '了', '着', '过', '吗', '呢', '吧', '啊', '呀', '嘛', '哦', '和', '与', '及',
    '或', '而', '之', '是', '在', '也', '都', '就', '又', '还', '很', '这', '那',
];

/// True if the token holds at least one letter or digit (CJK characters count as letters);
/// tokens made only of punctuation or whitespace are dropped.
fn is_content(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// Segments `text` for the search index: jieba search mode with HMM, words joined by single
/// spaces, punctuation and whitespace dropped, ASCII letters lowercased.
///
/// 关于小区停车难问题的建议 → `关于 小区 停车 停车难 问题 的 建议`.
pub fn segment_for_index(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for token in JIEBA.cut_for_search(text, true) {
        if !is_content(token.word) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        push_lower_ascii(&mut out, token.word.trim());
    }
    out
}

/// Segments a user's search text into query words: jieba cut with HMM, ASCII lowercased,
/// duplicates removed (first occurrence kept), punctuation and one-character particles such as
/// 的 and 了 dropped.
pub fn segment_for_query(text: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for token in JIEBA.cut(text, true) {
        let word = token.word.trim();
        if !is_content(word) {
            continue;
        }
        let mut chars = word.chars();
        if let (Some(only), None) = (chars.next(), chars.next())
            && QUERY_STOP_CHARS.contains(&only)
        {
            continue;
        }
        let mut lower = String::with_capacity(word.len());
        push_lower_ascii(&mut lower, word);
        if !words.contains(&lower) {
            words.push(lower);
        }
    }
    words
}

/// Builds an FTS5 `MATCH` expression that requires every token (implicit AND).
///
/// Each token is written as an FTS5 string (`"停车" "难"`) with embedded double quotes doubled,
/// so operators typed by the user (`-`, `*`, `:`, `NEAR(`, `AND`, `OR`) are only ever searched
/// as text and can never change the query. Returns an empty string for no tokens; FTS5 rejects
/// an empty expression, so the caller must skip the search in that case.
pub fn fts5_match_expr(tokens: &[String]) -> String {
    let mut out = String::new();
    for token in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('"');
        out.push_str(&token.replace('"', "\"\""));
        out.push('"');
    }
    out
}

/// Joins query tokens with spaces for PostgreSQL's `plainto_tsquery('simple', $1)`, which
/// ignores tsquery operators in its input, so the text needs no further escaping.
pub fn pg_tsquery_text(tokens: &[String]) -> String {
    tokens.join(" ")
}

fn push_lower_ascii(out: &mut String, word: &str) {
    out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_text_matches_the_example_of_the_stack_notes() {
        assert_eq!(
            segment_for_index("关于小区停车难问题的建议"),
            "关于 小区 停车 停车难 问题 的 建议"
        );
    }

    #[test]
    fn index_text_drops_punctuation_and_lowercases_ascii() {
        let text = segment_for_index("  小区WiFi，太慢！\n请  处理。");
        assert!(!text.contains('，') && !text.contains('！') && !text.contains('。'));
        assert!(text.contains("wifi"), "{text}");
        assert!(!text.contains("  ") && !text.starts_with(' ') && !text.ends_with(' '));
    }

    #[test]
    fn query_words_drop_particles_but_keep_meaningful_single_characters() {
        assert_eq!(
            segment_for_query("小区停车难的问题"),
            ["小区", "停车难", "问题"]
        );
        assert_eq!(segment_for_query("路灯坏了"), ["路灯", "坏"]);
    }

    #[test]
    fn query_words_are_deduplicated() {
        assert_eq!(segment_for_query("停车 停车，停车"), ["停车"]);
    }

    #[test]
    fn fts5_expression_quotes_every_token() {
        let tokens = vec!["停车".to_string(), "难".to_string()];
        assert_eq!(fts5_match_expr(&tokens), r#""停车" "难""#);
    }

    #[test]
    fn hostile_query_input_cannot_form_fts5_syntax() {
        let tokens = segment_for_query(r#"停车" OR 1 NEAR(a b) -x * col:val"#);
        let expr = fts5_match_expr(&tokens);
        // Outside the quoted strings only single spaces may remain.
        let mut inside = false;
        let mut chars = expr.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '"' {
                if inside && chars.peek() == Some(&'"') {
                    chars.next();
                    continue;
                }
                inside = !inside;
            } else if !inside {
                assert_eq!(c, ' ', "bare character {c:?} in {expr}");
            }
        }
        assert!(!inside, "unbalanced quotes in {expr}");
    }

    #[test]
    fn embedded_double_quotes_are_doubled() {
        let tokens = vec![r#"a"b"#.to_string(), "*".to_string(), "NEAR(".to_string()];
        assert_eq!(fts5_match_expr(&tokens), r#""a""b" "*" "NEAR(""#);
    }

    #[test]
    fn no_tokens_give_an_empty_expression() {
        assert_eq!(fts5_match_expr(&[]), "");
        assert_eq!(pg_tsquery_text(&[]), "");
    }

    #[test]
    fn tsquery_text_is_space_joined() {
        let tokens = segment_for_query("老年食堂建议");
        assert_eq!(pg_tsquery_text(&tokens), tokens.join(" "));
        assert!(pg_tsquery_text(&tokens).contains(' '));
    }
}
