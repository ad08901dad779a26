//! Permit pages: a mine's permits, recording one, the permit page with its decisions,
//! and the list of what is due (到期提醒).

use crate::web::kit::signed_in;
use crate::web::kit::submitted;
use std::collections::HashMap;

use actix_web::{web, HttpRequest};
use serde::Deserialize;

use crate::platform::authz::{self, Action, Principal};
use crate::platform::error::{AppError, FieldError};
use crate::reference::PermitType;
use crate::register::permits::{self, Decision, Permit, PermitInput, PermitQuery, PermitStatus};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::{
    attach_errors, badge, cell, entity_history, link, page_ctx, render, ActionButton, Cell, Field,
    FormPage, PageError, PageResult, SubTable, TablePage, WithSession,
};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mines/{id}/permits", web::post().to(record_permit))
        .route("/permits", web::get().to(permits_list))
        .route("/permits/{id}", web::get().to(permit_page))
        .route("/permits/{id}", web::post().to(permit_save))
        .route("/permits/{id}/{decision}", web::post().to(permit_decide));
}

fn status_cell(status: PermitStatus) -> Cell {
    let class = match status {
        PermitStatus::Valid => "badge-on",
        PermitStatus::Expiring => "grade-significant",
        _ => "badge-off",
    };
    badge(status.label(), class)
}

fn dept_name(names: &HashMap<String, String>, code: &str) -> String {
    names.get(code).cloned().unwrap_or_else(|| code.to_owned())
}

/// The permits table on a mine's page.
pub(crate) async fn mine_permits_table(
    state: &web::Data<AppState>,
    departments: &HashMap<String, String>,
    mine_id: &str,
) -> Result<SubTable, AppError> {
    let st = state.clone();
    let id = mine_id.to_owned();
    let today = state.today();
    let (rows, types) = blocking(move || {
        st.db
            .read(|conn| Ok((permits::for_mine(conn, &id)?, permits::types_by_code(conn)?)))
    })
    .await?;
    let rows = rows
        .iter()
        .filter_map(|p| types.get(&p.permit_type).map(|t| (p, t)))
        .map(|(p, t)| {
            vec![
                link(&t.name, format!("/permits/{}", p.id)),
                cell(&p.number),
                cell(dept_name(departments, &p.issuing_department)),
                cell(p.issued_on.to_string()),
                cell(
                    p.expires_on
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "长期".into()),
                ),
                status_cell(p.status(t.expiry_warning_days, today)),
            ]
        })
        .collect();
    Ok(SubTable {
        title: "证照".into(),
        headers: vec![
            "证照",
            "证号",
            "发证（监管）部门",
            "发证日期",
            "有效期至",
            "状态",
        ],
        rows,
        empty_text: "尚未登记证照。",
    })
}

fn type_options(types: &[PermitType]) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), "请选择".to_owned())];
    v.extend(types.iter().map(|t| (t.code.clone(), t.name.clone())));
    v
}

#[derive(Deserialize, Default, Clone)]
struct PermitForm {
    #[serde(default)]
    permit_type: String,
    #[serde(default)]
    number: String,
    #[serde(default)]
    holder: String,
    #[serde(default)]
    issued_on: String,
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    mineral: String,
    #[serde(default)]
    scale_10k_t_per_year: String,
    #[serde(default)]
    area_km2: String,
    #[serde(default)]
    elevation_top_m: String,
    #[serde(default)]
    elevation_bottom_m: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    version: String,
}

