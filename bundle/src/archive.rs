//! Reading `.zip` and `.tar.gz` bundles into memory under size, count, path and ratio limits.
//!
//! Archives are hostile input: declared sizes may lie, names may climb out with `..`, and a
//! few kilobytes may inflate to gigabytes. Every byte read is counted against the limits,
//! and only regular files with clean, unique, UTF-8 paths get through.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use sha2::{Digest, Sha256};

use crate::BundleError;

/// Limits on what a bundle may be. Defaults: 10 MiB compressed, 50 MiB unpacked, 2,000
/// entries, 255-byte paths, and unpacked at most 100 times the compressed size.
#[derive(Debug, Clone, Copy)]
pub struct BundleLimits {
    pub max_compressed_bytes: u64,
    pub max_unpacked_bytes: u64,
    pub max_entries: usize,
    pub max_path_bytes: usize,
    pub max_ratio: u64,
}

impl Default for BundleLimits {
    fn default() -> Self {
        Self { max_compressed_bytes: 10 * 1024 * 1024, max_unpacked_bytes: 50 * 1024 * 1024, max_entries: 2_000, max_path_bytes: 255, max_ratio: 100 }
    }
}

/// Which container a bundle uses, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Zip,
    TarGz,
}

impl ArchiveFormat {
    pub fn detect(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if bytes.starts_with(&[0x1f, 0x8b]) {
            Some(Self::TarGz)
        } else {
            None
        }
    }
}

/// One file of a bundle with its sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub bytes: Vec<u8>,
    /// Lowercase hex sha256 of `bytes`.
    pub sha256: String,
}

impl BundleFile {
    pub fn new(bytes: Vec<u8>) -> Self {
        let sha256 = sha256_hex(&bytes);
        Self { bytes, sha256 }
    }
}

/// The files of a bundle by normalized path (`ui/app.js`), in path order.
pub type Files = BTreeMap<String, BundleFile>;

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a bundle archive, detecting its format from its content.
pub fn read_archive(bytes: &[u8], limits: &BundleLimits) -> Result<Files, BundleError> {
    let size = bytes.len() as u64;
    if size > limits.max_compressed_bytes {
        return Err(BundleError::TooLarge { size, limit: limits.max_compressed_bytes });
    }
    let mut budget = Budget::new(size, limits);
    let mut files = match ArchiveFormat::detect(bytes) {
        Some(ArchiveFormat::Zip) => read_zip(bytes, limits, &mut budget)?,
        Some(ArchiveFormat::TarGz) => read_tar_gz(bytes, limits, &mut budget)?,
        None => return Err(BundleError::Format("expected a .zip or .tar.gz archive".into())),
    };
    strip_single_root(&mut files);
    Ok(files)
}

/// Counts unpacked bytes against both the absolute cap and the ratio cap.
struct Budget {
    used: u64,
    max_unpacked: u64,
    ratio_cap: u64,
    ratio: u64,
}

impl Budget {
    fn new(compressed: u64, limits: &BundleLimits) -> Self {
        // Tiny archives get some slack: a 200-byte bundle may hold a few KB of text.
        let ratio_cap = compressed.max(64 * 1024).saturating_mul(limits.max_ratio);
        Self { used: 0, max_unpacked: limits.max_unpacked_bytes, ratio_cap, ratio: limits.max_ratio }
    }

    fn remaining(&self) -> u64 {
        self.max_unpacked.min(self.ratio_cap).saturating_sub(self.used)
    }

    /// Reads all of `reader`, failing as soon as the budget is exceeded.
    fn read_all(&mut self, reader: impl Read) -> Result<Vec<u8>, BundleError> {
        let allowed = self.remaining();
        let mut out = Vec::new();
        reader.take(allowed + 1).read_to_end(&mut out).map_err(|e| BundleError::Format(format!("cannot decompress: {e}")))?;
        self.used += out.len() as u64;
        if out.len() as u64 > allowed {
            return Err(if self.used > self.max_unpacked {
                BundleError::UnpackedTooLarge { limit: self.max_unpacked }
            } else {
                BundleError::CompressionRatio { ratio: self.ratio }
            });
        }
        Ok(out)
    }
}

