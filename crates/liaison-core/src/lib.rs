//! Domain of Liaison with no input/output: the organisation's vocabulary, roles and scope,
//! validation of what people type, and the protection of personal data.

pub mod activity;
pub mod dataset;
pub mod duty;
pub mod follow_up;
pub mod opinion_stats;
pub mod org;
pub mod protect;
pub mod role;
pub mod scope;
pub mod sla;
pub mod validate;
pub mod workdays;
pub mod workflow;
