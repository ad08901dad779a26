//! 关闭退出 in the browser: the cases (filters, chart, Excel), the opening form and the
//! board here; a case's page with its checklist, acceptance and extension in `case`; the
//! watch on closed mines and the patrol from a phone in `watch`.

mod case;
mod watch;

use std::collections::HashMap;

use actix_web::{web, HttpRequest};

use crate::closures::rules::{Basis, CaseState, ClosureKind};
use crate::closures::{self as closures, policy, CaseQuery, NewClosure};
use crate::platform::error::{AppError, FieldError};
use crate::platform::rules::chart::{self, Bar};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::*;
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    // Before the case's `/closures/{id}`.
    cfg.route("/closures", web::get().to(list))
        .route("/closures", web::post().to(create))
        .route("/closures/new", web::get().to(new_form))
        .route("/closures/board", web::get().to(board))
        .route("/closures/export.xlsx", web::get().to(export));
    case::routes(cfg);
    watch::routes(cfg);
}

pub(super) fn options_of<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> Vec<(String, String)> {
    std::iter::once((String::new(), "全部".to_owned()))
        .chain(
            all.iter()
                .map(|v| (code(*v).to_owned(), label(*v).to_owned())),
        )
        .collect()
}

pub(super) async fn departments(
    state: &web::Data<AppState>,
) -> Result<Vec<(String, String)>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|c| {
            Ok(crate::reference::departments(c)?
                .into_iter()
                .filter(|d| d.active != 0)
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

/// 关闭退出台账: filters, a chart by kind, Excel export, keyset pages.
async fn list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let raw = query_without_flash(&req);
    let q = web::Query::<CaseQuery>::from_query(&raw)
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let f = q.filter().page(&s)?;
    let limit = crate::platform::pagination::limit(q.limit).page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let (rows, next, board) = blocking(move || {
        st.db.read(|c| {
            let (rows, next) = closures::list(c, &who, now, &f, limit)?;
            Ok((rows, next, crate::closures::board::kinds(c, &who)?))
        })
    })
    .await
    .page(&s)?;
    let deps = departments(&state).await.page(&s)?;
    let table = rows
        .iter()
        .map(|c| {
            vec![
                link(&c.number, format!("/closures/{}", c.id)),
                link(&c.mine_name, format!("/mines/{}", c.mine_id)),
                cell(c.kind_label),
                cell(&c.owner_name),
                cell(format!("{} {}", c.issuing_body, c.decision_number)),
                cell(c.target_on.to_string()),
                Cell {
                    text: if c.overdue {
                        format!("逾期 · {}", c.state_label)
                    } else {
                        c.state_label.to_owned()
                    },
                    href: None,
                    class: if c.overdue { "badge-off" } else { "" }.into(),
                },
                cell(format!("{} / {}", c.open_tasks, c.tasks.len())),
            ]
        })
        .collect();
    let chart = chart::bars(
        "各类关闭退出案件（办理中 / 已验收）",
        &board
            .kinds
            .iter()
            .map(|k| Bar {
                label: k.kind_label.to_owned(),
                value: Some((k.open + k.accepting + k.rejected + k.accepted) as f64),
                text: format!("{} / {}", k.open + k.accepting + k.rejected, k.accepted),
            })
            .collect::<Vec<_>>(),
        board
            .kinds
            .iter()
            .map(|k| (k.open + k.accepting + k.rejected + k.accepted) as f64)
            .fold(1.0, f64::max),
        None,
    );
    let mut dep_opts = vec![(String::new(), "全部".to_owned())];
    dep_opts.extend(deps.iter().cloned());
    let next_href = next.map(|c| {
        let mut base: Vec<(String, String)> = serde_urlencoded::from_str(&raw).unwrap_or_default();
        base.retain(|(k, _)| k != "cursor");
        base.push(("cursor".into(), c));
        format!(
            "/closures?{}",
            serde_urlencoded::to_string(base).unwrap_or_default()
        )
    });
    let may_open = ClosureKind::ALL
        .iter()
        .any(|k| policy::may_open(&s.principal, *k));
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "关闭退出", "/closures").await,
        heading: "关闭退出台账".into(),
        intro: Some("政府决定关闭、取缔、不具备安全生产条件关闭、尾矿库闭库、采矿权到期和产业政策淘汰：每个案件按任务清单由各部门办理，全部完成后联合验收，验收通过才变更为“已关闭”。".into()),
        new_link: may_open.then(|| ("/closures/new".to_owned(), "立案".to_owned())),
        filters: vec![
            Field::new("state", "状态", "select", q.state.clone().unwrap_or_default())
                .options(options_of(CaseState::ALL, CaseState::code, CaseState::label)),
            Field::new("kind", "类型", "select", q.kind.clone().unwrap_or_default())
                .options(options_of(ClosureKind::ALL, ClosureKind::code, ClosureKind::label)),
            Field::new("owner", "牵头部门", "select", q.owner.clone().unwrap_or_default())
                .options(dep_opts.clone()),
            Field::new(
                "task_department",
                "有待办任务的部门",
                "select",
                q.task_department.clone().unwrap_or_default(),
            )
            .options(dep_opts),
        ],
        filter_action: "/closures".into(),
        result: None,
        headers: vec!["编号", "矿山", "类型", "牵头部门", "决定书", "目标日期", "状态", "待完成任务"],
        rows: table,
        next_href,
        empty_text: "没有符合条件的关闭退出案件。",
        total: Some(board.live + board.accepted),
        charts: vec![chart],
        export_href: Some(format!("/closures/export.xlsx?{raw}")),
        post_buttons: Vec::new(),
        more_links: vec![
            ("/closures/board".into(), "关闭退出看板".into()),
            ("/closed-mines".into(), "已关闭矿山复产巡查".into()),
        ],
    };
    Ok(render(&page))
}

