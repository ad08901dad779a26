//! The register's storage, one file per aggregate: the only code naming the register's
//! tables (`mines`, `mine_changes`, `permits`, `permit_reminders`, `mine_boundaries`,
//! `prohibited_zones`). The rules and use cases beside it ask here.

pub mod boundaries;
pub mod mines;
pub mod permits;
pub mod reminders;
