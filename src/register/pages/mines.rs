//! Pages of the mine register, and the public disclosure pages (向社会公告、井口公示).

use crate::web::kit::signed_in;
use crate::web::kit::submitted;
use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use crate::platform::authz::{self, Action};
use crate::platform::clock::local_time;
use crate::platform::error::{AppError, FieldError};
use crate::register::api::mines::{change_mine, load_mine};
use crate::register::mines::{
    self, Mine, MineInput, MineQuery, RiskGradeChange, StatusChange, SupervisorChange,
};
use crate::register::rules::mine::{MineStatus, MineType, MiningMethod, TailingsSafety};
use crate::register::rules::risk_grade::{RiskGrade, ALL_GRADES};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::{
    attach_errors, cell, link, page_ctx, render, ActionButton, Cell, Field, FormPage, PageCtx,
    PageError, PageResult, TablePage, WithSession,
};
use crate::web::{blocking, AppState};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/mines", web::get().to(mines_list))
        .route("/mines/new", web::get().to(mine_new))
        .route("/mines/new", web::post().to(mine_create))
        .route("/mines/gaps", web::get().to(gaps_list))
        .route("/mines/import", web::get().to(import_page))
        .route("/mines/{id}", web::get().to(mine_page))
        .route("/mines/{id}", web::post().to(mine_save))
        .route("/mines/{id}/edit", web::get().to(mine_edit))
        .route("/mines/{id}/status", web::post().to(mine_status))
        .route("/mines/{id}/risk-grade", web::post().to(mine_grade))
        .route("/mines/{id}/supervisor", web::post().to(mine_supervisor))
        .route("/mines/{id}/boundary", web::post().to(mine_boundary))
        .route("/prohibited-zones", web::get().to(zones_page))
        .route("/prohibited-zones", web::post().to(zone_create))
        .route("/public/mines", web::get().to(public_list))
        .route("/public/mines/{id}", web::get().to(public_mine))
        .route("/public/mines/{id}/placard", web::get().to(placard));
}

/// Department and township names by code, for display.
struct Names {
    departments: HashMap<String, String>,
    townships: HashMap<String, String>,
}

impl Names {
    fn department(&self, code: &Option<String>) -> String {
        code.as_ref()
            .map(|c| {
                self.departments
                    .get(c)
                    .cloned()
                    .unwrap_or_else(|| c.clone())
            })
            .unwrap_or_else(|| "未确定".into())
    }
    fn township(&self, code: &str) -> String {
        self.townships
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
    fn department_options(&self, first: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .departments
            .iter()
            .map(|(c, n)| (c.clone(), n.clone()))
            .collect();
        v.sort();
        v.insert(0, (String::new(), first.to_owned()));
        v
    }
    fn township_options(&self, first: &str) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .townships
            .iter()
            .map(|(c, n)| (c.clone(), n.clone()))
            .collect();
        v.sort();
        v.insert(0, (String::new(), first.to_owned()));
        v
    }
}

async fn names(state: &web::Data<AppState>) -> Result<Names, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(Names {
                departments: crate::reference::departments(conn)?
                    .into_iter()
                    .map(|d| (d.code, d.name))
                    .collect(),
                townships: crate::reference::townships(conn)?
                    .into_iter()
                    .map(|t| (t.code, t.name))
                    .collect(),
            })
        })
    })
    .await
}

fn options<T: Copy>(
    all: &[T],
    code: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    first: &str,
) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), first.to_owned())];
    v.extend(
        all.iter()
            .map(|t| (code(*t).to_owned(), label(*t).to_owned())),
    );
    v
}

fn grade_options(first: &str) -> Vec<(String, String)> {
    let mut v = vec![(String::new(), first.to_owned())];
    v.extend(ALL_GRADES.iter().map(|g| {
        (
            g.code().to_owned(),
            format!("{}（{}）", g.display(), g.colour_name()),
        )
    }));
    v
}

fn grade_cell(m: &Mine) -> Cell {
    match m.grade() {
        Some(g) => Cell {
            text: g.display(),
            href: None,
            class: format!("grade-{}", g.code()),
        },
        None => Cell {
            text: "未定级".into(),
            href: None,
            class: "gap".into(),
        },
    }
}

fn query_from(req: &HttpRequest) -> Result<MineQuery, AppError> {
    web::Query::<MineQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .map_err(|e| AppError::BadRequest(format!("查询条件有误：{e}")))
}

fn next_href(path: &str, q: &MineQuery, cursor: Option<String>) -> Option<String> {
    cursor.map(|c| {
        let mut q = q.clone();
        q.cursor = Some(c);
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&q).unwrap_or_default()
        )
    })
}

fn filter_fields(q: &MineQuery, names: &Names, full: bool) -> Vec<Field> {
    let mut f = vec![
        Field::new(
            "q",
            "名称、企业或许可证号",
            "text",
            q.q.clone().unwrap_or_default(),
        ),
        Field::new(
            "township",
            "街镇",
            "select",
            q.township.clone().unwrap_or_default(),
        )
        .options(names.township_options("全部街镇")),
    ];
    if full {
        f.push(
            Field::new(
                "mine_type",
                "类型",
                "select",
                q.mine_type.clone().unwrap_or_default(),
            )
            .options(options(
                MineType::ALL,
                MineType::code,
                MineType::label,
                "全部类型",
            )),
        );
        f.push(
            Field::new(
                "status",
                "状态",
                "select",
                q.status.clone().unwrap_or_default(),
            )
            .options(options(
                MineStatus::ALL,
                MineStatus::code,
                MineStatus::label,
                "全部状态",
            )),
        );
        let mut sup = names.department_options("全部部门");
        sup.push(("none".into(), "未确定监管部门".into()));
        f.push(
            Field::new(
                "supervisor_department",
                "监管部门",
                "select",
                q.supervisor_department.clone().unwrap_or_default(),
            )
            .options(sup),
        );
    }
    let mut grades = grade_options("全部等级");
    if full {
        grades.push(("none".into(), "未定级".into()));
    }
    f.push(
        Field::new(
            "risk_grade",
            "风险等级",
            "select",
            q.risk_grade.clone().unwrap_or_default(),
        )
        .options(grades),
    );
    f
}

