//! Rebuilds the crate when a migration is added: `embed_migrations!` reads the folders at
//! compile time but does not ask to be run again when a new one appears.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
