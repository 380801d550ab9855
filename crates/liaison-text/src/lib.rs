//! Chinese text for Liaison.
//!
//! - [`search_text`]: jieba segmentation of text for full-text search on SQLite FTS5 and
//!   PostgreSQL, and safe query strings for both.
//! - [`classify`]: the opinion classifier that suggests one of the 7 level-1 categories of a
//!   citizen's message, with its model embedded in the binary.

pub mod classify;
pub mod hot_topics;
pub mod search_text;
