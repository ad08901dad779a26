//! Keyset pagination helpers: `?limit=&cursor=` → `{"items": […], "next_cursor": …}`.

use serde::Serialize;

use crate::platform::error::{AppError, AppResult};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

pub fn limit(requested: Option<i64>) -> AppResult<i64> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(AppError::field(
            "limit",
            format!("每页条数应在 1 到 {MAX_LIMIT} 之间"),
        )),
    }
}

/// Given `limit + 1` rows, drops the extra one and returns the cursor for the next page.
pub fn next_cursor<T>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> String) -> Option<String> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(key)
    } else {
        None
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
