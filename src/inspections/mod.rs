//! 综合查一次 (seed 002, DOMAIN.md §6): the item catalogue, inspection tasks of at most
//! five departments with their inspection code, each department's results (recognised
//! across departments), the hazards found, their re-inspection and the task's archive.

pub mod api;
pub mod board;
mod catalogue;
pub mod deadlines;
mod enterprise;
mod hazards;
pub mod pages;
mod plans;
pub mod policy;
mod results;
pub mod rules;
pub mod stats;
pub mod store;
mod tasks;

use chrono::NaiveDate;

use crate::platform::error::FieldError;

pub use catalogue::*;
pub use enterprise::*;
pub use hazards::*;
pub use plans::*;
pub use results::*;
pub use tasks::*;

/// A day as typed in a form or body, or the field's message.
pub(crate) fn date(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    v: &str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match crate::platform::rules::dates::parse(v, today) {
        Ok(d) => Some(d),
        Err(m) => {
            errors.push(FieldError::new(field, format!("{label}：{m}")));
            None
        }
    }
}

/// The day a task's window starts, when it reads as one (the rules check it fully).
pub(crate) fn from_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}
