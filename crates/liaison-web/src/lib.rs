//! liaison-web
