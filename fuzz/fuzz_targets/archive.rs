//! Fuzz target: bundle archives (`.zip` and `.tar.gz`) through `read_archive` with the real
//! default limits; what it accepts must keep every promise the limits and path rules make.
#![no_main]

use alga_bundle::archive::normalize_path;
use alga_bundle::{read_archive, sha256_hex, BundleLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = BundleLimits::default();
    let files = match read_archive(data, &limits) {
        Ok(files) => files,
        Err(err) => {
            let _ = (err.code(), err.details(), err.to_string());
            return;
        }
    };
    assert!(files.len() <= limits.max_entries, "{} entries", files.len());
    let unpacked: u64 = files.values().map(|f| f.bytes.len() as u64).sum();
    let ratio_cap = (data.len() as u64).max(64 * 1024) * limits.max_ratio;
    assert!(unpacked <= limits.max_unpacked_bytes.min(ratio_cap), "{unpacked} bytes unpacked from {}", data.len());
    for (path, file) in &files {
        // Stored paths are already normal: relative, no `..`, no empty or `.` segments.
        let normal = normalize_path(path.as_bytes(), &limits).ok().flatten();
        assert_eq!(normal.as_deref(), Some(path.as_str()), "path {path:?} is not normalized");
        assert_eq!(file.sha256, sha256_hex(&file.bytes));
    }
});
