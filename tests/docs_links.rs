//! Every relative link in the Markdown docs (the repository root's `*.md` and `docs/*.md`)
//! points at a file that exists, and every `#anchor` at a heading of its target file, with
//! GitHub's slugs. Moving a section between files breaks links silently otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The Markdown files checked, below `root`.
fn doc_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [root.to_path_buf(), root.join("docs")] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => out.push((i + 1, line)),
            _ => {}
        }
    }
    out
}

/// `line` with inline code spans blanked out (links may wrap code, but `](` inside code is
/// not a link).
fn without_code(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push('`');
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The rendered text of a heading line: code ticks, link targets and emphasis removed.
fn heading_text(raw: &str) -> String {
    let mut text = String::new();
    let mut rest = raw;
    // `[text](url)` -> `text`
    while let Some(start) = rest.find("](") {
        let Some(end) = rest[start..].find(')') else {
            break;
        };
        text.push_str(&rest[..start]);
        rest = &rest[start + end + 1..];
    }
    text.push_str(rest);
    text.chars()
        .filter(|c| !matches!(c, '`' | '*' | '[' | ']'))
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation other than `-` and `_` dropped,
/// each space a hyphen.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a Markdown file, with GitHub's `-1`, `-2` suffixes for repeated headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for (_, line) in prose_lines(text) {
        let hashes = line.chars().take_while(|&c| c == '#').count();
        if !(1..=6).contains(&hashes) || !line[hashes..].starts_with(' ') {
            continue;
        }
        let base = slug(&heading_text(&line[hashes..]));
        let mut candidate = base.clone();
        let mut n = 0;
        while seen.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        seen.insert(candidate);
    }
    seen
}

/// Link targets of one line: inline `[text](target)` links and images.
fn link_targets(line: &str) -> Vec<String> {
    let line = without_code(line);
    let mut targets = Vec::new();
    let mut rest = line.as_str();
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else {
            break;
        };
        // `[a](b "title")`: the target is the first word.
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_string());
        rest = &after[end..];
    }
    targets
}

/// Every broken link under `root`, as `file:line: target: why`.
fn broken_links(root: &Path) -> Vec<String> {
    let mut broken = Vec::new();
    for file in doc_files(root) {
        let text = fs::read_to_string(&file).unwrap();
        let shown = file.strip_prefix(root).unwrap().display().to_string();
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let resolved = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap().join(path)
                };
                if !resolved.exists() {
                    broken.push(format!("{shown}:{number}: {target}: no such file"));
                    continue;
                }
                let Some(anchor) = anchor else { continue };
                let is_markdown = resolved.extension().is_some_and(|e| e == "md");
                if !is_markdown {
                    continue;
                }
                let target_text = fs::read_to_string(&resolved).unwrap();
                if !anchors(&target_text).contains(anchor) {
                    broken.push(format!(
                        "{shown}:{number}: {target}: no heading with anchor #{anchor}"
                    ));
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        doc_files(root).len() > 2,
        "no Markdown files found under {}",
        root.display()
    );
    let broken = broken_links(root);
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_checker_finds_a_missing_file_and_a_missing_anchor() {
    let dir = std::env::temp_dir().join(format!("perfspec-docs-links-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("docs")).unwrap();
    fs::write(
        dir.join("README.md"),
        "# Top\n\nSee [spec](docs/spec.md#the-target-key), [gone](docs/gone.md), \
         [here](#top), [bad](#nowhere) and [web](https://example.com/#x).\n\n\
         ```text\n[in code](missing.md)\n```\n\n`[inline](missing.md)`\n",
    )
    .unwrap();
    fs::write(
        dir.join("docs/spec.md"),
        "# Spec\n\n## The `target` key\n\n## `regression = { … }`\n\n## Twice\n\n## Twice\n\n\
         [up](../README.md#top) [dup](#twice-1) [odd](#regression----)\n",
    )
    .unwrap();
    let broken = broken_links(&dir);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(
        broken,
        [
            "README.md:3: docs/gone.md: no such file",
            "README.md:3: #nowhere: no heading with anchor #nowhere",
        ]
    );
}

#[test]
fn slugs_follow_github() {
    assert_eq!(
        slug(&heading_text("`[target]`: the system under test")),
        "target-the-system-under-test"
    );
    assert_eq!(
        slug(&heading_text("AI workloads: streams, tokens, goodput")),
        "ai-workloads-streams-tokens-goodput"
    );
    assert_eq!(
        slug(&heading_text("A/B mode: `cargo xtask ab`")),
        "ab-mode-cargo-xtask-ab"
    );
    assert_eq!(slug(&heading_text("See [the spec](x.md)")), "see-the-spec");
}
