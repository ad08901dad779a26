//! DKIM (RFC 6376) verification for the district's own mail domain, with the keys given in
//! the configuration (the `p=` values of its `<selector>._domainkey` records) rather than
//! looked up in DNS: the district's domain is one, known, and rarely re-keyed, and a
//! service inside a government network may not resolve public DNS.
//!
//! Only mail whose sender is at a configured domain is checked; it must carry a valid
//! `rsa-sha256` or `ed25519-sha256` signature by that domain covering the From header,
//! over the whole body (no `l=`) and not past its expiry (`x=`).

use std::collections::BTreeMap;

use aws_lc_rs::signature::{self, UnparsedPublicKey};
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::platform::config::DkimSettings;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Refuses a configuration whose keys cannot be read, at start.
pub fn check_settings(d: &DkimSettings) -> Result<(), String> {
    if d.domain.trim().is_empty() || d.keys.is_empty() {
        return Err("intake.dkim 需要 domain 和至少一个 keys（选择器 = 公钥）".into());
    }
    for (selector, key) in &d.keys {
        decode_b64(key).map_err(|_| {
            format!("intake.dkim.keys.{selector} 不是有效的 base64 公钥（DNS 记录中 p= 的值）")
        })?;
    }
    Ok(())
}

/// Checks a message whose sender is `from` at `now` (Unix seconds): mail from a configured
/// domain must carry a valid signature by it, and `Ok(Some(domain))` says it did; mail
/// from a domain with no keys configured is `Ok(None)` (not authenticated by DKIM).
pub fn require<'a>(
    domains: impl IntoIterator<Item = &'a DkimSettings>,
    raw: &[u8],
    from: &str,
    now: i64,
) -> Result<Option<String>, String> {
    let from_domain = from.rsplit('@').next().unwrap_or("").to_ascii_lowercase();
    let Some(d) = domains
        .into_iter()
        .find(|d| d.domain.trim().eq_ignore_ascii_case(&from_domain))
    else {
        return Ok(None);
    };
    let domain = d.domain.trim().to_ascii_lowercase();
    let message = normalize_newlines(raw);
    let (headers, body) = split(&message);
    let signatures: Vec<&Header> = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("DKIM-Signature"))
        .collect();
    if signatures.is_empty() {
        return Err(format!("来自 {domain} 的邮件没有 DKIM 签名"));
    }
    let mut last_error = String::new();
    for sig in signatures {
        match verify_one(sig, &headers, body, &domain, &d.keys, now) {
            Ok(()) => return Ok(Some(domain)),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// One header as it appears in the message: its name and its whole raw text (name,
/// colon, value and folded continuation lines, with the final CRLF).
pub struct Header<'a> {
    pub name: &'a str,
    pub raw: &'a [u8],
}

/// Turns bare LF line ends (a message handed over by a pipe) into CRLF; a message that
/// has none (all SMTP mail) is not copied.
pub fn normalize_newlines(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bare_lf = raw
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || raw[i - 1] != b'\r'));
    if !bare_lf {
        return std::borrow::Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    let mut prev = 0u8;
    for &b in raw {
        if b == b'\n' && prev != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        prev = b;
    }
    std::borrow::Cow::Owned(out)
}

/// Splits a CRLF message into its headers and its body.
pub fn split(message: &[u8]) -> (Vec<Header<'_>>, &[u8]) {
    let end = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 2);
    let (head, body) = match end {
        Some(e) => (&message[..e], &message[e + 2..]),
        None => (message, &message[message.len()..]),
    };
    let mut headers = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < head.len() {
        if head[i] == b'\n' {
            let next = head.get(i + 1);
            if !matches!(next, Some(b' ') | Some(b'\t')) {
                let raw = &head[start..=i];
                if let Some(colon) = raw.iter().position(|&c| c == b':') {
                    if let Ok(name) = std::str::from_utf8(&raw[..colon]) {
                        headers.push(Header {
                            name: name.trim(),
                            raw,
                        });
                    }
                }
                start = i + 1;
            }
        }
        i += 1;
    }
    (headers, body)
}

fn decode_b64(v: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let clean: String = v.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(clean)
}

/// The tags of a DKIM-Signature value: `v=1; a=rsa-sha256; …`.
fn tags(value: &str) -> BTreeMap<String, String> {
    value
        .split(';')
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_ascii_lowercase(),
                v.chars().filter(|c| !c.is_whitespace()).collect(),
            )
        })
        .collect()
}

/// The relaxed form of a header (RFC 6376 3.4.2).
pub fn relaxed_header(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (name, value) = text.split_once(':').unwrap_or((&text, ""));
    let unfolded = value.replace("\r\n", "");
    let value = unfolded.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{}:{}\r\n", name.trim().to_ascii_lowercase(), value).into_bytes()
}

