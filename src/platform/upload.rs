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

/// Whether the bytes begin as a file of that kind does (its signature), so that a file
/// named or declared a photo or a PDF is one: what a person downloads is what was said.
pub fn looks_like(kind: &str, bytes: &[u8]) -> bool {
    let at = |from: usize, sig: &[u8]| bytes.get(from..from + sig.len()) == Some(sig);
    match kind {
        "image/jpeg" => at(0, &[0xFF, 0xD8, 0xFF]),
        "image/png" => at(0, b"\x89PNG\r\n\x1a\n"),
        "image/webp" => at(0, b"RIFF") && at(8, b"WEBP"),
        // ISO base media: a `ftyp` box whose brand is one of HEIF's.
        "image/heic" => {
            at(4, b"ftyp")
                && [
                    b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1",
                ]
                .iter()
                .any(|b| at(8, *b))
        }
        // A PDF's header may follow a little junk (ISO 32000-1 §7.5.2 readers allow 1 KiB).
        "application/pdf" => bytes.windows(5).take(1024).any(|w| w == b"%PDF-"),
        // docx is a zip; doc an OLE compound file.
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            at(0, b"PK\x03\x04")
        }
        "application/msword" => at(0, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        _ => false,
    }
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
            } else if !kind_of(u).is_some_and(|k| looks_like(k, &u.bytes)) {
                let ext = TYPES.iter().find(|(t, _)| Some(*t) == kind_of(u)).map_or("", |(_, e)| *e);
                Some(FieldError::new(field, format!("文件“{}”的内容不是 {ext} 文件，可能已损坏或改过扩展名，请重新选择", u.file_name)))
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
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0];
        bytes.resize(n.max(4), 1);
        if kind == "image/png" {
            bytes[..4].copy_from_slice(b"\x89PNG");
        }
        bytes.truncate(n);
        Upload {
            field: String::new(),
            file_name: name.into(),
            content_type: kind.into(),
            bytes,
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

    #[test]
    fn the_content_must_be_what_it_is_said_to_be() {
        let as_pdf = |bytes: &[u8]| Upload {
            field: String::new(),
            file_name: "通知书.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: bytes.to_vec(),
        };
        assert!(check(&[as_pdf(b"%PDF-1.7\n...")], 100, "f").is_ok());
        assert!(
            check(&[as_pdf(b"\xef\xbb\xbf%PDF-1.4")], 100, "f").is_ok(),
            "a little junk first"
        );
        let e = check(&[as_pdf(b"<html><script>")], 100, "f").unwrap_err();
        assert!(e[0].message.contains("不是 pdf 文件"), "{e:?}");
        assert!(
            check(&[as_pdf(b"MZ\x90\x00")], 100, "f").is_err(),
            "a program called a PDF"
        );
        assert!(looks_like("image/png", b"\x89PNG\r\n\x1a\nIHDR"));
        assert!(!looks_like("image/png", b"\x89PN"), "too short");
        assert!(looks_like("image/webp", b"RIFF\x10\0\0\0WEBPVP8 "));
        assert!(looks_like("image/heic", b"\0\0\0\x18ftypheic\0\0\0\0"));
        assert!(
            !looks_like("image/heic", b"\0\0\0\x18ftypisom"),
            "an mp4 is not a photo"
        );
        assert!(looks_like(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK\x03\x04\x14\0"
        ));
        assert!(looks_like(
            "application/msword",
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0]
        ));
    }
}
