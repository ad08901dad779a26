//! minecoord — 非煤矿山行业管理协调平台.
//!
//! A district's register of non-coal mines and the routing of problem leads between the
//! agencies that supervise them ("街镇吹哨、部门报到"). See README.md and docs in `deploy/`.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod boundaries;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod intake;
pub mod lead_actions;
pub mod lead_files;
pub mod lead_stats;
pub mod leads;
pub mod ledger;
pub mod mailer;
pub mod mines;
pub mod notify;
pub mod outbox;
pub mod pagination;
pub mod permits;
pub mod reference;
pub mod reminders;
pub mod scheduler;
pub mod startup;
pub mod telemetry;
pub mod users;
