//! Making bundles: collect a directory's files under the bundle rules, write a deterministic zip.

use std::io::{Cursor, Write};
use std::path::Path;

use crate::archive::normalize_path;
use crate::{BundleError, BundleFile, BundleLimits, Files};

/// Folders a packer leaves out: version control and dependency caches.
/// Folders never read into a bundle (nor watched by `alga-ext dev`).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules", ".alga"];

/// The file listing what `pack` leaves out, one glob per line (relative to the folder; a
/// trailing `/` names a folder and everything in it; `#` starts a comment).
pub const IGNORE_FILE: &str = ".algaignore";

/// Endings of test modules (`alga-ext test` runs them); they never go into a bundle.
pub const TEST_SUFFIXES: &[&str] = &[".test.js", ".test.mjs", ".test.ts", ".test.mts"];

/// Whether `path` names a test module, which `files_from_dir` always leaves out.
pub fn is_test_file(path: &str) -> bool {
    TEST_SUFFIXES.iter().any(|suffix| path.ends_with(suffix))
}

/// The globs of a folder's `.algaignore`, itself included; an error names the bad line.
fn ignored(dir: &Path) -> Result<globset::GlobSet, BundleError> {
    let mut builder = globset::GlobSetBuilder::new();
    let mut add = |pattern: &str, line: usize| {
        globset::Glob::new(pattern)
            .map(|glob| {
                builder.add(glob);
            })
            .map_err(|e| BundleError::Format(format!("{IGNORE_FILE}:{line}: {pattern:?} is not a glob ({e})")))
    };
    add(IGNORE_FILE, 0)?;
    if let Ok(text) = std::fs::read_to_string(dir.join(IGNORE_FILE)) {
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line.strip_suffix('/') {
                Some(folder) => add(&format!("{folder}/**"), i + 1)?,
                None => add(line, i + 1)?,
            }
        }
    }
    builder.build().map_err(|e| BundleError::Format(format!("{IGNORE_FILE}: {e}")))
}

/// Reads a bundle directory, applying the same rules as uploaded archives. Symbolic links
/// are refused rather than followed; version-control folders, `node_modules`, `.alga` (the
/// dev server's data), what `.algaignore` lists and test modules (`*.test.js`, `*.test.ts`:
/// they import `@alga/test`, which only `alga-ext test` provides) are left out.
pub fn files_from_dir(dir: &Path, limits: &BundleLimits) -> Result<Files, BundleError> {
    read_dir_files(dir, limits, false)
}

/// Every file of an extension's directory under the bundle rules, test modules and what
/// `.algaignore` lists included: what `alga-ext test` loads its tests from.
pub fn source_files_from_dir(dir: &Path, limits: &BundleLimits) -> Result<Files, BundleError> {
    read_dir_files(dir, limits, true)
}

fn read_dir_files(dir: &Path, limits: &BundleLimits, with_tests: bool) -> Result<Files, BundleError> {
    let mut files = Files::new();
    // A test run loads what `.algaignore` keeps out of the bundle too: test helpers and
    // fixtures are often listed there.
    let skip = if with_tests { globset::GlobSet::empty() } else { ignored(dir)? };
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = std::fs::read_dir(&current).map_err(|e| BundleError::Format(format!("cannot read {}: {e}", current.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| BundleError::Format(e.to_string()))?;
            let path = entry.path();
            let relative = path.strip_prefix(dir).map_err(|e| BundleError::Format(e.to_string()))?;
            let rel_text = relative.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/");
            let kind = entry.file_type().map_err(|e| BundleError::Format(e.to_string()))?;
            if kind.is_dir() {
                if !SKIPPED_DIRS.contains(&entry.file_name().to_string_lossy().as_ref()) {
                    pending.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                return Err(BundleError::SpecialEntry { path: rel_text, kind: if kind.is_symlink() { "symbolic link" } else { "special file" } });
            }
            if skip.is_match(&rel_text) {
                continue;
            }
            let Some(normalized) = normalize_path(relative.as_os_str().as_encoded_bytes(), limits)? else { continue };
            if !with_tests && is_test_file(&normalized) {
                continue;
            }
            if files.len() >= limits.max_entries {
                return Err(BundleError::TooManyEntries { count: files.len() + 1, limit: limits.max_entries });
            }
            let bytes = std::fs::read(&path).map_err(|e| BundleError::Format(format!("cannot read {rel_text}: {e}")))?;
            total += bytes.len() as u64;
            if total > limits.max_unpacked_bytes {
                return Err(BundleError::UnpackedTooLarge { limit: limits.max_unpacked_bytes });
            }
            files.insert(normalized, BundleFile::new(bytes));
        }
    }
    Ok(files)
}

/// Writes `files` as a zip: deflated, in path order, with fixed timestamps and modes, so
/// the same files always give the same bytes. `progress` hears each path and its size.
pub fn zip_files(files: &Files, mut progress: impl FnMut(&str, usize)) -> Result<Vec<u8>, BundleError> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (path, file) in files {
        progress(path, file.bytes.len());
        writer.start_file(path.as_str(), options).map_err(|e| BundleError::Format(e.to_string()))?;
        writer.write_all(&file.bytes).map_err(|e| BundleError::Format(e.to_string()))?;
    }
    let cursor = writer.finish().map_err(|e| BundleError::Format(e.to_string()))?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_modules_stay_out_of_bundles_but_not_out_of_test_runs() {
        let dir = std::env::temp_dir().join(format!("alga-pack-{}-{}", std::process::id(), line!()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            (".algaignore", "fixtures/\n"),
            ("manifest.json", "{}"),
            ("src/index.js", "export {}"),
            ("src/index.test.js", "import '@alga/test'"),
            ("tests/api.test.ts", "import '@alga/test'"),
            ("src/contest.js", "export {}"),
            ("fixtures/tickets.json", "[]"),
            (".alga/dev.db", "x"),
        ] {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let bundle = files_from_dir(&dir, &BundleLimits::default());
        let sources = source_files_from_dir(&dir, &BundleLimits::default());
        std::fs::remove_dir_all(&dir).unwrap();
        let names = |files: Files| files.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(bundle.unwrap()), ["manifest.json", "src/contest.js", "src/index.js"]);
        assert_eq!(
            names(sources.unwrap()),
            [".algaignore", "fixtures/tickets.json", "manifest.json", "src/contest.js", "src/index.js", "src/index.test.js", "tests/api.test.ts"]
        );
    }

    #[test]
    fn algaignore_leaves_out_what_it_lists() {
        let dir = std::env::temp_dir().join(format!("alga-pack-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in [
            (".algaignore", "# editor support\ntypes/\n*.test.js\nREADME.md\n"),
            ("manifest.json", "{}"),
            ("README.md", "x"),
            ("src/index.js", "x"),
            ("src/index.test.js", "x"),
            ("types/alga-sdk.d.ts", "x"),
            (".alga/data.db", "x"),
            ("docs/README.md", "x"),
        ] {
            std::fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            std::fs::write(dir.join(path), text).unwrap();
        }
        let files = files_from_dir(&dir, &BundleLimits::default()).unwrap();
        let names: Vec<&str> = files.keys().map(String::as_str).collect();
        assert_eq!(names, ["docs/README.md", "manifest.json", "src/index.js"]);
        std::fs::write(dir.join(".algaignore"), "[unclosed\n").unwrap();
        let err = files_from_dir(&dir, &BundleLimits::default()).unwrap_err().to_string();
        assert!(err.contains(".algaignore:1"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
