//! Code frames for the terminal: the lines around a problem's `file:line:col`, with a caret under the column, as compilers print them.

use std::path::Path;

/// Lines shown before the problem's line.
const BEFORE: usize = 2;

/// The frame of `line` (1-based) and `column` (1-based; 0 when unknown) in `dir/file`, or
/// `None` when the file cannot be read or has no such line.
pub fn code_frame(dir: &Path, file: &str, line: usize, column: usize) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line > lines.len() {
        return None;
    }
    let width = (line + 1).to_string().len();
    let mut out = String::new();
    for n in line.saturating_sub(BEFORE).max(1)..=(line + 1).min(lines.len()) {
        let marker = if n == line { ">" } else { " " };
        out.push_str(&format!("{marker} {n:>width$} | {}\n", lines[n - 1]));
        if n == line && column > 0 {
            // Tabs keep their width in the caret line, so the caret lands under the column.
            let pad: String = lines[n - 1].chars().take(column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
            out.push_str(&format!("  {:>width$} | {pad}^\n", ""));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_points_at_the_column() {
        let dir = std::env::temp_dir().join(format!("alga-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.js"), "one\ntwo\nconst x = ;\nfour\nfive\n").unwrap();
        let frame = code_frame(&dir, "a.js", 3, 11).unwrap();
        assert_eq!(frame, "  1 | one\n  2 | two\n> 3 | const x = ;\n    |           ^\n  4 | four\n");
        assert!(code_frame(&dir, "a.js", 9, 1).is_none());
        assert!(code_frame(&dir, "missing.js", 1, 1).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
