//! Lead pages: raise a lead from a phone (我要吹哨), the lists (a township's "我吹的哨", a
//! department's queue by deadline, the coordination office's board), and the lead page
//! with its deadlines, timeline and the steps open to the reader.

use crate::web::kit::signed_in;
use crate::web::kit::submitted;
use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::leads::actions::{
    AnswerInput, DecideInput, EvaluateInput, ReasonInput, Transfer, TransferInput,
};
use crate::leads::policy::{self, ListScope};
use crate::leads::rules::{LeadState, Move, Urgency, EVALUATIONS};
use crate::leads::{self, LeadQuery, LeadView, Location, NewLead, StepInput};
use crate::platform::authz::{self, Action};
use crate::platform::clock::local_time;
use crate::platform::error::{AppError, FieldError};
use crate::web::extract::{PageForm, PageSession, PageUpload, Session};
use crate::web::kit::{
    attach_errors, cell, link, page_ctx, render, ActionButton, Cell, Field, FormPage, PageResult,
    SubTable, TablePage, WithSession,
};
use crate::web::{blocking, AppState};

pub mod public;

pub fn routes(cfg: &mut web::ServiceConfig) {
    public::routes(cfg);
    cfg.route("/leads", web::get().to(list))
        .route("/leads/stats", web::get().to(stats_page))
        .route("/leads/new", web::get().to(new_form))
        .route("/leads/new", web::post().to(raise))
        .route("/leads/{id}", web::get().to(detail))
        .route("/leads/{id}/comment", web::post().to(comment))
        .route("/leads/{id}/transfer", web::post().to(side))
        .route("/leads/{id}/transfer/{what}", web::post().to(side))
        .route("/leads/{id}/dispatch", web::post().to(side))
        .route("/leads/{id}/assign", web::post().to(side))
        .route("/leads/{id}/evaluate", web::post().to(side))
        .route("/leads/{id}/reopen", web::post().to(side))
        .route("/leads/{id}/merge", web::post().to(side))
        .route("/leads/{id}/attachments", web::post().to(attach))
        .route("/leads/{id}/attachments/{file}", web::get().to(download))
        .route("/leads/{id}/{step}", web::post().to(step));
}

/// Names of departments, townships and categories, for lists.
async fn names(state: &web::Data<AppState>) -> Result<HashMap<String, String>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            let mut m = HashMap::new();
            m.insert(
                crate::reference::PUBLIC_UNIT.to_owned(),
                crate::reference::PUBLIC_UNIT_NAME.to_owned(),
            );
            for d in crate::reference::departments(conn)? {
                // The departments in use, in their order, for the choices of a department.
                if d.active != 0 {
                    m.insert(
                        format!("dept:{:08}:{}", d.sort_order.max(0), d.code),
                        d.code.clone(),
                    );
                }
                m.insert(d.code, d.name);
            }
            for t in crate::reference::townships(conn)? {
                m.insert(t.code, t.name);
            }
            for c in crate::reference::lead_categories(conn)? {
                m.insert(format!("cat:{}", c.code), c.name);
            }
            Ok(m)
        })
    })
    .await
}

/// Unit names by code (departments and townships).
type Names = HashMap<String, String>;

fn name_of(names: &Names, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

fn state_cell(state: LeadState, overdue: bool) -> Cell {
    let label = state.label();
    Cell {
        text: if overdue {
            format!("{label}（逾期）")
        } else {
            label.to_owned()
        },
        href: None,
        class: if overdue {
            "overdue".into()
        } else {
            String::new()
        },
    }
}

async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<LeadQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let now = state.clock.now_naive();
    let (st, who, query) = (state.clone(), s.principal.clone(), q.clone());
    let (rows, next, total, categories) = blocking(move || {
        st.db.read(|conn| {
            let (rows, next) = leads::list(conn, &who, &query, now)?;
            let total = leads::count(conn, &who, &query, now)?;
            Ok((rows, next, total, crate::reference::lead_categories(conn)?))
        })
    })
    .await
    .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let table_rows = rows
        .iter()
        .map(|l| {
            let overdue = l.is_overdue(now);
            vec![
                link(&l.number, format!("/leads/{}", l.id)),
                link(&l.title, format!("/leads/{}", l.id)),
                cell(name_of(&names, &format!("cat:{}", l.category))),
                Cell {
                    text: l.urgency.label().into(),
                    href: None,
                    class: if l.urgency == Urgency::Urgent {
                        "grade-significant".into()
                    } else {
                        String::new()
                    },
                },
                cell(name_of(&names, &l.primary_department)),
                cell(
                    l.township
                        .as_deref()
                        .map(|t| name_of(&names, t))
                        .unwrap_or_default(),
                ),
                state_cell(l.state, overdue),
                Cell {
                    text: l.next_due_at.map(local_time).unwrap_or_else(|| {
                        l.closed_at
                            .map(|c| format!("{} 办结", local_time(c)))
                            .unwrap_or_default()
                    }),
                    href: None,
                    class: if overdue {
                        "overdue".into()
                    } else {
                        String::new()
                    },
                },
            ]
        })
        .collect();
    let next_href = next.map(|c| {
        format!(
            "/leads?{}",
            serde_urlencoded::to_string(LeadQuery {
                cursor: Some(c),
                ..q.clone()
            })
            .unwrap_or_default()
        )
    });
    let p = &s.principal;
    let scope = crate::leads::policy::list_scope(p);
    let (heading, intro) = match scope {
        ListScope::Township if q.raised.as_deref() == Some("mine") => {
            ("我吹的哨", "您提交的问题线索及其办理进展。")
        }
        ListScope::Township => ("本街镇的问题线索", "本街镇提交和辖区内的问题线索。"),
        ListScope::Department => (
            "本部门待办线索",
            "本部门主办或协办的线索，按时限先后排列，逾期的在最前。",
        ),
        _ => (
            "问题线索总览",
            "全区问题线索，按时限先后排列，逾期的在最前。",
        ),
    };
    let mut state_options = vec![
        (String::new(), "未办结".to_owned()),
        ("closed".into(), "已办结".into()),
    ];
    state_options.extend(
        LeadState::ALL
            .iter()
            .filter(|s| s.is_open())
            .map(|s| (s.code().to_owned(), s.label().to_owned())),
    );
    // In the order of the raise form (the reference data's order), not by code.
    let mut category_options = vec![(String::new(), "全部".to_owned())];
    category_options.extend(categories.into_iter().map(|c| (c.code, c.name)));
    let mut filters = vec![
        Field::new(
            "state",
            "状态",
            "select",
            q.state.clone().unwrap_or_default(),
        )
        .options(state_options),
        Field::new(
            "overdue",
            "时限",
            "select",
            q.overdue.clone().unwrap_or_default(),
        )
        .options(vec![
            (String::new(), "全部".into()),
            ("true".into(), "只看逾期".into()),
        ]),
        Field::new(
            "category",
            "类别",
            "select",
            q.category.clone().unwrap_or_default(),
        )
        .options(category_options),
        Field::new(
            "urgency",
            "紧急程度",
            "select",
            q.urgency.clone().unwrap_or_default(),
        )
        .options(
            std::iter::once((String::new(), "全部".to_owned()))
                .chain(
                    Urgency::ALL
                        .iter()
                        .map(|u| (u.code().to_owned(), u.label().to_owned())),
                )
                .collect(),
        ),
    ];
    if scope == ListScope::District {
        let mut deps = vec![(String::new(), "全部".to_owned())];
        let st = state.clone();
        let all = blocking(move || st.db.read(crate::reference::departments))
            .await
            .page(&s)?;
        deps.extend(all.into_iter().map(|d| (d.code, d.name)));
        filters.push(
            Field::new(
                "department",
                "部门",
                "select",
                q.department.clone().unwrap_or_default(),
            )
            .options(deps),
        );
        filters.push(
            Field::new(
                "transfer",
                "转办",
                "select",
                q.transfer.clone().unwrap_or_default(),
            )
            .options(vec![
                (String::new(), "全部".into()),
                ("pending".into(), "转办待接收".into()),
                ("disputed".into(), "转办有异议（待裁定）".into()),
            ]),
        );
    }
    if scope == ListScope::Township {
        filters.push(
            Field::new(
                "raised",
                "范围",
                "select",
                q.raised.clone().unwrap_or_default(),
            )
            .options(vec![
                (String::new(), "本街镇".into()),
                ("mine".into(), "我吹的哨".into()),
            ]),
        );
    }
    let ctx = page_ctx(&state, &s, &req, heading, "/leads").await;
    let page = TablePage {
        ctx,
        heading: heading.into(),
        intro: Some(intro.into()),
        new_link: authz::allowed(p, Action::RaiseLeads)
            .then(|| ("/leads/new".to_owned(), "我要吹哨".to_owned())),
        filters,
        filter_action: "/leads".into(),
        result: None,
        headers: vec![
            "编号",
            "标题",
            "类别",
            "紧急程度",
            "主办部门",
            "街镇",
            "状态",
            "时限",
        ],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的线索。",
        total: Some(total),
        charts: Vec::new(),
        export_href: Some(format!(
            "/api/v1/leads/export.xlsx?{}",
            serde_urlencoded::to_string(LeadQuery {
                cursor: None,
                limit: None,
                ..q.clone()
            })
            .unwrap_or_default()
        )),
        post_buttons: Vec::new(),
        more_links: if authz::allowed(p, Action::ViewLeadStats) {
            vec![("/leads/stats".into(), "办理统计".into())]
        } else {
            Vec::new()
        },
    };
    Ok(render(&page))
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}%")).unwrap_or_else(|| "—".into())
}

