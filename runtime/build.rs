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
}
