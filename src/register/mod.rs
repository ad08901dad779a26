//! The mine register (矿山台账): mines with their lifecycle, supervising department and
//! risk grade; permits (谁审批、谁监管) and their reminders; mining-right boundaries and
//! prohibited zones.

pub mod api;
pub mod boundaries;
pub mod mines;
pub mod pages;
pub mod permits;
pub mod policy;
pub mod reminders;
pub mod rules;
mod store;
