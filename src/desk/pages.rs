//! The home page: the reader's desk. A township starts with 我要吹哨 and the whistles it
//! blew; a department with what it must report in on, verify and enforce, soonest
//! deadline first with the time left; the coordination office with what waits for it to
//! divide, decide or follow up, and the day's figures; an administrator with the mail
//! that did not go out, locked accounts and the audit chain.

use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use askama::Template;
use chrono::NaiveDateTime;

use crate::leads::rules::{LeadState, Urgency};
use crate::platform::authz::{self, Action};
use crate::platform::clock::{local_time, rfc3339};
use crate::web::extract::PageSession;
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/map", web::get().to(map_page));
}

#[derive(Template)]
#[template(path = "map.html")]
struct MapPage {
    ctx: PageCtx,
    /// The SVG and the web map (`web::kit::webmap`); empty when there is nothing to draw.
    map: String,
    township: String,
    townships: Vec<(String, String)>,
    /// (colour, what it means, how many).
    legend: Vec<(&'static str, String, usize)>,
    cut: bool,
}

#[derive(serde::Deserialize)]
struct MapQuery {
    township: Option<String>,
}

/// 辖区地图: the recorded boundaries coloured by risk grade, closed mines and illegal sites
/// dashed, prohibited zones in green, open leads as points by state; each a link.
async fn map_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    use crate::platform::rules::map::district;
    let s = signed_in!(ps, req);
    let q = web::Query::<MapQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| crate::platform::error::AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let township = crate::desk::township_filter(q.township).page(&s)?;
    let now = state.clock.now_naive();
    let (st, who, t) = (state.clone(), s.principal.clone(), township.clone());
    // The reads, then the drawing (thousands of corners turned into SVG and degrees: CPU
    // work), off the executor.
    let (map, legend, cut, townships) = blocking(move || {
        let (data, townships) = st.db.read(|conn| {
            let data = crate::desk::map(conn, &who, t.as_deref(), now)?;
            let townships: Vec<(String, String)> = crate::reference::townships(conn)?
                .into_iter()
                .map(|t| (t.code, t.name))
                .collect();
            Ok((data, townships))
        })?;
        let zone = crate::register::boundaries::zone(&st.settings.geo);
        let d = crate::desk::map::drawing(&data, zone);
        let svg = district(&d.areas, &d.points, 960.0);
        let map = webmap(
            &svg,
            &crate::desk::map::geojson(&d, zone),
            &st.settings.map,
            true,
        );
        Ok((map, d.legend, data.cut, townships))
    })
    .await
    .page(&s)?;
    let page = MapPage {
        ctx: page_ctx(&state, &s, &req, "辖区地图", "/map").await,
        map,
        township: township.unwrap_or_default(),
        townships,
        legend,
        cut,
    };
    Ok(render(&page))
}

/// One lead as a card on the desk.
struct Card {
    href: String,
    number: String,
    title: String,
    state: &'static str,
    department: String,
    urgent: bool,
    /// "剩余 26 分钟", "已逾期 2 小时", "12-03 17:30 前", or empty once closed.
    time_left: String,
    /// `soon` (under an hour), `late` (overdue) or empty.
    time_class: &'static str,
    /// The deadline for the live countdown (RFC 3339), empty when none.
    due: String,
    /// Where the one-tap 报到 posts, for a lead waiting on the reader's department.
    report_in: String,
}

struct Section {
    key: &'static str,
    title: &'static str,
    todo: &'static str,
    count: i64,
    cards: Vec<Card>,
    href: String,
}

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    ctx: PageCtx,
    name: String,
    role_label: &'static str,
    unit: String,
    can_raise: bool,
    sections: Vec<Section>,
    figures: Vec<(String, i64, String)>,
    watch: Option<crate::desk::Watch>,
    locked: Vec<(String, String, String)>,
    links: Vec<(&'static str, &'static str, &'static str)>,
    /// The server's time (RFC 3339), from which the live countdown runs.
    now: String,
}

/// The time left to a deadline in words, and how pressing it is.
pub fn time_left(due: NaiveDateTime, now: NaiveDateTime) -> (String, &'static str) {
    let minutes = (due - now).num_minutes();
    let span = |m: i64| {
        let m = m.abs();
        if m < 60 {
            format!("{} 分钟", m.max(1))
        } else if m < 48 * 60 {
            format!("{} 小时", m / 60)
        } else {
            format!("{} 天", m / (24 * 60))
        }
    };
    if minutes < 0 {
        (format!("已逾期 {}", span(minutes)), "late")
    } else if minutes < 60 {
        (format!("剩余 {}", span(minutes)), "soon")
    } else {
        (
            format!("剩余 {}（{} 前）", span(minutes), local_time(due)),
            "",
        )
    }
}

