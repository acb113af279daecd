//! Spec errors: every one names the file, line and column, quotes the offending text and says
//! what would be valid.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Why a spec could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read.
    #[error("{}: cannot read the spec: {source}", path.display())]
    Read {
        /// The spec file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was read but is not a valid spec.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

/// A located problem in a spec: rendered like a compiler error with a caret under the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// The spec file, as the user named it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The whole source line the problem is on.
    pub source_line: String,
    /// Characters to underline, starting at `column`.
    pub width: usize,
    /// What would be valid, when there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// Locates `span` (byte offsets into `source`) and builds the diagnostic.
    pub fn at(
        path: &Path,
        source: &str,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let source_line = source[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let width = source[start..end.min(line_end)].chars().count().max(1);
        Diagnostic {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
            source_line,
            width,
            help,
        }
    }

    /// The diagnostic as an error.
    pub fn into_error(self) -> SpecError {
        SpecError::Invalid(Box::new(self))
    }
}

/// Where a file stops being UTF-8: the first bad byte, with its line and column.
pub(super) fn not_utf8(path: &Path, bytes: &[u8], e: &std::str::Utf8Error) -> Diagnostic {
    let at = e.valid_up_to();
    // The valid prefix is the same in the lossy text, so offsets carry over.
    let lossy = String::from_utf8_lossy(bytes);
    let bad = bytes.get(at).copied().unwrap_or(0);
    Diagnostic::at(
        path,
        &lossy,
        at..at + '\u{FFFD}'.len_utf8(),
        format!("the spec is not UTF-8 text: byte 0x{bad:02X} cannot start or continue a character here"),
        Some("TOML files are UTF-8: save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 spec.toml`)".into()),
    )
}

/// The most characters of a source line shown: a 200,000-character line must not make a
/// 200,000-character message.
const SHOWN: usize = 120;

/// The part of `line` shown around the caret at character `column` (0-based) underlining
/// `width` characters: the shown text (with `…` where it was cut), the caret's column in it
/// and the underline's width.
fn window(line: &str, column: usize, width: usize) -> (String, usize, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= SHOWN {
        return (line.to_string(), column, width);
    }
    let start = column
        .saturating_sub(SHOWN / 3)
        .min(chars.len().saturating_sub(SHOWN));
    let end = (start + SHOWN).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = column - start.min(column);
    if start > 0 {
        shown.insert(0, '…');
        caret += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    let width = width
        .min(shown.chars().count().saturating_sub(caret))
        .max(1);
    (shown, caret, width)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.line.to_string();
        let pad = " ".repeat(number.len());
        writeln!(f, "error: {}", self.message)?;
        writeln!(
            f,
            "{pad}--> {}:{}:{}",
            self.path.display(),
            self.line,
            self.column
        )?;
        writeln!(f, "{pad} |")?;
        // Tabs would misalign the caret; show them as single spaces.
        let shown = self.source_line.replace('\t', " ");
        let (shown, column, width) = window(&shown, self.column - 1, self.width);
        writeln!(f, "{number} | {shown}")?;
        write!(f, "{pad} | {}{}", " ".repeat(column), "^".repeat(width))?;
        if let Some(help) = &self.help {
            let indent = format!("\n{pad}         ");
            write!(f, "\n{pad} = help: {}", help.replace('\n', &indent))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_line_and_column() {
        let src = "[target]\nurl = 42\n";
        let d = Diagnostic::at(
            Path::new("x.toml"),
            src,
            15..17,
            "bad",
            Some("a URL".into()),
        );
        assert_eq!((d.line, d.column, d.width), (2, 7, 2));
        let text = d.to_string();
        assert!(text.contains("x.toml:2:7"), "{text}");
        assert!(text.contains("url = 42\n  |       ^^"), "{text}");
    }

    #[test]
    fn a_very_long_line_is_shown_around_the_caret() {
        let src = format!("name = \"{}\"\n", "x".repeat(200_000));
        let d = Diagnostic::at(Path::new("x.toml"), &src, 8..200_008, "too long", None);
        assert_eq!((d.line, d.column), (1, 9));
        let text = d.to_string();
        assert!(text.len() < 600, "{} bytes", text.len());
        assert!(text.contains("x.toml:1:9"), "{text}");
        assert!(text.contains("1 | name = \"xxx"), "{text}");
        assert!(text.contains("xxx…\n"), "{text}");
        let far = Diagnostic::at(Path::new("x.toml"), &src, 150_000..150_001, "here", None);
        let text = far.to_string();
        assert!(text.contains("x.toml:1:150001"), "{text}");
        assert!(text.contains("| …xxx"), "{text}");
        // The caret sits under the character it points at.
        let lines: Vec<&str> = text.lines().collect();
        let caret = lines[4].find('^').unwrap();
        assert_eq!(&lines[3][caret..caret + 1], "x", "{text}");
    }

    #[test]
    fn out_of_range_spans_do_not_panic() {
        let d = Diagnostic::at(Path::new("x.toml"), "é", 1..99, "bad", None);
        assert_eq!(d.line, 1);
        #[allow(clippy::reversed_empty_ranges)] // a reversed span must not panic either
        let d = Diagnostic::at(Path::new("x.toml"), "", 5..3, "bad", None);
        assert_eq!(d.column, 1);
    }
}