/// Validates and normalizes an entry name: UTF-8, relative, no `..`, no backslashes or
/// control characters; `.` and empty segments are dropped. `None` for the root itself.
pub fn normalize_path(raw: &[u8], limits: &BundleLimits) -> Result<Option<String>, BundleError> {
    let text = std::str::from_utf8(raw).map_err(|_| BundleError::NonUtf8Path { hex: hex(raw) })?;
    if raw.len() > limits.max_path_bytes {
        return Err(BundleError::PathTooLong { path: text.into(), len: raw.len(), limit: limits.max_path_bytes });
    }
    let unsafe_path = |reason| BundleError::UnsafePath { path: text.into(), reason };
    if text.starts_with('/') {
        return Err(unsafe_path("absolute paths are not allowed"));
    }
    if text.contains('\\') {
        return Err(unsafe_path("backslashes are not allowed; use '/'"));
    }
    if text.chars().any(char::is_control) {
        return Err(unsafe_path("control characters are not allowed"));
    }
    let bytes = text.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return Err(unsafe_path("drive-letter paths are not allowed"));
    }
    let mut parts = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_path("'..' is not allowed")),
            other => parts.push(other),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join("/")))
}

fn insert(files: &mut Files, path: String, bytes: Vec<u8>) -> Result<(), BundleError> {
    if files.contains_key(&path) {
        return Err(BundleError::DuplicatePath { path });
    }
    files.insert(path, BundleFile::new(bytes));
    Ok(())
}

fn read_zip(bytes: &[u8], limits: &BundleLimits, budget: &mut Budget) -> Result<Files, BundleError> {
    // The zip crate keeps one entry per name, silently dropping duplicates, so names are
    // checked on the raw central directory first.
    let names = central_directory_names(bytes, limits)?;
    let mut seen = std::collections::BTreeSet::new();
    for raw in &names {
        if let Some(path) = normalize_path(raw, limits)? {
            let dir = raw.ends_with(b"/");
            if !seen.insert((path.clone(), dir)) && !dir {
                return Err(BundleError::DuplicatePath { path });
            }
        }
    }

    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| BundleError::Format(format!("invalid zip: {e}")))?;
    let mut files = Files::new();
    for index in 0..archive.len() {
        let entry = archive.by_index(index).map_err(|e| BundleError::Format(format!("invalid zip entry {index}: {e}")))?;
        let Some(path) = normalize_path(entry.name_raw(), limits)? else { continue };
        if entry.is_dir() {
            continue;
        }
        if entry.encrypted() {
            return Err(BundleError::Format(format!("entry {path:?} is encrypted")));
        }
        let kind = entry.unix_mode().map(|mode| mode & 0o170000).and_then(special_kind);
        if entry.is_symlink() || kind.is_some() {
            return Err(BundleError::SpecialEntry { path, kind: kind.unwrap_or("symbolic link") });
        }
        let content = budget.read_all(entry)?;
        insert(&mut files, path, content)?;
    }
    Ok(files)
}

/// The file type named by the type bits of a Unix mode, when it is not a regular file or
/// a directory.
fn special_kind(type_bits: u32) -> Option<&'static str> {
    match type_bits {
        0o120000 => Some("symbolic link"),
        0o020000 => Some("character device"),
        0o060000 => Some("block device"),
        0o010000 => Some("FIFO"),
        0o140000 => Some("socket"),
        _ => None,
    }
}

/// Raw entry names from the zip central directory, checking the entry count on the way.
fn central_directory_names(bytes: &[u8], limits: &BundleLimits) -> Result<Vec<Vec<u8>>, BundleError> {
    let bad = |what: &str| BundleError::Format(format!("invalid zip: {what}"));
    let u16_at = |at: usize| -> Option<usize> { bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize) };
    let u32_at = |at: usize| -> Option<usize> { bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize) };
    // The end-of-central-directory record is in the last 22 + 65,535 (comment) bytes.
    let search_from = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..bytes.len().saturating_sub(21))
        .rev()
        .find(|&at| bytes[at..].starts_with(b"PK\x05\x06"))
        .ok_or_else(|| bad("no end-of-central-directory record"))?;
    let count = u16_at(eocd + 10).ok_or_else(|| bad("truncated"))?;
    let offset = u32_at(eocd + 16).ok_or_else(|| bad("truncated"))?;
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        return Err(bad("zip64 archives are not supported"));
    }
    if count > limits.max_entries {
        return Err(BundleError::TooManyEntries { count, limit: limits.max_entries });
    }
    let mut names = Vec::with_capacity(count);
    let mut at = offset;
    for _ in 0..count {
        if !bytes.get(at..).is_some_and(|b| b.starts_with(b"PK\x01\x02")) {
            return Err(bad("corrupt central directory"));
        }
        let name_len = u16_at(at + 28).ok_or_else(|| bad("truncated"))?;
        let extra_len = u16_at(at + 30).ok_or_else(|| bad("truncated"))?;
        let comment_len = u16_at(at + 32).ok_or_else(|| bad("truncated"))?;
        let name = bytes.get(at + 46..at + 46 + name_len).ok_or_else(|| bad("truncated"))?;
        names.push(name.to_vec());
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(names)
}

