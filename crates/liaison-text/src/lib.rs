//! liaison-text
