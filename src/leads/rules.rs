//! Problem leads (问题线索): states, the moves between them, urgency and time limits.
//! "街镇吹哨、部门报到": a lead is routed when raised; the primary department reports in
//! (报到), verifies (核查), enforces (查处) and closes (办结) it, each within a limit.

use crate::platform::rules::coded_enum;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::platform::rules::calendar::WorkingCalendar;
use crate::platform::rules::duration::Span;
use crate::platform::rules::role::Role;

coded_enum! {
    /// 线索状态
    LeadState {
        Routed = "routed": "已分派",
        Acknowledged = "acknowledged": "已报到",
        Verifying = "verifying": "核查中",
        Verified = "verified": "已核查",
        Enforcing = "enforcing": "查处中",
        Closed = "closed": "已办结",
    }
}

coded_enum! {
    /// 紧急程度
    Urgency {
        Urgent = "urgent": "紧急",
        Normal = "normal": "一般",
    }
}

coded_enum! {
    /// 时限环节
    Stage {
        Acknowledge = "acknowledge": "报到",
        Verify = "verify": "核查",
        Close = "close": "办结",
    }
}

coded_enum! {
    /// What the primary department does to move a lead on.
    Move {
        Acknowledge = "acknowledge": "报到",
        StartVerifying = "start_verifying": "开始核查",
        Verify = "verify": "核查结论",
        Enforce = "enforce": "查处",
        Close = "close": "办结",
    }
}

impl LeadState {
    /// Whether `mv` may be made from this state. `substantiated` is the verification
    /// result, where there is one: only a substantiated lead goes on to enforcement.
    pub fn allows(self, mv: Move, substantiated: Option<bool>) -> bool {
        use LeadState::*;
        match mv {
            Move::Acknowledge => self == Routed,
            Move::StartVerifying => self == Acknowledged,
            Move::Verify => matches!(self, Acknowledged | Verifying),
            Move::Enforce => self == Verified && substantiated == Some(true),
            Move::Close => matches!(self, Verified | Enforcing),
        }
    }

    /// The state after `mv`.
    pub fn after(self, mv: Move) -> LeadState {
        match mv {
            Move::Acknowledge => LeadState::Acknowledged,
            Move::StartVerifying => LeadState::Verifying,
            Move::Verify => LeadState::Verified,
            Move::Enforce => LeadState::Enforcing,
            Move::Close => LeadState::Closed,
        }
    }

    /// The moves open from here, for pages and refusals.
    pub fn open_moves(self, substantiated: Option<bool>) -> Vec<Move> {
        Move::ALL
            .iter()
            .copied()
            .filter(|m| self.allows(*m, substantiated))
            .collect()
    }

    pub fn is_open(self) -> bool {
        self != LeadState::Closed
    }
}

impl Move {
    /// The stage whose deadline this move meets.
    pub fn meets(self) -> Option<Stage> {
        match self {
            Move::Acknowledge => Some(Stage::Acknowledge),
            Move::Verify => Some(Stage::Verify),
            Move::Close => Some(Stage::Close),
            Move::StartVerifying | Move::Enforce => None,
        }
    }
}

/// The time limit of each stage for one urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub acknowledge: Span,
    pub verify: Span,
    pub close: Span,
}

impl Limits {
    pub fn of(&self, stage: Stage) -> Span {
        match stage {
            Stage::Acknowledge => self.acknowledge,
            Stage::Verify => self.verify,
            Stage::Close => self.close,
        }
    }
}

