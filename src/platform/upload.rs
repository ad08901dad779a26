//! A file as received from a form, an API call or an email, before a capability checks
//! and stores it.

/// A file as received, before it is stored.
#[derive(Debug, Clone)]
pub struct Upload {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}
