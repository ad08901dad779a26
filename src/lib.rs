//! minecoord — 非煤矿山行业管理协调平台.
//!
//! A district's register of non-coal mines and the routing of problem leads between the
//! agencies that supervise them ("街镇吹哨、部门报到"). The layout and the rules that keep
//! it are in ARCHITECTURE.md: `app` on top, one folder per capability, `web` and `notify`
//! beneath them, `platform` at the bottom, and pure `rules` that depend on nothing.

pub mod app;
pub mod platform;

pub mod notify;
pub mod web;

pub mod accounts;
pub mod closures;
pub mod consultations;
pub mod desk;
pub mod inspections;
pub mod intake;
pub mod leads;
pub mod mailbox;
pub mod reference;
pub mod register;
