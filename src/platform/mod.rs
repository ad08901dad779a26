//! What every capability stands on: the database, errors, the clock (and "today" in
//! Asia/Shanghai), the audit chain, idempotency, paging, Excel files, sign-in tokens and
//! the authorization kernel, configuration and logging. Nothing here names a capability
//! except their pure `rules`.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod keys;
pub mod pagination;
pub mod rules;
pub mod telemetry;
pub mod upload;
pub mod xlsx;
