//! Password policy (口令策略): long enough, not the username, more than one kind of character.

pub const MAX_LEN: usize = 128;

pub fn check(password: &str, username: &str, min_len: usize) -> Result<(), String> {
    let len = password.chars().count();
    if len < min_len {
        return Err(format!("密码至少需要 {min_len} 个字符"));
    }
    if len > MAX_LEN {
        return Err(format!("密码不能超过 {MAX_LEN} 个字符"));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err("密码不能包含用户名".into());
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|k| **k)
    .count();
    if kinds < 2 {
        return Err("密码需包含至少两类字符（小写字母、大写字母、数字、符号）".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn accepts_a_reasonable_password() {
        assert!(check("Kuangshan2026", "zhangsan", 10).is_ok());
    }

    #[test]
    fn refuses_short_username_and_single_kind() {
        assert!(check("Ab1", "zhangsan", 10).is_err());
        assert!(check("zhangsan2026!", "zhangsan", 10).is_err());
        assert!(check("abcdefghijkl", "zhangsan", 10).is_err());
        assert!(check(&"a1".repeat(100), "x", 10).is_err());
    }
}