async fn mines_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewMines).page(&s)?;
    let q = query_from(&req).page(&s)?;
    let names = names(&state).await.page(&s)?;
    let st = state.clone();
    let query = q.clone();
    let (rows, next) = blocking(move || st.db.read_lagging(|conn| mines::list(conn, &query)))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|m| {
            vec![
                link(&m.name, format!("/mines/{}", m.id)),
                cell(&m.enterprise_name),
                cell(names.township(&m.township)),
                cell(m.mine_type.label()),
                cell(m.status().label()),
                cell(names.department(&m.supervisor_department)),
                grade_cell(m),
                cell(
                    m.last_inspected_on
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                ),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "矿山台账", "/mines").await,
        heading: "矿山台账".into(),
        intro: Some(
            "每座矿山，无论处于何种状态，都应明确日常安全监管部门和安全风险等级（严防漏管失控）。"
                .into(),
        ),
        new_link: authz::allowed(&s.principal, Action::EditMines)
            .then(|| ("/mines/new".to_owned(), "登记矿山".to_owned())),
        filters: filter_fields(&q, &names, true),
        filter_action: "/mines".into(),
        result: None,
        headers: vec![
            "矿山",
            "企业",
            "街镇",
            "类型",
            "状态",
            "日常安全监管部门",
            "风险等级",
            "最近检查",
        ],
        rows: table_rows,
        next_href: next_href("/mines", &q, next),
        empty_text: "没有符合条件的矿山。",
        total: None,
        charts: Vec::new(),
        export_href: Some(format!(
            "/api/v1/mines/export.xlsx?{}",
            serde_urlencoded::to_string(MineQuery {
                cursor: None,
                limit: None,
                ..q.clone()
            })
            .unwrap_or_default()
        )),
        post_buttons: Vec::new(),
        more_links: if authz::allowed(&s.principal, Action::EditMines) {
            vec![("/mines/import".to_owned(), "从 Excel 导入".to_owned())]
        } else {
            Vec::new()
        },
    };
    Ok(render(&page))
}

async fn gaps_list(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewMines).page(&s)?;
    let q = query_from(&req).page(&s)?;
    let names = names(&state).await.page(&s)?;
    let today = state.today();
    let st = state.clone();
    let query = q.clone();
    let (rows, next) = blocking(move || {
        st.db
            .read(|conn| mines::gaps(conn, &query, today, &st.settings.inspection))
    })
    .await
    .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|(m, reasons)| {
            vec![
                link(&m.name, format!("/mines/{}", m.id)),
                cell(names.township(&m.township)),
                cell(m.status().label()),
                cell(names.department(&m.supervisor_department)),
                grade_cell(m),
                Cell {
                    text: reasons.join("；"),
                    href: None,
                    class: "gap".into(),
                },
            ]
        })
        .collect();
    let i = &state.settings.inspection;
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "漏管检查", "/mines/gaps").await,
        heading: "漏管检查（严防漏管失控）".into(),
        intro: Some(format!(
            "列出除已关闭外所有未确定监管部门或风险等级、超期未检查，或尾矿库安全现状评价超过 3 年的矿山。检查周期：重大风险每 {} 个月、较大风险每 {} 个月、一般风险每 {} 个月、低风险每 {} 个月。",
            i.major_months, i.significant_months, i.general_months, i.low_months
        )),
        new_link: None,
        filters: filter_fields(&q, &names, false),
        filter_action: "/mines/gaps".into(),
        result: None,
        headers: vec!["矿山", "街镇", "状态", "日常安全监管部门", "风险等级", "问题"],
        rows: table_rows,
        next_href: next_href("/mines/gaps", &q, next),
        empty_text: "没有漏管的矿山。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

/// The mine form as typed (all text, so a mistake comes back as it was entered).
#[derive(Deserialize, Default, Clone)]
struct MineForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    enterprise_name: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    township: String,
    #[serde(default)]
    mine_type: String,
    #[serde(default)]
    mineral: String,
    #[serde(default)]
    mining_method: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    last_inspected_on: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    contact_name: String,
    #[serde(default)]
    contact_phone: String,
    #[serde(default)]
    licence_number: String,
    #[serde(default)]
    tailings_capacity_10k_m3: String,
    #[serde(default)]
    tailings_dam_height_m: String,
    #[serde(default)]
    tailings_safety: String,
    #[serde(default)]
    tailings_evaluated_on: String,
    tailings_overhead: Option<String>,
    #[serde(default)]
    version: String,
}

impl MineForm {
    fn from_mine(m: &Mine) -> Self {
        Self {
            name: m.name.clone(),
            enterprise_name: m.enterprise_name.clone(),
            credit_code: m.credit_code.clone(),
            township: m.township.clone(),
            mine_type: m.mine_type.code().to_owned(),
            mineral: m.mineral.clone(),
            mining_method: m.mining_method.code().to_owned(),
            status: m.status.code().to_owned(),
            last_inspected_on: m
                .last_inspected_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            address: m.address.clone(),
            contact_name: m.contact_name.clone(),
            contact_phone: m.contact_phone.clone(),
            licence_number: m.licence_number.clone(),
            tailings_capacity_10k_m3: m
                .tailings_capacity_10k_m3
                .map(|v| v.to_string())
                .unwrap_or_default(),
            tailings_dam_height_m: m
                .tailings_dam_height_m
                .map(|v| v.to_string())
                .unwrap_or_default(),
            tailings_safety: m
                .tailings_safety
                .map(|s| s.code().to_owned())
                .unwrap_or_default(),
            tailings_evaluated_on: m
                .tailings_evaluated_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            tailings_overhead: (m.tailings_overhead != 0).then(|| "true".into()),
            version: m.version.to_string(),
        }
    }