impl PermitForm {
    fn from_permit(p: &Permit) -> Self {
        let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            permit_type: p.permit_type.clone(),
            number: p.number.clone(),
            holder: p.holder.clone(),
            issued_on: p.issued_on.to_string(),
            expires_on: p.expires_on.map(|d| d.to_string()).unwrap_or_default(),
            mineral: p.mineral.clone(),
            scale_10k_t_per_year: num(p.scale_10k_t_per_year),
            area_km2: num(p.area_km2),
            elevation_top_m: num(p.elevation_top_m),
            elevation_bottom_m: num(p.elevation_bottom_m),
            notes: p.notes.clone(),
            version: p.version.to_string(),
        }
    }

    fn input(&self, is_new: bool) -> Result<PermitInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, v: &str| -> Option<f64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            v.parse::<f64>()
                .map_err(|_| errors.push(FieldError::new(field, "应为数字")))
                .ok()
        };
        let scale = number("scale_10k_t_per_year", &self.scale_10k_t_per_year);
        let area = number("area_km2", &self.area_km2);
        let top = number("elevation_top_m", &self.elevation_top_m);
        let bottom = number("elevation_bottom_m", &self.elevation_bottom_m);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PermitInput {
            permit_type: is_new.then(|| self.permit_type.clone()),
            number: Some(self.number.clone()),
            holder: Some(self.holder.clone()),
            issued_on: Some(self.issued_on.clone()),
            expires_on: Some(self.expires_on.clone()),
            mineral: Some(self.mineral.clone()),
            scale_10k_t_per_year: scale,
            area_km2: area,
            elevation_top_m: top,
            elevation_bottom_m: bottom,
            notes: Some(self.notes.clone()),
            version: if is_new {
                None
            } else {
                self.version.parse().ok()
            },
        })
    }

    fn fields(&self, types: Option<&[PermitType]>) -> Vec<Field> {
        let mut f = Vec::new();
        if let Some(types) = types {
            f.push(
                Field::new("permit_type", "证照类型", "select", &self.permit_type)
                    .options(type_options(types))
                    .required(),
            );
        }
        f.extend([
            Field::new("number", "证号", "text", &self.number).required(),
            Field::new("holder", "持证人", "text", &self.holder).required(),
            Field::new("issued_on", "发证日期", "date", &self.issued_on).required(),
            Field::new("expires_on", "有效期至", "date", &self.expires_on)
                .help("长期有效的批复可不填。"),
            Field::new("mineral", "矿种", "text", &self.mineral),
            Field::new(
                "scale_10k_t_per_year",
                "生产规模（万吨/年）",
                "text",
                &self.scale_10k_t_per_year,
            ),
            Field::new("area_km2", "矿区面积（平方公里）", "text", &self.area_km2)
                .help("保留 4 位小数。"),
            Field::new(
                "elevation_top_m",
                "开采深度上限标高（米）",
                "text",
                &self.elevation_top_m,
            ),
            Field::new(
                "elevation_bottom_m",
                "开采深度下限标高（米）",
                "text",
                &self.elevation_bottom_m,
            ),
            Field::new("notes", "备注", "textarea", &self.notes),
        ]);
        if types.is_none() {
            f.push(Field::new("version", "", "hidden", &self.version));
        }
        f
    }
}

/// Permit types this user may record (谁审批、谁监管).
async fn issuable_types(
    state: &web::Data<AppState>,
    who: &Principal,
) -> Result<Vec<PermitType>, AppError> {
    let st = state.clone();
    let types = blocking(move || st.db.read(crate::reference::permit_types)).await?;
    Ok(types
        .into_iter()
        .filter(|t| t.active != 0 && crate::register::policy::may_issue(who, &t.issuing_department))
        .collect())
}

/// The "登记证照" form on a mine's page, for departments that issue permits.
pub(crate) async fn record_action(
    state: &web::Data<AppState>,
    who: &Principal,
    mine_id: &str,
) -> Result<Option<ActionButton>, AppError> {
    let types = issuable_types(state, who).await?;
    if types.is_empty() {
        return Ok(None);
    }
    let fields = PermitForm::default()
        .fields(Some(&types))
        .into_iter()
        .map(|f| f.in_form("permit"))
        .collect();
    Ok(Some(ActionButton {
        href: format!("/mines/{mine_id}/permits"),
        label: "登记证照",
        confirm: String::new(),
        style: "secondary",
        fields,
    }))
}

async fn record_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    mine_id: &str,
    form: &PermitForm,
    errors: &[FieldError],
) -> PageResult {
    let types = issuable_types(state, &s.principal).await.page(s)?;
    let mut fields = form.fields(Some(&types));
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "登记证照", "/mines").await,
        heading: "登记证照".into(),
        intro: Some("谁审批、谁监管：只能登记本部门审批的证照。".into()),
        errors: general,
        editable: true,
        action: format!("/mines/{mine_id}/permits"),
        fields,
        submit_label: "登记",
        back_href: Some(format!("/mines/{mine_id}")),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    let mut resp = render(&page);
    *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    Ok(resp)
}

