//! The item catalogue (事项清单) and its add form.

use super::{name, names};
use crate::inspections::{self as inspections};
use crate::platform::authz::{self, Action};
use crate::platform::error::FieldError;
use crate::web::extract::{PageForm, PageSession, Session};
use crate::web::kit::signed_in;
use crate::web::kit::submitted;
use crate::web::kit::*;
use crate::web::{blocking, AppState};
use actix_web::{web, HttpRequest};

pub(super) async fn catalogue(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewInspections).page(&s)?;
    let st = state.clone();
    let items = blocking(move || st.db.read(|conn| inspections::items(conn, None)))
        .await
        .page(&s)?;
    let names = names(&state).await.page(&s)?;
    let rows = items
        .iter()
        .map(|i| {
            vec![
                cell(&i.code),
                cell(name(&names, &i.department)),
                cell(&i.name),
                cell(&i.legal_basis),
                cell(if i.joinable != 0 {
                    "可联合检查"
                } else {
                    "单独检查"
                }),
            ]
        })
        .collect();
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "事项清单", "/inspections").await,
        heading: "“综合查一次”事项清单".into(),
        intro: Some("各部门的检查事项及依据；发起检查任务时从这里选择。".into()),
        new_link: authz::allowed(&s.principal, Action::ManageInspectionItems).then(|| {
            (
                "/inspection-items/new".to_owned(),
                "添加检查事项".to_owned(),
            )
        }),
        filters: Vec::new(),
        filter_action: "/inspection-items".into(),
        result: None,
        headers: vec!["编码", "部门", "检查事项", "检查依据", "方式"],
        rows,
        next_href: None,
        empty_text: "事项清单还是空的。",
        total: Some(items.len() as i64),
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/inspections".into(), "检查任务".into())],
    };
    Ok(render(&page))
}

#[derive(Default, serde::Deserialize)]
pub(super) struct ItemForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    legal_basis: String,
    #[serde(default)]
    joinable: Option<String>,
}

pub(super) async fn item_form(
    state: &web::Data<AppState>,
    s: &Session,
    req: &HttpRequest,
    f: &ItemForm,
    errors: &[FieldError],
) -> PageResult {
    authz::require(&s.principal, Action::ManageInspectionItems).page(s)?;
    let names = names(state).await.page(s)?;
    let mut departments: Vec<(String, String)> = names.into_iter().collect();
    departments.sort();
    departments.insert(0, (String::new(), "请选择".into()));
    let mut fields = vec![
        Field::new("code", "事项编码", "text", &f.code)
            .required()
            .help("字母、数字和 -，如 EM-01。"),
        Field::new("department", "检查部门", "select", &f.department)
            .required()
            .options(departments),
        Field::new("name", "检查事项", "text", &f.name).required(),
        Field::new("legal_basis", "检查依据", "text", &f.legal_basis)
            .required()
            .help("法律法规及条款，如《安全生产法》第六十五条。"),
        Field::new(
            "joinable",
            "可以联合检查",
            "checkbox",
            if f.joinable.is_some() || errors.is_empty() {
                "true"
            } else {
                ""
            },
        ),
    ];
    let general = attach_errors(&mut fields, errors);
    let page = FormPage {
        ctx: page_ctx(state, s, req, "添加检查事项", "/inspections").await,
        heading: "添加检查事项".into(),
        intro: None,
        errors: general,
        editable: true,
        action: "/inspection-items".into(),
        fields,
        submit_label: "添加",
        back_href: Some("/inspection-items".into()),
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

pub(super) async fn new_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
) -> PageResult {
    let s = signed_in!(ps, req);
    item_form(&state, &s, &req, &ItemForm::default(), &[]).await
}

pub(super) async fn add_item(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: PageForm<ItemForm>,
) -> PageResult {
    let s = form.session;
    let f = form.form;
    let input = inspections::NewItem {
        code: f.code.clone(),
        department: f.department.clone(),
        name: f.name.clone(),
        legal_basis: f.legal_basis.clone(),
        joinable: Some(f.joinable.is_some()),
    };
    let (st, who, now) = (state.clone(), s.principal.clone(), state.clock.now_naive());
    let result = blocking(move || {
        st.db
            .transaction(|conn| inspections::create_item(conn, &who, now, input))
    })
    .await;
    submitted!(result, s, Ok(_) => "/inspection-items", Invalid(errors) => item_form(&state, &s, &req, &f, &errors).await)
}

#[derive(serde::Deserialize)]
pub(super) struct StandardFilter {
    #[serde(default)]
    list: String,
}

/// 《金属非金属矿山重大事故隐患判定标准》: each list with the standard's numbers, the
/// reference the hazard form chooses from.
pub(super) async fn hazard_standard(
    state: web::Data<AppState>,
    req: HttpRequest,
    ps: PageSession,
    q: web::Query<StandardFilter>,
) -> PageResult {
    use crate::inspections::standard::{standard, StandardList};
    let s = signed_in!(ps, req);
    authz::require(&s.principal, Action::ViewInspections).page(&s)?;
    let chosen = StandardList::parse(q.list.trim());
    let std = standard();
    let mut rows = Vec::new();
    for list in StandardList::ALL.iter().copied() {
        if chosen.is_some_and(|c| c != list) {
            continue;
        }
        for e in std.entries(list) {
            rows.push(vec![
                cell(list.label()),
                cell(&e.number),
                cell(&e.text),
                cell(if e.selectable {
                    "可作为判定依据"
                } else {
                    "见下列各项"
                }),
            ]);
        }
    }
    let mut options = vec![(String::new(), "全部三类".to_owned())];
    options.extend(
        StandardList::ALL
            .iter()
            .map(|l| (l.code().to_owned(), l.label().to_owned())),
    );
    let page = TablePage {
        ctx: page_ctx(&state, &s, &req, "重大事故隐患判定标准", "/inspections").await,
        heading: format!("《{}》", std.title),
        intro: Some(format!(
            "{}，{} 起施行。登记重大事故隐患时，按矿山类型和开采方式从相应清单中选择条款：尾矿库用第三部分，地下开采矿山用第一部分，露天开采矿山用第二部分。",
            std.document, std.effective
        )),
        new_link: None,
        filters: vec![Field::new("list", "清单", "select", q.list.trim()).options(options)],
        filter_action: "/inspections/hazard-standard".into(),
        result: None,
        headers: vec!["清单", "条款", "情形", "用法"],
        total: Some(rows.len() as i64),
        rows,
        next_href: None,
        empty_text: "没有条款。",
        charts: Vec::new(),
        export_href: None,
        post_buttons: Vec::new(),
        more_links: vec![("/hazards".into(), "隐患".into())],
    };
    Ok(render(&page))
}