    /// Converts to the use case's input; numbers that do not parse are field errors.
    fn input(&self, is_new: bool) -> Result<MineInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, v: &str| -> Option<f64> {
            let v = v.trim();
            if v.is_empty() {
                return None;
            }
            match v.parse::<f64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(FieldError::new(field, "应为数字"));
                    None
                }
            }
        };
        let tailings = self.mine_type == MineType::TailingsPond.code();
        // The tailings fields are hidden for other mines: what they still hold is not read.
        let capacity = tailings
            .then(|| number("tailings_capacity_10k_m3", &self.tailings_capacity_10k_m3))
            .flatten();
        let height = tailings
            .then(|| number("tailings_dam_height_m", &self.tailings_dam_height_m))
            .flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(MineInput {
            name: Some(self.name.clone()),
            enterprise_name: Some(self.enterprise_name.clone()),
            credit_code: Some(self.credit_code.clone()),
            township: Some(self.township.clone()),
            mine_type: Some(self.mine_type.clone()),
            mineral: Some(self.mineral.clone()),
            mining_method: Some(self.mining_method.clone()),
            status: is_new.then(|| self.status.clone()),
            last_inspected_on: Some(self.last_inspected_on.clone()),
            address: Some(self.address.clone()),
            contact_name: Some(self.contact_name.clone()),
            contact_phone: Some(self.contact_phone.clone()),
            licence_number: Some(self.licence_number.clone()),
            tailings_capacity_10k_m3: capacity,
            tailings_dam_height_m: height,
            tailings_safety: tailings.then(|| self.tailings_safety.clone()),
            tailings_evaluated_on: tailings.then(|| self.tailings_evaluated_on.clone()),
            tailings_overhead: tailings.then(|| self.tailings_overhead.is_some()),
            version: if is_new {
                None
            } else {
                self.version.parse().ok()
            },
        })
    }

    fn fields(&self, names: &Names, is_new: bool) -> Vec<Field> {
        const POND: &str = "tailings_pond";
        let mut f = vec![
            Field::new("name", "矿山名称", "text", &self.name).required(),
            Field::new("enterprise_name", "企业名称", "text", &self.enterprise_name).required(),
            Field::new("credit_code", "统一社会信用代码", "text", &self.credit_code)
                .required()
                .help("18 位，以营业执照为准；系统会核对最后一位校验码。"),
            Field::new("township", "所在街镇", "select", &self.township)
                .options(names.township_options("请选择"))
                .required(),
            Field::new("mine_type", "矿山类型", "select", &self.mine_type)
                .options(options(
                    MineType::ALL,
                    MineType::code,
                    MineType::label,
                    "请选择",
                ))
                .required(),
            Field::new("mineral", "开采矿种", "text", &self.mineral)
                .required()
                .help("例如：铁矿、建筑用石料、石灰岩。"),
            Field::new("mining_method", "开采方式", "select", &self.mining_method)
                .options(options(
                    MiningMethod::ALL,
                    MiningMethod::code,
                    MiningMethod::label,
                    "请选择",
                ))
                .required(),
        ];
        if is_new {
            let statuses: Vec<MineStatus> = MineStatus::ALL
                .iter()
                .copied()
                .filter(|s| *s != MineStatus::Closed)
                .collect();
            f.push(
                Field::new("status", "当前状态", "select", &self.status)
                    .options(options(
                        &statuses,
                        MineStatus::code,
                        MineStatus::label,
                        "请选择",
                    ))
                    .required(),
            );
        }
        f.extend([
            Field::new(
                "licence_number",
                "采矿许可证号",
                "text",
                &self.licence_number,
            ),
            Field::new(
                "last_inspected_on",
                "最近一次检查日期",
                "date",
                &self.last_inspected_on,
            )
            .help("用于判断是否超期未检查。"),
            Field::new("address", "地址", "text", &self.address),
            Field::new("contact_name", "企业联系人", "text", &self.contact_name)
                .help("不对外公开。"),
            Field::new("contact_phone", "联系电话", "text", &self.contact_phone)
                .help("不对外公开。"),
            Field::new(
                "tailings_capacity_10k_m3",
                "尾矿库全库容（万立方米）",
                "text",
                &self.tailings_capacity_10k_m3,
            )
            .help("等别由全库容和坝高按 GB 50863-2013 自动确定。")
            .only_when("mine_type", POND, &self.mine_type),
            Field::new(
                "tailings_dam_height_m",
                "尾矿库坝高（米）",
                "text",
                &self.tailings_dam_height_m,
            )
            .only_when("mine_type", POND, &self.mine_type),
            Field::new(
                "tailings_safety",
                "尾矿库安全度",
                "select",
                &self.tailings_safety,
            )
            .options(options(
                TailingsSafety::ALL,
                TailingsSafety::code,
                TailingsSafety::label,
                "（未评价）",
            ))
            .only_when("mine_type", POND, &self.mine_type),
            Field::new(
                "tailings_evaluated_on",
                "最近安全现状评价日期",
                "date",
                &self.tailings_evaluated_on,
            )
            .help("至少每 3 年评价一次。")
            .only_when("mine_type", POND, &self.mine_type),
            Field::new(
                "tailings_overhead",
                "头顶库（初期坝下游 1 公里内有居民或重要设施）",
                "checkbox",
                if self.tailings_overhead.is_some() {
                    "true"
                } else {
                    ""
                },
            )
            .only_when("mine_type", POND, &self.mine_type),
        ]);
        if !is_new {
            f.push(Field::new("version", "", "hidden", &self.version));
        }
        f
    }
}

