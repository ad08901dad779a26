//! 综合查一次 (seed 002, DOMAIN.md §6): the item catalogue, inspection tasks of at most
//! five departments with their inspection code, each department's results (recognised
//! across departments), the hazards found, their re-inspection and the task's archive.

pub mod api;
pub mod board;
mod catalogue;
pub mod deadlines;
mod enterprise;
mod files;
mod hazards;
mod links;
pub mod pages;
mod plans;
pub mod policy;
mod results;
pub mod rules;
pub mod standard;
pub mod stats;
pub mod store;
mod tasks;

use chrono::NaiveDate;

use crate::platform::error::FieldError;

pub use catalogue::*;
pub use enterprise::*;
pub use files::*;
pub use hazards::*;
pub use links::*;
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

/// A page's size (1 to 200, default 50) and keyset cursor (`day_id`), or their messages.
pub(crate) fn page_of(
    errors: &mut Vec<FieldError>,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> (i64, Option<(NaiveDate, String)>) {
    let limit = limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        errors.push(FieldError::new("limit", "每页 1 到 200 条"));
    }
    let after = match cursor.filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => {
            let parsed = c
                .split_once('_')
                .and_then(|(d, id)| Some((d.parse::<NaiveDate>().ok()?, id.to_owned())));
            if parsed.is_none() {
                errors.push(FieldError::new("cursor", "翻页标记无效"));
            }
            parsed
        }
    };
    (limit, after)
}

/// The day a task's window starts, when it reads as one (the rules check it fully).
pub(crate) fn from_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}
