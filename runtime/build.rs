//! Builds the V8 startup snapshot: deno_core's bootstrap plus the ops' JS glue, evaluated
//! once here instead of in every new isolate.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("ALGA_SNAPSHOT.bin");
    let snapshot = deno_core::snapshot::create_snapshot(
        deno_core::snapshot::CreateSnapshotOptions {
            cargo_manifest_dir: env!("CARGO_MANIFEST_DIR"),
            startup_snapshot: None,
            skip_op_registration: false,
            extensions: alga_ops::extensions(),
            extension_transpiler: None,
            with_runtime_cb: None,
        },
        None,
    )
    .expect("the startup snapshot builds");
    std::fs::write(&out, &snapshot.output).expect("the snapshot is written to OUT_DIR");
    for path in snapshot.files_loaded_during_snapshot {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    embed_console();
}

/// Lists every file of the admin console (`src/http/console/`) as `include_bytes!`, so the
/// binary carries them and a change to one rebuilds it; a file added or removed re-runs
/// this script (cargo watches the whole directory).
fn embed_console() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/http/console");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut out = String::from("/// Every console file as (path under `/admin/`, bytes), sorted by path.\npub static FILES: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in &files {
        out.push_str(&format!("    ({relative:?}, include_bytes!({absolute:?})),\n"));
    }
    out.push_str("];\n");
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("console_files.rs");
    std::fs::write(target, out).expect("the console file list is written to OUT_DIR");
}

fn collect(root: &std::path::Path, dir: &std::path::Path, files: &mut Vec<(String, String)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else if let Ok(relative) = path.strip_prefix(root) {
            let relative = relative.to_string_lossy().replace('\\', "/");
            files.push((relative, path.to_string_lossy().into_owned()));
        }
    }
}