async fn export(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<CaseQuery>::from_query(&query_without_flash(&req))
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let f = q.filter().page(&s)?;
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let bytes = blocking(move || st.db.read_lagging(|c| closures::workbook(c, &who, now, &f)))
        .await
        .page(&s)?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(crate::platform::xlsx::XLSX)
        .insert_header((
            "content-disposition",
            crate::platform::xlsx::attachment("closures.xlsx", "关闭退出台账.xlsx"),
        ))
        .body(bytes))
}

#[derive(serde::Deserialize, Default, Clone)]
struct OpenForm {
    #[serde(default)]
    mine_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    decision_number: String,
    #[serde(default)]
    decided_on: String,
    #[serde(default)]
    issuing_body: String,
    #[serde(default)]
    basis: String,
    #[serde(default)]
    basis_ref: String,
    #[serde(default)]
    target_on: String,
    #[serde(default)]
    stop_on: String,
    #[serde(default)]
    owner_department: String,
    #[serde(default)]
    lead_id: String,
    #[serde(default)]
    site_name: String,
    #[serde(default)]
    site_mine_type: String,
}

async fn open_page(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    f: &OpenForm,
    errors: &[FieldError],
) -> PageResult {
    let mine_name = if f.mine_id.is_empty() {
        String::new()
    } else {
        let (st, id) = (state.clone(), f.mine_id.clone());
        blocking(move || st.db.read(|c| crate::register::mines::names(c, &[id])))
            .await
            .page(s)?
            .remove(&f.mine_id)
            .unwrap_or_default()
    };
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "请选择".to_owned()))
        .chain(
            ClosureKind::ALL
                .iter()
                .filter(|k| policy::may_open(&s.principal, **k))
                .map(|k| (k.code().to_owned(), k.label().to_owned())),
        )
        .collect();
    let bases: Vec<(String, String)> = Basis::ALL
        .iter()
        .map(|b| (b.code().to_owned(), b.label().to_owned()))
        .collect();
    let mut fields = vec![
        Field::new("mine_id", "矿山编号", "text", &f.mine_id)
            .help(if mine_name.is_empty() {
                "矿山页面地址中的编号；在矿山页面点“立案关闭退出”会自动填好。".to_owned()
            } else {
                format!("矿山：{mine_name}")
            }),
        Field::new("kind", "关闭退出类型", "select", &f.kind)
            .options(kinds)
            .required(),
        Field::new("decision_number", "决定书文号", "text", &f.decision_number).required(),
        Field::new("decided_on", "决定日期", "date", &f.decided_on).required(),
        Field::new("issuing_body", "决定机关", "text", &f.issuing_body).required(),
        Field::new(
            "basis",
            "立案依据",
            "select",
            if f.basis.is_empty() {
                "document"
            } else {
                f.basis.as_str()
            },
        )
        .options(bases),
        Field::new("basis_ref", "依据编号", "text", &f.basis_ref)
            .help("会商议定事项编号（如 HS-2026-007-2）、线索编号（XS-…）、隐患编号或文件名称。"),
        Field::new("target_on", "完成验收的目标日期", "date", &f.target_on)
            .help("尾矿库闭库可不填：为停用后一年。"),
        Field::new("stop_on", "尾矿库计划停用日期", "date", &f.stop_on)
            .only_when("kind", "tailings_closure", &f.kind)
            .help("闭库设计期限为停用前 12 个月，闭库销号期限为停用后一年。"),
        Field::new(
            "owner_department",
            "牵头部门（产业政策淘汰：DRC 或 MIIT）",
            "text",
            &f.owner_department,
        )
        .only_when("kind", "policy_elimination", &f.kind),
        Field::new("lead_id", "发现非法开采点的线索编号（内部编号）", "text", &f.lead_id)
            .only_when("kind", "ban_illegal", &f.kind)
            .help("非法开采点尚未登记时填写（不填矿山编号），立案时按线索的位置和街镇登记为“非法开采点”。"),
        Field::new("site_name", "非法开采点名称", "text", &f.site_name)
            .only_when("kind", "ban_illegal", &f.kind),
        Field::new("site_mine_type", "非法开采点的矿山类型", "select", &f.site_mine_type)
            .options(
                std::iter::once((String::new(), "请选择".to_owned()))
                    .chain(
                        crate::register::rules::mine::MineType::ALL
                            .iter()
                            .map(|t| (t.code().to_owned(), t.label().to_owned())),
                    )
                    .collect(),
            )
            .only_when("kind", "ban_illegal", &f.kind),
    ];
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "关闭退出立案", "/closures").await,
        heading: "关闭退出立案".into(),
        intro: Some(
            "立案后矿山变更为“临近关闭退出”，按类型生成各部门的任务清单并通知各部门。".into(),
        ),
        errors: general,
        editable: true,
        action: "/closures".into(),
        fields,
        submit_label: "立案",
        back_href: Some("/closures".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render_form(&page, !errors.is_empty()))
}

