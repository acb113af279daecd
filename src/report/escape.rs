//! Escaping text for XML and HTML (the same rules serve both here).

/// Escapes `&`, `<`, `>`, `"` and `'`, and drops characters XML 1.0 does not allow (control
/// characters other than tab, newline and carriage return, which a target's log tail may
/// hold), so any text is safe in element content and in quoted attributes.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// [`xml`] for an attribute value that should stay on one line: newlines become `&#10;`.
pub(crate) fn attr(text: &str) -> String {
    xml(text)
        .replace('\r', "")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            super::xml("a < b && \"c\" > 'd'\u{1b}[31m\n"),
            "a &lt; b &amp;&amp; &quot;c&quot; &gt; &#39;d&#39;[31m\n"
        );
        assert_eq!(super::attr("one\ntwo"), "one&#10;two");
    }
}