async fn new_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: &MineForm,
    errors: &[FieldError],
) -> PageResult {
    let names = names(state).await.page(s)?;
    let mut fields = form.fields(&names, true);
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "登记矿山", "/mines").await,
        heading: "登记矿山".into(),
        intro: Some("风险等级和日常安全监管部门由区应急局或协调办在矿山页面确定。".into()),
        errors: general,
        editable: true,
        action: "/mines/new".into(),
        fields,
        submit_label: "登记",
        back_href: Some("/mines".into()),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

async fn mine_new(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditMines).page(&s)?;
    let form = MineForm {
        status: "producing".into(),
        ..Default::default()
    };
    new_form(&state, &s, &req, &form, &[]).await
}

async fn mine_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<MineForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let result = match f.input(true) {
        Ok(input) => {
            change_mine(
                state.clone(),
                s.principal.clone(),
                Action::EditMines,
                move |c, a, n| mines::create(c, a, n, input),
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(m) => &format!("/mines/{}?ok=created", m.id), Invalid(errors) => new_form(&state, &s, &req, &f, &errors).await)
}

fn reason_field() -> Field {
    Field::new("reason", "原因", "text", "").required()
}

/// The mine page: its entry (editable for NR, EM and the coordination office), the
/// status, grade and supervisor actions, and its history.
/// The form that edits a mine's facts (its own page: `/mines/{id}/edit`), saved to
/// `POST /mines/{id}`; the tailings fields show only while the type is 尾矿库.
async fn mine_edit_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    form: Option<&MineForm>,
    errors: &[FieldError],
) -> PageResult {
    authz::require(&s.principal, Action::EditMines).page(s)?;
    let mine = load_mine(state, &s.principal, id.to_owned())
        .await
        .page(s)?;
    let names = names(state).await.page(s)?;
    let loaded = MineForm::from_mine(&mine);
    let mut fields = form.unwrap_or(&loaded).fields(&names, false);
    let general = attach_errors(&mut fields, errors);
    let heading = format!("编辑矿山信息：{}", mine.name);
    let page = FormPage {
        ctx: page_ctx(state, s, req, &heading, "/mines").await,
        heading,
        intro: Some(
            "状态、风险等级、监管部门和矿区范围在矿山页面另行办理，并记入变更记录。".into(),
        ),
        errors: general,
        editable: true,
        action: format!("/mines/{id}"),
        fields,
        submit_label: "保存修改",
        back_href: Some(format!("/mines/{id}")),
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

async fn mine_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    mine_edit_form(&state, &s, &req, &id, None, &[]).await
}

/// The mine's page: its facts first (read-only), then what can be done (each a button
/// opening its form), its permits, its boundary and the history of every change.
async fn mine_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    id: &str,
    errors: &[FieldError],
) -> PageResult {
    let mine = load_mine(state, &s.principal, id.to_owned())
        .await
        .page(s)?;
    let names = names(state).await.page(s)?;
    let fields = MineForm::from_mine(&mine).fields(&names, false);
    let mut general = Vec::new();
    let can_edit = authz::allowed(&s.principal, Action::EditMines);
    let can_grade = authz::allowed(&s.principal, Action::GradeMines);
    let mut actions = Vec::new();
    let next: Vec<MineStatus> = mine.status().allowed_next().to_vec();
    if can_edit && !next.is_empty() {
        actions.push(ActionButton {
            href: format!("/mines/{id}/status"),
            label: "变更状态",
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new("status", "变更为", "select", "").options(options(
                    &next,
                    MineStatus::code,
                    MineStatus::label,
                    "请选择",
                )),
                reason_field(),
            ],
        });
    }
    if can_grade {
        actions.push(ActionButton {
            href: format!("/mines/{id}/risk-grade"),
            label: "确定风险等级",
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new(
                    "risk_grade",
                    "安全风险等级",
                    "select",
                    mine.risk_grade
                        .map(|g| g.code().to_owned())
                        .unwrap_or_default(),
                )
                .options(grade_options("请选择")),
                reason_field(),
                Field::new("assessment", "评估依据", "text", "")
                    .help("例如评估报告编号、评估单位。"),
                Field::new("assessed_on", "评估日期", "date", ""),
            ],
        });
        actions.push(ActionButton {
            href: format!("/mines/{id}/supervisor"),
            label: "确定日常安全监管部门",
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new(
                    "department",
                    "监管部门",
                    "select",
                    mine.supervisor_department.clone().unwrap_or_default(),
                )
                .options(names.department_options("请选择")),
                reason_field(),
            ],
        });
    }
    // Each action form's fields get ids of their own: several share the name `reason`.
    for a in &mut actions {
        let form = a.href.rsplit('/').next().unwrap_or("action").to_owned();
        a.fields = std::mem::take(&mut a.fields)
            .into_iter()
            .map(|f| f.in_form(&form))
            .collect();
    }
    // Errors of an action form (status, grade, supervisor) are shown at the top.
    if !errors.is_empty() {
        general = errors
            .iter()
            .map(|e| format!("{}：{}", field_label(&e.field), e.message))
            .collect();
    }
    let st = state.clone();
    let mid = id.to_owned();
    let changes = blocking(move || st.db.read(|conn| mines::history(conn, &mid)))
        .await
        .page(s)?;
    let history = changes
        .into_iter()
        .map(|c| {
            let what = describe_change(&c, &names);
            let why = if c.assessment.is_empty() {
                c.reason.clone()
            } else {
                format!(
                    "{}（评估依据：{}{}）",
                    c.reason,
                    c.assessment,
                    c.assessed_on.map(|d| format!("，{d}")).unwrap_or_default()
                )
            };
            (local_time(c.occurred_at), c.actor_name, what, why)
        })
        .collect();
    let today = state.today();
    let gaps = mine.gaps(today, &state.settings.inspection);
    let grade = mine
        .grade()
        .map(RiskGrade::display)
        .unwrap_or_else(|| "未定级".into());
    let intro = format!(
        "状态：{}　日常安全监管部门：{}　安全风险等级：{}{}",
        mine.status().label(),
        names.department(&mine.supervisor_department),
        grade,
        if gaps.is_empty() {
            String::new()
        } else {
            format!("　⚠ 漏管：{}", gaps.join("；"))
        }
    );
    let heading = format!("{}（{}）", mine.name, mine.enterprise_name);
    let ctx = page_ctx(state, s, req, &heading, "/mines").await;
    let permit_table =
        crate::register::pages::permits::mine_permits_table(state, &names.departments, id)
            .await
            .page(s)?;
    let with_boundary = crate::register::api::mines::with_boundary(state, &s.principal, &mine)
        .await
        .page(s)?;
    let drawing = crate::register::api::mines::boundary_drawing(state, &s.principal, &mine)
        .await
        .page(s)?
        .map(|(svg, geojson)| {
            (
                "矿区范围示意图".to_owned(),
                crate::web::kit::webmap(&svg, &geojson, &state.settings.map, false),
            )
        });
    let boundary_table = boundary_checks_table(&with_boundary);
    if authz::allowed(&s.principal, Action::EditBoundaries) {
        actions.push(ActionButton {
            href: format!("/mines/{id}/boundary"),
            label: if with_boundary.boundary.is_some() { "变更矿区范围" } else { "登记矿区范围" },
            confirm: String::new(),
            style: "secondary",
            fields: vec![
                Field::new("corner_points", "拐点坐标", "textarea", "").required().in_form("boundary").help(
                    "按采矿许可证抄录，每行“点号 X Y”（X 为北坐标，Y 为东坐标，可带 37 带号）；多个区块之间空一行。",
                ),
                Field::new("elevation_top", "开采深度上限标高（米）", "text", "").in_form("boundary"),
                Field::new("elevation_bottom", "开采深度下限标高（米）", "text", "").in_form("boundary"),
                Field::new("reason", "原因", "text", "").in_form("boundary").help("如：新立、延续、变更。"),
            ],
        });
    }
    if let Some(record) = crate::register::pages::permits::record_action(state, &s.principal, id)
        .await
        .page(s)?
    {
        actions.push(record);
    }
    let page = FormPage {
        ctx,
        heading,
        intro: Some(intro),
        errors: general,
        editable: false,
        action: format!("/mines/{id}"),
        fields,
        submit_label: "保存修改",
        back_href: Some("/mines".into()),
        actions,
        history,
        links: can_edit
            .then(|| (format!("/mines/{id}/edit"), "编辑矿山信息".to_owned()))
            .into_iter()
            .chain([
                (format!("/public/mines/{id}"), "公示页面".to_owned()),
                (
                    format!("/public/mines/{id}/placard"),
                    "打印井口公示牌".to_owned(),
                ),
            ])
            .chain(closure_links(&s.principal, &mine))
            .collect(),
        tables: vec![permit_table, boundary_table],
        drawing,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

/// The mine's closure cases (关闭退出), opening one, and the patrol of a closed mine.
fn closure_links(who: &crate::platform::authz::Principal, mine: &Mine) -> Vec<(String, String)> {
    use crate::platform::authz::{allowed, Action};
    let mut out = Vec::new();
    if allowed(who, Action::ViewClosures) {
        out.push((
            format!("/closures?mine_id={}", mine.id),
            "关闭退出案件".to_owned(),
        ));
        if mine.status() != MineStatus::Closed {
            out.push((
                format!("/closures/new?mine_id={}", mine.id),
                "立案关闭退出".to_owned(),
            ));
        }
    }
    if mine.status() == MineStatus::Closed && allowed(who, Action::PatrolClosedMines) {
        out.push((
            format!("/closed-mines/{}/patrol", mine.id),
            "复产巡查".to_owned(),
        ));
    }
    out
}

fn field_label(field: &str) -> &str {
    match field {
        "status" => "状态",
        "reason" => "原因",
        "risk_grade" => "风险等级",
        "assessment" => "评估依据",
        "assessed_on" => "评估日期",
        "department" => "监管部门",
        "corner_points" => "拐点坐标",
        "geojson" => "GeoJSON",
        "elevation_top" => "开采深度上限标高",
        "elevation_bottom" => "开采深度下限标高",
        other => other,
    }
}

fn describe_change(c: &mines::MineChange, names: &Names) -> String {
    let status = |v: &Option<String>| {
        v.as_deref()
            .and_then(MineStatus::parse)
            .map(MineStatus::label)
            .unwrap_or("—")
            .to_owned()
    };
    let grade = |v: &Option<String>| {
        v.as_deref()
            .and_then(RiskGrade::parse)
            .map(RiskGrade::display)
            .unwrap_or_else(|| "未定级".into())
    };
    match c.kind.as_str() {
        "create" => format!("登记入台账（{}）", status(&c.to_value)),
        "edit" => format!("修改台账信息：{}", c.to_value.clone().unwrap_or_default()),
        "status" => format!("状态：{} → {}", status(&c.from_value), status(&c.to_value)),
        "risk_grade" => format!(
            "风险等级：{} → {}",
            grade(&c.from_value),
            grade(&c.to_value)
        ),
        "supervisor" => format!(
            "监管部门：{} → {}",
            names.department(&c.from_value),
            names.department(&c.to_value)
        ),
        "inspected" => format!(
            "最近一次检查：{} → {}",
            c.from_value.as_deref().unwrap_or("无"),
            c.to_value.as_deref().unwrap_or("无")
        ),
        other => other.to_owned(),
    }
}

async fn mine_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    id: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    mine_form(&state, &s, &req, &id, &[]).await
}