/// When a limit counted from `raised_at` (UTC) runs out. Fixed spans are added as they
/// are; working days land at the same local (Asia/Shanghai) clock time on the N-th working
/// day after the day the lead was raised, so a lead raised on Friday afternoon with one
/// working day is due on Monday afternoon, or later across a holiday. `None` when the
/// calendar does not reach that far.
pub fn due_at(
    raised_at: NaiveDateTime,
    span: Span,
    calendar: &WorkingCalendar,
    offset: chrono::FixedOffset,
) -> Option<NaiveDateTime> {
    match span {
        Span::Fixed(d) => Some(raised_at + Duration::from_std(d).ok()?),
        Span::WorkingDays(n) => {
            let local: DateTime<chrono::FixedOffset> =
                Utc.from_utc_datetime(&raised_at).with_timezone(&offset);
            let day = calendar.add_working_days(local.date_naive(), n)?;
            let at = day.and_time(local.time());
            offset
                .from_local_datetime(&at)
                .single()
                .map(|t| t.naive_utc())
        }
    }
}

/// Whether a township's verdict on a closed lead is one of the three.
pub const EVALUATIONS: [(&str, &str); 3] = [
    ("satisfied", "满意"),
    ("basically_satisfied", "基本满意"),
    ("dissatisfied", "不满意"),
];

coded_enum! {
    /// 线索来源
    LeadSource {
        Township = "township": "街镇吹哨",
        Department = "department": "部门发现",
        Coordination = "coordination": "协调办",
        Email = "email": "邮件",
        Inspection = "inspection": "检查发现",
        Consultation = "consultation": "会商",
        Public = "public": "群众反映",
        Enterprise = "enterprise": "企业投诉",
    }
}

/// The `source` a lead raised by someone in this role records: the same whether it came
/// through the page, the API or (for townships and departments) by email.
pub fn source_of(role: Role) -> LeadSource {
    match role {
        Role::Township => LeadSource::Township,
        Role::Coordinator => LeadSource::Coordination,
        _ => LeadSource::Department,
    }
}

/// The facts routing decides on, looked up beforehand (DOMAIN.md §4).
pub struct RouteFacts<'a> {
    /// The category's name and its primary and assisting departments.
    pub category_name: &'a str,
    pub primary: &'a str,
    pub assisting: &'a [String],
    /// Whether the category concerns mining itself (无证采矿, 越界开采 …): such a lead at a
    /// point inside no licensed boundary is suspected unlicensed mining.
    pub mining_related: bool,
    /// The mine the raiser named, if any, and the township they gave.
    pub mine_id: Option<String>,
    pub township: Option<String>,
    /// `None` without a position; otherwise the mines whose boundary holds the point.
    pub at_point: Option<Vec<MineAtPoint>>,
    /// Display names of the departments, for the reason.
    pub department_name: &'a dyn Fn(&str) -> String,
}

/// A mine whose boundary holds the lead's position.
#[derive(Debug, Clone)]
pub struct MineAtPoint {
    pub mine_id: String,
    pub name: String,
    pub township: String,
    /// Holds a valid mining licence today.
    pub licensed: bool,
}

/// Where a lead goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    pub primary: String,
    pub assisting: Vec<String>,
    pub mine_id: Option<String>,
    /// `None` when neither the raiser nor the place gave one (the named mine's township is
    /// then looked up by the caller).
    pub township: Option<String>,
    pub reason: String,
}

/// The office that triages and takes suspected unlicensed mining (区自然资源分局).
pub const COORDINATION_OFFICE: &str = "NR";
/// The category of a lead nobody could place (其他 / 无法判定): it goes to the coordination
/// office, which gives it its departments (分办).
pub const UNDECIDED_CATEGORY: &str = "other";

