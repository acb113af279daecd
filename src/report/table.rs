//! A plain-text table with aligned columns: text left, numbers right.

/// Renders rows (the first is the header) with two spaces between columns; columns whose
/// cells (after the header) look numeric are right-aligned.
pub(crate) fn render(rows: &[Vec<String>], indent: &str) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width = |c: usize| {
        rows.iter()
            .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..cols).map(width).collect();
    let numeric: Vec<bool> = (0..cols)
        .map(|c| {
            rows.iter()
                .skip(1)
                .filter_map(|r| r.get(c))
                .filter(|s| !s.is_empty() && s.as_str() != "-")
                .all(|s| s.starts_with(|ch: char| ch.is_ascii_digit() || ch == '-' || ch == '+'))
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            let last = c + 1 == row.len();
            if numeric[c] {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if !last {
                    line.push_str(&" ".repeat(pad));
                }
            }
            if !last {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn aligns_text_left_and_numbers_right() {
        let rows = vec![
            vec!["name".to_string(), "count".to_string()],
            vec!["a".to_string(), "5".to_string()],
            vec!["longer".to_string(), "1,234".to_string()],
        ];
        assert_eq!(
            super::render(&rows, "  "),
            "  name    count\n  a           5\n  longer  1,234\n"
        );
    }
}
