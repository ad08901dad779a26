//! Pages of reference data: member units, townships, lead categories, permit types and
//! the working-day calendar.

use crate::web::kit::submitted;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::platform::authz::{self, Action};
use crate::platform::error::{AppError, FieldError};
use crate::reference::api;
use crate::reference::{self, DepartmentInput, LeadCategoryInput, PermitTypeInput, TownshipInput};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::{blocking, AppState};

use crate::web::kit::signed_in;
use crate::web::kit::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/departments", web::get().to(departments_list))
        .route("/departments/new", web::get().to(department_new))
        .route("/departments/new", web::post().to(department_create))
        .route("/departments/{code}", web::get().to(department_edit))
        .route("/departments/{code}", web::post().to(department_save))
        .route("/townships", web::get().to(townships_list))
        .route("/townships/new", web::get().to(township_new))
        .route("/townships/new", web::post().to(township_create))
        .route("/townships/{code}", web::get().to(township_edit))
        .route("/townships/{code}", web::post().to(township_save))
        .route("/lead-categories", web::get().to(categories_list))
        .route("/lead-categories/{code}", web::get().to(category_edit))
        .route("/lead-categories/{code}", web::post().to(category_save))
        .route("/permit-types", web::get().to(permit_types_list))
        .route("/permit-types/{code}", web::get().to(permit_type_edit))
        .route("/permit-types/{code}", web::post().to(permit_type_save))
        .route("/calendar", web::get().to(calendar));
}
// ---- reference data -----------------------------------------------------------------------

pub(crate) fn parse_int(errors: &mut Vec<FieldError>, field: &str, value: &str) -> Option<i32> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.push(FieldError::new(field, "应为整数"));
            None
        }
    }
}

#[allow(clippy::too_many_arguments)] // one call per reference page; a struct would only rename them
fn ref_page(
    ctx: PageCtx,
    heading: String,
    editable: bool,
    action: String,
    mut fields: Vec<Field>,
    errors: &[FieldError],
    back: &str,
    history: Vec<(String, String, String, String)>,
) -> HttpResponse {
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx,
        heading,
        intro: None,
        errors: general,
        editable,
        action,
        fields,
        submit_label: "保存",
        back_href: Some(back.into()),
        actions: Vec::new(),
        history,
        links: Vec::new(),
        tables: Vec::new(),
        drawing: None,
    };
    let mut resp = render(&page);
    if !errors.is_empty() {
        *resp.status_mut() = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    resp
}

async fn departments_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::departments))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|d| {
            vec![
                cell(&d.code),
                link(&d.name, format!("/departments/{}", d.code)),
                cell(if d.is_coordination_office != 0 {
                    "协调机制办公室"
                } else {
                    ""
                }),
                Cell {
                    text: d.duties.clone(),
                    href: None,
                    class: "small".into(),
                },
                yes_no(d.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "成员单位", "/departments").await,
        heading: "协调机制成员单位".into(),
        intro: Some("谁审批、谁监管，谁主管、谁监管。".into()),
        new_link: authz::allowed(&s.principal, Action::EditReferenceData)
            .then(|| ("/departments/new".to_owned(), "新增成员单位".to_owned())),
        filters: Vec::new(),
        filter_action: "/departments".into(),
        result: None,
        headers: vec!["代码", "名称", "", "职责", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有成员单位。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct DepartmentForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    duties: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn department_fields(f: &DepartmentForm, is_new: bool) -> Vec<Field> {
    let mut fields = Vec::new();
    if is_new {
        fields.push(
            Field::new("code", "代码", "text", &f.code)
                .required()
                .help("英文字母与数字，如 FOREST，创建后不能修改。"),
        );
    }
    fields.push(Field::new("name", "名称", "text", &f.name).required());
    fields.push(Field::new("duties", "职责", "textarea", &f.duties));
    fields.push(
        Field::new("email", "部门邮箱", "email", &f.email).help("部门公共邮箱，用于接收通报。"),
    );
    fields.push(Field::new("sort_order", "排序", "number", &f.sort_order));
    fields.push(Field::new(
        "active",
        "启用",
        "checkbox",
        if f.active.is_some() { "true" } else { "" },
    ));
    fields
}

fn department_input(f: &DepartmentForm, is_new: bool) -> Result<DepartmentInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DepartmentInput {
        code: is_new.then(|| f.code.clone()),
        name: Some(f.name.clone()),
        duties: Some(f.duties.clone()),
        email: Some(f.email.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    })
}

async fn department_new(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditReferenceData).page(&s)?;
    let f = DepartmentForm {
        active: Some("true".into()),
        sort_order: "100".into(),
        ..Default::default()
    };
    let ctx = page_ctx(&state, &s, &req, "新增成员单位", "/departments").await;
    Ok(ref_page(
        ctx,
        "新增成员单位".into(),
        true,
        "/departments/new".into(),
        department_fields(&f, true),
        &[],
        "/departments",
        Vec::new(),
    ))
}

async fn department_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<DepartmentForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let result = match department_input(&f, true) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |c, a, n| {
                reference::save::<reference::Department>(c, a, n, None, input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(d) => &format!("/departments/{}?ok=created", d.code), Invalid(errors) => {
        let ctx = page_ctx(&state, &s, &req, "新增成员单位", "/departments").await;
        Ok(ref_page(
            ctx,
            "新增成员单位".into(),
            true,
            "/departments/new".into(),
            department_fields(&f, true),
            &errors,
            "/departments",
            Vec::new(),
        ))
    })
}

async fn department_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&DepartmentForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let d = blocking(move || st.db.read(|conn| reference::department(conn, &c)))
        .await
        .page(s)?;
    let loaded = DepartmentForm {
        code: d.code.clone(),
        name: d.name.clone(),
        duties: d.duties.clone(),
        email: d.email.clone().unwrap_or_default(),
        sort_order: d.sort_order.to_string(),
        active: (d.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let history = entity_history(state, "department", code).await.page(s)?;
    let heading = format!("{}（{}）", d.name, d.code);
    let ctx = page_ctx(state, s, req, &heading, "/departments").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/departments/{code}"),
        department_fields(f, false),
        errors,
        "/departments",
        history,
    ))
}