/// Decides the departments from the category, and the mine and township from the place:
/// a point inside a mine's boundary attaches that mine (unless one was named); on a
/// mining-related category, a point inside no licensed boundary with no mine named goes
/// to 区自然资源分局 as suspected 无证采矿, the category's primary department assisting.
pub fn route(f: RouteFacts<'_>) -> Routing {
    let name = f.department_name;
    let mut primary = f.primary.to_owned();
    let mut assisting: Vec<String> = f.assisting.to_vec();
    let mut reasons = vec![format!(
        "按线索类别“{}”由{}主办",
        f.category_name,
        name(&primary)
    )];
    if !assisting.is_empty() {
        let names: Vec<String> = assisting.iter().map(|c| name(c)).collect();
        reasons.push(format!("{}协办", names.join("、")));
    }
    let mut mine_id = f.mine_id;
    let mut township = f.township;
    if let Some(found) = f.at_point {
        if let (Some(m), None) = (found.first(), mine_id.as_ref()) {
            reasons.push(format!("位置在“{}”矿区范围内，关联该矿山", m.name));
            mine_id = Some(m.mine_id.clone());
            township = township.or_else(|| Some(m.township.clone()));
        }
        let licensed = found.iter().any(|m| m.licensed);
        if f.mining_related && !licensed && mine_id.is_none() {
            if primary != COORDINATION_OFFICE {
                assisting.retain(|d| d != COORDINATION_OFFICE);
                assisting.insert(
                    0,
                    std::mem::replace(&mut primary, COORDINATION_OFFICE.into()),
                );
            }
            reasons.push(
                "位置不在任何持有效采矿许可证的矿区范围内，按疑似无证采矿交区自然资源分局主办"
                    .into(),
            );
        }
    }
    assisting.retain(|d| d != &primary);
    let mut seen = Vec::new();
    assisting.retain(|d| {
        let first = !seen.contains(d);
        seen.push(d.clone());
        first
    });
    Routing {
        primary,
        assisting,
        mine_id,
        township,
        reason: reasons.join("；") + "。",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn cal() -> WorkingCalendar {
        let mut c = WorkingCalendar::default();
        c.add_year(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/config/calendar/2026.toml"
        )))
        .unwrap();
        c
    }

    fn shanghai() -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(8 * 3600).unwrap()
    }

    fn local(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        // Local Shanghai time as UTC.
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
            - Duration::hours(8)
    }

    #[test]
    fn every_move_from_every_state() {
        use LeadState::*;
        let table = [
            (Routed, vec![Move::Acknowledge]),
            (Acknowledged, vec![Move::StartVerifying, Move::Verify]),
            (Verifying, vec![Move::Verify]),
            (Verified, vec![Move::Close]),
            (Enforcing, vec![Move::Close]),
            (Closed, vec![]),
        ];
        for (state, moves) in table {
            assert_eq!(state.open_moves(Some(false)), moves, "{state:?}");
        }
        assert_eq!(
            Verified.open_moves(Some(true)),
            vec![Move::Enforce, Move::Close]
        );
    }

    #[test]
    fn hours_are_hours_and_working_days_skip_weekends_and_holidays() {
        let c = cal();
        let half_hour = Span::Fixed(std::time::Duration::from_secs(1800));
        assert_eq!(
            due_at(local(2026, 3, 6, 16), half_hour, &c, shanghai()),
            Some(local(2026, 3, 6, 16) + Duration::minutes(30))
        );
        // Friday 2026-03-06 16:00 + 1 working day = Monday 03-09 16:00.
        assert_eq!(
            due_at(local(2026, 3, 6, 16), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 3, 9, 16))
        );
        // Raised on Saturday: the next working day is Monday.
        assert_eq!(
            due_at(local(2026, 3, 7, 10), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 3, 9, 10))
        );
        // 2026-09-30 (Wed): National Day holiday 10-01..10-07, then 10-08 and 10-09 are
        // working days and Saturday 10-10 is a make-up workday.
        assert_eq!(
            due_at(local(2026, 9, 30, 9), Span::WorkingDays(1), &c, shanghai()),
            Some(local(2026, 10, 8, 9))
        );
        assert_eq!(
            due_at(local(2026, 9, 30, 9), Span::WorkingDays(3), &c, shanghai()),
            Some(local(2026, 10, 10, 9))
        );
    }

    mod routing {
        use super::super::*;

        fn name(code: &str) -> String {
            match code {
                "NR" => "区自然资源分局",
                "EM" => "区应急局",
                "EE" => "区生态环境分局",
                "DRC" => "区发改委",
                "GDS" => "区政数局",
                "MIIT" => "区工业和信息化局",
                _ => code,
            }
            .to_owned()
        }

        fn facts<'a>(
            primary: &'a str,
            assisting: &'a [String],
            mining_related: bool,
            at_point: Option<Vec<MineAtPoint>>,
        ) -> RouteFacts<'a> {
            RouteFacts {
                category_name: "测试类别",
                primary,
                assisting,
                mining_related,
                mine_id: None,
                township: None,
                at_point,
                department_name: &name,
            }
        }

        fn mine(id: &str, licensed: bool) -> MineAtPoint {
            MineAtPoint {
                mine_id: id.into(),
                name: format!("{id}号矿"),
                township: "BEHT".into(),
                licensed,
            }
        }

        #[test]
        fn the_category_names_the_primary_and_assisting_departments() {
            let assisting = vec!["DRC".to_owned()];
            let r = route(facts("GDS", &assisting, false, None));
            assert_eq!(
                (r.primary.as_str(), r.assisting.clone()),
                ("GDS", assisting)
            );
            assert_eq!(r.mine_id, None);
            assert_eq!(
                r.reason,
                "按线索类别“测试类别”由区政数局主办；区发改委协办。"
            );
        }

        #[test]
        fn the_primary_department_never_assists_itself_and_nobody_twice() {
            let assisting = vec!["EM".to_owned(), "EE".to_owned(), "EM".to_owned()];
            let r = route(facts("EM", &assisting, false, None));
            assert_eq!(r.assisting, vec!["EE".to_owned()]);
        }

        #[test]
        fn a_point_inside_a_licensed_mine_attaches_that_mine_and_its_township() {
            let r = route(facts("EE", &[], true, Some(vec![mine("m1", true)])));
            assert_eq!(r.mine_id.as_deref(), Some("m1"));
            assert_eq!(r.township.as_deref(), Some("BEHT"));
            assert_eq!(r.primary, "EE");
            assert!(
                r.reason.contains("位置在“m1号矿”矿区范围内"),
                "{}",
                r.reason
            );
        }

        #[test]
        fn a_mining_matter_inside_no_licence_goes_to_nr_as_unlicensed_mining() {
            let r = route(facts("EM", &[], true, Some(Vec::new())));
            assert_eq!(r.primary, "NR");
            assert_eq!(r.assisting, vec!["EM".to_owned()]);
            assert!(r.reason.contains("疑似无证采矿"), "{}", r.reason);
            // An expired licence is no licence: the mine is attached and NR is not forced.
            let r = route(facts("EM", &[], true, Some(vec![mine("m2", false)])));
            assert_eq!(
                (r.primary.as_str(), r.mine_id.as_deref()),
                ("EM", Some("m2"))
            );
        }

        #[test]
        fn other_matters_outside_licences_keep_their_department() {
            let r = route(facts("EE", &[], false, Some(Vec::new())));
            assert_eq!((r.primary.as_str(), r.assisting.len()), ("EE", 0));
        }

        #[test]
        fn a_named_mine_wins_over_the_point_and_nr_stays_once() {
            let assisting = vec!["NR".to_owned()];
            let mut f = facts("EM", &assisting, true, Some(vec![mine("m3", true)]));
            f.mine_id = Some("m9".into());
            f.township = Some("KBJD".into());
            let r = route(f);
            assert_eq!(r.mine_id.as_deref(), Some("m9"));
            assert_eq!(r.township.as_deref(), Some("KBJD"));
            let r = route(facts("EM", &assisting, true, Some(Vec::new())));
            assert_eq!(
                (r.primary.as_str(), r.assisting.clone()),
                ("NR", vec!["EM".to_owned()])
            );
        }
    }
}