async fn mine_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<MineForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mid = id.clone();
    let result = match f.input(false) {
        Ok(input) => {
            change_mine(
                state.clone(),
                s.principal.clone(),
                Action::EditMines,
                move |c, a, n| mines::update(c, a, n, &mid, input),
            )
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(m) => &format!("/mines/{}?ok=saved", m.id), Invalid(errors) => {
        mine_edit_form(&state, &s, &req, &id, Some(&f), &errors).await
    })
}

/// After an action form: back to the mine, or the mine page with the action's errors.
async fn after_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    s: Session,
    id: &str,
    result: Result<Mine, AppError>,
    done: &str,
) -> PageResult {
    submitted!(result, s, Ok(m) => &format!("/mines/{}?ok={done}", m.id), Invalid(errors) => mine_form(&state, &s, &req, id, &errors).await)
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    reason: String,
}

async fn mine_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<StatusForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let input = StatusChange {
        status: form.form.status,
        reason: form.form.reason,
        version: None,
    };
    let mid = id.clone();
    let r = change_mine(
        state.clone(),
        s.principal.clone(),
        Action::EditMines,
        move |c, a, n| mines::change_status(c, a, n, &mid, input),
    )
    .await;
    after_action(state, req, s, &id, r, "status").await
}

#[derive(Deserialize)]
struct GradeForm {
    #[serde(default)]
    risk_grade: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    assessment: String,
    #[serde(default)]
    assessed_on: String,
}

