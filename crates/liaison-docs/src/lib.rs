//! liaison-docs