/// The canonical body (RFC 6376 3.4.3 and 3.4.4).
pub fn canonical_body(body: &[u8], relaxed: bool) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
        .collect();
    // `split` yields one empty piece after a final CRLF.
    if body.ends_with(b"\n") {
        lines.pop();
    }
    if relaxed {
        for l in &mut lines {
            let mut out = Vec::with_capacity(l.len());
            let mut space = false;
            for &b in l.iter() {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        out.push(b' ');
                        space = false;
                    }
                    out.push(b);
                }
            }
            *l = out;
        }
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    if lines.is_empty() {
        return if relaxed {
            Vec::new()
        } else {
            b"\r\n".to_vec()
        };
    }
    let mut out = Vec::with_capacity(body.len());
    for l in lines {
        out.extend_from_slice(&l);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The bytes a signature covers: the headers named in `h=` (the last unused instance of
/// each, bottom up) and the signature header itself with `b=` empty, canonicalized.
pub fn signed_data(
    headers: &[Header<'_>],
    signature_raw: &[u8],
    signed_names: &str,
    relaxed: bool,
) -> Vec<u8> {
    let mut used = vec![false; headers.len()];
    let mut data = Vec::new();
    for name in signed_names
        .split(':')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if let Some(i) = (0..headers.len())
            .rev()
            .find(|&i| !used[i] && headers[i].name.eq_ignore_ascii_case(name))
        {
            used[i] = true;
            if relaxed {
                data.extend(relaxed_header(headers[i].raw));
            } else {
                data.extend_from_slice(headers[i].raw);
            }
        }
    }
    let sig = without_b_value(signature_raw);
    let mut sig = if relaxed { relaxed_header(&sig) } else { sig };
    while sig.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        sig.pop();
    }
    data.extend(sig);
    data
}

/// The signature header with the value of its `b=` tag removed (not `bh=`).
fn without_b_value(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    // The value part starts after the first colon; tags are separated by ';'.
    if let Some(colon) = rest.find(':') {
        out.push_str(&rest[..=colon]);
        rest = &rest[colon + 1..];
    }
    let mut first = true;
    for tag in rest.split(';') {
        if !first {
            out.push(';');
        }
        first = false;
        let name = tag.split('=').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("b") {
            let eq = tag.find('=').map(|e| e + 1).unwrap_or(tag.len());
            out.push_str(&tag[..eq]);
            // Keep a final line end that belonged to the header.
            if tag.ends_with("\r\n") {
                out.push_str("\r\n");
            }
        } else {
            out.push_str(tag);
        }
    }
    out.into_bytes()
}

fn verify_one(
    sig: &Header<'_>,
    headers: &[Header<'_>],
    body: &[u8],
    domain: &str,
    keys: &BTreeMap<String, String>,
    now: i64,
) -> Result<(), String> {
    let value = String::from_utf8_lossy(sig.raw);
    let value = value.split_once(':').map(|(_, v)| v).unwrap_or("");
    let t = tags(value);
    let get = |k: &str| t.get(k).map(String::as_str).unwrap_or("");
    if get("v") != "1" {
        return Err("DKIM 签名版本不是 1".into());
    }
    if !get("d").eq_ignore_ascii_case(domain) {
        return Err(format!("签名域 {} 不是 {domain}", get("d")));
    }
    if !get("h")
        .split(':')
        .any(|h| h.trim().eq_ignore_ascii_case("from"))
    {
        return Err("签名没有覆盖发件人（From）".into());
    }
    // A signature over only the first `l=` bytes of the body lets anything be appended
    // after them: not accepted (RFC 6376 8.2).
    if t.contains_key("l") {
        return Err("签名只覆盖了正文的一部分（l=），不予认可".into());
    }
    if let Some(x) = t.get("x") {
        match x.parse::<i64>() {
            Ok(x) if x >= now => {}
            Ok(_) => return Err("签名已过期（x=）".into()),
            Err(_) => return Err("签名的过期时间（x=）无法读取".into()),
        }
    }
    let key = keys
        .get(get("s"))
        .ok_or_else(|| format!("未配置选择器 {} 的公钥", get("s")))?;
    let key = decode_b64(key).map_err(|_| "配置的公钥无效".to_owned())?;
    let (header_c, body_c) = get("c").split_once('/').unwrap_or(match get("c") {
        "" => ("simple", "simple"),
        c => (c, "simple"),
    });
    let canonical = canonical_body(body, body_c == "relaxed");
    let body_hash = B64.encode(Sha256::digest(&canonical));
    if body_hash != get("bh") {
        return Err("正文与签名不符（邮件在途中被改动）".into());
    }
    let data = signed_data(headers, sig.raw, get("h"), header_c == "relaxed");
    let signature = decode_b64(get("b")).map_err(|_| "签名值无法读取".to_owned())?;
    let ok = match get("a") {
        "rsa-sha256" => {
            UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &key)
                .verify(&data, &signature)
                .is_ok()
                // 1024-bit keys are still common on government mail servers.
                || UnparsedPublicKey::new(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY, &key)
                    .verify(&data, &signature)
                    .is_ok()
        }
        "ed25519-sha256" => UnparsedPublicKey::new(&signature::ED25519, &key)
            .verify(&Sha256::digest(&data), &signature)
            .is_ok(),
        other => return Err(format!("不支持的签名算法 {other}")),
    };
    if ok {
        Ok(())
    } else {
        Err("签名无效".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_canonicalized() {
        assert_eq!(canonical_body(b"", false), b"\r\n");
        assert_eq!(canonical_body(b"", true), b"");
        assert_eq!(canonical_body(b"a  b \t\r\n\r\n\r\n", true), b"a b\r\n");
        assert_eq!(canonical_body(b"a  b \r\n\r\n", false), b"a  b \r\n");
        assert_eq!(
            relaxed_header(b"Subject :  hello\r\n   world  \r\n"),
            b"subject:hello world\r\n"
        );
    }

    #[test]
    fn the_b_value_is_emptied_and_headers_found() {
        let h = b"DKIM-Signature: v=1; bh=abc;\r\n b=XYZ\r\n 123; d=x\r\n";
        assert_eq!(
            String::from_utf8(without_b_value(h)).unwrap(),
            "DKIM-Signature: v=1; bh=abc;\r\n b=; d=x\r\n"
        );
        let msg = normalize_newlines(b"From: a\nSubject: b\n c\n\nbody\n");
        let (headers, body) = split(&msg);
        assert_eq!(headers.len(), 2);
        assert_eq!(headers[1].raw, b"Subject: b\r\n c\r\n");
        assert_eq!(body, b"body\r\n");
    }
}
