//! 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.

/// The 31 characters the code may use (no I, O, S, V, Z).
const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid unified social credit code, upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCode(String);

impl CreditCode {
    /// Parses what a person typed: spaces are ignored and letters upper-cased.
    pub fn parse(input: &str) -> Result<Self, String> {
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_uppercase();
        let len = code.chars().count();
        if len != 18 {
            return Err(format!("统一社会信用代码应为 18 位，现在是 {len} 位"));
        }
        let mut values = Vec::with_capacity(18);
        for (i, c) in code.chars().enumerate() {
            match CHARSET.find(c) {
                Some(v) => values.push(v as u32),
                None => {
                    return Err(format!(
                        "第 {} 位“{c}”不是有效字符（不使用 I、O、S、V、Z）",
                        i + 1
                    ))
                }
            }
        }
        if !code[2..8].chars().all(|c| c.is_ascii_digit()) {
            return Err("第 3 到 8 位应为行政区划代码（数字）".into());
        }
        let sum: u32 = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        let expected = CHARSET.as_bytes()[check as usize] as char;
        if values[17] != check {
            return Err(format!(
                "校验位不正确：按前 17 位计算应为“{expected}”，请核对是否抄错"
            ));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Completes 17 characters with their check character.
    fn with_check(first17: &str) -> String {
        let sum: u32 = first17
            .chars()
            .zip(WEIGHTS)
            .map(|(c, w)| CHARSET.find(c).unwrap() as u32 * w)
            .sum();
        format!(
            "{first17}{}",
            CHARSET.as_bytes()[((31 - sum % 31) % 31) as usize] as char
        )
    }

    #[test]
    fn accepts_published_examples() {
        // The example in GB 32100-2015 materials.
        let code = "91350100M000100Y43";
        assert!(
            CreditCode::parse(code).is_ok(),
            "{code}: {:?}",
            CreditCode::parse(code)
        );
        assert_eq!(
            CreditCode::parse(" 91350100m000100y43 ").unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn refuses_a_wrong_check_character_and_says_which() {
        let err = CreditCode::parse("91350100M000100Y44").unwrap_err();
        assert!(err.contains("校验位"), "{err}");
        assert!(err.contains("“3”"), "{err}");
    }

    #[test]
    fn refuses_length_and_characters() {
        assert!(CreditCode::parse("9135010").unwrap_err().contains("18 位"));
        assert!(CreditCode::parse("91350100M000100I43")
            .unwrap_err()
            .contains("第 16 位"));
        assert!(CreditCode::parse(&with_check("91A50100M000100Y4"))
            .unwrap_err()
            .contains("行政区划"));
    }

    #[test]
    fn every_generated_code_round_trips() {
        for i in 0..200u32 {
            let body = format!("9115020{:010}", i * 7919);
            let code = with_check(&body[..17]);
            assert!(CreditCode::parse(&code).is_ok(), "{code}");
        }
    }
}