async fn stats_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewLeadStats).page(&s)?;
    let q = web::Query::<crate::leads::stats::StatsQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let (st, query, today, now) = (
        state.clone(),
        q.clone(),
        state.today(),
        state.clock.now_naive(),
    );
    let stats = blocking(move || {
        st.db.read_lagging(|conn| {
            crate::leads::stats::stats(conn, &query, today, now, &st.settings.leads.targets)
        })
    })
    .await
    .page(&s)?;
    let hours = |h: Option<f64>| h.map(|h| format!("{h:.1}")).unwrap_or_else(|| "—".into());
    let rows = stats
        .departments
        .iter()
        .map(|d| {
            vec![
                cell(&d.name),
                cell(d.received.to_string()),
                cell(pct(d.response_rate)),
                cell(pct(d.on_time_rate)),
                cell(d.verified_on_time.to_string()),
                cell(pct(d.closure_rate)),
                cell(pct(d.satisfaction_rate)),
                Cell {
                    text: d.overdue_now.to_string(),
                    href: None,
                    class: if d.overdue_now > 0 {
                        "overdue".into()
                    } else {
                        String::new()
                    },
                },
                cell(hours(d.median_hours_to_acknowledge)),
                cell(hours(d.median_hours_to_close)),
            ]
        })
        .collect();
    let whistles: Vec<String> = stats
        .townships
        .iter()
        .map(|t| format!("{} {}", t.name, t.raised))
        .collect();
    let ctx = page_ctx(&state, &s, &req, "线索办理统计", "/leads").await;
    let charts = stats_charts(&stats, &state.settings.leads.targets);
    let page = TablePage {
        ctx,
        heading: "线索办理统计".into(),
        intro: Some(format!(
            "统计期间：{} 至 {}（按线索提出日期）。响应率＝已报到÷受理，报到及时率＝按时报到÷受理，办结率＝已办结÷受理，满意率＝（满意＋基本满意）÷已评价；当前逾期不限期间。",
            stats.from, stats.to
        )),
        new_link: None,
        filters: vec![
            Field::new("from", "开始日期", "date", stats.from.to_string()),
            Field::new("to", "结束日期", "date", stats.to.to_string()),
        ],
        filter_action: "/leads/stats".into(),
        result: Some(format!("各街镇吹哨数：{}", whistles.join("，"))),
        headers: vec!["部门", "受理", "响应率", "报到及时率", "按时核查", "办结率", "满意率", "当前逾期", "报到用时中位数（小时）", "办结用时中位数（小时）"],
        rows,
        next_href: None,
        empty_text: "没有数据。",
        total: None,
        charts,
        export_href: Some(format!(
            "/api/v1/stats/leads.xlsx?from={}&to={}",
            stats.from, stats.to
        )),
        post_buttons: Vec::new(),
        more_links: vec![("/leads".into(), "返回线索列表".into())],
    };
    Ok(render(&page))
}

/// The statistics drawn: raised and closed per week (per month over half a year), and
/// each department's rates.
fn stats_charts(
    stats: &crate::leads::stats::LeadStats,
    targets: &crate::platform::config::RateTargets,
) -> Vec<String> {
    use crate::platform::rules::chart::{bars, columns, Bar, Series};
    let mut periods: Vec<String> = Vec::new();
    let (mut raised, mut closed) = (Vec::new(), Vec::new());
    let by_month = stats.weeks.len() > 26;
    for w in &stats.weeks {
        let key = if by_month {
            w.week.format("%Y-%m").to_string()
        } else {
            w.week.format("%m-%d").to_string()
        };
        if periods.last() != Some(&key) {
            periods.push(key);
            raised.push(0);
            closed.push(0);
        }
        *raised.last_mut().expect("pushed") += w.raised;
        *closed.last_mut().expect("pushed") += w.closed;
    }
    let mut out = vec![columns(
        if by_month {
            "每月吹哨与办结"
        } else {
            "每周吹哨与办结（自周一）"
        },
        &periods,
        &[
            Series {
                name: "吹哨".into(),
                colour: "#17456b",
                values: raised,
            },
            Series {
                name: "办结".into(),
                colour: "#2e7d32",
                values: closed,
            },
        ],
    )];
    let rate =
        |title: &str, target: f64, f: fn(&crate::leads::stats::DepartmentStats) -> Option<f64>| {
            let rows: Vec<Bar> = stats
                .departments
                .iter()
                .filter(|d| d.received > 0 || f(d).is_some())
                .map(|d| Bar {
                    label: d.name.clone(),
                    value: f(d),
                    text: pct(f(d)),
                })
                .collect();
            bars(title, &rows, 100.0, (target > 0.0).then_some(target))
        };
    out.push(rate("响应率", targets.response_rate, |d| {
        d.response_rate
    }));
    out.push(rate("报到及时率", targets.on_time_rate, |d| {
        d.on_time_rate
    }));
    out.push(rate("办结率", targets.closure_rate, |d| d.closure_rate));
    out.push(rate("满意率", targets.satisfaction_rate, |d| {
        d.satisfaction_rate
    }));
    out
}