async fn mine_grade(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<GradeForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = RiskGradeChange {
        risk_grade: f.risk_grade,
        reason: f.reason,
        assessment: f.assessment,
        assessed_on: Some(f.assessed_on),
        version: None,
    };
    let mid = id.clone();
    let r = change_mine(
        state.clone(),
        s.principal.clone(),
        Action::GradeMines,
        move |c, a, n| mines::set_risk_grade(c, a, n, &mid, input),
    )
    .await;
    after_action(state, req, s, &id, r, "grade").await
}

#[derive(Deserialize)]
struct SupervisorForm {
    #[serde(default)]
    department: String,
    #[serde(default)]
    reason: String,
}

async fn mine_supervisor(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<SupervisorForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let input = SupervisorChange {
        department: form.form.department,
        reason: form.form.reason,
        version: None,
    };
    let mid = id.clone();
    let r = change_mine(
        state.clone(),
        s.principal.clone(),
        Action::GradeMines,
        move |c, a, n| mines::set_supervisor(c, a, n, &mid, input),
    )
    .await;
    after_action(state, req, s, &id, r, "supervisor").await
}

// ---- public disclosure: no login, nothing personal --------------------------------------

/// A mine that may be shown to the public: not an illegal site under investigation.
async fn public_mine_row(state: &web::Data<AppState>, id: String) -> Result<Mine, AppError> {
    let st = state.clone();
    let mine = blocking(move || st.db.read_lagging(|conn| mines::find(conn, &id))).await?;
    if mine.status() == MineStatus::IllegalSite {
        return Err(AppError::NotFound("没有这座矿山的公示信息。".into()));
    }
    Ok(mine)
}

