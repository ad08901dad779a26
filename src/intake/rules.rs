//! Pure rules of the intake: reading an `Authentication-Results` header (RFC 8601) and
//! deciding whether two domains are aligned (DMARC's relaxed alignment).

/// One method's result in an `Authentication-Results` header: `dkim=pass header.d=qs.gov.cn`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// dkim | spf | dmarc | arc | …, in lower case.
    pub method: String,
    /// pass | fail | none | …, in lower case.
    pub result: String,
    /// The properties, `ptype.property` → value (lower case name, value as written).
    pub properties: Vec<(String, String)>,
}

impl MethodResult {
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An `Authentication-Results` header's value: its authserv-id and its results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationResults {
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// Removes RFC 5322 comments `( … )`, nested and with `\` escapes, and quotes' marks.
fn strip_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut escaped = false;
    let mut quoted = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth == 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Reads a header value: `mx.qs.gov.cn; dkim=pass header.d=qs.gov.cn; spf=pass smtp.mailfrom=a@qs.gov.cn`.
/// `None` when there is no authserv-id.
pub fn read_authentication_results(value: &str) -> Option<AuthenticationResults> {
    let clean = strip_comments(value);
    let mut parts = clean.split(';');
    // "authserv-id [version]"
    let authserv_id = parts
        .next()?
        .split_whitespace()
        .next()?
        .to_ascii_lowercase();
    if authserv_id.is_empty() || authserv_id.contains('=') {
        return None;
    }
    let mut results = Vec::new();
    for part in parts {
        let mut words = part.split_whitespace();
        let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
            continue;
        };
        // "dkim/1=pass": a method version.
        let method = method.split('/').next().unwrap_or(method);
        let properties = words
            .filter_map(|w| w.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        results.push(MethodResult {
            method: method.to_ascii_lowercase(),
            result: result.to_ascii_lowercase(),
            properties,
        });
    }
    Some(AuthenticationResults {
        authserv_id,
        results,
    })
}

/// The domain of an address or a bare domain, lower case, without a trailing dot.
pub fn domain_of(address_or_domain: &str) -> String {
    address_or_domain
        .trim()
        .trim_matches(['<', '>'])
        .rsplit('@')
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Relaxed alignment: the same domain, or one a subdomain of the other (`mail.qs.gov.cn`
/// and `qs.gov.cn`). Without the public suffix list this stops at the shorter domain,
/// which must itself have a dot (`gov.cn` does; `cn` alone never aligns).
pub fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (domain_of(a), domain_of(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    short.contains('.') && (long == short || long.ends_with(&format!(".{short}")))
}

/// What a trusted relay's results say of a message from `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayVerdict {
    /// The method that authenticated the From domain (dmarc, or dkim with an aligned
    /// signing domain), if any.
    pub from_authenticated_by: Option<&'static str>,
    /// The envelope sender's domain when the relay checked it (spf=pass).
    pub envelope_domain: Option<String>,
}

pub fn judge(results: &AuthenticationResults, from: &str) -> RelayVerdict {
    let pass = |r: &&MethodResult| r.result == "pass";
    let dmarc = results
        .results
        .iter()
        .filter(pass)
        .filter(|r| r.method == "dmarc")
        .any(|r| r.property("header.from").is_none_or(|d| aligned(d, from)));
    let dkim = results
        .results
        .iter()
        .filter(pass)
        .filter(|r| r.method == "dkim")
        .any(|r| {
            r.property("header.d")
                .or(r.property("header.i"))
                .is_some_and(|d| aligned(d, from))
        });
    let envelope_domain = results
        .results
        .iter()
        .filter(pass)
        .filter(|r| r.method == "spf")
        .find_map(|r| r.property("smtp.mailfrom").map(domain_of))
        .filter(|d| !d.is_empty());
    RelayVerdict {
        from_authenticated_by: if dmarc {
            Some("dmarc")
        } else if dkim {
            Some("dkim")
        } else {
            None
        },
        envelope_domain,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_read_with_comments_and_versions() {
        let ar = read_authentication_results(
            "mx.QS.gov.cn 1; dkim=pass (2048-bit key; unprotected) header.d=qs.gov.cn header.s=s1;\r\n spf=pass smtp.mailfrom=zhang@qs.gov.cn; dmarc/1=fail (p=none) header.from=qs.gov.cn",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "mx.qs.gov.cn");
        assert_eq!(ar.results.len(), 3);
        assert_eq!(ar.results[0].property("header.d"), Some("qs.gov.cn"));
        assert_eq!(ar.results[2].method, "dmarc");
        assert_eq!(ar.results[2].result, "fail");
        assert_eq!(read_authentication_results("dkim=pass"), None);
        assert_eq!(read_authentication_results(""), None);
        assert_eq!(
            read_authentication_results("mx; none").unwrap().results,
            vec![]
        );
    }

    #[test]
    fn alignment_is_relaxed_but_not_loose() {
        assert!(aligned("qs.gov.cn", "zhang@qs.gov.cn"));
        assert!(aligned("mail.qs.gov.cn", "qs.gov.cn"));
        assert!(!aligned("evilqs.gov.cn", "qs.gov.cn"));
        assert!(!aligned("qs.gov.cn", "evil.example"));
        assert!(
            !aligned("cn", "qs.cn"),
            "a top-level domain aligns with nothing"
        );
        assert!(!aligned("", "qs.gov.cn"));
    }

    #[test]
    fn a_relay_authenticates_the_from_domain_only_when_aligned() {
        let j = |v: &str, from: &str| judge(&read_authentication_results(v).unwrap(), from);
        assert_eq!(
            j("mx; dmarc=pass header.from=qs.gov.cn", "a@qs.gov.cn").from_authenticated_by,
            Some("dmarc")
        );
        assert_eq!(
            j("mx; dmarc=pass header.from=evil.example", "a@qs.gov.cn").from_authenticated_by,
            None
        );
        assert_eq!(
            j("mx; dkim=pass header.d=qs.gov.cn", "a@qs.gov.cn").from_authenticated_by,
            Some("dkim")
        );
        assert_eq!(
            j("mx; dkim=pass header.d=evil.example", "a@qs.gov.cn").from_authenticated_by,
            None
        );
        assert_eq!(
            j("mx; dkim=fail header.d=qs.gov.cn", "a@qs.gov.cn").from_authenticated_by,
            None
        );
        let v = j("mx; spf=pass smtp.mailfrom=x@evil.example", "a@qs.gov.cn");
        assert_eq!(v.from_authenticated_by, None);
        assert_eq!(v.envelope_domain.as_deref(), Some("evil.example"));
    }
}
