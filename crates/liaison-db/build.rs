// The migrations are embedded by `sqlx::migrate!`, which cannot tell Cargo on stable Rust that
// it read the folder: without this, a new migration file is not picked up until something else
// in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
