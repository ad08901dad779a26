//! Pages of the register.

pub mod mines;
pub mod permits;
