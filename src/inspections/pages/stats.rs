//! 检查指标: the three city targets per department, drawn and tabled.

use crate::platform::error::AppError;
use crate::web::extract::PageSession;
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use actix_web::{web, HttpRequest};
use chrono::Datelike;

/// 检查指标: the three city targets per department, drawn and tabled, with the export.
pub(super) async fn stats_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    use crate::platform::rules::chart::{bars, Bar};
    let s = signed_in!(ps, req);
    let q = web::Query::<crate::leads::stats::StatsQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let today = state.today();
    let (from, to) = crate::leads::stats::period(&q, today).page(&s)?;
    let targets = crate::inspections::stats::Targets::of(&state.settings.inspection);
    let (st, who) = (state.clone(), s.principal.clone());
    let figures = blocking(move || {
        st.db.read_lagging(|conn| {
            crate::inspections::stats::stats(conn, &who, from, to, today, targets)
        })
    })
    .await
    .page(&s)?;
    let pct = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v}%"));
    let shown: Vec<&crate::inspections::stats::DepartmentFigures> = figures
        .departments
        .iter()
        .filter(|d| {
            d.tasks > 0 || d.planned > 0 || d.ratings > 0 || d.hazards_open + d.hazards_closed > 0
        })
        .collect();
    let chart =
        |title: &str,
         target: f64,
         f: fn(&crate::inspections::stats::DepartmentFigures) -> Option<f64>| {
            let rows: Vec<Bar> = shown
                .iter()
                .map(|d| Bar {
                    label: d.name.clone(),
                    value: f(d),
                    text: pct(f(d)),
                })
                .collect();
            bars(title, &rows, 100.0, (target > 0.0).then_some(target))
        };
    let charts = if shown.is_empty() {
        Vec::new()
    } else {
        vec![
            chart("部门联合率", figures.targets.joint_rate, |d| {
                d.joint_rate
            }),
            chart(
                "计划内联合检查实施率",
                figures.targets.plan_done_rate,
                |d| d.plan_done_rate,
            ),
            chart("企业满意度", figures.targets.satisfaction_rate, |d| {
                d.satisfaction_rate
            }),
        ]
    };
    let mut charts = charts;
    if figures.months.len() > 1 && figures.months.iter().any(|m| m.district.tasks > 0) {
        use crate::platform::rules::chart::{columns, Series};
        let periods: Vec<String> = figures.months.iter().map(|m| m.month.clone()).collect();
        charts.push(columns(
            "每月检查任务（全区）",
            &periods,
            &[
                Series {
                    name: "检查任务".into(),
                    colour: "#4a78b5",
                    values: figures.months.iter().map(|m| m.district.tasks).collect(),
                },
                Series {
                    name: "联合检查".into(),
                    colour: "#2e8b57",
                    values: figures
                        .months
                        .iter()
                        .map(|m| m.district.joint_tasks)
                        .collect(),
                },
                Series {
                    name: "新发现隐患".into(),
                    colour: "#d9822b",
                    values: figures
                        .months
                        .iter()
                        .map(|m| m.district.hazards_open + m.district.hazards_closed)
                        .collect(),
                },
            ],
        ));
        let monthly: Vec<Bar> = figures
            .months
            .iter()
            .map(|m| Bar {
                label: m.month.clone(),
                value: m.district.joint_rate,
                text: pct(m.district.joint_rate),
            })
            .collect();
        let target = figures.targets.joint_rate;
        charts.push(bars(
            "每月联合检查占比（全区）",
            &monthly,
            100.0,
            (target > 0.0).then_some(target),
        ));
    }
    let rows = shown
        .iter()
        .map(|d| {
            vec![
                cell(&d.name),
                cell(format!("{} / {}", d.joint_tasks, d.tasks)),
                cell(pct(d.joint_rate)),
                cell(format!("{} / {}", d.planned_done, d.planned)),
                cell(pct(d.plan_done_rate)),
                cell(format!("{} / {}", d.satisfied, d.ratings)),
                cell(pct(d.satisfaction_rate)),
                cell(format!(
                    "{} / {} / {}",
                    d.hazards_open, d.hazards_overdue, d.hazards_closed
                )),
                cell(d.overrides.to_string()),
            ]
        })
        .collect();
    let query = format!("from={from}&to={to}");
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "检查指标", "/inspections").await,
        heading: "综合查一次 · 检查指标".into(),
        intro: Some(format!(
            "{from} 至 {to}（按检查开始日期；图中逐月，导出的表格另有“按月”一页）。2026 年目标：部门联合率 ≥ {}%，计划内联合检查实施率 > {}%，企业满意度 ≥ {}%。",
            figures.targets.joint_rate, figures.targets.plan_done_rate, figures.targets.satisfaction_rate
        )),
        new_link: None,
        filters: vec![
            Field::new("from", "开始日期", "date", from.to_string()),
            Field::new("to", "结束日期", "date", to.to_string()),
        ],
        filter_action: "/inspections/stats".into(),
        result: None,
        headers: vec![
            "部门", "联合检查 / 全部", "部门联合率", "已实施 / 计划", "计划实施率", "满意 / 评价", "企业满意度",
            "隐患 未销号 / 逾期 / 已销号", "重复检查理由",
        ],
        rows,
        next_href: None,
        empty_text: "这段时间没有检查任务。",
        total: None,
        charts,
        export_href: Some(format!("/api/v1/stats/inspections.xlsx?{query}")),
        post_buttons: Vec::new(),
        more_links: {
            let first = today.with_day(1).unwrap_or(today);
            let last_month = first.pred_opt().unwrap_or(first);
            let last_first = last_month.with_day(1).unwrap_or(last_month);
            let year_first = today.with_ordinal(1).unwrap_or(today);
            vec![
                (format!("/inspections/stats?from={first}&to={today}"), "本月".into()),
                (format!("/inspections/stats?from={last_first}&to={last_month}"), "上月".into()),
                (format!("/inspections/stats?from={year_first}&to={today}"), "本年（逐月）".into()),
                ("/inspections".into(), "检查任务".into()),
            ]
        },
    };
    Ok(render(&page))
}
