//! Storage of Liaison: one code path over SQLite (embedded default) and PostgreSQL.
//!
//! SQL lives only here, as `const`/literal text with `$N` placeholders in portable SQL, run on the
//! native pool of each backend. Modules are named after what they store.

#[macro_use]
pub mod db;
pub mod activities;
pub mod audit;
pub mod deliberations;
pub mod directory;
pub mod duty_record;
pub mod error;
pub mod follow_ups;
pub mod handling;
pub mod notification_feed;
pub mod notifications;
pub mod opinion_stats;
pub mod opinions;
pub mod org;
pub mod sessions;
pub mod settings;
pub mod sql;
pub mod suggestions;
pub mod testing;
pub mod users;

pub use db::{Backend, ConnectOptions, Db, Tx};
pub use error::{DbError, DbResult};
