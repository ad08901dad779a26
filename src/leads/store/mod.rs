//! The leads' storage, one file per group of tables: the only code naming the leads'
//! tables. The rules, use cases and adapters beside it ask here.

pub mod files;
pub mod leads;
pub mod stats;
pub mod transfers;
