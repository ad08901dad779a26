//! Mines (矿山): types, lifecycle, tailings-pond grading.

use crate::platform::rules::coded_enum;
use serde::{Deserialize, Serialize};

coded_enum! {
    /// 矿山类型
    MineType {
        Ferrous = "ferrous": "金属矿（黑色）",
        Nonferrous = "nonferrous": "金属矿（有色）",
        RareEarth = "rare_earth": "金属矿（稀土）",
        Gold = "gold": "金属矿（黄金）",
        Nonmetal = "nonmetal": "非金属矿",
        SandGravel = "sand_gravel": "建筑用砂石",
        RiverSand = "river_sand": "河道采砂",
        TailingsPond = "tailings_pond": "尾矿库",
        Beneficiation = "beneficiation": "选矿厂",
        Radioactive = "radioactive": "放射性（铀及伴生放射性）",
    }
}

coded_enum! {
    /// 开采方式
    MiningMethod {
        OpenPit = "open_pit": "露天",
        Underground = "underground": "地下",
    }
}

coded_enum! {
    /// 生命周期状态（制度二(六)），另加非法开采点。
    MineStatus {
        Approval = "approval": "项目立项",
        Construction = "construction": "开工建设",
        Producing = "producing": "生产",
        Suspended = "suspended": "停产停建",
        Upgrading = "upgrading": "整合技改",
        Closing = "closing": "临近关闭退出",
        Closed = "closed": "已关闭",
        IllegalSite = "illegal_site": "非法开采点",
    }
}

coded_enum! {
    /// 尾矿库安全度
    TailingsSafety {
        Dangerous = "dangerous": "危库",
        Risky = "risky": "险库",
        Defective = "defective": "病库",
        Normal = "normal": "正常库",
    }
}

impl MineStatus {
    /// Where a mine can go from here through the register. Closing a mine (已关闭) and
    /// banning an illegal site belong to closure cases, not to a status edit.
    pub fn allowed_next(self) -> &'static [MineStatus] {
        use MineStatus::*;
        match self {
            Approval => &[Construction, Suspended, Closing],
            Construction => &[Producing, Suspended, Closing],
            Producing => &[Suspended, Upgrading, Closing],
            Suspended => &[Producing, Construction, Upgrading, Closing],
            Upgrading => &[Producing, Suspended, Closing],
            Closing => &[Suspended],
            Closed | IllegalSite => &[],
        }
    }

    pub fn can_move_to(self, next: MineStatus) -> bool {
        self.allowed_next().contains(&next)
    }
}

/// 尾矿库等别 (GB 50863-2013 表 3.2.1): grade 1 (一等) is the most dangerous.
/// Each indicator gives a grade; when they differ by one the higher (smaller number)
/// counts, when by more than one the higher is lowered by one.
pub fn tailings_grade(capacity_10k_m3: f64, dam_height_m: f64) -> u8 {
    let by_capacity = match capacity_10k_m3 {
        v if v >= 50_000.0 => 1,
        v if v >= 10_000.0 => 2,
        v if v >= 1_000.0 => 3,
        v if v >= 100.0 => 4,
        _ => 5,
    };
    let by_height = match dam_height_m {
        h if h >= 200.0 => 1,
        h if h >= 100.0 => 2,
        h if h >= 60.0 => 3,
        h if h >= 30.0 => 4,
        _ => 5,
    };
    let higher = by_capacity.min(by_height);
    let lower = by_capacity.max(by_height);
    if lower - higher > 1 {
        higher + 1
    } else {
        higher
    }
}

pub fn tailings_grade_label(grade: u8) -> &'static str {
    match grade {
        1 => "一等库",
        2 => "二等库",
        3 => "三等库",
        4 => "四等库",
        _ => "五等库",
    }
}

/// A tailings pond's safety evaluation is due at least every three years.
pub const TAILINGS_EVALUATION_YEARS: i32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tailings_grade_follows_the_table_and_the_rule() {
        assert_eq!(tailings_grade(60_000.0, 210.0), 1);
        assert_eq!(tailings_grade(50.0, 20.0), 5);
        // Differ by one: the higher counts.
        assert_eq!(tailings_grade(1_500.0, 40.0), 3);
        // Differ by more than one: the higher lowered by one.
        assert_eq!(tailings_grade(20_000.0, 20.0), 3);
        assert_eq!(tailings_grade(50.0, 150.0), 3);
        assert_eq!(tailings_grade(50.0, 250.0), 2);
    }

    #[test]
    fn closing_and_banning_are_not_status_edits() {
        for s in MineStatus::ALL {
            assert!(!s.can_move_to(MineStatus::Closed), "{s:?}");
        }
        assert!(MineStatus::IllegalSite.allowed_next().is_empty());
        assert!(MineStatus::Producing.can_move_to(MineStatus::Suspended));
        assert!(!MineStatus::Approval.can_move_to(MineStatus::Producing));
    }

    #[test]
    fn codes_round_trip() {
        for t in MineType::ALL {
            assert_eq!(MineType::parse(t.code()), Some(*t));
        }
        assert_eq!(
            MineStatus::parse("illegal_site"),
            Some(MineStatus::IllegalSite)
        );
        assert_eq!(MineType::parse("coal"), None);
    }
}
