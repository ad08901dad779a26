//! Ledgers (台账) as .xlsx workbooks with Chinese headers.

use rust_xlsxwriter::{Format, Workbook};

use crate::platform::config::ImportSettings;
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
    workbook_of(vec![sheet])
}

/// A workbook of several sheets, in order.
pub fn workbook_of(sheets: Vec<Sheet>) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    for sheet in sheets {
        write_sheet(&mut book, sheet.name, &sheet.headers, sheet.rows)?;
    }
    book.save_to_buffer().map_err(AppError::internal)
}

/// A workbook of one sheet whose rows are made one at a time as they are written: a
/// province's ledger never holds all its cells at once (150 000 permits: 150 MiB less).
pub fn workbook_streamed(
    name: &str,
    headers: &[(&str, f64)],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> AppResult<Vec<u8>> {
    let mut book = Workbook::new();
    write_sheet(&mut book, name, headers, rows)?;
    book.save_to_buffer().map_err(AppError::internal)
}

fn write_sheet(
    book: &mut Workbook,
    name: &str,
    headers: &[(&str, f64)],
    rows: impl IntoIterator<Item = Vec<Value>>,
) -> AppResult<()> {
    // Rows go to a temporary file as they are written, so a province-sized ledger does not
    // hold millions of cells in memory.
    let ws = book
        .add_worksheet_with_constant_memory()
        .map_err(AppError::internal)?;
    ws.set_name(name).map_err(AppError::internal)?;
    let bold = Format::new().set_bold().set_background_color("#EEF2F6");
    for (col, (title, width)) in headers.iter().enumerate() {
        let col = col as u16;
        ws.write_string_with_format(0, col, *title, &bold)
            .map_err(AppError::internal)?;
        ws.set_column_width(col, *width)
            .map_err(AppError::internal)?;
    }
    let mut last = 0u32;
    for (r, row) in rows.into_iter().enumerate() {
        let r = r as u32 + 1;
        last = r;
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
    if last > 0 {
        ws.autofilter(0, 0, last, headers.len().saturating_sub(1) as u16)
            .map_err(AppError::internal)?;
    }
    Ok(())
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
/// Rows start at the first row holding a value and columns at the first column holding
/// one; every row has the same width.
///
/// The work is bounded before it is done: every part of the archive is inflated into a
/// counter (not memory) against `limits.max_unzipped_bytes`, whatever sizes the archive
/// declares; then the sheet's declared dimension and every cell's position are checked
/// against the row and column caps as the cells stream by, so nothing proportional to a
/// claimed size is ever allocated.
pub fn read_first_sheet(bytes: &[u8], limits: &ImportSettings) -> AppResult<Vec<Vec<String>>> {
    use calamine::{Reader, Xlsx};
    check_archive(bytes, limits)?;
    let mut book: Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| AppError::BadRequest("Excel 文件中没有工作表。".into()))?;
    let mut cells = book
        .worksheet_cells_reader(&first)
        .map_err(|e| unreadable(&e))?;
    let declared = cells.dimensions();
    if declared.end.0 >= limits.max_rows || declared.end.1 >= limits.max_columns {
        return Err(too_many_cells(limits, declared.end));
    }
    let mut grid: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(|e| unreadable(&e))? {
        let (row, col) = cell.get_position();
        if row >= limits.max_rows || col >= limits.max_columns {
            return Err(too_many_cells(limits, (row, col)));
        }
        let text = cell_text(cell.get_value());
        if !text.is_empty() {
            grid.push((row, col, text));
        }
    }
    let (Some(top), Some(left)) = (
        grid.iter().map(|c| c.0).min(),
        grid.iter().map(|c| c.1).min(),
    ) else {
        return Ok(Vec::new());
    };
    let bottom = grid.iter().map(|c| c.0).max().unwrap_or(top);
    let right = grid.iter().map(|c| c.1).max().unwrap_or(left);
    // Bounded by the caps checked above.
    let width = (right - left + 1) as usize;
    let mut rows = vec![vec![String::new(); width]; (bottom - top + 1) as usize];
    for (row, col, text) in grid {
        rows[(row - top) as usize][(col - left) as usize] = text;
    }
    Ok(rows)
}

/// Inflates every part of the archive into a counter, refusing the file once the total
/// passes the limit. Declared sizes are not trusted: a crafted entry may claim a few bytes
/// and inflate to gigabytes.
fn check_archive(bytes: &[u8], limits: &ImportSettings) -> AppResult<()> {
    use std::io::Read;
    const MAX_PARTS: usize = 10_000;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(&e))?;
    if zip.len() > MAX_PARTS {
        return Err(AppError::field(
            "file",
            format!("Excel 文件包含的部件过多（{} 个，上限 {MAX_PARTS} 个），请另存为普通 .xlsx 后重试。", zip.len()),
        ));
    }
    let mut left = limits.max_unzipped_bytes;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(|e| unreadable(&e))?;
        let read = std::io::copy(&mut part.take(left + 1), &mut std::io::sink())
            .map_err(|e| unreadable(&e))?;
        if read > left {
            return Err(AppError::field(
                "file",
                format!(
                    "Excel 文件解压后超过 {} MB 的上限（import.max_unzipped_bytes），请删去无关的工作表、图片后重试。",
                    limits.max_unzipped_bytes / (1024 * 1024)
                ),
            ));
        }
        left -= read;
    }
    Ok(())
}