async fn record_permit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<PermitForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let today = state.today();
    let now = state.clock.now_naive();
    let result = match f.input(true) {
        Ok(input) => {
            let (st, who, mid) = (state.clone(), s.principal.clone(), id.clone());
            blocking(move || {
                st.db
                    .transaction(|conn| permits::create(conn, &who, now, today, &mid, input))
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok((p, _)) => &format!("/mines/{}?ok=permit", p.mine_id), Invalid(errors) => record_form(&state, &s, &req, &id, &f, &errors).await)
}

async fn permits_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewMines).page(&s)?;
    let q = web::Query::<PermitQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
        .page(&s)?;
    let today = state.today();
    let st = state.clone();
    let query = q.clone();
    let (rows, next, types, departments, mines) = blocking(move || {
        st.db.read_lagging(|conn| {
            let (rows, next) = permits::list(conn, &query, today)?;
            let types = permits::types_by_code(conn)?;
            let departments: HashMap<String, String> = crate::reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect();
            // One query for the mines on this page, not one per row.
            let ids: Vec<String> = rows.iter().map(|p| p.mine_id.clone()).collect();
            let mines = crate::register::mines::names(conn, &ids)?;
            Ok((rows, next, types, departments, mines))
        })
    })
    .await
    .page(&s)?;
    let table_rows = rows
        .iter()
        .filter_map(|p| types.get(&p.permit_type).map(|t| (p, t)))
        .map(|(p, t)| {
            vec![
                link(&t.name, format!("/permits/{}", p.id)),
                cell(&p.number),
                link(
                    mines.get(&p.mine_id).cloned().unwrap_or_default(),
                    format!("/mines/{}", p.mine_id),
                ),
                cell(dept_name(&departments, &p.issuing_department)),
                cell(
                    p.expires_on
                        .map(|d| d.to_string())
                        .unwrap_or_else(|| "长期".into()),
                ),
                cell(
                    p.expires_on
                        .map(|d| format!("{} 天", (d - today).num_days()))
                        .unwrap_or_default(),
                ),
                status_cell(p.status(t.expiry_warning_days, today)),
            ]
        })
        .collect();
    let mut type_opts = vec![(String::new(), "全部证照".to_owned())];
    let mut sorted: Vec<&PermitType> = types.values().collect();
    sorted.sort_by_key(|t| t.sort_order);
    type_opts.extend(sorted.iter().map(|t| (t.code.clone(), t.name.clone())));
    let mut dept_opts = vec![(String::new(), "全部部门".to_owned())];
    let mut deps: Vec<(String, String)> = departments
        .iter()
        .map(|(c, n)| (c.clone(), n.clone()))
        .collect();
    deps.sort();
    dept_opts.extend(deps);
    let mut status_opts = vec![(String::new(), "全部状态".to_owned())];
    status_opts.extend(
        PermitStatus::ALL
            .iter()
            .map(|s| (s.code().to_owned(), s.label().to_owned())),
    );
    let filters = vec![
        Field::new(
            "expiring_within_days",
            "到期时间",
            "select",
            q.expiring_within_days.clone().unwrap_or_default(),
        )
        .options(vec![
            (String::new(), "不限".into()),
            ("7".into(), "7 天内到期".into()),
            ("30".into(), "30 天内到期".into()),
            ("60".into(), "60 天内到期".into()),
            ("90".into(), "90 天内到期".into()),
            ("180".into(), "180 天内到期".into()),
        ]),
        Field::new(
            "permit_type",
            "证照类型",
            "select",
            q.permit_type.clone().unwrap_or_default(),
        )
        .options(type_opts),
        Field::new(
            "department",
            "发证部门",
            "select",
            q.department.clone().unwrap_or_default(),
        )
        .options(dept_opts),
        Field::new(
            "status",
            "状态",
            "select",
            q.status.clone().unwrap_or_default(),
        )
        .options(status_opts),
        Field::new("q", "证号或持证人", "text", q.q.clone().unwrap_or_default()),
    ];
    let next_href = next.map(|c| {
        let mut q2 = q.clone();
        q2.cursor = Some(c);
        format!(
            "/permits?{}",
            serde_urlencoded::to_string(&q2).unwrap_or_default()
        )
    });
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "证照与到期提醒", "/permits").await,
        heading: "证照与到期提醒".into(),
        intro: Some("按有效期由近到远排列。安全生产许可证期满前 3 个月应申请延期，采矿许可证到期前 30 日前应申请延续。".into()),
        new_link: None,
        filters,
        filter_action: "/permits".into(),
        result: None,
        headers: vec!["证照", "证号", "矿山", "发证（监管）部门", "有效期至", "剩余", "状态"],
        rows: table_rows,
        next_href,
        empty_text: "没有符合条件的证照。",
        total: None,
        charts: Vec::new(),
        export_href: Some(format!("/api/v1/permits/export.xlsx?{}", serde_urlencoded::to_string(PermitQuery { cursor: None, limit: None, ..q.clone() }).unwrap_or_default())),
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