/// A township's area for placing a lead: its mines' boundaries by grade and its open
/// leads, without links (a tap places the point).
fn area_map(
    mines: &[crate::register::boundaries::Mapped],
    leads: &[crate::leads::Located],
    geo: &crate::platform::config::GeoSettings,
) -> String {
    use crate::platform::rules::map::{district, Area, Point};
    let zone = crate::register::boundaries::zone(geo);
    let areas: Vec<Area> = mines
        .iter()
        .filter_map(|m| {
            let rings = m.boundary.rings().ok()?;
            let colour = m.risk_grade.map_or("#5b6b7a", |g| g.colour_hex());
            Some(Area {
                rings: rings.0,
                fill: colour,
                stroke: colour,
                dashed: false,
                label: m.name.clone(),
                href: String::new(),
            })
        })
        .collect();
    let projection = zone.projection();
    let points: Vec<Point> = leads
        .iter()
        .filter_map(|l| {
            let (x, y) = projection.from_lonlat(l.lon?, l.lat?).ok()?;
            Some(Point {
                x,
                y,
                colour: "#c62828",
                label: format!("{} {}（{}）", l.number, l.title, l.state.label()),
                href: String::new(),
            })
        })
        .collect();
    if areas.is_empty() {
        return String::new();
    }
    district(&areas, &points, 640.0)
}

/// The raise form as submitted.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RaiseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    mine_id: String,
    #[serde(default)]
    lon: String,
    #[serde(default)]
    lat: String,
    /// "true" once the person has seen the possible duplicates and still raises the lead.
    #[serde(default)]
    confirm_duplicate: String,
    /// A point picked on the mine's drawing, in projected metres.
    #[serde(default)]
    pick_e: String,
    #[serde(default)]
    pick_n: String,
}

impl RaiseForm {
    fn input(
        &self,
        geo: &crate::platform::config::GeoSettings,
    ) -> Result<NewLead, Vec<FieldError>> {
        let picked = match (
            self.pick_e.trim().parse::<f64>(),
            self.pick_n.trim().parse::<f64>(),
        ) {
            (Ok(e), Ok(n)) => crate::register::boundaries::zone(geo).to_lonlat(e, n).ok(),
            _ => None,
        };
        let location = match (self.lon.trim(), self.lat.trim()) {
            ("", "") => picked.map(|(lon, lat)| Location { lon, lat }),
            (lon, lat) => match (lon.parse::<f64>(), lat.parse::<f64>()) {
                (Ok(lon), Ok(lat)) => Some(Location { lon, lat }),
                _ => {
                    return Err(vec![FieldError::new(
                        "location",
                        "经纬度应为数字，如 109.98 和 40.66；不知道可留空",
                    )])
                }
            },
        };
        let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
        Ok(NewLead {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            category: Some(self.category.clone()),
            urgency: opt(&self.urgency),
            mine_id: opt(&self.mine_id),
            location,
            township: None,
        })
    }
}