async fn new_form(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q: HashMap<String, String> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let get = |k: &str| {
        q.get(k)
            .cloned()
            .unwrap_or_default()
            .chars()
            .take(100)
            .collect::<String>()
    };
    let f = OpenForm {
        mine_id: get("mine_id"),
        kind: get("kind"),
        basis: get("basis"),
        basis_ref: get("basis_ref"),
        lead_id: get("lead_id"),
        ..Default::default()
    };
    open_page(&state, &s, &req, &f, &[]).await
}

async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<OpenForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let opt = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
    let input = NewClosure {
        mine_id: f.mine_id.clone(),
        kind: f.kind.clone(),
        decision_number: f.decision_number.clone(),
        decided_on: f.decided_on.clone(),
        issuing_body: f.issuing_body.clone(),
        basis: f.basis.clone(),
        basis_ref: opt(&f.basis_ref),
        target_on: opt(&f.target_on),
        stop_on: opt(&f.stop_on),
        owner_department: opt(&f.owner_department),
        lead_id: opt(&f.lead_id),
        site_name: opt(&f.site_name),
        site_mine_type: opt(&f.site_mine_type),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || st.db.transaction(|c| closures::open(c, &who, now, input))).await;
    match result {
        Ok(case) => Ok(redirect(&format!("/closures/{}?ok=saved", case.id))),
        Err(AppError::Validation(errors)) => open_page(&state, &s, &req, &f, &errors).await,
        Err(e @ (AppError::Refused { .. } | AppError::InvalidTransition(_))) => {
            let message = e.problem().detail;
            open_page(&state, &s, &req, &f, &[FieldError::new("mine_id", message)]).await
        }
        Err(e) => Err(PageError(e, Some(Box::new(s)))),
    }
}