fn card(
    l: &crate::leads::Lead,
    who: &crate::platform::authz::Principal,
    names: &HashMap<String, String>,
    now: NaiveDateTime,
) -> Card {
    let (time_left, time_class) = match (l.next_due_at, l.state) {
        (Some(d), s) if s != LeadState::Closed => time_left(d, now),
        _ => (
            l.closed_at
                .map(|c| format!("{} 办结", local_time(c)))
                .unwrap_or_default(),
            "",
        ),
    };
    Card {
        href: format!("/leads/{}", l.id),
        number: l.number.clone(),
        title: l.title.clone(),
        state: l.state.label(),
        department: names
            .get(&l.primary_department)
            .cloned()
            .unwrap_or_else(|| l.primary_department.clone()),
        urgent: l.urgency == Urgency::Urgent,
        time_left,
        time_class,
        due: match l.state {
            LeadState::Closed => String::new(),
            _ => l.next_due_at.map(rfc3339).unwrap_or_default(),
        },
        report_in: if l.state == LeadState::Routed
            && crate::leads::policy::may_handle(who, &l.primary_department)
        {
            format!("/leads/{}/acknowledge", l.id)
        } else {
            String::new()
        },
    }
}

async fn home(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let ctx = page_ctx(&state, &s, &req, "工作台", "/").await;
    let now = state.clock.now_naive();
    let (st, who) = (state.clone(), s.principal.clone());
    let (desk, names) = blocking(move || {
        st.db.read(|conn| {
            let desk = crate::desk::desk(conn, &who, now, &st.settings.reports)?;
            let mut names: HashMap<String, String> = HashMap::new();
            for d in crate::reference::departments(conn)? {
                names.insert(d.code, d.name);
            }
            Ok((desk, names))
        })
    })
    .await
    .page(&s)?;
    let sections = desk
        .board
        .queues
        .iter()
        .map(|q| Section {
            key: q.key,
            title: q.title,
            todo: q.todo,
            count: q.count,
            cards: q
                .leads
                .iter()
                .map(|l| card(l, &s.principal, &names, now))
                .collect(),
            href: q.href.clone(),
        })
        .collect();
    let mut sections: Vec<Section> = sections;
    sections.extend(
        desk.inspections
            .iter()
            .chain(&desk.consultations)
            .chain(&desk.closures)
            .map(|q| Section {
                key: q.key,
                title: q.title,
                todo: q.todo,
                count: q.count,
                cards: q
                    .entries
                    .iter()
                    .map(|e| {
                        let (time_left, time_class) =
                            e.due.map(|d| time_left(d, now)).unwrap_or_default();
                        Card {
                            href: e.href.clone(),
                            number: e.number.clone(),
                            title: e.title.clone(),
                            state: e.state,
                            department: names
                                .get(&e.department)
                                .cloned()
                                .unwrap_or_else(|| e.department.clone()),
                            urgent: false,
                            time_left,
                            time_class,
                            due: e.due.map(rfc3339).unwrap_or_default(),
                            report_in: String::new(),
                        }
                    })
                    .collect(),
                href: q.href.clone(),
            }),
    );
    let p = &s.principal;
    let mut links = Vec::new();
    if authz::allowed(p, Action::ViewMines) {
        links.push(("/mines", "矿山台账", "监管部门、风险等级、状态与证照"));
        links.push((
            "/mines/gaps",
            "漏管检查",
            "未定监管部门、未定级、超期未检查",
        ));
    }
    if authz::allowed(p, Action::ViewLeadStats) {
        links.push((
            "/leads/stats",
            "办理统计",
            "响应率、报到及时率、办结率、满意率",
        ));
    }
    let locked = desk
        .watch
        .as_ref()
        .map(|w| {
            w.locked
                .iter()
                .map(|(name, user, until)| (name.clone(), user.clone(), local_time(*until)))
                .collect()
        })
        .unwrap_or_default();
    let page = DeskPage {
        name: p.display_name.clone(),
        role_label: p.role.label(),
        unit: ctx
            .user
            .as_ref()
            .map(|u| u.unit.clone())
            .unwrap_or_default(),
        ctx,
        can_raise: authz::allowed(p, Action::RaiseLeads),
        sections,
        figures: desk
            .board
            .figures
            .iter()
            .map(|f| (f.label.to_owned(), f.value, f.href.clone()))
            .collect(),
        watch: desk.watch,
        locked,
        links,
        now: rfc3339(now),
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::time_left;
    use chrono::NaiveDate;

    #[test]
    fn time_left_in_words() {
        let now = NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(1, 0, 0)
            .unwrap();
        let m = |n: i64| now + chrono::Duration::minutes(n);
        assert_eq!(time_left(m(26), now), ("剩余 26 分钟".into(), "soon"));
        assert_eq!(time_left(m(0), now), ("剩余 1 分钟".into(), "soon"));
        assert_eq!(time_left(m(-130), now), ("已逾期 2 小时".into(), "late"));
        assert_eq!(
            time_left(m(-3 * 24 * 60), now),
            ("已逾期 3 天".into(), "late")
        );
        assert_eq!(
            time_left(m(5 * 60), now),
            ("剩余 5 小时（2026-12-01 14:00 前）".into(), "")
        );
    }
}
