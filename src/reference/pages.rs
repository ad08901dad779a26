//! Pages of reference data: member units, townships, lead categories, permit types and
//! the working-day calendar.

use crate::web::kit::submitted;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::platform::authz::{self, Action};
use crate::platform::error::{AppError, FieldError};
use crate::reference::api;
use crate::reference::{
    self, ClosureTaskInput, DepartmentInput, LeadCategoryInput, PermitTypeInput, TownshipInput,
};
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::{blocking, AppState};

use crate::web::kit::signed_in;
use crate::web::kit::*;

pub fn routes(cfg: &mut web::ServiceConfig) {
    use reference::{ClosureTask, Department, LeadCategory, PermitType, Township};
    cfg.route("/reference", web::get().to(reference_menu))
        .route("/departments", web::get().to(departments_list))
        .route("/departments/new", web::get().to(new_page::<Department>))
        .route(
            "/departments/new",
            web::post().to(create_page::<Department>),
        )
        .route(
            "/departments/{code}",
            web::get().to(edit_page::<Department>),
        )
        .route(
            "/departments/{code}",
            web::post().to(save_page::<Department>),
        )
        .route("/townships", web::get().to(townships_list))
        .route("/townships/new", web::get().to(new_page::<Township>))
        .route("/townships/new", web::post().to(create_page::<Township>))
        .route("/townships/{code}", web::get().to(edit_page::<Township>))
        .route("/townships/{code}", web::post().to(save_page::<Township>))
        .route("/lead-categories", web::get().to(categories_list))
        .route(
            "/lead-categories/{code}",
            web::get().to(edit_page::<LeadCategory>),
        )
        .route(
            "/lead-categories/{code}",
            web::post().to(save_page::<LeadCategory>),
        )
        .route("/permit-types", web::get().to(permit_types_list))
        .route(
            "/permit-types/{code}",
            web::get().to(edit_page::<PermitType>),
        )
        .route(
            "/permit-types/{code}",
            web::post().to(save_page::<PermitType>),
        )
        .route("/closure-tasks", web::get().to(closure_tasks_list))
        .route(
            "/closure-tasks/{code}",
            web::get().to(edit_page::<ClosureTask>),
        )
        .route(
            "/closure-tasks/{code}",
            web::post().to(save_page::<ClosureTask>),
        )
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
        steps: Vec::new(),
        open_next: false,
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
        ctx: page_ctx(&state, &s, &req, "成员单位", "/reference").await,
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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
        ctx: page_ctx(&state, &s, &req, "街镇", "/reference").await,
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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
        ctx: page_ctx(&state, &s, &req, "线索类别与分办", "/reference").await,
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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
        ctx: page_ctx(&state, &s, &req, "证照类型", "/reference").await,
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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

/// One kind of reference data as its pages edit it: the form, its fields and how it
/// becomes the kind's input. The handlers below are the same for every kind.
trait EditPage: reference::Editable + Send + 'static
where
    Self::Input: Send + 'static,
{
    type Form: serde::de::DeserializeOwned + Default + Send + 'static;
    /// Where its list is, e.g. `/departments`; a row's page is at `BASE/{code}`.
    const BASE: &'static str;
    /// The heading of the page that adds one (kinds added here only).
    const NEW: &'static str = "";
    /// The form of a new row.
    fn new_form() -> Self::Form {
        Self::Form::default()
    }
    fn form_of(&self) -> Self::Form;
    fn heading(&self) -> String;
    fn fields(f: &Self::Form, is_new: bool, departments: Vec<(String, String)>) -> Vec<Field>;
    fn input(f: &Self::Form, is_new: bool) -> Result<Self::Input, Vec<FieldError>>;
}

async fn new_page<E: EditPage>(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult
where
    E::Input: Send + 'static,
{
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::EditReferenceData).page(&s)?;
    new_form::<E>(&state, &s, &req, &E::new_form(), &[]).await
}

async fn new_form<E: EditPage>(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    f: &E::Form,
    errors: &[FieldError],
) -> PageResult
where
    E::Input: Send + 'static,
{
    let deps = department_options(state).await.page(s)?;
    let ctx = page_ctx(state, s, req, E::NEW, "/reference").await;
    Ok(ref_page(
        ctx,
        E::NEW.into(),
        true,
        format!("{}/new", E::BASE),
        E::fields(f, true, deps),
        errors,
        E::BASE,
        Vec::new(),
    ))
}

async fn create_page<E: EditPage>(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<E::Form>,
) -> PageResult
where
    E::Input: Send + 'static,
{
    let s = form.session;
    let f = form.form;
    let result = match E::input(&f, true) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |c, a, n| {
                reference::save::<E>(c, a, n, None, input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(row) => &format!("{}/{}?ok=created", E::BASE, row.code()), Invalid(errors) => {
        new_form::<E>(&state, &s, &req, &f, &errors).await
    })
}

async fn edit_form<E: EditPage>(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    code: &str,
    form: Option<&E::Form>,
    errors: &[FieldError],
) -> PageResult
where
    E::Input: Send + 'static,
{
    let st = state.clone();
    let c = code.to_owned();
    let row = blocking(move || st.db.read(|conn| E::get(conn, &c)))
        .await
        .page(s)?;
    let loaded = row.form_of();
    let f = form.unwrap_or(&loaded);
    let deps = department_options(state).await.page(s)?;
    let history = entity_history(state, E::ENTITY, code).await.page(s)?;
    let heading = row.heading();
    let ctx = page_ctx(state, s, req, &heading, "/reference").await;
    Ok(ref_page(
        ctx,
        heading,
        authz::allowed(&s.principal, Action::EditReferenceData),
        format!("{}/{code}", E::BASE),
        E::fields(f, false, deps),
        errors,
        E::BASE,
        history,
    ))
}

async fn edit_page<E: EditPage>(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    code: web::Path<String>,
) -> PageResult
where
    E::Input: Send + 'static,
{
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    edit_form::<E>(&state, &s, &req, &code, None, &[]).await
}

async fn save_page<E: EditPage>(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<E::Form>,
    code: web::Path<String>,
) -> PageResult
where
    E::Input: Send + 'static,
{
    let s = form.session;
    let f = form.form;
    let c = code.clone();
    let result = match E::input(&f, false) {
        Ok(input) => {
            api::edit_reference(state.clone(), s.principal.clone(), move |cn, a, n| {
                reference::save::<E>(cn, a, n, Some(&c), input)
            })
            .await
        }
        Err(errors) => Err(AppError::Validation(errors)),
    };
    submitted!(result, s, Ok(row) => &format!("{}/{}?ok=saved", E::BASE, row.code()), Invalid(errors) => {
        edit_form::<E>(&state, &s, &req, &code, Some(&f), &errors).await
    })
}

fn checked(on: bool) -> Option<String> {
    on.then(|| "true".into())
}

impl EditPage for reference::Department {
    type Form = DepartmentForm;
    const BASE: &'static str = "/departments";
    const NEW: &'static str = "新增成员单位";
    fn new_form() -> DepartmentForm {
        DepartmentForm {
            active: checked(true),
            sort_order: "100".into(),
            ..Default::default()
        }
    }
    fn form_of(&self) -> DepartmentForm {
        DepartmentForm {
            code: self.code.clone(),
            name: self.name.clone(),
            duties: self.duties.clone(),
            email: self.email.clone().unwrap_or_default(),
            sort_order: self.sort_order.to_string(),
            active: checked(self.active != 0),
        }
    }
    fn heading(&self) -> String {
        format!("{}（{}）", self.name, self.code)
    }
    fn fields(f: &DepartmentForm, is_new: bool, _: Vec<(String, String)>) -> Vec<Field> {
        department_fields(f, is_new)
    }
    fn input(f: &DepartmentForm, is_new: bool) -> Result<DepartmentInput, Vec<FieldError>> {
        department_input(f, is_new)
    }
}

impl EditPage for reference::Township {
    type Form = TownshipForm;
    const BASE: &'static str = "/townships";
    const NEW: &'static str = "新增街镇";
    fn new_form() -> TownshipForm {
        TownshipForm {
            active: checked(true),
            sort_order: "100".into(),
            ..Default::default()
        }
    }
    fn form_of(&self) -> TownshipForm {
        TownshipForm {
            code: self.code.clone(),
            name: self.name.clone(),
            email: self.email.clone().unwrap_or_default(),
            sort_order: self.sort_order.to_string(),
            active: checked(self.active != 0),
        }
    }
    fn heading(&self) -> String {
        format!("{}（{}）", self.name, self.code)
    }
    fn fields(f: &TownshipForm, is_new: bool, _: Vec<(String, String)>) -> Vec<Field> {
        township_fields(f, is_new)
    }
    fn input(f: &TownshipForm, is_new: bool) -> Result<TownshipInput, Vec<FieldError>> {
        township_input(f, is_new)
    }
}

impl EditPage for reference::LeadCategory {
    type Form = CategoryForm;
    const BASE: &'static str = "/lead-categories";
    fn form_of(&self) -> CategoryForm {
        CategoryForm {
            name: self.name.clone(),
            primary_department: self.primary_department.clone(),
            assisting_departments: self.assisting_departments.clone(),
            basis: self.basis.clone(),
            mining_related: checked(self.mining_related != 0),
            sort_order: self.sort_order.to_string(),
            active: checked(self.active != 0),
        }
    }
    fn heading(&self) -> String {
        format!("线索类别：{}", self.name)
    }
    fn fields(f: &CategoryForm, _: bool, deps: Vec<(String, String)>) -> Vec<Field> {
        category_fields(f, deps)
    }
    fn input(f: &CategoryForm, _: bool) -> Result<LeadCategoryInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(LeadCategoryInput {
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
        })
    }
}

impl EditPage for reference::PermitType {
    type Form = PermitTypeForm;
    const BASE: &'static str = "/permit-types";
    fn form_of(&self) -> PermitTypeForm {
        PermitTypeForm {
            name: self.name.clone(),
            issuing_department: self.issuing_department.clone(),
            expiry_warning_days: self.expiry_warning_days.to_string(),
            notes: self.notes.clone(),
            sort_order: self.sort_order.to_string(),
            active: checked(self.active != 0),
        }
    }
    fn heading(&self) -> String {
        format!("证照类型：{}", self.name)
    }
    fn fields(f: &PermitTypeForm, _: bool, deps: Vec<(String, String)>) -> Vec<Field> {
        permit_type_fields(f, deps)
    }
    fn input(f: &PermitTypeForm, _: bool) -> Result<PermitTypeInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
        let days = parse_int(&mut errors, "expiry_warning_days", &f.expiry_warning_days);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PermitTypeInput {
            name: Some(f.name.clone()),
            issuing_department: Some(f.issuing_department.clone()),
            expiry_warning_days: days,
            notes: Some(f.notes.clone()),
            sort_order,
            active: Some(f.active.is_some()),
        })
    }
}