fn unreadable(e: &dyn std::fmt::Display) -> AppError {
    AppError::BadRequest(format!("无法读取 Excel 文件（请使用 .xlsx 格式）：{e}"))
}

fn too_many_cells(limits: &ImportSettings, (row, col): (u32, u32)) -> AppError {
    AppError::field(
        "file",
        format!(
            "工作表超出可导入的范围：最多 {} 行、{} 列（import.max_rows、import.max_columns），而表中用到了第 {} 行、第 {} 列。请删去多余的行列，或分成几个文件导入。",
            limits.max_rows,
            limits.max_columns,
            u64::from(row) + 1,
            u64::from(col) + 1
        ),
    )
}

fn cell_text(c: &calamine::DataRef<'_>) -> String {
    use calamine::DataRef;
    match c {
        DataRef::SharedString(s) => s.trim().to_owned(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            s.trim().to_owned()
        }
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        DataRef::DateTime(d) => d
            .as_datetime()
            .map(|d| d.date().to_string())
            .unwrap_or_default(),
        DataRef::Error(_) | DataRef::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};

    use super::*;

    fn ledger() -> Vec<u8> {
        workbook(Sheet {
            name: "矿山台账",
            headers: vec![("矿山名称", 20.0), ("街镇", 12.0)],
            rows: (0..50)
                .map(|i| vec![Value::from(format!("{i}号矿")), Value::from("卜尔汉图镇")])
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn a_ledger_reads_back_as_written() {
        let rows = read_first_sheet(&ledger(), &ImportSettings::default()).unwrap();
        assert_eq!(rows.len(), 51);
        assert_eq!(rows[0], vec!["矿山名称", "街镇"]);
        assert_eq!(rows[50], vec!["49号矿", "卜尔汉图镇"]);
    }

    #[test]
    fn a_sheet_one_row_past_the_cap_is_refused() {
        let limits = ImportSettings {
            max_rows: 50,
            ..Default::default()
        };
        let err = read_first_sheet(&ledger(), &limits).unwrap_err();
        assert!(matches!(err, AppError::Validation(_)), "{err:?}");
        let limits = ImportSettings {
            max_rows: 51,
            ..Default::default()
        };
        assert_eq!(read_first_sheet(&ledger(), &limits).unwrap().len(), 51);
    }

    /// Property: whatever bytes arrive, the reader answers (rows or a refusal) and never
    /// panics or allocates past its limits. Corrupted workbooks, seeded for repeatability.
    #[test]
    fn corrupted_workbooks_never_panic() {
        let good = ledger();
        let limits = ImportSettings {
            max_rows: 200,
            max_columns: 20,
            max_unzipped_bytes: 1024 * 1024,
        };
        let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_201);
        for _ in 0..300 {
            let mut bytes = good.clone();
            match rng.random_range(0..3) {
                0 => {
                    for _ in 0..rng.random_range(1..16) {
                        let i = rng.random_range(0..bytes.len());
                        bytes[i] = rng.random();
                    }
                }
                1 => bytes.truncate(rng.random_range(0..bytes.len())),
                _ => {
                    let i = rng.random_range(0..bytes.len());
                    let junk: Vec<u8> =
                        (0..rng.random_range(1..64)).map(|_| rng.random()).collect();
                    bytes.splice(i..i, junk);
                }
            }
            let _ = read_first_sheet(&bytes, &limits);
        }
    }
}