async fn department_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    department_form(&state, &s, &req, &code, None, &[]).await
}

async fn department_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<DepartmentForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let c = code.clone();
    let result = match department_input(&f, false) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
                reference::save::<reference::Department>(cn, a, n, Some(&c), input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(d) => &format!("/departments/{}?ok=saved", d.code), Invalid(errors) => {
        department_form(&state, &s, &req, &code, Some(&f), &errors).await
    })
}

async fn townships_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::townships))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|t| {
            vec![
                cell(&t.code),
                link(&t.name, format!("/townships/{}", t.code)),
                cell(t.email.clone().unwrap_or_default()),
                yes_no(t.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "街镇", "/townships").await,
        heading: "街镇".into(),
        intro: Some("街镇负责属地管理，发现问题线索即“吹哨”，相关部门限时“报到”。".into()),
        new_link: authz::allowed(&s.principal, Action::EditReferenceData)
            .then(|| ("/townships/new".to_owned(), "新增街镇".to_owned())),
        filters: Vec::new(),
        filter_action: "/townships".into(),
        result: None,
        headers: vec!["代码", "名称", "邮箱", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有街镇。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct TownshipForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn township_fields(f: &TownshipForm, is_new: bool) -> Vec<Field> {
    let mut fields = Vec::new();
    if is_new {
        fields.push(
            Field::new("code", "代码", "text", &f.code)
                .required()
                .help("英文字母与数字，如 ABC，创建后不能修改。"),
        );
    }
    fields.push(Field::new("name", "名称", "text", &f.name).required());
    fields.push(Field::new("email", "街镇邮箱", "email", &f.email));
    fields.push(Field::new("sort_order", "排序", "number", &f.sort_order));
    fields.push(Field::new(
        "active",
        "启用",
        "checkbox",
        if f.active.is_some() { "true" } else { "" },
    ));
    fields
}

fn township_input(f: &TownshipForm, is_new: bool) -> Result<TownshipInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TownshipInput {
        code: is_new.then(|| f.code.clone()),
        name: Some(f.name.clone()),
        email: Some(f.email.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    })
}

async fn township_new(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditReferenceData).page(&s)?;
    let f = TownshipForm {
        active: Some("true".into()),
        sort_order: "100".into(),
        ..Default::default()
    };
    let ctx = page_ctx(&state, &s, &req, "新增街镇", "/townships").await;
    Ok(ref_page(
        ctx,
        "新增街镇".into(),
        true,
        "/townships/new".into(),
        township_fields(&f, true),
        &[],
        "/townships",
        Vec::new(),
    ))
}

async fn township_create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<TownshipForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let result = match township_input(&f, true) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |c, a, n| {
                reference::save::<reference::Township>(c, a, n, None, input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(t) => &format!("/townships/{}?ok=created", t.code), Invalid(errors) => {
        let ctx = page_ctx(&state, &s, &req, "新增街镇", "/townships").await;
        Ok(ref_page(
            ctx,
            "新增街镇".into(),
            true,
            "/townships/new".into(),
            township_fields(&f, true),
            &errors,
            "/townships",
            Vec::new(),
        ))
    })
}

async fn township_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&TownshipForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let t = blocking(move || st.db.read(|conn| reference::township(conn, &c)))
        .await
        .page(s)?;
    let loaded = TownshipForm {
        code: t.code.clone(),
        name: t.name.clone(),
        email: t.email.clone().unwrap_or_default(),
        sort_order: t.sort_order.to_string(),
        active: (t.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let history = entity_history(state, "township", code).await.page(s)?;
    let heading = format!("{}（{}）", t.name, t.code);
    let ctx = page_ctx(state, s, req, &heading, "/townships").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/townships/{code}"),
        township_fields(f, false),
        errors,
        "/townships",
        history,
    ))
}