fn read_tar_gz(bytes: &[u8], limits: &BundleLimits, budget: &mut Budget) -> Result<Files, BundleError> {
    // Tar headers are not file content but still cost memory and time: cap the whole
    // decompressed stream at the content budget plus two 512-byte blocks per entry.
    let stream_cap = budget.remaining().saturating_add((limits.max_entries as u64 + 2) * 1024 * 2);
    let gz = flate2::read::GzDecoder::new(bytes).take(stream_cap);
    let mut archive = tar::Archive::new(gz);
    let mut files = Files::new();
    let entries = archive.entries().map_err(|e| BundleError::Format(format!("invalid tar: {e}")))?;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            return Err(BundleError::TooManyEntries { count: count + 1, limit: limits.max_entries });
        }
        let entry = entry.map_err(|e| BundleError::Format(format!("invalid tar entry: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let Some(path) = normalize_path(&raw, limits)? else { continue };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            continue;
        }
        if !kind.is_file() {
            let what = match kind {
                tar::EntryType::Symlink => "symbolic link",
                tar::EntryType::Link => "hard link",
                tar::EntryType::Char => "character device",
                tar::EntryType::Block => "block device",
                tar::EntryType::Fifo => "FIFO",
                _ => "special entry",
            };
            return Err(BundleError::SpecialEntry { path, kind: what });
        }
        let content = budget.read_all(entry)?;
        insert(&mut files, path, content)?;
    }
    Ok(files)
}

/// Packers often wrap everything in one folder (`my-ext/manifest.json`); unwrap it so the
/// manifest sits at the root.
fn strip_single_root(files: &mut Files) {
    if files.contains_key("manifest.json") {
        return;
    }
    let Some(first) = files.keys().next() else { return };
    let Some((root, _)) = first.split_once('/') else { return };
    let prefix = format!("{root}/");
    if !files.contains_key(&format!("{prefix}manifest.json")) || !files.keys().all(|p| p.starts_with(&prefix)) {
        return;
    }
    *files = std::mem::take(files).into_iter().map(|(p, f)| (p[prefix.len()..].to_owned(), f)).collect();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalized_or_refused() {
        let l = BundleLimits::default();
        assert_eq!(normalize_path(b"./ui//app.js", &l).unwrap().as_deref(), Some("ui/app.js"));
        assert_eq!(normalize_path(b"ui/", &l).unwrap().as_deref(), Some("ui"));
        assert_eq!(normalize_path(b"./", &l).unwrap(), None);
        for bad in [&b"../x"[..], b"a/../../x", b"/etc/passwd", b"a\\b", b"C:x", b"a\x01b"] {
            assert!(matches!(normalize_path(bad, &l), Err(BundleError::UnsafePath { .. })), "{bad:?}");
        }
        assert!(matches!(normalize_path(b"\xff", &l), Err(BundleError::NonUtf8Path { .. })));
        assert!(matches!(normalize_path(&[b'a'; 256], &l), Err(BundleError::PathTooLong { .. })));
    }

    #[test]
    fn a_single_wrapping_folder_is_unwrapped() {
        let mut files = Files::new();
        files.insert("ext/manifest.json".into(), BundleFile::new(b"{}".to_vec()));
        files.insert("ext/index.js".into(), BundleFile::new(vec![]));
        strip_single_root(&mut files);
        assert_eq!(files.keys().collect::<Vec<_>>(), ["index.js", "manifest.json"]);
    }
}
