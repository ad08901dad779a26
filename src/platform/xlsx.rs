//! Ledgers (台账) as .xlsx workbooks with Chinese headers.

use rust_xlsxwriter::{Format, Workbook};

use crate::platform::error::{AppError, AppResult};

pub enum Value {
    Text(String),
    Number(f64),
    Empty,
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<Option<f64>> for Value {
    fn from(v: Option<f64>) -> Self {
        v.map_or(Value::Empty, Value::Number)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Empty, Value::Text)
    }
}

/// One worksheet: a title row of headers (with column widths) and the rows.
pub struct Sheet {
    pub name: &'static str,
    pub headers: Vec<(&'static str, f64)>,
    pub rows: Vec<Vec<Value>>,
}

pub fn workbook(sheet: Sheet) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    // Rows go to a temporary file as they are written, so a province-sized ledger does not
    // hold millions of cells in memory.
    let ws = book
        .add_worksheet_with_constant_memory()
        .map_err(AppError::internal)?;
    ws.set_name(sheet.name).map_err(AppError::internal)?;
    let bold = Format::new().set_bold().set_background_color("#EEF2F6");
    for (col, (title, width)) in sheet.headers.iter().enumerate() {
        let col = col as u16;
        ws.write_string_with_format(0, col, *title, &bold)
            .map_err(AppError::internal)?;
        ws.set_column_width(col, *width)
            .map_err(AppError::internal)?;
    }
    for (r, row) in sheet.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, value) in row.iter().enumerate() {
            let c = c as u16;
            match value {
                Value::Text(t) => {
                    ws.write_string(r, c, t).map_err(AppError::internal)?;
                }
                Value::Number(n) => {
                    ws.write_number(r, c, *n).map_err(AppError::internal)?;
                }
                Value::Empty => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0).map_err(AppError::internal)?;
    if !sheet.rows.is_empty() {
        ws.autofilter(
            0,
            0,
            sheet.rows.len() as u32,
            sheet.headers.len().saturating_sub(1) as u16,
        )
        .map_err(AppError::internal)?;
    }
    book.save_to_buffer().map_err(AppError::internal)
}

/// `Content-Disposition` for a download with a Chinese file name (RFC 6266 / 5987).
pub fn attachment(ascii_name: &str, name: &str) -> String {
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}")
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The first worksheet of an .xlsx file as text cells (dates as YYYY-MM-DD, whole numbers
/// without a decimal point), so that a ledger typed by hand reads the same as an export.
pub fn read_first_sheet(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    use calamine::{Data, Reader, Xlsx};
    let bad = |e: &dyn std::fmt::Display| {
        AppError::BadRequest(format!("无法读取 Excel 文件（请使用 .xlsx 格式）：{e}"))
    };
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let range = book
        .worksheet_range_at(0)
        .ok_or_else(|| AppError::BadRequest("Excel 文件中没有工作表。".into()))?
        .map_err(|e| bad(&e))?;
    Ok(range
        .rows()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
                        s.trim().to_owned()
                    }
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => {
                        format!("{}", *f as i64)
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|d| d.date().to_string())
                        .unwrap_or_default(),
                    Data::Error(_) | Data::Empty => String::new(),
                })
                .collect()
        })
        .collect())
}
