//! Pages of the inbox and the outbox.

pub mod inbox;
pub mod outbox;
