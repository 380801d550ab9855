//! Text in XML documents (SVG posters, Open311 answers).

/// Escapes text for XML content and attribute values, and drops what XML 1.0 cannot carry at
/// all (control characters other than tab and line breaks, U+FFFE, U+FFFF): a citizen's text may
/// hold them, and one of them would make the whole document unreadable to a parser.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{FFFE}' | '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_escaped_and_what_xml_cannot_carry_is_dropped() {
        assert_eq!(
            escape("a<b>&\"c'\u{7}\u{FFFE}\t\n中"),
            "a&lt;b&gt;&amp;&quot;c&apos;\t\n中"
        );
    }
}
