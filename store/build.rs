//! Rebuilds the crate when a migration file changes, since `sqlx::migrate!` embeds them.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
