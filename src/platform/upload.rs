//! A file as received from a form, an API call or an email, before a capability checks
//! and stores it, and the checks every stored file passes: its kind and size.

/// A file as received, before it is stored.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The form field it came in (empty when it came through the API or an email).
    pub field: String,
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

use crate::platform::error::FieldError;

/// Accepted kinds of file, by content type, with their usual extension.
pub const TYPES: [(&str, &str); 7] = [
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/heic", "heic"),
    ("application/pdf", "pdf"),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
    ),
    ("application/msword", "doc"),
];

/// The content type of an upload: as sent, or from the file name when the sender said
/// only "application/octet-stream" (as some phones do).
pub fn kind_of(u: &Upload) -> Option<&'static str> {
    let sent = u
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if let Some((t, _)) = TYPES.iter().find(|(t, _)| *t == sent) {
        return Some(t);
    }
    let ext = u
        .file_name
        .rsplit('.')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = if ext == "jpeg" { "jpg".to_owned() } else { ext };
    TYPES.iter().find(|(_, e)| *e == ext).map(|(t, _)| *t)
}

/// Checks uploads against the type and size limits; `field` names them in errors.
pub fn check(uploads: &[Upload], max_bytes: usize, field: &str) -> Result<(), Vec<FieldError>> {
    let errors: Vec<FieldError> = uploads
        .iter()
        .filter_map(|u| {
            if u.bytes.is_empty() {
                Some(FieldError::new(field, format!("文件“{}”是空的", u.file_name)))
            } else if u.bytes.len() > max_bytes {
                Some(FieldError::new(field, format!("文件“{}”超过 {} MB", u.file_name, max_bytes / 1024 / 1024)))
            } else if kind_of(u).is_none() {
                Some(FieldError::new(field, format!("文件“{}”的类型不支持：只能上传照片（jpg、png、webp、heic）、pdf 或 Word 文档", u.file_name)))
            } else {
                None
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// A file name fit to keep and to send back in a download: no control characters or
/// path separators, at most 200 characters, "附件" when nothing is left.
pub fn clean_name(name: &str) -> String {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    if name.trim().is_empty() {
        "附件".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn up(name: &str, kind: &str, n: usize) -> Upload {
        Upload {
            field: String::new(),
            file_name: name.into(),
            content_type: kind.into(),
            bytes: vec![1; n],
        }
    }

    #[test]
    fn types_and_sizes() {
        assert!(check(&[up("现场.jpg", "image/jpeg", 10)], 100, "files").is_ok());
        assert!(
            check(
                &[up("现场.JPEG", "application/octet-stream", 10)],
                100,
                "files"
            )
            .is_ok(),
            "by extension"
        );
        assert!(check(&[up("a.exe", "application/octet-stream", 10)], 100, "files").is_err());
        assert!(check(&[up("big.png", "image/png", 101)], 100, "files").is_err());
        assert!(check(&[up("empty.png", "image/png", 0)], 100, "files").is_err());
    }
}
