//! The service's own secret, kept in a key file beside the configuration and never in the
//! database: whoever can write to the database must not thereby be able to sign sign-in
//! tokens, forge reply addresses or re-sign the audit checkpoints. Each use gets its own
//! key derived from the one secret (HMAC-SHA256 over a label), so one leaked use does not
//! give away another.

use std::io::Write;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The secret read from (or first written to) `auth.key_file`.
#[derive(Clone)]
pub struct ServiceKey {
    master: Vec<u8>,
}

impl std::fmt::Debug for ServiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServiceKey(…)")
    }
}

/// What each derived key is for. The labels are part of the key: never change one.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    /// Sign-in tokens and the CSRF tokens bound to them (unless `auth.jwt_secret` is set).
    SignIn,
    /// The per-recipient reply addresses on notice emails.
    ReplyAddress,
    /// The signed audit checkpoints.
    AuditCheckpoint,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::SignIn => b"minecoord/sign-in/v1",
            Purpose::ReplyAddress => b"minecoord/reply-address/v1",
            Purpose::AuditCheckpoint => b"minecoord/audit-checkpoint/v1",
        }
    }
}

const KEY_BYTES: usize = 32;

impl ServiceKey {
    /// A key from its hex text (at least 32 bytes), e.g. the content of the key file.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let master = hex::decode(text.trim()).map_err(|_| "不是十六进制文本".to_owned())?;
        if master.len() < KEY_BYTES {
            return Err(format!(
                "只有 {} 字节，至少需要 {KEY_BYTES} 字节",
                master.len()
            ));
        }
        Ok(Self { master })
    }

    /// Reads an existing key file (for checking what it signed: never makes a new one).
    pub fn load(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("无法读取密钥文件 {shown}：{e}"))?;
        Self::from_hex(&text).map_err(|e| format!("密钥文件 {shown} 无法使用：{e}"))
    }

    /// Reads the key file, or creates it with a new random key when it does not exist
    /// (readable by this user only). Two processes starting at once end with the same key:
    /// the file appears whole or not at all.
    pub fn load_or_create(path: &Path) -> Result<Self, String> {
        let shown = path.display();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                return Self::from_hex(&text)
                    .map_err(|e| format!("密钥文件 {shown} 无法使用：{e}。请恢复原文件，或删除它由系统重新生成（所有人需要重新登录）。"))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("无法读取密钥文件 {shown}：{e}")),
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("无法创建密钥文件所在目录 {}：{e}", dir.display()))?;
        }
        let bytes: [u8; KEY_BYTES] = rand::random();
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = (|| -> std::io::Result<()> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(hex::encode(bytes).as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            // A hard link does not replace an existing file: whoever links first wins.
            std::fs::hard_link(&tmp, path)
        })();
        let _ = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                tracing::warn!(key_file = %shown, "已生成新的服务密钥文件：请妥善备份（与数据库分开保存），多实例部署时各实例使用同一文件");
                Self::from_hex(&hex::encode(bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load_or_create(path),
            Err(e) => Err(format!("无法写入密钥文件 {shown}：{e}")),
        }
    }

    /// The key for one purpose.
    pub fn derive(&self, purpose: Purpose) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.master).expect("HMAC takes any key");
        mac.update(purpose.label());
        mac.finalize().into_bytes().to_vec()
    }
}

/// HMAC-SHA256 of `parts` (each length-prefixed, so no two lists give the same input).
pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key");
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Compares a MAC (or its prefix) in constant time.
pub fn mac_matches(expected: &[u8], given: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_is_made_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/minecoord.key");
        let a = ServiceKey::load_or_create(&path).unwrap();
        let b = ServiceKey::load_or_create(&path).unwrap();
        assert_eq!(a.derive(Purpose::SignIn), b.derive(Purpose::SignIn));
        assert_ne!(a.derive(Purpose::SignIn), a.derive(Purpose::ReplyAddress));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner reads the key");
        }
        std::fs::write(&path, "abc").unwrap();
        let err = ServiceKey::load_or_create(&path).unwrap_err();
        assert!(err.contains("无法使用"), "{err}");
    }

    #[test]
    fn macs_separate_their_parts() {
        assert_ne!(mac(b"k", &[b"ab", b"c"]), mac(b"k", &[b"a", b"bc"]));
        let m = mac(b"k", &[b"x"]);
        assert!(mac_matches(&m[..10], &m[..10]));
        assert!(!mac_matches(&m[..10], &m[..9]));
        assert!(!mac_matches(&m[..10], &[0; 10]));
    }
}