async fn township_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    township_form(&state, &s, &req, &code, None, &[]).await
}

async fn township_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<TownshipForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let c = code.clone();
    let result = match township_input(&f, false) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
                reference::save::<reference::Township>(cn, a, n, Some(&c), input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(t) => &format!("/townships/{}?ok=saved", t.code), Invalid(errors) => {
        township_form(&state, &s, &req, &code, Some(&f), &errors).await
    })
}

pub(crate) async fn department_options(
    state: &web::Data<AppState>,
) -> Result<Vec<(String, String)>, AppError> {
    let st = state.clone();
    blocking(move || {
        st.db.read(|conn| {
            Ok(reference::departments(conn)?
                .into_iter()
                .map(|d| (d.code, d.name))
                .collect())
        })
    })
    .await
}

async fn categories_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let deps = department_options(&state).await.page(&s)?;
    let name = |c: &str| {
        deps.iter()
            .find(|d| d.0 == c)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::lead_categories))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|c| {
            vec![
                link(&c.name, format!("/lead-categories/{}", c.code)),
                cell(name(&c.primary_department)),
                cell(
                    reference::split_codes(&c.assisting_departments)
                        .iter()
                        .map(|d| name(d))
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                cell(&c.basis),
                cell(if c.mining_related != 0 { "是" } else { "" }),
                yes_no(c.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "线索类别与分办", "/lead-categories").await,
        heading: "线索类别与分办规则".into(),
        intro: Some("问题线索按类别分办：主办部门牵头核查处置，协办部门配合。“涉矿”类别的线索若位置不在任何持证矿区内，按疑似无证采矿转区自然资源分局。".into()),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/lead-categories".into(),
        result: None,
        headers: vec!["类别", "主办部门", "协办部门", "制度依据", "涉矿", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有线索类别。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct CategoryForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    primary_department: String,
    #[serde(default)]
    assisting_departments: String,
    #[serde(default)]
    basis: String,
    mining_related: Option<String>,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn category_fields(f: &CategoryForm, deps: Vec<(String, String)>) -> Vec<Field> {
    vec![
        Field::new("name", "类别名称", "text", &f.name).required(),
        Field::new(
            "primary_department",
            "主办部门",
            "select",
            &f.primary_department,
        )
        .options(deps)
        .required(),
        Field::new(
            "assisting_departments",
            "协办部门代码",
            "text",
            &f.assisting_departments,
        )
        .help("多个部门用逗号分隔，如 DRC,MIIT；留空表示无协办部门。"),
        Field::new("basis", "制度依据", "text", &f.basis),
        Field::new(
            "mining_related",
            "涉矿类别（位置不在持证矿区内时按疑似无证采矿处理）",
            "checkbox",
            if f.mining_related.is_some() {
                "true"
            } else {
                ""
            },
        ),
        Field::new("sort_order", "排序", "number", &f.sort_order),
        Field::new(
            "active",
            "启用",
            "checkbox",
            if f.active.is_some() { "true" } else { "" },
        ),
    ]
}

async fn category_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&CategoryForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let row = blocking(move || st.db.read(|conn| reference::lead_category(conn, &c)))
        .await
        .page(s)?;
    let loaded = CategoryForm {
        name: row.name.clone(),
        primary_department: row.primary_department.clone(),
        assisting_departments: row.assisting_departments.clone(),
        basis: row.basis.clone(),
        mining_related: (row.mining_related != 0).then(|| "true".into()),
        sort_order: row.sort_order.to_string(),
        active: (row.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let deps = department_options(state).await.page(s)?;
    let history = entity_history(state, "lead_category", code).await.page(s)?;
    let heading = format!("线索类别：{}", row.name);
    let ctx = page_ctx(state, s, req, &heading, "/lead-categories").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/lead-categories/{code}"),
        category_fields(f, deps),
        errors,
        "/lead-categories",
        history,
    ))
}

async fn category_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    category_form(&state, &s, &req, &code, None, &[]).await
}

async fn category_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<CategoryForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    let input = LeadCategoryInput {
        code: None,
        name: Some(f.name.clone()),
        primary_department: Some(f.primary_department.clone()),
        assisting_departments: Some(reference::split_codes(
            &f.assisting_departments.replace('，', ","),
        )),
        basis: Some(f.basis.clone()),
        mining_related: Some(f.mining_related.is_some()),
        sort_order,
        active: Some(f.active.is_some()),
    };
    let c = code.clone();
    let result = if errors.is_empty() {
        api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
            reference::save::<reference::LeadCategory>(cn, a, n, Some(&c), input)
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    submitted!(result, s, Ok(row) => &format!("/lead-categories/{}?ok=saved", row.code), Invalid(errors) => {
        category_form(&state, &s, &req, &code, Some(&f), &errors).await
    })
}

async fn permit_types_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let deps = department_options(&state).await.page(&s)?;
    let name = |c: &str| {
        deps.iter()
            .find(|d| d.0 == c)
            .map(|d| d.1.clone())
            .unwrap_or_else(|| c.to_owned())
    };
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::permit_types))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|p| {
            vec![
                link(&p.name, format!("/permit-types/{}", p.code)),
                cell(name(&p.issuing_department)),
                cell(format!("{} 天", p.expiry_warning_days)),
                Cell {
                    text: p.notes.clone(),
                    href: None,
                    class: "small".into(),
                },
                yes_no(p.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "证照类型", "/permit-types").await,
        heading: "证照类型（谁审批、谁监管）".into(),
        intro: Some("只有发证部门可以登记、变更、暂扣、吊销或注销本类证照；到期前按提醒天数显示为“即将到期”。".into()),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/permit-types".into(),
        result: None,
        headers: vec!["证照", "审批与监管部门", "到期提醒", "说明", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有证照类型。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

#[derive(Deserialize, Default)]
struct PermitTypeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    issuing_department: String,
    #[serde(default)]
    expiry_warning_days: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

fn permit_type_fields(f: &PermitTypeForm, deps: Vec<(String, String)>) -> Vec<Field> {
    vec![
        Field::new("name", "名称", "text", &f.name).required(),
        Field::new(
            "issuing_department",
            "审批与监管部门",
            "select",
            &f.issuing_department,
        )
        .options(deps)
        .required(),
        Field::new(
            "expiry_warning_days",
            "到期提醒天数",
            "number",
            &f.expiry_warning_days,
        )
        .required()
        .help("到期前多少天起显示为“即将到期”，1 到 730。"),
        Field::new("notes", "说明", "textarea", &f.notes),
        Field::new("sort_order", "排序", "number", &f.sort_order),
        Field::new(
            "active",
            "启用",
            "checkbox",
            if f.active.is_some() { "true" } else { "" },
        ),
    ]
}

async fn permit_type_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&PermitTypeForm>,
    errors: &[FieldError],
) -> PageResult {
    let st = state.clone();
    let c = code.to_owned();
    let row = blocking(move || st.db.read(|conn| reference::permit_type(conn, &c)))
        .await
        .page(s)?;
    let loaded = PermitTypeForm {
        name: row.name.clone(),
        issuing_department: row.issuing_department.clone(),
        expiry_warning_days: row.expiry_warning_days.to_string(),
        notes: row.notes.clone(),
        sort_order: row.sort_order.to_string(),
        active: (row.active != 0).then(|| "true".into()),
    };
    let f = form.unwrap_or(&loaded);
    let deps = department_options(state).await.page(s)?;
    let history = entity_history(state, "permit_type", code).await.page(s)?;
    let heading = format!("证照类型：{}", row.name);
    let ctx = page_ctx(state, s, req, &heading, "/permit-types").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("/permit-types/{code}"),
        permit_type_fields(f, deps),
        errors,
        "/permit-types",
        history,
    ))
}

