//! Per-recipient reply addresses (the `reply+<key>@…` design of GitHub and Discourse): a
//! notice email about a lead carries, as its Reply-To, the intake address with a key that
//! names the outbox message (so its recipient and its lead) and a MAC over it with a key
//! that is not in the database. Only the recipient ever sees the key; a reply to it is
//! taken as that recipient's, once the From address is theirs too.
//!
//! `shaozi+0190f3c2e8a47d3e9b1c2d3e4f5a6b7ca1b2c3d4e5f6a7b8c9d0@qs.gov.cn`
//!         └──── outbox message id (32 hex) ─────┘└─ MAC (20 hex) ─┘

use crate::platform::config::REPLY_TOKEN_LEN;
use crate::platform::keys::{mac, mac_matches};

const ID_LEN: usize = 32;
const MAC_BYTES: usize = (REPLY_TOKEN_LEN - ID_LEN) / 2;

/// The key for the outbox message `outbox_id` sent to the user `user_id`; `None` when the
/// id is not a UUID (never the case for messages the outbox wrote).
pub fn token(secret: &[u8], outbox_id: &str, user_id: &str) -> Option<String> {
    let id = uuid::Uuid::parse_str(outbox_id).ok()?;
    let tag = mac(secret, &[id.as_bytes(), user_id.as_bytes()]);
    Some(format!("{}{}", id.simple(), hex::encode(&tag[..MAC_BYTES])))
}

/// The reply address: `local+<token>@domain` from the intake's `local@domain`.
pub fn address(intake_address: &str, token: &str) -> Option<String> {
    let (local, domain) = intake_address.rsplit_once('@')?;
    Some(format!("{local}+{token}@{domain}"))
}

/// A key read from an address, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The outbox message's id, hyphenated as stored.
    pub outbox_id: String,
    mac: Vec<u8>,
}

impl Claimed {
    /// Whether the key was made by this service for this message and this user.
    pub fn verify(&self, secret: &[u8], user_id: &str) -> bool {
        let Ok(id) = uuid::Uuid::parse_str(&self.outbox_id) else {
            return false;
        };
        let tag = mac(secret, &[id.as_bytes(), user_id.as_bytes()]);
        mac_matches(&tag[..MAC_BYTES], &self.mac)
    }
}

/// The key in an address at `domain` (`anything+<key>@domain`, any case), if it has one
/// of the right form.
pub fn read(address: &str, domain: &str) -> Option<Claimed> {
    let address = address.trim().trim_matches(['<', '>']);
    let (local, at) = address.rsplit_once('@')?;
    if !at.eq_ignore_ascii_case(domain.trim()) {
        return None;
    }
    let (_, key) = local.rsplit_once('+')?;
    let key = key.to_ascii_lowercase();
    if key.len() != REPLY_TOKEN_LEN || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let id = uuid::Uuid::parse_str(&key[..ID_LEN]).ok()?;
    Some(Claimed {
        outbox_id: id.hyphenated().to_string(),
        mac: hex::decode(&key[ID_LEN..]).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_names_its_message_and_only_its_recipient() {
        let id = "0190f3c2-e8a4-7d3e-9b1c-2d3e4f5a6b7c";
        let t = token(b"secret", id, "user-1").unwrap();
        assert_eq!(t.len(), REPLY_TOKEN_LEN);
        let a = address("shaozi@qs.gov.cn", &t).unwrap();
        assert!(a.len() - "@qs.gov.cn".len() <= 64);
        let c = read(&a.to_uppercase(), "QS.gov.cn").expect("read back in any case");
        assert_eq!(c.outbox_id, id);
        assert!(c.verify(b"secret", "user-1"));
        assert!(!c.verify(b"secret", "user-2"), "another recipient's");
        assert!(!c.verify(b"other", "user-1"), "another service's key");
        // A changed digit, another domain, a short key, no key.
        let mut bad = t.clone().into_bytes();
        bad[40] = if bad[40] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(!read(&format!("shaozi+{bad}@qs.gov.cn"), "qs.gov.cn")
            .unwrap()
            .verify(b"secret", "user-1"));
        assert_eq!(read(&a, "evil.example"), None);
        assert_eq!(read("shaozi+abc@qs.gov.cn", "qs.gov.cn"), None);
        assert_eq!(read("shaozi@qs.gov.cn", "qs.gov.cn"), None);
        assert_eq!(token(b"secret", "not-a-uuid", "u"), None);
    }
}