/// 关闭退出看板 with its charts.
async fn board(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let b = blocking(move || st.db.read(|c| crate::closures::board::board(c, &who, now)))
        .await
        .page(&s)?;
    let kinds_chart = chart::bars(
        "办理中的案件（按类型）",
        &b.kinds
            .iter()
            .map(|k| Bar {
                label: k.kind_label.to_owned(),
                value: Some((k.open + k.accepting + k.rejected) as f64),
                text: format!(
                    "{} 件（待验收 {}）",
                    k.open + k.accepting + k.rejected,
                    k.accepting
                ),
            })
            .collect::<Vec<_>>(),
        b.kinds
            .iter()
            .map(|k| (k.open + k.accepting + k.rejected) as f64)
            .fold(1.0, f64::max),
        None,
    );
    let overdue_chart = chart::bars(
        "逾期任务（按部门）",
        &b.overdue
            .iter()
            .map(|o| Bar {
                label: o.name.clone(),
                value: Some(o.overdue_tasks as f64),
                text: format!("{} 项", o.overdue_tasks),
            })
            .collect::<Vec<_>>(),
        b.overdue
            .iter()
            .map(|o| o.overdue_tasks as f64)
            .fold(1.0, f64::max),
        None,
    );
    let rows = b
        .kinds
        .iter()
        .map(|k| {
            vec![
                cell(k.kind_label),
                link(
                    k.open.to_string(),
                    format!("/closures?kind={}&state=open", k.kind.code()),
                ),
                link(
                    k.accepting.to_string(),
                    format!("/closures?kind={}&state=accepting", k.kind.code()),
                ),
                link(
                    k.rejected.to_string(),
                    format!("/closures?kind={}&state=rejected", k.kind.code()),
                ),
                link(
                    k.accepted.to_string(),
                    format!("/closures?kind={}&state=accepted", k.kind.code()),
                ),
                cell(
                    k.mean_days
                        .map(|d| format!("{d} 天"))
                        .unwrap_or_else(|| "—".into()),
                ),
            ]
        })
        .chain(b.tailings.iter().map(|t| {
            vec![
                link(
                    format!("尾矿库闭库 {} {}", t.number, t.mine_name),
                    format!("/closures/{}", t.case_id),
                ),
                cell(format!(
                    "停用 {}",
                    t.stop_on.map(|d| d.to_string()).unwrap_or_default()
                )),
                cell(format!(
                    "闭库设计 {}",
                    t.design_due_on.map(|d| d.to_string()).unwrap_or_default()
                )),
                cell(format!(
                    "闭库销号 {}{}",
                    t.closure_due_on,
                    if t.extended_months > 0 {
                        format!("（已延长 {} 个月）", t.extended_months)
                    } else {
                        String::new()
                    }
                )),
                cell(t.state_label),
                cell(if t.overdue { "已逾期" } else { "" }),
            ]
        }))
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "关闭退出看板", "/closures").await,
        heading: "关闭退出看板".into(),
        intro: Some(format!(
            "办理中 {} 件，已验收关闭 {} 件{}；已关闭矿山纳入复产监管 {} 座。",
            b.live,
            b.accepted,
            b.mean_days
                .map(|d| format!("，从决定到验收平均 {d} 天"))
                .unwrap_or_default(),
            b.watched
        )),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/closures/board".into(),
        result: None,
        headers: vec![
            "类型",
            "办理中",
            "待验收",
            "验收未通过",
            "验收通过",
            "决定到验收平均天数",
        ],
        rows,
        next_href: None,
        empty_text: "还没有关闭退出案件。",
        total: None,
        charts: vec![kinds_chart, overdue_chart],
        export_href: Some("/closures/export.xlsx".into()),
        post_buttons: Vec::new(),
        more_links: vec![
            ("/closures".into(), "关闭退出台账".into()),
            ("/closed-mines".into(), "已关闭矿山复产巡查".into()),
        ],
    };
    Ok(render(&page))
}