async fn permit_type_edit(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    permit_type_form(&state, &s, &req, &code, None, &[]).await
}

async fn permit_type_save(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<PermitTypeForm>,
    code: web::Path<String>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let mut errors = Vec::new();
    let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
    let days = parse_int(&mut errors, "expiry_warning_days", &f.expiry_warning_days);
    let input = PermitTypeInput {
        name: Some(f.name.clone()),
        issuing_department: Some(f.issuing_department.clone()),
        expiry_warning_days: days,
        notes: Some(f.notes.clone()),
        sort_order,
        active: Some(f.active.is_some()),
    };
    let c = code.clone();
    let result = if errors.is_empty() {
        api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
            reference::save::<reference::PermitType>(cn, a, n, Some(&c), input)
        })
        .await
    } else {
        Err(AppError::Validation(errors))
    };
    submitted!(result, s, Ok(row) => &format!("/permit-types/{}?ok=saved", row.code), Invalid(errors) => {
        permit_type_form(&state, &s, &req, &code, Some(&f), &errors).await
    })
}

// ---- calendar ----

#[derive(Deserialize)]
struct CalendarQuery {
    from: Option<String>,
    days: Option<String>,
}

async fn calendar(state: web::Data<AppState>, req: HttpRequest, ps: PageSession) -> PageResult {
    let s = signed_in!(ps, req);
    let q = web::Query::<CalendarQuery>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or(CalendarQuery {
            from: None,
            days: None,
        });
    let result = match (
        q.from.as_deref().filter(|v| !v.is_empty()),
        q.days.as_deref().filter(|v| !v.is_empty()),
    ) {
        (Some(from), Some(days)) => Some(
            match (
                chrono::NaiveDate::parse_from_str(from.trim(), "%Y-%m-%d"),
                days.trim().parse::<u32>(),
            ) {
                (Ok(f), Ok(n)) if n <= crate::platform::rules::calendar::MAX_WORKING_DAYS => {
                    match state.calendar.add_working_days(f, n) {
                        Some(d) => {
                            format!("{} 之后第 {} 个工作日是 {}（{}）", f, n, d, weekday_cn(d))
                        }
                        None => "计算结果超出日期范围".into(),
                    }
                }
                (Err(_), _) => "起始日期格式不正确，应为 YYYY-MM-DD，例如 2026-05-06".into(),
                _ => "工作日天数应为 0 到 3650 之间的整数".into(),
            },
        ),
        _ => None,
    };
    let mut rows = Vec::new();
    for year in state.calendar.years() {
        for (date, kind) in state.calendar.special_days(year) {
            rows.push(vec![
                cell(date.to_string()),
                cell(weekday_cn(date)),
                cell(api::day_kind_label(&kind)),
            ]);
        }
    }
    let years: Vec<String> = state.calendar.years().map(|y| y.to_string()).collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "节假日与工作日", "/calendar").await,
        heading: "节假日与工作日".into(),
        intro: Some(format!(
            "办理时限中的“工作日”按国务院办公厅公布的节假日安排计算（含调休上班日）。已载入年份：{}。",
            if years.is_empty() { "无".into() } else { years.join("、") }
        )),
        new_link: None,
        filters: vec![
            Field::new("from", "起始日期", "date", q.from.clone().unwrap_or_default()),
            Field::new("days", "工作日天数", "number", q.days.clone().unwrap_or_default()),
        ],
        filter_action: "/calendar".into(),
        result,
        headers: vec!["日期", "星期", "安排"],
        rows,
        next_href: None,
        empty_text: "尚未载入节假日安排。",
        export_href: None,
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

fn weekday_cn(d: chrono::NaiveDate) -> &'static str {
    use chrono::Datelike;
    [
        "星期一",
        "星期二",
        "星期三",
        "星期四",
        "星期五",
        "星期六",
        "星期日",
    ][d.weekday().num_days_from_monday() as usize]
}
