//! Safety risk grades of non-coal mines (《非煤矿山安全风险分级监管办法》, 矿安〔2023〕1号).

use serde::{Deserialize, Serialize};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskGrade {
    /// A级 · 低风险（蓝）
    Low,
    /// B级 · 一般风险（黄）
    General,
    /// C级 · 较大风险（橙）
    Significant,
    /// D级 · 重大风险（红）
    Major,
}

pub const ALL_GRADES: [RiskGrade; 4] = [
    RiskGrade::Low,
    RiskGrade::General,
    RiskGrade::Significant,
    RiskGrade::Major,
];

impl RiskGrade {
    pub fn code(self) -> &'static str {
        match self {
            RiskGrade::Low => "low",
            RiskGrade::General => "general",
            RiskGrade::Significant => "significant",
            RiskGrade::Major => "major",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        ALL_GRADES.into_iter().find(|g| g.code() == code)
    }

    pub fn letter(self) -> &'static str {
        match self {
            RiskGrade::Low => "A",
            RiskGrade::General => "B",
            RiskGrade::Significant => "C",
            RiskGrade::Major => "D",
        }
    }

    pub fn level_name(self) -> &'static str {
        match self {
            RiskGrade::Low => "低风险",
            RiskGrade::General => "一般风险",
            RiskGrade::Significant => "较大风险",
            RiskGrade::Major => "重大风险",
        }
    }

    pub fn colour_name(self) -> &'static str {
        match self {
            RiskGrade::Low => "蓝",
            RiskGrade::General => "黄",
            RiskGrade::Significant => "橙",
            RiskGrade::Major => "红",
        }
    }

    pub fn colour_hex(self) -> &'static str {
        match self {
            RiskGrade::Low => "#1f6fd1",
            RiskGrade::General => "#d4a500",
            RiskGrade::Significant => "#e07000",
            RiskGrade::Major => "#c62828",
        }
    }

    /// "D级 · 重大风险", as the rules display it.
    pub fn display(self) -> String {
        format!("{}级 · {}", self.letter(), self.level_name())
    }

    /// Default inspection interval in months (重大 monthly … 低 yearly); configurable later.
    pub fn default_inspection_interval_months(self) -> u32 {
        match self {
            RiskGrade::Major => 1,
            RiskGrade::Significant => 3,
            RiskGrade::General => 6,
            RiskGrade::Low => 12,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_letter_and_level() {
        assert_eq!(RiskGrade::Major.display(), "D级 · 重大风险");
        assert_eq!(
            RiskGrade::parse("significant"),
            Some(RiskGrade::Significant)
        );
        assert_eq!(RiskGrade::parse("x"), None);
    }
}