async fn permit_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    form: Option<&PermitForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let pid = id.to_owned();
    let (p, t) = blocking(move || st.db.read(|conn| permits::find(conn, &pid)))
        .await
        .page(s)?;
    if !crate::register::policy::may_view_mine(&s.principal, &p.mine_id) {
        return Err(PageError(
            AppError::Forbidden("您只能查看本企业的证照。".into()),
            Some(Box::new(s.clone())),
        ));
    }
    let today = state.today();
    let status = p.status(t.expiry_warning_days, today);
    let loaded = PermitForm::from_permit(&p);
    let f = form.unwrap_or(&loaded);
    let mut fields = f.fields(None);
    let mut general = attach_errors(&mut fields, errors);
    if form.is_none() && !errors.is_empty() {
        general = errors.iter().map(|e| e.message.clone()).collect();
    }
    let can_issue = crate::register::policy::may_issue(&s.principal, &p.issuing_department);
    let mut actions = Vec::new();
    if can_issue {
        let decided = p.status_override;
        let mut add = |what: &str, label: &'static str, style: &'static str, confirm: &str| {
            actions.push(ActionButton {
                href: format!("/permits/{id}/{what}"),
                label,
                confirm: confirm.to_owned(),
                style,
                fields: vec![Field::new("reason", "依据或原因", "text", "")
                    .required()
                    .in_form(what)
                    .help("如处罚决定书文号。")],
            });
        };
        match decided {
            None => {
                add("suspend", "暂扣", "secondary", "");
                add("revoke", "吊销", "danger", "吊销后不能恢复，确定吗？");
                add("cancel", "注销", "danger", "注销后不能恢复，确定吗？");
            }
            Some(PermitStatus::Suspended) => {
                add("reinstate", "恢复（解除暂扣）", "secondary", "");
                add("revoke", "吊销", "danger", "吊销后不能恢复，确定吗？");
                add("cancel", "注销", "danger", "注销后不能恢复，确定吗？");
            }
            Some(_) => {}
        }
    }
    let history = entity_history(state, "permit", id).await.page(s)?;
    let heading = format!("{} {} · {}", t.name, p.number, status.label());
    let intro = format!(
        "发证（监管）部门：{}。{}",
        t.issuing_department,
        if p.override_reason.is_empty() {
            String::new()
        } else {
            format!("依据：{}", p.override_reason)
        }
    );
    let page = FormPage {
        ctx: page_ctx(state, s, req, &heading, "/permits").await,
        heading,
        intro: Some(intro),
        errors: general,
        editable: can_issue,
        action: format!("/permits/{id}"),
        fields,
        submit_label: "保存修改",
        back_href: Some(format!("/mines/{}", p.mine_id)),
        actions,
        history,
        links: vec![(format!("/mines/{}", p.mine_id), "所属矿山".to_owned())],
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

async fn permit_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    permit_form(&state, &s, &req, &id, None, &[]).await
}

async fn permit_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<PermitForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let (today, now) = (state.today(), state.clock.now_naive());
    let result = match f.input(false) {
        Ok(input) => {
            let (st, who, pid) = (state.clone(), s.principal.clone(), id.clone());
            blocking(move || {
                st.db
                    .transaction(|conn| permits::update(conn, &who, now, today, &pid, input))
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok((p, _)) => &format!("/mines/{}?ok=permit", p.mine_id), Invalid(errors) => {
        permit_form(&state, &s, &req, &id, Some(&f), &errors).await
    })
}

#[derive(Deserialize)]
struct ReasonForm {
    #[serde(default)]
    reason: String,
}

async fn permit_decide(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ReasonForm>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let s = form.session;
    let (id, what) = path.into_inner();
    let decision = Decision::parse(&what)
        .ok_or_else(|| AppError::NotFound("没有这个操作。".into()))
        .page(&s)?;
    let now = state.clock.now_naive();
    let (st, who, pid, reason) = (
        state.clone(),
        s.principal.clone(),
        id.clone(),
        form.form.reason,
    );
    let result = blocking(move || {
        st.db
            .transaction(|conn| permits::decide(conn, &who, now, &pid, decision, &reason))
    })
    .await;
    submitted!(result, s, Ok(_) => &format!("/permits/{id}?ok=saved"), Invalid(errors) => {
        permit_form(&state, &s, &req, &id, None, &errors).await
    })
}
