//! Making bundles: collect a directory's files under the bundle rules, write a deterministic zip.

use std::io::{Cursor, Write};
use std::path::Path;

use crate::archive::normalize_path;
use crate::{BundleError, BundleFile, BundleLimits, Files};

/// Folders a packer leaves out: version control, dependency caches and `.alga` (what
/// `alga-ext dev` keeps between runs).
pub const SKIPPED_DIRS: &[&str] = &[".git", ".hg", ".svn", "node_modules", ".alga"];

/// Endings of test modules (`alga-ext test` runs them); they stay out of bundles.
pub const TEST_SUFFIXES: &[&str] = &[".test.js", ".test.mjs", ".test.ts", ".test.mts"];

/// Whether `path` names a test module, which `files_from_dir` leaves out of a bundle.
pub fn is_test_file(path: &str) -> bool {
    TEST_SUFFIXES.iter().any(|suffix| path.ends_with(suffix))
}

/// Reads a bundle directory, applying the same rules as uploaded archives. Symbolic links
/// are refused rather than followed. Test modules (`*.test.js`, `*.test.ts`) are not part
/// of the bundle: they import `@alga/test`, which only `alga-ext test` provides.
pub fn files_from_dir(dir: &Path, limits: &BundleLimits) -> Result<Files, BundleError> {
    read_dir_files(dir, limits, false)
}

/// Every file of an extension's directory under the bundle rules, test modules included:
/// what `alga-ext test` loads its tests from.
pub fn source_files_from_dir(dir: &Path, limits: &BundleLimits) -> Result<Files, BundleError> {
    read_dir_files(dir, limits, true)
}

fn read_dir_files(dir: &Path, limits: &BundleLimits, with_tests: bool) -> Result<Files, BundleError> {
    let mut files = Files::new();
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
    fn test_modules_and_dev_state_stay_out_of_bundles() {
        let dir = std::env::temp_dir().join(format!("alga-pack-{}-{}", std::process::id(), line!()));
        for (path, text) in [
            ("manifest.json", "{}"),
            ("src/index.js", "export {}"),
            ("src/index.test.js", "import '@alga/test'"),
            ("tests/api.test.ts", "import '@alga/test'"),
            ("src/contest.js", "export {}"),
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
        assert_eq!(names(sources.unwrap()), ["manifest.json", "src/contest.js", "src/index.js", "src/index.test.js", "tests/api.test.ts"]);
    }
}