async fn raise_form_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: &RaiseForm,
    errors: &[FieldError],
    duplicates: &[crate::leads::actions::Candidate],
) -> PageResult {
    authz::require(&s.principal, Action::RaiseLeads).page(s)?;
    let (st, township, who) = (
        state.clone(),
        s.principal.township.clone(),
        s.principal.clone(),
    );
    let now = state.clock.now_naive();
    let (categories, mines, area_map) = blocking(move || {
        let (cats, mines, area) = st.db.read(|conn| {
            let cats = crate::reference::lead_categories(conn)?;
            // The mines a township knows: its own; department staff pick from all open ones.
            let mines = crate::register::mines::open_choices(conn, township.as_deref(), 500)?;
            // A township places the lead on a map of its area, with the open leads there.
            let area = match township.as_deref() {
                Some(t) => Some((
                    crate::register::boundaries::for_map(conn, Some(t), 1000)?,
                    crate::leads::board::located(conn, &who, now, Some(t), 500)?,
                )),
                None => None,
            };
            Ok((cats, mines, area))
        })?;
        // Drawn here too: a township's thousand boundaries are CPU work.
        let area_map = area
            .map(|(mines, leads)| area_map(&mines, &leads, &st.settings.geo))
            .unwrap_or_default();
        Ok((cats, mines, area_map))
    })
    .await
    .page(s)?;
    let mut cat_options = vec![(String::new(), "请选择".to_owned())];
    cat_options.extend(
        categories
            .into_iter()
            .filter(|c| c.active != 0)
            .map(|c| (c.code, c.name)),
    );
    let mut mine_options = vec![(String::new(), "不清楚 / 不涉及具体矿山".to_owned())];
    mine_options.extend(mines);
    let mut fields = vec![
        Field::new("title", "标题", "text", &form.title)
            .required()
            .help("一句话说明问题，如“青山砂石矿夜间违规爆破”。"),
        Field::new("category", "类别", "select", &form.category)
            .required()
            .options(cat_options)
            .help("类别决定主办部门；拿不准可选“其他”，由协调办分办。"),
        Field::new(
            "urgency",
            "紧急程度",
            "select",
            if form.urgency.is_empty() {
                "normal"
            } else {
                &form.urgency
            },
        )
        .options(
            Urgency::ALL
                .iter()
                .map(|u| (u.code().to_owned(), u.label().to_owned()))
                .collect(),
        )
        .help("紧急：正在发生、可能危及人身安全或造成重大损失，部门须 30 分钟内报到。"),
        Field::new("description", "问题描述", "textarea", &form.description).required(),
        Field::new("mine_id", "涉及矿山", "select", &form.mine_id).options(mine_options),
        Field::new(
            "location",
            "位置",
            "location",
            if form.lon.is_empty() && form.lat.is_empty() {
                String::new()
            } else {
                format!("{},{}", form.lon, form.lat)
            },
        )
        .help("在现场可点“获取当前位置”；位置在某矿区范围内会自动关联该矿山。"),
        Field::new("pick", "在地图上选点", "pickmap", area_map),
        // Filled in the page as the category, mine or place is chosen: the possible
        // duplicates appear here, before submitting, and the chosen photos stay.
        Field::new("duplicates", "", "dupcheck", ""),
        Field::new("photos", "现场照片", "file", "").help(format!(
            "可选多张照片或 pdf、Word 文档，每个文件不超过 {} MB。",
            state.settings.http.max_upload_bytes / 1024 / 1024
        )),
    ];
    if !duplicates.is_empty() {
        fields.push(Field::new(
            "confirm_duplicate",
            "这不是重复线索，仍要提交",
            "checkbox",
            "",
        ));
    }
    let general = attach_errors(&mut fields, errors);
    let intro = if duplicates.is_empty() {
        let mut intro =
            "提交后系统按类别和位置分派给主办、协办部门，部门须在时限内报到。".to_owned();
        if state.settings.intake.enabled() {
            intro.push_str(&format!(
                "不方便打开网页时，也可以用在平台登记的邮箱发邮件到 {}：主题写“[类别] 矿山名称 问题摘要”（如“[扬尘] 青山砂石矿 扬尘严重”，加“[紧急]”为紧急线索），正文写清情况，照片作为附件；系统会回信告知线索编号。",
                state.settings.intake.address()
            ));
        }
        intro
    } else {
        format!(
            "附近（或同一矿山）已有 {} 条同类未办结线索，可能是同一问题。请先查看下列线索；如确属新问题，勾选“这不是重复线索，仍要提交”后再提交（已选择的照片需重新选择）。",
            duplicates.len()
        )
    };
    let page = FormPage {
        ctx: page_ctx(state, s, req, "我要吹哨", "/leads").await,
        heading: "我要吹哨 · 提交问题线索".into(),
        intro: Some(intro),
        errors: general,
        editable: true,
        action: "/leads/new".into(),
        fields,
        submit_label: "提交线索",
        back_href: Some("/leads".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: duplicates
            .iter()
            .map(|d| {
                (
                    // Only a lead the person may read is a link.
                    d.lead
                        .as_ref()
                        .map(|l| format!("/leads/{}", l.id))
                        .unwrap_or_default(),
                    format!("{} {}（{}）", d.number, d.title, d.state_label),
                )
            })
            .collect(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    raise_form_page(&state, &s, &req, &RaiseForm::default(), &[], &[]).await
}

async fn raise(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<RaiseForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let files = form.files;
    let max = state.settings.http.max_upload_bytes;
    if let Err(errors) = crate::platform::upload::check(&files, max, "photos") {
        return raise_form_page(&state, &s, &req, &f, &errors, &[]).await;
    }
    if f.confirm_duplicate != "true" {
        if let Ok(input) = f.input(&state.settings.geo) {
            let q = crate::leads::actions::DuplicateQuery {
                category: input.category.clone(),
                mine_id: input.mine_id.clone(),
                lon: input.location.map(|l| l.lon),
                lat: input.location.map(|l| l.lat),
            };
            let (st, who, radius) = (
                state.clone(),
                s.principal.clone(),
                state.settings.leads.duplicate_radius_m,
            );
            let found = blocking(move || {
                st.db
                    .read(|conn| crate::leads::actions::duplicates(conn, &who, &q, radius))
            })
            .await
            .page(&s)?;
            if !found.is_empty() {
                return raise_form_page(&state, &s, &req, &f, &[], &found).await;
            }
        }
    }
    let result = match f.input(&state.settings.geo) {
        Ok(input) => {
            let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
            let source = crate::leads::rules::source_of(who.role);
            blocking(move || {
                st.db.transaction(|conn| {
                    let v = crate::leads::raise_for(&st, conn, &who, input, source, now)?;
                    crate::leads::files::store(conn, &who, &v.lead.id, None, files, max, now)?;
                    Ok(v)
                })
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(v) => &format!("/leads/{}?ok=created", v.lead.id), Invalid(errors) => {
        raise_form_page(&state, &s, &req, &f, &errors, &[]).await
    })
}

fn step_button(id: &str, mv: Move) -> ActionButton {
    let form = mv.code();
    let note = |label: &'static str, required: bool| {
        let f = Field::new("note", label, "textarea", "").in_form(form);
        if required {
            f.required()
        } else {
            f
        }
    };
    let (label, fields, style): (&'static str, Vec<Field>, &'static str) = match mv {
        Move::Acknowledge => (
            "报到",
            vec![note("说明（如已安排人员前往）", false)],
            "primary",
        ),
        Move::StartVerifying => ("开始核查", vec![note("说明", false)], "secondary"),
        Move::Verify => (
            "填写核查结论",
            vec![
                Field::new("substantiated", "核查结论", "select", "")
                    .required()
                    .options(vec![
                        (String::new(), "请选择".into()),
                        ("true".into(), "属实".into()),
                        ("false".into(), "不属实".into()),
                    ])
                    .in_form(form),
                note("核查情况", true),
                Field::new("evidence", "证据材料（照片、笔录等）", "file", "").in_form(form),
            ],
            "primary",
        ),
        Move::Enforce => (
            "查处",
            vec![
                Field::new("measures", "查处措施", "text", "")
                    .required()
                    .help("多项用顿号或逗号分隔，如：责令整改、罚款")
                    .in_form(form),
                Field::new("rectify_by", "整改期限", "date", "").in_form(form),
                Field::new("decision_number", "处罚决定书文号", "text", "").in_form(form),
                note("说明", false),
                Field::new(
                    "evidence",
                    "文书材料（整改通知书、处罚决定书等）",
                    "file",
                    "",
                )
                .in_form(form),
            ],
            "primary",
        ),
        Move::Close => (
            "办结",
            vec![
                note("办结情况", true),
                Field::new("evidence", "办结材料（复查照片等）", "file", "").in_form(form),
            ],
            "primary",
        ),
    };
    let path = match mv {
        Move::StartVerifying => "start-verification",
        other => other.code(),
    };
    ActionButton {
        href: format!("/leads/{id}/{path}"),
        label,
        confirm: String::new(),
        style,
        fields,
    }
}

pub(crate) async fn detail_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: &[FieldError],
) -> PageResult {
    let now = state.clock.now_naive();
    let (st, who, lid) = (state.clone(), s.principal.clone(), id.to_owned());
    let (v, boundary): (LeadView, _) = blocking(move || {
        st.db.read(|conn| {
            let v = leads::view(conn, &who, &lid, now)?;
            // The mine's boundary for the drawing of where the lead is.
            let boundary = match (&v.lead.mine_id, v.lead.lon) {
                (Some(m), Some(_)) => crate::register::boundaries::find(conn, m)?,
                _ => None,
            };
            Ok((v, boundary))
        })
    })
    .await
    .page(s)?;
    let drawing = place_drawing(&v, boundary.as_ref(), &state.settings);
    let names = names(state).await.page(s)?;
    let l = &v.lead;
    let mut fields = lead_fields(&v, &names);
    let general = attach_errors(&mut fields, errors);
    let mut ctx = page_ctx(state, s, req, &format!("线索 {}", l.number), "/leads").await;
    if req.query_string().contains("ok=created") {
        ctx.flash = Some(format!(
            "已提交，编号 {}，已分派{}主办。",
            l.number, v.primary_department_name
        ));
    } else if req.query_string().contains("ok=step") {
        ctx.flash = Some(step_done(&v));
    }
    let page = FormPage {
        ctx,
        heading: format!("{} {}", l.number, l.title),
        intro: None,
        errors: general,
        editable: false,
        action: String::new(),
        fields,
        submit_label: "",
        back_href: None,
        actions: lead_actions(&v, &s.principal, &names),
        history: Vec::new(),
        links: {
            let mut links = vec![("/leads".into(), "返回线索列表".into())];
            // 综合查一次 from the lead: the task form takes the lead (and its mine), and the
            // tasks opened from it are listed by it.
            if authz::allowed(&s.principal, Action::ViewInspections) {
                links.push((
                    format!("/inspections?lead_id={}", l.id),
                    "相关检查任务".into(),
                ));
            }
            if crate::leads::policy::may_handle(&s.principal, &l.primary_department)
                && authz::allowed(&s.principal, Action::OpenInspections)
            {
                links.push((
                    format!(
                        "/inspections/new?lead_id={}&mine_id={}",
                        l.id,
                        l.mine_id.clone().unwrap_or_default()
                    ),
                    "据此发起检查任务".into(),
                ));
            }
            // 取缔: a site found by the lead is put on the register by the closure case.
            if crate::leads::policy::may_handle(&s.principal, &l.primary_department)
                && authz::allowed(&s.principal, Action::ViewClosures)
            {
                links.push((
                    format!(
                        "/closures/new?kind=ban_illegal&basis=lead&basis_ref={}&lead_id={}&mine_id={}",
                        l.number,
                        l.id,
                        l.mine_id.clone().unwrap_or_default()
                    ),
                    "立案取缔（非法开采点）".into(),
                ));
            }
            links
        },
        tables: lead_tables(&v, &names, now),
        drawing,
        steps: progress(l.state),
        open_next: true,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

/// Where the lead is: its point, on its mine's boundary when it has one.
fn place_drawing(
    v: &LeadView,
    boundary: Option<&crate::register::boundaries::MineBoundary>,
    settings: &crate::platform::config::Settings,
) -> Option<(String, String)> {
    use crate::platform::rules::map::{district, Area, Point};
    let l = &v.lead;
    let (x, y) = crate::register::boundaries::zone(&settings.geo)
        .from_lonlat(l.lon?, l.lat?)
        .ok()?;
    let areas: Vec<Area> = boundary
        .and_then(|b| b.rings().ok())
        .map(|r| Area {
            rings: r.0,
            fill: "#17456b",
            stroke: "#17456b",
            dashed: false,
            label: v.mine_name.clone().unwrap_or_default(),
            href: l
                .mine_id
                .as_ref()
                .map(|m| format!("/mines/{m}"))
                .unwrap_or_default(),
        })
        .into_iter()
        .collect();
    let point = Point {
        x,
        y,
        colour: "#c62828",
        label: format!("{} {}", l.number, l.title),
        href: String::new(),
    };
    if areas.is_empty() {
        return None;
    }
    let points = [point];
    let svg = district(&areas, &points, 640.0);
    let projection = crate::register::boundaries::zone(&settings.geo).projection();
    let geojson = crate::platform::rules::map::geojson(&areas, &points, |x, y| {
        projection.to_lonlat(x, y).ok()
    });
    (!svg.is_empty()).then(|| {
        (
            "问题地点示意图".to_owned(),
            crate::web::kit::webmap(&svg, &geojson, &settings.map, false),
        )
    })
}

/// The lead's way from 已分派 to 已办结, with where it stands.
fn progress(state: LeadState) -> Vec<(&'static str, &'static str)> {
    let at = LeadState::ALL.iter().position(|s| *s == state).unwrap_or(0);
    LeadState::ALL
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let class = match (i.cmp(&at), state) {
                (_, LeadState::Closed) => "done",
                (std::cmp::Ordering::Less, _) => "done",
                (std::cmp::Ordering::Equal, _) => "current",
                (std::cmp::Ordering::Greater, _) => "todo",
            };
            (s.label(), class)
        })
        .collect()
}

/// What the step just taken did and what comes next: "报到已办理。下一时限：核查，2026-12-03
/// 17:30 前。"
fn step_done(v: &LeadView) -> String {
    let done = v
        .timeline
        .last()
        .map(|e| event_label(&e.kind))
        .unwrap_or_else(|| "办理".into());
    let next = v
        .deadlines
        .iter()
        .filter(|d| d.met_at.is_none())
        .min_by_key(|d| d.due_at)
        .map(|d| {
            format!(
                "下一时限：{}，{} 前。",
                d.stage.label(),
                local_time(d.due_at)
            )
        })
        .unwrap_or_else(|| {
            if v.lead.state == LeadState::Closed {
                "线索已办结。".into()
            } else {
                String::new()
            }
        });
    format!("{done}已办理，线索现为“{}”。{next}", v.state_label)
}

/// The facts of a lead, as read-only fields.
fn lead_fields(v: &LeadView, names: &Names) -> Vec<Field> {
    let l = &v.lead;
    let assisting: Vec<String> = l.assisting().iter().map(|d| name_of(names, d)).collect();
    let mut fields = vec![
        Field::new("number", "编号", "text", &l.number),
        Field::new(
            "state",
            "状态",
            "text",
            if v.is_overdue {
                format!("{}（逾期）", v.state_label)
            } else {
                v.state_label.clone()
            },
        ),
        Field::new("category", "类别", "text", &v.category_name),
        Field::new("urgency", "紧急程度", "text", &v.urgency_label),
        Field::new("primary", "主办部门", "text", &v.primary_department_name),
        Field::new(
            "assignee",
            "承办人",
            "text",
            v.assignee_name.clone().unwrap_or_else(|| "未指派".into()),
        ),
        Field::new(
            "assisting",
            "协办部门",
            "text",
            if assisting.is_empty() {
                "无".to_owned()
            } else {
                assisting.join("、")
            },
        ),
        Field::new("routing", "分派依据", "text", &l.routing_reason),
        Field::new(
            "township",
            "街镇",
            "text",
            v.township_name.clone().unwrap_or_default(),
        ),
        Field::new(
            "mine",
            "涉及矿山",
            "text",
            v.mine_name.clone().unwrap_or_else(|| "未关联".into()),
        ),
        Field::new(
            "location",
            "位置",
            "text",
            match (l.lon, l.lat) {
                (Some(lon), Some(lat)) => format!("经度 {lon:.6}，纬度 {lat:.6}"),
                _ => "未提供".into(),
            },
        ),
        Field::new(
            "raised",
            "提交",
            "text",
            format!(
                "{}（{}） {}",
                l.raised_by_name,
                name_of(names, &l.raised_unit),
                local_time(l.raised_at)
            ),
        ),
        Field::new("description", "问题描述", "text", &l.description),
    ];
    if let Some(sub) = l.substantiated {
        fields.insert(
            2,
            Field::new(
                "substantiated",
                "核查结论",
                "text",
                if sub != 0 { "属实" } else { "不属实" },
            ),
        );
    }
    fields
}

/// What the user may do to the lead, each a button with its form.
fn lead_actions(
    v: &LeadView,
    who: &crate::platform::authz::Principal,
    names: &Names,
) -> Vec<ActionButton> {
    let l = &v.lead;
    let mut actions: Vec<ActionButton> = v
        .moves
        .iter()
        .filter_map(|m| Move::parse(m))
        .map(|m| step_button(&l.id, m))
        .collect();
    actions.extend(side_panels(v, who, names));
    if l.state.is_open() && policy::may_add_files(who) {
        actions.push(ActionButton {
            href: format!("/leads/{}/attachments", l.id),
            label: "添加照片或材料",
            confirm: String::new(),
            style: "secondary",
            fields: vec![Field::new("files", "文件", "file", "").in_form("attach")],
        });
    }
    if l.state.is_open() && policy::may_comment(who) {
        actions.push(ActionButton {
            href: format!("/leads/{}/comment", l.id),
            label: "填写办理意见",
            confirm: String::new(),
            style: "secondary",
            fields: vec![Field::new("note", "意见", "textarea", "")
                .required()
                .in_form("comment")],
        });
    }
    actions
}

/// The time limits of the lead's stages and how each was met.
fn deadline_rows(v: &LeadView, now: chrono::NaiveDateTime) -> Vec<Vec<Cell>> {
    // The stage being worked on is the first one unmet; the later ones have not begun.
    let current = v
        .deadlines
        .iter()
        .filter(|d| d.met_at.is_none())
        .map(|d| d.stage as u8)
        .min();
    v.deadlines
        .iter()
        .map(|d| {
            let stage = d.stage.label();
            let (status, class) = match d.met_at {
                Some(m) if m <= d.due_at => (format!("{} 完成（按时）", local_time(m)), ""),
                Some(m) => (format!("{} 完成（超时）", local_time(m)), "overdue"),
                None if d.due_at < now => ("已逾期".to_owned(), "overdue"),
                None if Some(d.stage as u8) == current => ("进行中".to_owned(), ""),
                None => ("未开始".to_owned(), "muted"),
            };
            vec![
                cell(stage),
                cell(local_time(d.due_at)),
                Cell {
                    text: status,
                    href: None,
                    class: class.into(),
                },
            ]
        })
        .collect()
}

/// A timeline entry's kind in words.
fn event_label(k: &str) -> String {
    match k {
        "raised" => "吹哨".into(),
        "routed" => "分派".into(),
        "comment" => "办理意见".into(),
        "overdue" => "逾期督办".into(),
        "transfer" => "转办".into(),
        "transfer_accepted" => "接收转办".into(),
        "transfer_disputed" => "对转办提出异议".into(),
        "transfer_decided" => "协调办裁定".into(),
        "dispatched" => "协调办分办".into(),
        "assigned" => "指派".into(),
        "escalate" => "提请会商".into(),
        "consultation_declined" => "不予会商".into(),
        "evaluate" => "街镇评价".into(),
        "reopen" => "重新打开".into(),
        "merged" => "合并到其他线索".into(),
        "merged_from" => "合并重复线索".into(),
        "restart_suspected" => "已关闭矿山疑似复产".into(),
        other => Move::parse(other)
            .map(|m| m.label().to_owned())
            .unwrap_or_else(|| other.to_owned()),
    }
}

/// The lead's timeline: who did what, when.
fn timeline_rows(v: &LeadView, names: &Names) -> Vec<Vec<Cell>> {
    v.timeline
        .iter()
        .map(|e| {
            let detail = serde_json::from_str::<serde_json::Value>(&e.data_json)
                .ok()
                .map(|d| describe(&d))
                .unwrap_or_default();
            let who = if e.actor_unit.is_empty() {
                e.actor_name.clone()
            } else {
                format!("{}（{}）", e.actor_name, name_of(names, &e.actor_unit))
            };
            vec![
                cell(local_time(e.occurred_at)),
                cell(who),
                cell(
                    if e.kind == "raised" && e.actor_unit == crate::reference::PUBLIC_UNIT {
                        "群众反映".to_owned()
                    } else {
                        event_label(&e.kind)
                    },
                ),
                Cell {
                    text: [e.note.as_str(), detail.as_str()]
                        .iter()
                        .filter(|t| !t.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                    href: None,
                    class: "small".into(),
                },
            ]
        })
        .collect()
}

/// The lead's files, transfers, evaluations, deadlines and timeline, as tables.
fn lead_tables(v: &LeadView, names: &Names, now: chrono::NaiveDateTime) -> Vec<SubTable> {
    let l = &v.lead;
    vec![
        SubTable {
            title: "照片和材料".into(),
            headers: vec!["文件", "大小", "上传时间"],
            rows: v
                .attachments
                .iter()
                .map(|a| {
                    vec![
                        link(
                            &a.file_name,
                            format!("/leads/{}/attachments/{}", l.id, a.id),
                        ),
                        cell(format!("{:.1} KB", a.size_bytes as f64 / 1024.0)),
                        cell(local_time(a.uploaded_at)),
                    ]
                })
                .collect(),
            empty_text: "没有附件。",
        },
        SubTable {
            title: "转办".into(),
            headers: vec!["时间", "从", "转给", "理由", "结果"],
            rows: v
                .transfers
                .iter()
                .map(|t| {
                    vec![
                        cell(local_time(t.requested_at)),
                        cell(name_of(names, &t.from_department)),
                        cell(name_of(names, &t.to_department)),
                        cell(&t.reason),
                        cell(transfer_status(t, names)),
                    ]
                })
                .collect(),
            empty_text: "没有转办。",
        },
        SubTable {
            title: "街镇评价".into(),
            headers: vec!["部门", "评价", "意见", "时间"],
            rows: v
                .evaluations
                .iter()
                .map(|e| {
                    vec![
                        cell(name_of(names, &e.department)),
                        Cell {
                            text: EVALUATIONS
                                .iter()
                                .find(|(c, _)| *c == e.verdict)
                                .map(|(_, l)| *l)
                                .unwrap_or("")
                                .into(),
                            href: None,
                            class: if e.verdict == "dissatisfied" {
                                "overdue".into()
                            } else {
                                String::new()
                            },
                        },
                        cell(&e.comment),
                        cell(local_time(e.evaluated_at)),
                    ]
                })
                .collect(),
            empty_text: "尚未评价（线索办结后由提出线索的街镇评价）。",
        },
        SubTable {
            title: "办理时限".into(),
            headers: vec!["环节", "时限", "完成情况"],
            rows: deadline_rows(v, now),
            empty_text: "",
        },
        SubTable {
            title: "办理过程".into(),
            headers: vec!["时间", "办理人", "事项", "内容"],
            rows: timeline_rows(v, names),
            empty_text: "",
        },
    ]
}

/// The details of a step in words.
fn describe(d: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(s) = d.get("substantiated").and_then(|v| v.as_bool()) {
        parts.push(format!("结论：{}", if s { "属实" } else { "不属实" }));
    }
    if let Some(m) = d.get("measures").and_then(|v| v.as_array()) {
        let m: Vec<&str> = m.iter().filter_map(|x| x.as_str()).collect();
        parts.push(format!("措施：{}", m.join("、")));
    }
    if let Some(r) = d.get("rectify_by").and_then(|v| v.as_str()) {
        parts.push(format!("整改期限：{r}"));
    }
    if let Some(n) = d.get("into").and_then(|v| v.as_str()) {
        parts.push(format!("并入 {n}"));
    }
    if let Some(n) = d.get("from").and_then(|v| v.as_str()) {
        parts.push(format!("并入重复线索 {n}"));
    }
    if let Some(n) = d.get("decision_number").and_then(|v| v.as_str()) {
        parts.push(format!("决定书：{n}"));
    }
    parts.join("；")
}

async fn detail(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    detail_page(&state, &s, &req, &id, &[]).await
}

#[derive(Debug, Deserialize)]
struct StepForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    substantiated: String,
    #[serde(default)]
    measures: String,
    #[serde(default)]
    rectify_by: String,
    #[serde(default)]
    decision_number: String,
}

async fn step(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<StepForm>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let (id, step) = path.into_inner();
    let mv = match step.as_str() {
        "start-verification" => Move::StartVerifying,
        other => Move::parse(other)
            .ok_or_else(|| AppError::NotFound("没有这个办理环节。".into()))
            .page(&s)?,
    };
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let input = StepInput {
        note: Some(f.note.clone()),
        substantiated: match f.substantiated.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        measures: opt(&f.measures).map(|m| {
            m.split(['、', ',', '，', ';', '；'])
                .map(|x| x.trim().to_owned())
                .filter(|x| !x.is_empty())
                .collect()
        }),
        rectify_by: opt(&f.rectify_by),
        decision_number: opt(&f.decision_number),
        version: None,
    };
    let files = form.files;
    let result = crate::leads::step_now(
        state.clone(),
        s.principal.clone(),
        id.clone(),
        mv,
        input,
        files,
    )
    .await;
    submitted!(result, s, Ok(_) => &format!("/leads/{id}?ok=step"), Invalid(errors) => detail_page(&state, &s, &req, &id, &errors).await)
}

#[derive(Debug, Deserialize)]
struct CommentForm {
    #[serde(default)]
    note: String,
}

async fn comment(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<CommentForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let (st, who, lid, note, now) = (
        state.clone(),
        s.principal.clone(),
        id.to_string(),
        form.form.note,
        state.clock.now_naive(),
    );
    let result = blocking(move || {
        st.db
            .transaction(|conn| leads::comment(conn, &who, &lid, Some(note), now))
    })
    .await;
    submitted!(result, s, Ok(_) => &format!("/leads/{id}?ok=step"), Invalid(errors) => detail_page(&state, &s, &req, &id, &errors).await)
}

fn transfer_status(t: &Transfer, names: &HashMap<String, String>) -> String {
    match t.status.as_str() {
        "pending" => "待接收部门确认".into(),
        "accepted" => "已接收".into(),
        "disputed" => format!("有异议：{}（待协调办裁定）", t.answer_note),
        _ => format!(
            "协调办裁定由{}主办",
            t.decided_department
                .as_deref()
                .map(|d| name_of(names, d))
                .unwrap_or_default()
        ),
    }
}

fn department_options(names: &HashMap<String, String>, except: &[&str]) -> Vec<(String, String)> {
    let mut keys: Vec<&String> = names.keys().filter(|k| k.starts_with("dept:")).collect();
    keys.sort();
    let mut deps: Vec<(String, String)> = keys
        .into_iter()
        .map(|k| names[k].clone())
        .filter(|d| !except.contains(&d.as_str()))
        .map(|d| {
            let name = name_of(names, &d);
            (d, name)
        })
        .collect();
    deps.insert(0, (String::new(), "请选择".into()));
    deps
}

/// The side paths open to the reader: transfer, answer, decide, consultation, evaluation,
/// reopening.
fn side_panels(
    v: &LeadView,
    who: &crate::platform::authz::Principal,
    names: &HashMap<String, String>,
) -> Vec<ActionButton> {
    let l = &v.lead;
    let id = &l.id;
    let open = l.state.is_open();
    let primary_staff = policy::may_handle(who, &l.primary_department);
    let mut out = Vec::new();
    let pending = v
        .transfers
        .iter()
        .find(|t| t.status == "pending" || t.status == "disputed");
    if open && primary_staff && pending.is_none() {
        out.push(ActionButton {
            href: format!("/leads/{id}/transfer"),
            label: "转办",
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new("to_department", "转给", "select", "")
                    .required()
                    .options(department_options(names, &[l.primary_department.as_str()]))
                    .in_form("transfer"),
                Field::new("reason", "转办理由", "textarea", "")
                    .required()
                    .in_form("transfer"),
            ],
        });
    }
    if let Some(t) = pending {
        if t.status == "pending" && policy::may_handle(who, &t.to_department) {
            out.push(ActionButton {
                href: format!("/leads/{id}/transfer/answer"),
                label: "确认转办",
                confirm: String::new(),
                style: "primary",
                fields: vec![
                    Field::new("answer", "意见", "select", "")
                        .required()
                        .options(vec![
                            (String::new(), "请选择".into()),
                            ("accept".into(), "接收，由本部门主办".into()),
                            ("dispute".into(), "有异议，提请协调办裁定".into()),
                        ])
                        .in_form("answer"),
                    Field::new("note", "说明（有异议时必填）", "textarea", "").in_form("answer"),
                ],
            });
        }
        if t.status == "disputed" && policy::may_decide_disputes(who) {
            out.push(ActionButton {
                href: format!("/leads/{id}/transfer/decide"),
                label: "裁定转办异议",
                confirm: String::new(),
                style: "primary",
                fields: vec![
                    Field::new("department", "由哪个部门主办", "select", "")
                        .required()
                        .options(department_options(names, &[]))
                        .in_form("decide"),
                    Field::new("note", "裁定意见", "textarea", "")
                        .required()
                        .in_form("decide"),
                ],
            });
        }
    }
    if !v.assignable.is_empty() {
        let mut officers = vec![(String::new(), "不指定（由部门统一办理）".to_owned())];
        officers.extend(v.assignable.iter().cloned());
        out.push(ActionButton {
            href: format!("/leads/{id}/assign"),
            label: "指派",
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new(
                    "assignee",
                    "指派给",
                    "select",
                    l.assignee_id.clone().unwrap_or_default(),
                )
                .options(officers)
                .in_form("assign"),
                Field::new("note", "说明", "textarea", "").in_form("assign"),
            ],
        });
    }
    if policy::may_dispatch(who, l) {
        out.push(ActionButton {
            href: format!("/leads/{id}/dispatch"),
            label: "分办",
            confirm: String::new(),
            style: "primary",
            fields: vec![
                Field::new("department", "主办部门", "select", "")
                    .required()
                    .options(department_options(names, &[]))
                    .in_form("dispatch"),
                Field::new("assisting", "协办部门（可选）", "select", "")
                    .options(department_options(names, &[]))
                    .in_form("dispatch"),
                Field::new("note", "分办说明", "textarea", "")
                    .help("写明分办理由，主办部门和提出线索的街镇都会收到。")
                    .in_form("dispatch"),
            ],
        });
    }
    if open && l.consultation_requested_at.is_none() && policy::may_escalate(who, l) {
        out.push(ActionButton {
            href: format!("/leads/{id}/escalate"),
            label: "提请会商",
            confirm: String::new(),
            style: "secondary",
            fields: vec![Field::new("reason", "提请会商的理由", "textarea", "")
                .required()
                .in_form("escalate")],
        });
    }
    if open && policy::may_offer_merge(who, l) {
        out.push(ActionButton {
            href: format!("/leads/{id}/merge"),
            label: "作为重复线索合并",
            confirm: "合并后本线索办结，由原线索继续办理，确定吗？".into(),
            style: "secondary",
            fields: vec![
                Field::new("into", "原线索编号", "text", "")
                    .required()
                    .help("如 XS-2026-000123")
                    .in_form("merge"),
                Field::new("reason", "合并理由", "textarea", "")
                    .required()
                    .in_form("merge"),
            ],
        });
    }
    let raising_township = policy::is_raising_township(who, l);
    if !open && raising_township {
        let mut departments = vec![l.primary_department.clone()];
        departments.extend(l.assisting());
        let left: Vec<(String, String)> = departments
            .into_iter()
            .filter(|d| !v.evaluations.iter().any(|e| &e.department == d))
            .map(|d| (d.clone(), name_of(names, &d)))
            .collect();
        if !left.is_empty() {
            out.push(ActionButton {
                href: format!("/leads/{id}/evaluate"),
                label: "评价办理情况",
                confirm: String::new(),
                style: "primary",
                fields: vec![
                    Field::new("department", "部门", "select", "")
                        .options(left)
                        .in_form("evaluate"),
                    Field::new("verdict", "评价", "select", "")
                        .required()
                        .options(
                            std::iter::once((String::new(), "请选择".to_owned()))
                                .chain(
                                    EVALUATIONS
                                        .iter()
                                        .map(|(c, l)| ((*c).to_owned(), (*l).to_owned())),
                                )
                                .collect(),
                        )
                        .in_form("evaluate"),
                    Field::new("comment", "意见（不满意时必填）", "textarea", "")
                        .in_form("evaluate"),
                ],
            });
        }
        if l.reopened == 0 {
            out.push(ActionButton {
                href: format!("/leads/{id}/reopen"),
                label: "问题未解决，重新打开",
                confirm: "每条线索只能重新打开一次，确定吗？".into(),
                style: "danger",
                fields: vec![Field::new("reason", "理由", "textarea", "")
                    .required()
                    .in_form("reopen")],
            });
        }
    }
    out
}

#[derive(Debug, Default, Deserialize)]
struct SideForm {
    #[serde(default)]
    to_department: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    into: String,
    #[serde(default)]
    assisting: String,
    #[serde(default)]
    assignee: String,
}

async fn side(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<SideForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    let what = req.path().rsplit('/').next().unwrap_or_default().to_owned();
    let opt = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let result = crate::leads::side_step_now(
        state.clone(),
        s.principal.clone(),
        id.clone(),
        move |st, c, w, i, n| {
            use crate::leads::actions as a;
            match what.as_str() {
                "transfer" => a::transfer(
                    c,
                    w,
                    i,
                    TransferInput {
                        to_department: opt(&f.to_department),
                        reason: opt(&f.reason),
                    },
                    n,
                )
                .map(|_| ()),
                "answer" => a::answer_transfer(
                    c,
                    w,
                    i,
                    AnswerInput {
                        answer: opt(&f.answer),
                        note: opt(&f.note),
                    },
                    n,
                )
                .map(|_| ()),
                "decide" => a::decide_transfer(
                    c,
                    w,
                    i,
                    DecideInput {
                        department: opt(&f.department),
                        note: opt(&f.note),
                    },
                    n,
                )
                .map(|_| ()),
                "assign" => a::assign(
                    c,
                    w,
                    i,
                    crate::leads::actions::AssignInput {
                        assignee: opt(&f.assignee),
                        note: opt(&f.note),
                    },
                    n,
                )
                .map(|_| ()),
                "dispatch" => a::dispatch(
                    c,
                    w,
                    i,
                    crate::leads::actions::DispatchInput {
                        department: opt(&f.department),
                        assisting_departments: opt(&f.assisting).map(|d| vec![d]),
                        note: opt(&f.note),
                    },
                    n,
                )
                .map(|_| ()),
                "evaluate" => a::evaluate(
                    c,
                    w,
                    i,
                    EvaluateInput {
                        verdict: opt(&f.verdict),
                        comment: opt(&f.comment),
                        department: opt(&f.department),
                    },
                    n,
                )
                .map(|_| ()),
                "merge" => a::merge(
                    c,
                    w,
                    i,
                    crate::leads::actions::MergeInput {
                        into: opt(&f.into),
                        reason: opt(&f.reason),
                    },
                    n,
                )
                .map(|_| ()),
                "reopen" => a::reopen(
                    c,
                    w,
                    i,
                    ReasonInput {
                        reason: opt(&f.reason),
                    },
                    n,
                    &st.calendar,
                    &st.settings.leads,
                )
                .map(|_| ()),
                _ => Err(AppError::NotFound("没有这个办理环节。".into())),
            }
        },
    )
    .await;
    submitted!(result, s, Ok(_) => &format!("/leads/{id}?ok=step"), Invalid(errors) => detail_page(&state, &s, &req, &id, &errors).await)
}

async fn attach(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageUpload<HashMap<String, String>>,
) -> PageResult {
    let s = form.session;
    let files = form.files;
    let id = req.match_info().get("id").unwrap_or_default().to_owned();
    if files.is_empty() {
        return detail_page(
            &state,
            &s,
            &req,
            &id,
            &[FieldError::new("files", "请选择要上传的文件")],
        )
        .await;
    }
    let (st, who, lid, now, max) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        state.clock.now_naive(),
        state.settings.http.max_upload_bytes,
    );
    let result = blocking(move || {
        st.db
            .transaction(|conn| crate::leads::files::add(conn, &who, &lid, files, max, now))
    })
    .await;
    submitted!(result, s, Ok(_) => &format!("/leads/{id}?ok=step"), Invalid(errors) => detail_page(&state, &s, &req, &id, &errors).await)
}

async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = signed_in!(ps, req);
    let (lead_id, file_id) = path.into_inner();
    let (st, who) = (state.clone(), s.principal.clone());
    let (a, bytes) = blocking(move || {
        st.db
            .read(|conn| crate::leads::files::open(conn, &who, &lead_id, &file_id))
    })
    .await
    .page(&s)?;
    Ok(crate::web::file_download(
        &a.content_type,
        &a.file_name,
        bytes,
    ))
}
