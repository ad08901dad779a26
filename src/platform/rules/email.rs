//! The shape of an email address, as people type it on forms.

pub fn check_email(email: &str) -> Result<(), &'static str> {
    let ok = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(())
    } else {
        Err("电子邮箱格式不正确，例如 zhangsan@example.gov.cn")
    }
}
