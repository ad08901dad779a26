//! A person's in-app inbox and mail preferences, and the administrators' outbox: the
//! adapters over `notify`.

pub mod api;
pub mod pages;