async fn closure_tasks_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewReferenceData).page(&s)?;
    let deps = department_options(&state).await.page(&s)?;
    let st = state.clone();
    let rows = blocking(move || st.db.read(reference::closure_tasks))
        .await
        .page(&s)?;
    let table_rows = rows
        .iter()
        .map(|t| {
            let v = reference::ClosureTaskView::from(t);
            vec![
                link(&t.name, format!("/closure-tasks/{}", t.code)),
                cell(closure_department(&deps, &t.department)),
                cell(
                    v.kinds
                        .iter()
                        .filter_map(|k| crate::closures::rules::ClosureKind::parse(k))
                        .map(|k| k.label())
                        .collect::<Vec<_>>()
                        .join("、"),
                ),
                cell(closure_due(t.due_days)),
                cell(&t.notified),
                yes_no(t.active != 0),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "关闭退出任务清单", "/reference").await,
        heading: "关闭退出任务清单".into(),
        intro: Some(
            "立案时按案件类型生成各部门的任务；“牵头部门”指立案的部门。修改只影响此后立案的案件。"
                .into(),
        ),
        new_link: None,
        filters: Vec::new(),
        filter_action: "/closure-tasks".into(),
        result: None,
        headers: vec!["任务", "责任部门", "适用类型", "期限", "告知单位", "状态"],
        rows: table_rows,
        next_href: None,
        empty_text: "还没有关闭退出任务。",
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: Vec::new(),
    };
    Ok(render(&page))
}