async fn public_list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let mut q = query_from(&req)?;
    let names = names(&state).await?;
    let st = state.clone();
    // Only the public filters; illegal sites are not published.
    let query = MineQuery {
        township: q.township.take(),
        risk_grade: q.risk_grade.take(),
        q: q.q.take(),
        cursor: q.cursor.take(),
        limit: Some(50),
        ..Default::default()
    };
    let shown = query.clone();
    let (rows, next) =
        blocking(move || st.db.read_lagging(|conn| mines::list(conn, &query))).await?;
    let table_rows = rows
        .iter()
        .filter(|m| m.status() != MineStatus::IllegalSite)
        .map(|m| {
            vec![
                link(&m.name, format!("/public/mines/{}", m.id)),
                cell(&m.enterprise_name),
                cell(names.township(&m.township)),
                cell(m.status().label()),
                cell(names.department(&m.supervisor_department)),
                grade_cell(m),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: crate::web::kit::public_ctx("非煤矿山安全监管公示"),
        heading: format!("{}非煤矿山安全监管公示", state.settings.public.district_name),
        intro: Some(format!(
            "按照“严防漏管失控”的要求，每座非煤矿山的日常安全监管部门和安全风险等级向社会公告。投诉举报电话：{}。",
            state.settings.public.complaint_phone
        )),
        new_link: None,
        filters: filter_fields(&shown, &names, false),
        filter_action: "/public/mines".into(),
        result: None,
        headers: vec!["矿山", "企业", "街镇", "状态", "日常安全监管部门", "安全风险等级"],
        rows: table_rows,
        next_href: next_href("/public/mines", &shown, next),
        empty_text: "没有符合条件的矿山。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

/// A mine's status as the public page shows it: a closed mine with the day it was closed.
async fn closed_status(state: &web::Data<AppState>, mine: &Mine) -> Result<String, PageError> {
    if mine.status() != MineStatus::Closed {
        return Ok(mine.status().label().to_owned());
    }
    let (st, id) = (state.clone(), mine.id.clone());
    let on = blocking(move || st.db.read(|c| crate::register::mines::closed_on(c, &[id])))
        .await
        .map_err(|e| PageError(e, None))?;
    Ok(match on.get(&mine.id) {
        Some(d) => format!("{}（{d} 关闭）", mine.status().label()),
        None => mine.status().label().to_owned(),
    })
}

async fn public_mine(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let mine = public_mine_row(&state, id.into_inner()).await?;
    let names = names(&state).await?;
    let grade = mine
        .grade()
        .map(|g| format!("{}（{}）", g.display(), g.colour_name()))
        .unwrap_or_else(|| "未定级".into());
    let ro = |label: &'static str, value: String| Field::new("x", label, "text", value);
    let fields = vec![
        ro("矿山名称", mine.name.clone()),
        ro("企业名称", mine.enterprise_name.clone()),
        ro("所在街镇", names.township(&mine.township)),
        ro("矿山类型", mine.mine_type.label().to_owned()),
        ro("开采矿种", mine.mineral.clone()),
        ro("状态", closed_status(&state, &mine).await?),
        ro(
            "日常安全监管部门",
            names.department(&mine.supervisor_department),
        ),
        // Shown in the grade's colour, as on the placard.
        Field::new(
            "risk_grade",
            "安全风险等级",
            match mine.grade() {
                Some(crate::register::rules::risk_grade::RiskGrade::Low) => "grade-low",
                Some(crate::register::rules::risk_grade::RiskGrade::General) => "grade-general",
                Some(crate::register::rules::risk_grade::RiskGrade::Significant) => {
                    "grade-significant"
                }
                Some(crate::register::rules::risk_grade::RiskGrade::Major) => "grade-major",
                None => "text",
            },
            grade,
        ),
        Field::new(
            "complaint_phone",
            "投诉举报电话",
            "tel",
            state.settings.public.complaint_phone.clone(),
        ),
    ];
    let page = FormPage {
        ctx: crate::web::kit::public_ctx(&mine.name),
        heading: format!("{} · 安全监管公示", mine.name),
        intro: Some("按照“严防漏管失控”的要求向社会公告的矿山安全监管信息。".into()),
        errors: Vec::new(),
        editable: false,
        action: String::new(),
        fields,
        submit_label: "",
        back_href: None,
        actions: Vec::new(),
        history: Vec::new(),
        links: vec![
            (
                format!("/public/mines/{}/report", mine.id),
                "我要反映问题".to_owned(),
            ),
            (
                format!("/public/mines/{}/placard", mine.id),
                "打印井口公示牌".to_owned(),
            ),
            ("/public/mines".to_owned(), "全部公示矿山".to_owned()),
        ],
        tables: Vec::new(),
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "placard.html")]
struct Placard {
    mine_name: String,
    enterprise_name: String,
    township: String,
    status: &'static str,
    supervisor: String,
    grade: String,
    grade_colour: &'static str,
    complaint_phone: String,
    district: String,
    printed_on: String,
    qr_svg: String,
}

/// The A4 placard posted at the mine entrance (井口公示), with a QR code to the public page.
async fn placard(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let mine = public_mine_row(&state, id.into_inner()).await?;
    let names = names(&state).await?;
    let url = format!(
        "{}/public/mines/{}",
        state.settings.http.public_base_url.trim_end_matches('/'),
        mine.id
    );
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(180, 180)
                .quiet_zone(true)
                .build()
        })
        .map_err(AppError::internal)?;
    let page = Placard {
        mine_name: mine.name.clone(),
        enterprise_name: mine.enterprise_name.clone(),
        township: names.township(&mine.township),
        status: mine.status().label(),
        supervisor: names.department(&mine.supervisor_department),
        grade: mine
            .grade()
            .map(|g| format!("{}（{}）", g.display(), g.colour_name()))
            .unwrap_or_else(|| "未定级".into()),
        grade_colour: mine.grade().map(RiskGrade::colour_hex).unwrap_or("#555"),
        complaint_phone: state.settings.public.complaint_phone.clone(),
        district: state.settings.public.district_name.clone(),
        printed_on: state.today().format("%Y年%m月%d日").to_string(),
        qr_svg,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    ctx: PageCtx,
}

/// Upload an Excel ledger; the page posts the file to the import API with its CSRF token.
async fn import_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditMines).page(&s)?;
    Ok(render(&ImportPage {
        ctx: page_ctx(&state, &s, &req, "从 Excel 导入矿山", "/mines").await,
    }))
}

/// The boundary and what its checks found, as a table on the mine page.
fn boundary_checks_table(view: &crate::register::mines::MineView) -> crate::web::kit::SubTable {
    let mut rows = Vec::new();
    if let Some(b) = &view.boundary {
        rows.push(vec![
            cell("矿区范围"),
            cell(format!(
                "{} 个区块，面积 {:.4} 平方公里{}",
                b.rings_projected.len(),
                b.area_km2,
                match (b.elevation_top_m, b.elevation_bottom_m) {
                    (Some(t), Some(bt)) => format!("，开采深度 {t} 米至 {bt} 米标高"),
                    _ => String::new(),
                }
            )),
        ]);
    }
    if let Some(c) = &view.boundary_checks {
        for o in &c.overlaps {
            rows.push(vec![
                Cell {
                    text: "与持证矿山垂直投影重叠".into(),
                    href: None,
                    class: "gap".into(),
                },
                link(
                    format!("{}：重叠 {:.0} 平方米", o.mine_name, o.area_m2),
                    format!("/mines/{}", o.mine_id),
                ),
            ]);
        }
        for t in &c.too_close {
            rows.push(vec![
                Cell {
                    text: format!("与相邻矿山距离不足 {} 米", c.min_distance_m),
                    href: None,
                    class: "gap".into(),
                },
                link(
                    format!("{}：相距 {:.1} 米", t.mine_name, t.distance_m),
                    format!("/mines/{}", t.mine_id),
                ),
            ]);
        }
        for z in &c.prohibited_zones {
            rows.push(vec![
                Cell {
                    text: "位于禁止开采区内".into(),
                    href: None,
                    class: "gap".into(),
                },
                cell(format!(
                    "{}（{}）：{:.0} 平方米",
                    z.zone_name,
                    crate::register::boundaries::zone_kind_label(&z.kind),
                    z.area_m2
                )),
            ]);
        }
        if c.is_clear() {
            rows.push(vec![
                Cell {
                    text: "核查结果".into(),
                    href: None,
                    class: String::new(),
                },
                Cell {
                    text: "未发现重叠、间距不足或位于禁止开采区的情况".into(),
                    href: None,
                    class: "badge-on".into(),
                },
            ]);
        }
    }
    crate::web::kit::SubTable {
        title: "矿区范围核查".into(),
        headers: vec!["项目", "情况"],
        rows,
        empty_text: "尚未登记矿区范围。",
    }
}