fn closure_department(deps: &[(String, String)], code: &str) -> String {
    if code == reference::OWNER_DEPARTMENT {
        return "牵头部门".into();
    }
    deps.iter()
        .find(|d| d.0 == code)
        .map(|d| d.1.clone())
        .unwrap_or_else(|| code.to_owned())
}

fn closure_due(days: i32) -> String {
    if days < 0 {
        "尾矿库停用前 12 个月".into()
    } else {
        format!("决定后 {days} 天（尾矿库自停用起算）")
    }
}

#[derive(Deserialize, Default)]
struct ClosureTaskForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    kinds: String,
    #[serde(default)]
    due_days: String,
    #[serde(default)]
    notified: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    sort_order: String,
    active: Option<String>,
}

impl EditPage for reference::ClosureTask {
    type Form = ClosureTaskForm;
    const BASE: &'static str = "/closure-tasks";
    fn form_of(&self) -> ClosureTaskForm {
        ClosureTaskForm {
            name: self.name.clone(),
            department: self.department.clone(),
            kinds: self.kinds.clone(),
            due_days: self.due_days.to_string(),
            notified: self.notified.clone(),
            notes: self.notes.clone(),
            sort_order: self.sort_order.to_string(),
            active: checked(self.active != 0),
        }
    }
    fn heading(&self) -> String {
        format!("关闭退出任务：{}", self.name)
    }
    fn fields(f: &ClosureTaskForm, _: bool, deps: Vec<(String, String)>) -> Vec<Field> {
        let mut options = vec![(
            reference::OWNER_DEPARTMENT.to_owned(),
            "牵头部门（立案的部门）".to_owned(),
        )];
        options.extend(deps);
        vec![
            Field::new("name", "任务名称", "text", &f.name).required(),
            Field::new("department", "责任部门", "select", &f.department)
                .options(options)
                .required(),
            Field::new("kinds", "适用的案件类型", "text", &f.kinds)
                .required()
                .help(format!(
                    "类型代码，用逗号分隔：{}",
                    crate::closures::rules::ClosureKind::codes()
                )),
            Field::new("due_days", "期限天数", "number", &f.due_days)
                .required()
                .help("决定日期后多少天完成（尾矿库自停用日期起算）；负数表示闭库设计，期限为停用前 12 个月。"),
            Field::new("notified", "告知单位", "text", &f.notified),
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
    fn input(f: &ClosureTaskForm, _: bool) -> Result<ClosureTaskInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let sort_order = parse_int(&mut errors, "sort_order", &f.sort_order);
        let due_days = parse_int(&mut errors, "due_days", &f.due_days);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ClosureTaskInput {
            name: Some(f.name.clone()),
            department: Some(f.department.clone()),
            kinds: Some(reference::split_codes(&f.kinds.replace('，', ","))),
            due_days,
            notified: Some(f.notified.clone()),
            notes: Some(f.notes.clone()),
            sort_order,
            active: Some(f.active.is_some()),
        })
    }
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
        ctx: page_ctx(&state, &s, &req, "节假日与工作日", "/reference").await,
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
        total: None,
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
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

#[derive(askama::Template)]
#[template(path = "tiles.html")]
struct TilesPage {
    ctx: PageCtx,
    heading: &'static str,
    intro: &'static str,
    tiles: Vec<(&'static str, &'static str, &'static str)>,
}

/// 基础数据: the kinds of reference data, one tile each.
async fn reference_menu(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    Ok(render(&TilesPage {
        ctx: page_ctx(&state, &s, &req, "基础数据", "/reference").await,
        heading: "基础数据",
        intro: "协调机制的成员单位、街镇、线索类别与分办规则、证照类型和工作日安排。",
        tiles: REFERENCE_PAGES.to_vec(),
    }))
}