#[derive(Deserialize)]
struct BoundaryForm {
    #[serde(default)]
    corner_points: String,
    #[serde(default)]
    elevation_top: String,
    #[serde(default)]
    elevation_bottom: String,
    #[serde(default)]
    reason: String,
}

async fn mine_boundary(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<BoundaryForm>,
    id: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mut errors = Vec::new();
    let mut number = |field: &str, v: &str| -> Option<f64> {
        let v = v.trim();
        if v.is_empty() {
            return None;
        }
        v.parse::<f64>()
            .map_err(|_| errors.push(FieldError::new(field, "标高应为数字")))
            .ok()
    };
    let top = number("elevation_top", &f.elevation_top);
    let bottom = number("elevation_bottom", &f.elevation_bottom);
    let result = if errors.is_empty() {
        authz::require(&s.principal, Action::EditBoundaries).page(&s)?;
        let input = crate::register::boundaries::BoundaryInput {
            corner_points: Some(f.corner_points),
            geojson: None,
            elevation_top: top,
            elevation_bottom: bottom,
            reason: f.reason,
        };
        let (st, who, mid, now) = (
            state.clone(),
            s.principal.clone(),
            id.clone(),
            state.clock.now_naive(),
        );
        blocking(move || {
            st.db.transaction(|conn| {
                crate::register::boundaries::set(
                    conn,
                    &who.actor(),
                    now,
                    &mid,
                    input,
                    &st.settings.geo,
                )
                .map(|_| ())
            })
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    submitted!(result, s, Ok(()) => &format!("/mines/{id}?ok=boundary"), Invalid(errors) => mine_form(&state, &s, &req, &id, &errors).await)
}

async fn zones_page(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    zones_view(&state, &s, &req, None, &[]).await
}

async fn zones_view(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    form: Option<&ZoneForm>,
    errors: &[FieldError],
) -> PageResult {
    authz::require(&s.principal, Action::ViewMines).page(s)?;
    let st = state.clone();
    let zones = blocking(move || st.db.read(crate::register::boundaries::zones))
        .await
        .page(s)?;
    let rows = zones
        .iter()
        .map(|z| {
            vec![
                cell(&z.name),
                cell(crate::register::boundaries::zone_kind_label(&z.kind)),
                cell(format!("{:.4}", z.area_m2 / 1e6)),
                crate::web::kit::Cell {
                    text: if z.active != 0 { "有效" } else { "已停用" }.into(),
                    href: None,
                    class: if z.active != 0 {
                        "badge-on"
                    } else {
                        "badge-off"
                    }
                    .into(),
                },
            ]
        })
        .collect();
    let can_edit = authz::allowed(&s.principal, Action::EditBoundaries);
    let f = form.cloned().unwrap_or_default();
    let mut kinds = vec![(String::new(), "请选择".to_owned())];
    kinds.extend(
        crate::register::boundaries::ZONE_KINDS
            .iter()
            .map(|(c, l)| (c.to_string(), l.to_string())),
    );
    let mut fields = vec![
        Field::new("name", "名称", "text", &f.name).required(),
        Field::new("kind", "类型", "select", &f.kind)
            .options(kinds)
            .required(),
        Field::new("corner_points", "拐点坐标", "textarea", &f.corner_points)
            .required()
            .help("与采矿许可证相同的格式：每行“点号 X Y”，多个区块之间空一行。"),
    ];
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "禁止开采区", "/prohibited-zones").await,
        heading: "禁止开采区".into(),
        intro: Some("自然保护区、一级保护林地、基本草原、生态保护红线、河道禁采区等。登记矿区范围时自动核查是否与其相交。".into()),
        errors: general,
        editable: can_edit,
        action: "/prohibited-zones".into(),
        fields: if can_edit { fields } else { Vec::new() },
        submit_label: "导入",
        back_href: None,
        actions: Vec::new(),
        history: Vec::new(),
        links: Vec::new(),
        tables: vec![crate::web::kit::SubTable { title: "已导入的禁止开采区".into(), headers: vec!["名称", "类型", "面积（平方公里）", "状态"], rows, empty_text: "尚未导入禁止开采区。" }],
        drawing: None,
        steps: Vec::new(),
        open_next: false,
    };
    Ok(crate::web::kit::render_form(&page, !errors.is_empty()))
}

#[derive(Deserialize, Default, Clone)]
struct ZoneForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    corner_points: String,
}

async fn zone_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ZoneForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    authz::require(&s.principal, Action::EditBoundaries).page(&s)?;
    let input = crate::register::boundaries::ZoneInput {
        name: Some(f.name.clone()),
        kind: Some(f.kind.clone()),
        corner_points: Some(f.corner_points.clone()),
        geojson: None,
        active: None,
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db.transaction(|conn| {
            crate::register::boundaries::create_zone(
                conn,
                &who.actor(),
                now,
                input,
                &st.settings.geo,
            )
        })
    })
    .await;
    submitted!(result, s, Ok(_) => "/prohibited-zones?ok=created", Invalid(errors) => zones_view(&state, &s, &req, Some(&f), &errors).await)
}
